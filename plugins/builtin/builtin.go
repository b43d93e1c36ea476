// Package builtin lists the plugins that ship inside the khula binary. They
// still run out of process: the host re-executes khula as
// `khula plugin serve <name>`, whose main is Serve.
package builtin

import (
	"fmt"
	"sort"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/csvexport"
	"github.com/khula-cop/khula/plugins/builtin/dhis2"
	"github.com/khula-cop/khula/plugins/builtin/directory"
	"github.com/khula-cop/khula/plugins/builtin/kobo"
	"github.com/khula-cop/khula/plugins/builtin/logfile"
	"github.com/khula-cop/khula/plugins/builtin/odkcentral"
	"github.com/khula-cop/khula/plugins/builtin/outreach"
	"github.com/khula-cop/khula/plugins/builtin/smtp"
	"github.com/khula-cop/khula/plugins/builtin/webhook"
	"github.com/khula-cop/khula/plugins/shared"
)

// Plugin describes a built-in plugin.
type Plugin struct {
	Name    string
	Role    string
	Summary string
	New     func() shared.Impl
}

var all = []Plugin{
	{directory.Name, plugins.RoleReferral, "services from the site's services file; referrals by email (SMTP) or webhook", func() shared.Impl { return directory.New() }},
	{outreach.Name, plugins.RoleReferral, "rural outreach: round-robin CHW, home-visit date, daily digest per CHW", func() shared.Impl { return outreach.New() }},
	{logfile.Name, plugins.RoleNotify, "one line per message (key, channel, template, language) in the state directory", func() shared.Impl { return logfile.New() }},
	{webhook.Name, plugins.RoleNotify, "JSON POST per message with an Idempotency-Key header", func() shared.Impl { return webhook.New() }},
	{smtp.Name, plugins.RoleNotify, "plain-text mail per message through an SMTP relay", func() shared.Impl { return smtp.New() }},
	{dhis2.Name, plugins.RoleExport, "DHIS2 Tracker import (POST /api/tracker) and data value sets", func() shared.Impl { return dhis2.New() }},
	{csvexport.Name, plugins.RoleExport, "CSV files in a drop directory", func() shared.Impl { return csvexport.New() }},
	{odkcentral.Name, plugins.RoleIntake, "form submissions from an ODK Central form (OData)", func() shared.Impl { return odkcentral.New() }},
	{kobo.Name, plugins.RoleIntake, "form submissions from a KoboToolbox form (API v2)", func() shared.Impl { return kobo.New() }},
}

// All lists the built-in plugins by role, then name.
func All() []Plugin {
	out := append([]Plugin(nil), all...)
	order := map[string]int{plugins.RoleReferral: 0, plugins.RoleNotify: 1, plugins.RoleExport: 2, plugins.RoleIntake: 3}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return order[out[i].Role] < order[out[j].Role]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Lookup finds a built-in plugin by name.
func Lookup(name string) (Plugin, bool) {
	for _, p := range all {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Serve serves the built-in plugin name to the khula host that started this
// process; it returns when the host stops the plugin.
func Serve(name string) error {
	p, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("no built-in plugin %q (khula plugin list shows them)", name)
	}
	return shared.Serve(p.New())
}
