package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/temporalx"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

func newOpsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "ops", Short: "Operational queries against Temporal visibility"}
	var f connFlags
	var site, olderThan, stage string
	var limit int
	stuck := &cobra.Command{
		Use:   "stuck --site SITE [--older-than 14d] [--stage STAGE]",
		Short: "List running cycles that have not changed stage for longer than a period",
		Long: `stuck asks Temporal's visibility store for running child cycles of a site
whose stage (KhulaStageSince) has not changed for --older-than. It shows no
personal data: cycle IDs, stage, since when. Cycles waiting for a plan or a
referral's outcome for long are the ones to raise at the LLCoP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if site == "" {
				return &ExitError{Code: 2, Err: errors.New("--site is required")}
			}
			age, err := sites.ParseDuration(olderThan)
			if err != nil || age.D() <= 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("--older-than: %v", err)}
			}
			keys, err := app.LoadKeys(f.keysFile)
			if err != nil {
				return err
			}
			tlsCfg, err := f.tlsConfig()
			if err != nil {
				return err
			}
			c, err := temporalx.Dial(cmd.Context(), temporalx.Options{HostPort: f.temporalAddress, Namespace: f.namespace, Keys: keys, TLS: tlsCfg, APIKey: os.Getenv("KHULA_TEMPORAL_API_KEY")})
			if err != nil {
				return err
			}
			defer c.Close()
			cutoff := time.Now().Add(-age.D()).UTC()
			q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s' AND %s < '%s'",
				workflows.CycleWorkflowName, cycle.SASite.GetName(), quote(site), cycle.SAStageSince.GetName(), cutoff.Format(time.RFC3339))
			if stage != "" {
				q += fmt.Sprintf(" AND %s = '%s'", cycle.SAStage.GetName(), quote(stage))
			}
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "CYCLE\tSTAGE\tSINCE\tFOR")
			n := 0
			var token []byte
			for n < limit {
				resp, err := c.ListWorkflow(cmd.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: q, PageSize: 200, NextPageToken: token})
				if err != nil {
					return fmt.Errorf("asking visibility: %w", err)
				}
				for _, ex := range resp.GetExecutions() {
					fields := ex.GetSearchAttributes().GetIndexedFields()
					st, since := "?", time.Time{}
					if p := fields[cycle.SAStage.GetName()]; p != nil {
						st = strings.Trim(string(p.GetData()), `"`)
					}
					if p := fields[cycle.SAStageSince.GetName()]; p != nil {
						since, _ = time.Parse(time.RFC3339Nano, strings.Trim(string(p.GetData()), `"`))
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", ex.GetExecution().GetWorkflowId(), st, since.Format("2006-01-02 15:04"), time.Since(since).Round(time.Hour))
					n++
				}
				token = resp.GetNextPageToken()
				if len(token) == 0 {
					break
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%d cycle(s) at %s without a stage change for more than %s\n", n, site, age)
			return nil
		},
	}
	f.add(stuck.Flags())
	stuck.Flags().StringVar(&site, "site", "", "site to look at")
	stuck.Flags().StringVar(&olderThan, "older-than", "14d", "how long without a stage change counts as stuck")
	stuck.Flags().StringVar(&stage, "stage", "", "only this stage (e.g. plan, follow_up)")
	stuck.Flags().IntVar(&limit, "limit", 1000, "list at most this many")
	cmd.AddCommand(stuck)
	return cmd
}

// quote escapes a value for a visibility query.
func quote(s string) string { return strings.ReplaceAll(s, "'", "") }
