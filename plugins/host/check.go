package host

import (
	"context"
	"fmt"
	"os"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

type oneSite struct{ s *sites.Site }

func (o oneSite) Site(id string) (*sites.Site, bool) { return o.s, id == o.s.ID }

// CheckSite starts each plugin the site names, in a throw-away state
// directory, checks its checksum, handshake, protocol version, roles and
// configuration, and stops it again: what `khula site validate` reports.
// siteDir is the site's folder on disk (relative plugin paths resolve
// against it); opts.Sites and opts.StateDir are ignored.
func CheckSite(ctx context.Context, site *sites.Site, siteDir string, opts Options) []error {
	tmp, err := os.MkdirTemp("", "khula-plugin-check-")
	if err != nil {
		return []error{fmt.Errorf("plugin check: %w", err)}
	}
	defer os.RemoveAll(tmp)
	opts.Sites, opts.StateDir, opts.Registerer = oneSite{site}, tmp, nil
	h, err := New(opts)
	if err != nil {
		return []error{err}
	}
	h.siteDir = siteDir
	defer h.Close()
	var errs []error
	for _, c := range []struct {
		role string
		ref  sites.PluginRef
	}{
		{plugins.RoleReferral, site.Plugins.Referral},
		{plugins.RoleNotify, site.Plugins.Notify},
		{plugins.RoleExport, site.Plugins.Export},
		{plugins.RoleIntake, site.Plugins.Intake.PluginRef},
	} {
		if c.ref.Builtin == "" && c.ref.Path == "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return append(errs, err)
		}
		if _, err := h.started(site.ID, c.role); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
