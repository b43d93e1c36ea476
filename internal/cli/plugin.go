package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/khula-cop/khula/plugins/builtin"
	"github.com/khula-cop/khula/plugins/host"
	"github.com/khula-cop/khula/plugins/shared"
	"github.com/khula-cop/khula/sites"
)

// newPluginCmd is the hidden `khula plugin` command: a khula worker
// re-executes the binary as `khula plugin serve NAME` to run a built-in
// plugin out of process; `khula plugin list` shows the built-ins.
func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "plugin",
		Short:  "Built-in site plugins (started by khula workers)",
		Hidden: true,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "serve NAME",
		Short: "Serve a built-in plugin to the khula worker that started this process",
		Long: `serve runs a built-in plugin as a go-plugin process. A khula worker starts it
with the handshake in its environment; run by hand it exits at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, ok := builtin.Lookup(args[0]); !ok {
				return &ExitError{Code: 2, Err: fmt.Errorf("no built-in plugin %q: khula plugin list shows them", args[0])}
			}
			if !shared.LaunchedByHost() {
				return &ExitError{Code: 2, Err: shared.ErrNotLaunchedByHost}
			}
			return builtin.Serve(args[0])
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List the built-in plugins by role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ROLE\tNAME\tWHAT IT DOES")
			for _, p := range builtin.All() {
				fmt.Fprintf(w, "%s\t%s\t%s\n", p.Role, p.Name, p.Summary)
			}
			fmt.Fprintf(w, "\nplugin protocol version %d\n", shared.ProtocolVersion)
			return w.Flush()
		},
	})
	return cmd
}

// CheckSitePlugins starts each plugin a site names and reports what keeps
// it from serving (checksum, handshake, protocol, roles, configuration). It
// has the signature of SitePluginCheck, which the khula binary sets to it;
// built-in plugins then run as `khula plugin serve`, so it only works in a
// binary that registers the plugin command.
func CheckSitePlugins(site *sites.Site, dir string) []error {
	return host.CheckSite(context.Background(), site, dir, host.Options{})
}
