package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/khula-cop/khula/internal/app"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/khula-cop/khula/internal/simulate"
)

func addSimulateFlags(f *pflag.FlagSet, o *simulate.Options) {
	f.StringVar(&o.Site, "sim-site", "johannesburg", "site whose wave is simulated")
	f.IntVar(&o.Wave, "sim-wave", 0, "wave number to launch (0: the next one)")
	f.DurationVar(&o.DayLength, "sim-day", 250*time.Millisecond, "how long one simulated day lasts")
	f.IntVar(&o.Concurrency, "sim-concurrency", 8, "practitioners submitting at once")
	f.DurationVar(&o.Timeout, "sim-timeout", 10*time.Minute, "give up if a wave has not closed by then")
	f.IntVar(&o.Waves, "sim-waves", 1, "waves to play one after the other on the same children (2 or more shows how they changed)")
	f.IntVar(&o.Intake, "sim-intake", 5, "new children a class list adds before each wave after the first (with --sim-waves)")
}

func newSimulateCmd(g *globals) *cobra.Command {
	var o simulate.Options
	var tokenFile string
	cmd := &cobra.Command{
		Use:   "simulate --addr http://HOST:PORT",
		Short: "Launch a wave against a running khula and play every practitioner until it closes",
		Long: `simulate launches the next wave of a site on compressed time (one day lasts
--sim-day) and plays the people of the cycle through the API: caregivers,
children, teachers and nurses answering (with made-up personas: most children
low risk, some at risk, a few red flags, a few forms never returned), LLCoP
meetings agreeing plans, services acknowledging and closing referrals,
follow-ups and reassessments. It prints progress by stage until the wave closes.

The wave is launched with hold_windows: the simulator itself closes the
assessment window (and a reassessment wait whose form will never come) once
every form its personas return is in and the window's simulated days have
passed, so the outcome is the same on a slow or loaded machine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = g.stdout
			o.Token = os.Getenv("KHULA_TOKEN")
			if o.Token == "" && tokenFile != "" {
				data, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("reading the API token: %w (give --token-file or $KHULA_TOKEN: khula dev writes one for the %s user)", err, app.SimulatorUser)
				}
				o.Token = strings.TrimSpace(string(data))
			}
			return simulate.Run(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", app.TokenFile(".khula", app.SimulatorUser), "file holding the API token to act with (or $KHULA_TOKEN); khula dev writes one")
	cmd.Flags().StringVar(&o.Addr, "addr", envOr("KHULA_URL", "http://127.0.0.1:8080"), "base URL of the running khula ($KHULA_URL)")
	cmd.Flags().StringVar(&o.SitesDir, "sites-dir", envOr("KHULA_SITES_DIR", ""), "site configurations for plausible answers (default ./sites, else built in)")
	addSimulateFlags(cmd.Flags(), &o)
	return cmd
}
