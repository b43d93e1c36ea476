package cli

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/evidence"
	"github.com/khula-cop/khula/internal/research"
	"github.com/khula-cop/khula/internal/scoring"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

func newExportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export datasets for research (de-identified, audited)"}
	var f connFlags
	var siteID, out, purpose string
	var force bool
	researchCmd := &cobra.Command{
		Use:   "research --site S --out DIR --purpose TEXT",
		Short: "Write a site's de-identified research dataset (one row per child per time point) and its codebook",
		Long: `research writes DIR/research-SITE-data.csv (one row per child per wave and
phase, keyed by a pseudonym that stays the same from wave to wave and differs
between sites; no name, child ID, date of birth or phone number), DIR/
research-SITE-codebook.csv and DIR/README.txt. The export is recorded in the
audit log with the purpose given. Progress goes to standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			purpose = strings.TrimSpace(purpose)
			switch {
			case siteID == "":
				return &ExitError{Code: 2, Err: errors.New("--site is required")}
			case out == "":
				return &ExitError{Code: 2, Err: errors.New("--out DIR is required")}
			case len(purpose) < 10:
				return &ExitError{Code: 2, Err: errors.New("--purpose is required: say what the export is for, in at least 10 characters (it goes in the audit log)")}
			}
			st, dir, err := openStore(cmd, &f)
			if err != nil {
				return err
			}
			defer st.Close()
			site, ok := dir.Site(siteID)
			if !ok {
				return &ExitError{Code: 2, Err: fmt.Errorf("no site %q (the sites are %s)", siteID, siteNames(dir.Sites()))}
			}
			if !st.HasFieldCipher() {
				return &ExitError{Code: 2, Err: errors.New("no payload keys: the answers and the research key are sealed; give --payload-keys-file or $KHULA_PAYLOAD_KEYS")}
			}
			reg, err := scoring.New(dir.Sites(), dir.FS, nil)
			if err != nil {
				return err
			}
			current, _ := reg.SiteInstrument(site.ID)
			schema, err := evidence.ResearchSchema(ctx, st, reg, site.ID, current)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			key, err := st.ResearchKeyFor(ctx, site.ID, research.NewKey)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return fmt.Errorf("making %s: %w", out, err)
			}
			dataPath := filepath.Join(out, "research-"+site.ID+"-data.csv")
			codebookPath := filepath.Join(out, "research-"+site.ID+"-codebook.csv")
			for _, p := range []string{dataPath, codebookPath} {
				if _, err := os.Stat(p); err == nil && !force {
					return &ExitError{Code: 1, Err: fmt.Errorf("%s exists: give --force to replace it", p)}
				}
			}
			who := "cli"
			if u, err := user.Current(); err == nil {
				who = "cli:" + u.Username
			}
			now := time.Now()
			if _, err := st.Audit(ctx, store.AuditEntry{At: now, Actor: who, ActorName: who, Role: "operator", Action: store.AuditExport,
				SiteID: site.ID, What: "research dataset of " + site.ID + " (CLI)", Why: "purpose: " + purpose, Outcome: "started"}); err != nil {
				return fmt.Errorf("the export could not be audited, so nothing was exported: %w", err)
			}
			// Written to temporary files and renamed: a failed export leaves
			// no half file that looks complete.
			tmp, err := os.CreateTemp(out, ".research-*.csv")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			last := time.Time{}
			rows, err := evidence.WriteResearch(ctx, st, schema, key, site.ID, now, tmp, func(done, total int) {
				if time.Since(last) > time.Second || done == total {
					last = time.Now()
					fmt.Fprintf(g.stderr, "\r  %d of %d cycles", done, total)
					if done == total {
						fmt.Fprintln(g.stderr)
					}
				}
			})
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("research export of %s: %w", site.ID, err)
			}
			if err := os.Chmod(tmp.Name(), 0o600); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), dataPath); err != nil {
				return err
			}
			cb, err := os.OpenFile(codebookPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			if err := research.WriteCodebook(cb, schema.Codebook()); err != nil {
				cb.Close()
				return err
			}
			if err := cb.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "README.txt"), []byte(evidence.ReadMe(site.ID, rows, now)), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %d rows to %s and %d variables to %s\n", rows, dataPath, len(schema.Codebook()), codebookPath)
			return nil
		},
	}
	f.add(researchCmd.Flags())
	researchCmd.Flags().StringVar(&siteID, "site", "", "site to export")
	researchCmd.Flags().StringVar(&out, "out", "", "directory to write the dataset, codebook and README to")
	researchCmd.Flags().StringVar(&purpose, "purpose", "", "what the export is for (recorded in the audit log)")
	researchCmd.Flags().BoolVar(&force, "force", false, "replace an earlier export in --out")
	cmd.AddCommand(researchCmd)
	return cmd
}

func siteNames(all []*sites.Site) string {
	var ids []string
	for _, s := range all {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, ", ")
}
