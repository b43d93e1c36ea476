package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/simulate"
)

func newDevCmd(g *globals) *cobra.Command {
	var (
		opts         app.DevOptions
		withSim      bool
		exitAfterSim bool
		simOpts      simulate.Options
	)
	port, _ := strconv.Atoi(envOr("KHULA_TEMPORAL_PORT", "7233"))
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded Temporal, database, workers, API, demo data",
		Long: `dev starts an embedded Temporal server persisting to SQLite under --data-dir,
the app database (migrated), a worker per site, and the HTTP API. On an empty
database it seeds the Johannesburg demo (made-up children). Stop with Ctrl-C;
starting again on the same data directory resumes every workflow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			opts.Out, opts.Logger = g.stdout, g.logger()
			var simErr error
			if withSim {
				opts.OnReady = func(ctx context.Context, base, token string) error {
					simOpts.Addr, simOpts.Token, simOpts.Out = base, token, g.stdout
					if exitAfterSim {
						simErr = simulate.Run(ctx, simOpts)
						return errStopAfterSimulation
					}
					go func() {
						if err := simulate.Run(ctx, simOpts); err != nil && ctx.Err() == nil {
							fmt.Fprintln(g.stderr, "khula: simulation:", err)
						}
					}()
					return nil
				}
			}
			d, err := app.StartDev(ctx, opts)
			if d != nil {
				defer func() {
					fmt.Fprintln(g.stdout, "stopping khula dev")
					d.Stop(context.Background())
				}()
			}
			if err == errStopAfterSimulation {
				return simErr
			}
			if err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "data-dir", envOr("KHULA_DATA_DIR", ".khula"), "where the engine, database and dev key live ($KHULA_DATA_DIR)")
	f.StringVar(&opts.Addr, "addr", envOr("KHULA_ADDR", "127.0.0.1:8080"), "HTTP API address ($KHULA_ADDR)")
	f.StringVar(&opts.SitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations (default ./sites, else the built-in ones) ($KHULA_SITES_DIR)")
	f.StringVar(&opts.GrowthDir, "growth-dir", envOr("KHULA_WHO_GROWTH_DIR", ""), "directory of WHO growth reference tables to use instead of the built-in ones ($KHULA_WHO_GROWTH_DIR)")
	f.IntVar(&opts.TemporalPort, "temporal-port", port, "embedded Temporal frontend port ($KHULA_TEMPORAL_PORT)")
	f.StringVar(&opts.DemoSite, "demo-site", envOr("KHULA_DEMO_SITE", "johannesburg"), "site to seed with made-up children when the database is empty (\"\" for none)")
	f.BoolVar(&withSim, "simulate", false, "launch a wave and play the practitioners once khula is up")
	f.BoolVar(&exitAfterSim, "exit-after-simulate", false, "with --simulate: stop when the simulated wave has closed")
	addSimulateFlags(f, &simOpts)
	return cmd
}

type stopSignal struct{}

func (stopSignal) Error() string { return "" }

var errStopAfterSimulation error = stopSignal{}
