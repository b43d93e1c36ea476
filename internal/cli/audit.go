package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/retention"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
)

func newAuditCmd(g *globals) *cobra.Command {
	var f connFlags
	var heads []string
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log of reads and writes of children's records"}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the signed hash chain of the audit log and report any changed, inserted or deleted entry",
		Long: `verify recomputes every entry's signature (an HMAC with a key derived from
the payload keyring, named in the entry) and its link to the entry before,
checks that every change of key was recorded in the chain, and checks the
chain's head. It exits 1 if anything was changed or deleted.

Without the keyring nobody can rewrite an entry and sign it again; but
someone who can write the database can delete the newest entries and move
the head back. Give the last head you know with --head SEQ:HASH (servers
log it every 10 minutes as "audit head", and export khula_audit_head_seq):
verify then also checks that entry is still there, unchanged.`,
		Example: `  khula audit verify --payload-keys-file keys.json
  khula audit verify --head 41237:3f1c...e9 --head 40100:77ab...01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			known := make([]store.AuditHead, 0, len(heads))
			for _, h := range heads {
				head, err := store.ParseAuditHead(h)
				if err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--head: %w", err)}
				}
				known = append(known, head)
			}
			st, err := f.openStoreWithKeys(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.VerifyAudit(cmd.Context(), known, func(n int64) {
				if n%20000 == 0 {
					fmt.Fprintf(g.stderr, "  %d entries checked\n", n)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%d entries; head %d:%s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
			if rep.Unkeyed > 0 {
				fmt.Fprintf(g.stdout, "%d entries were written before the chain was signed: their order is checked, not who wrote them\n", rep.Unkeyed)
			}
			if rep.Queued > 0 {
				fmt.Fprintf(g.stdout, "%d entries of writes wait in the outbox; a running server appends them within seconds\n", rep.Queued)
			}
			if len(known) > 0 && rep.OK() {
				fmt.Fprintf(g.stdout, "the %d head(s) you gave are in the chain, unchanged\n", len(known))
			}
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
	verify.Flags().StringArrayVar(&heads, "head", nil, "a head recorded earlier, SEQ:HASH (from the log's \"audit head\" lines or an earlier verify); repeat for several")
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
			dir, err := sitedir.Load(f.sitesDir)
			if err != nil {
				return err
			}
			st, err := f.openStoreWithKeys(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
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
