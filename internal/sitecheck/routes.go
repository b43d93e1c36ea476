package sitecheck

import (
	"fmt"
	"path"

	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/sites"
)

// Routes checks where the site's instrument sends children against the
// site's services directory, and returns one problem per gap:
//
//   - every red flag that makes a referral (not notify_only) must reach a
//     service of its service type at every school of the site: the urgent
//     referral is made the moment the flag's form arrives, and there is no
//     fallback to another type;
//   - every domain rule's suggested service type must be offered somewhere
//     at the site (the meeting chooses the service for the plan).
//
// Problems point at the line that declares the service type (the base's red
// flag, or the site variant's red_flag_services entry that re-routed it).
func Routes(site *sites.Site, in *instrument.Instrument) []string {
	services := path.Join(site.Dir, site.ServicesFile)
	var out []string
	for _, f := range in.RedFlags() {
		if f.NotifyOnly {
			continue
		}
		for _, sc := range site.Schools {
			if len(site.ServicesFor(f.ServiceType, sc.ID)) > 0 {
				continue
			}
			out = append(out, fmt.Sprintf("%s: red flag %s sends its urgent referral to service type %q, but no %s service in %s serves school %s: add one (a service without a schools list serves every school), or re-route the flag with red_flag_services in the site's instrument",
				where(f.ServiceAt), f.Code, f.ServiceType, f.ServiceType, services, sc.ID))
		}
	}
	offered := map[string]bool{}
	for _, t := range site.ServiceTypes() {
		offered[t] = true
	}
	for _, d := range in.Domains() {
		for _, r := range in.Rules(d.ID) {
			if r.ServiceType == "" || offered[r.ServiceType] {
				continue
			}
			out = append(out, fmt.Sprintf("%s: domain rule of %s (%s, %q) suggests service type %q, which no service in %s offers: add one, or change the rule in the site's instrument",
				where(r.Pos), d.ID, r.Level, r.Reason, r.ServiceType, services))
		}
	}
	return out
}

// where renders a position as the loader's problems do.
func where(p instrument.Pos) string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}
