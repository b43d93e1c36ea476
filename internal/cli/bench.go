package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	var smoke bool
	var launch, full, out string
	o := bench.Default()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure khula side by side with the bare Temporal engine it runs on",
		Long: `bench starts its own embedded engine and database in a temporary directory
and measures, in one run: the bare engine's rate for empty and seven-activity
workflows (the baseline); wave launch and full-cycle throughput at the given
sizes; API latency for assessment submissions at a fixed rate; dashboard
queries on a large database; memory and one cycle's history length. It
prints a table with ratios to the baseline and writes the same as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if smoke {
				s := bench.Smoke()
				s.SitesDir, s.Dir = o.SitesDir, o.Dir
				o = s
			} else {
				var err error
				if o.Launch, err = sizes(launch); err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--children: %w", err)}
				}
				if o.Full, err = sizes(full); err != nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("--full: %w", err)}
				}
			}
			o.Out, o.Progress = g.stdout, g.stderr
			rep, err := bench.Run(cmd.Context(), o)
			if rep != nil {
				rep.Print(g.stdout)
				if out != "" {
					if werr := rep.WriteJSON(out); werr != nil {
						return werr
					}
					fmt.Fprintf(g.stdout, "\nwrote %s\n", out)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&smoke, "smoke", false, "a tiny run that only checks the benchmark works (CI)")
	f.StringVar(&launch, "children", "1000,10000,100000", "wave launch sizes, comma-separated")
	f.StringVar(&full, "full", "1000,10000", "full-cycle sizes, comma-separated")
	f.IntVar(&o.Baseline, "baseline", o.Baseline, "workflows per baseline measurement")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "concurrent starters and simulated practitioners")
	f.IntVar(&o.APIRate, "api-rate", o.APIRate, "assessment submissions per second")
	f.DurationVar(&o.APIDuration, "api-duration", o.APIDuration, "how long to submit at that rate")
	f.IntVar(&o.DashboardChildren, "dashboard-children", o.DashboardChildren, "children in the dashboard query database (also: a record across 3 waves, change between waves, duplicate check)")
	f.IntVar(&o.FollowUp, "follow-up", o.FollowUp, "children of a first and a follow-up wave at moutse (0: skip)")
	f.DurationVar(&o.DayLength, "day", o.DayLength, "length of a simulated day in the full-cycle run")
	f.StringVar(&o.Dir, "dir", "", "directory for the engine and databases (default: temporary, removed after)")
	f.StringVar(&o.SitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations")
	f.StringVar(&out, "out", "", "write the report as JSON to this file")
	return cmd
}

func sizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", part)
		}
		out = append(out, n)
	}
	return out, nil
}
