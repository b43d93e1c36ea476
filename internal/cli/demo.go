package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/demo"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
)

func newDemoCmd(g *globals) *cobra.Command {
	var f connFlags
	var siteID string
	var perSchool int
	cmd := &cobra.Command{
		Use:   "demo --site SITE",
		Short: "Seed a database that has no children with made-up demo children and caregivers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dsn, err := f.dsn()
			if err != nil {
				return err
			}
			dir, err := sitedir.Load(f.sitesDir)
			if err != nil {
				return err
			}
			site, ok := dir.Site(siteID)
			if !ok {
				return &ExitError{Code: 2, Err: fmt.Errorf("no site %q (sites from %s)", siteID, dir.Source)}
			}
			keys, err := app.LoadKeys(f.keysFile)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			st.SetFieldCipher(keys)
			if _, err := st.Migrate(ctx); err != nil {
				return err
			}
			for _, s := range dir.Sites() {
				if err := demo.EnsureSite(ctx, st, s); err != nil {
					return err
				}
			}
			n, err := st.CountChildren(ctx, "")
			if err != nil {
				return err
			}
			if n > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("the database holds %d children already: demo data goes only into an empty database", n)}
			}
			res, err := demo.Seed(ctx, st, site, demo.Options{PerSchool: perSchool})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "seeded %s: %d made-up children, %d with consent\n", site.ID, res.Children, res.Consented)
			return nil
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&siteID, "site", "johannesburg", "site to seed")
	cmd.Flags().IntVar(&perSchool, "per-school", 12, "children per school")
	return cmd
}
