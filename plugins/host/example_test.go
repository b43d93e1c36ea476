package host_test

import (
	"context"
	"log"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/host"
	"github.com/khula-cop/khula/sites"
)

type directory map[string]*sites.Site

func (d directory) Site(id string) (*sites.Site, bool) { s, ok := d[id]; return s, ok }

// A worker builds one host for the sites it serves, hands it to the
// activities as their Plugins, and closes it after the workers stop.
func ExampleNew() {
	moutse := &sites.Site{ID: "moutse", Timezone: "Africa/Johannesburg", Plugins: sites.Plugins{
		Referral: sites.PluginRef{Builtin: "outreach", Config: map[string]any{"chws": []any{map[string]any{"id": "chw-ward7"}}}},
	}}
	h, err := host.New(host.Options{
		Sites:      directory{"moutse": moutse},
		StateDir:   "/var/lib/khula/plugins",
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	referrer, err := h.Referrer("moutse") // starts `khula plugin serve outreach`
	if err != nil {
		log.Fatal(err)
	}
	receipt, err := referrer.Dispatch(context.Background(), plugins.ReferralRequest{
		IdempotencyKey: "referral/moutse/1/child-42/0", SiteID: "moutse", SchoolID: "moutse-primary",
		ServiceType: "outreach", Domain: "nutrition", ChildRef: "cycle/moutse/1/child-42",
	})
	log.Println(receipt.DispatchRef, receipt.Duplicate, err)
}
