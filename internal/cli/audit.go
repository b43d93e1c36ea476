package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/retention"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
)

func newAuditCmd(g *globals) *cobra.Command {
	var f connFlags
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log of reads and writes of children's records"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the hash chain of the audit log and report any changed, inserted or deleted entry",
		Long: `verify recomputes every entry's hash and its link to the entry before, and
checks the chain's head. It exits 1 if anything was changed or deleted.
Record the head hash it prints somewhere else (a ticket, a signed mail):
then even a rewrite of the whole log would show.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := f.dsn()
			if err != nil {
				return err
			}
			st, err := store.Open(cmd.Context(), dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.VerifyAudit(cmd.Context(), func(n int64) {
				if n%20000 == 0 {
					fmt.Fprintf(g.stderr, "  %d entries checked\n", n)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%d entries; head entry %d, hash %s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
			if rep.OK() {
				fmt.Fprintln(g.stdout, "the audit log is intact")
				return nil
			}
			for _, p := range rep.Problems {
				fmt.Fprintln(g.stdout, "PROBLEM:", p)
			}
			return &ExitError{Code: 1, Err: fmt.Errorf("the audit log was tampered with: %d problem(s)", len(rep.Problems))}
		},
	}
	f.addStore(verify.Flags())
	cmd.AddCommand(verify)
	return cmd
}

func newRetentionCmd(g *globals) *cobra.Command {
	var f connFlags
	var siteIDs []string
	var dryRun bool
	cmd := &cobra.Command{Use: "retention", Short: "De-identify children whose waves closed longer ago than their site keeps data"}
	run := &cobra.Command{
		Use:   "run",
		Short: "Erase the personal fields of children past their site's retention period (workers also do this daily)",
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
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			if keys, err := app.LoadKeys(f.keysFile); err == nil {
				st.SetFieldCipher(keys)
			}
			if len(siteIDs) == 0 {
				for _, s := range dir.Sites() {
					siteIDs = append(siteIDs, s.ID)
				}
			}
			for _, id := range siteIDs {
				site, ok := dir.Site(id)
				if !ok {
					return &ExitError{Code: 2, Err: fmt.Errorf("no site %q", id)}
				}
				res, err := retention.Run(ctx, st, site, time.Now(), dryRun, func(done int) {
					fmt.Fprintf(g.stderr, "  %s: %d children de-identified\n", id, done)
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: %s\n", id, res)
			}
			return nil
		},
	}
	f.addStore(run.Flags())
	run.Flags().StringSliceVar(&siteIDs, "site", nil, "site to run for (default: all)")
	run.Flags().BoolVar(&dryRun, "dry-run", false, "count who is due without erasing anything")
	cmd.AddCommand(run)
	return cmd
}
