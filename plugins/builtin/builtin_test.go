package builtin

import (
	"slices"
	"testing"

	"github.com/khula-cop/khula/sites"
)

// The built-ins a site file may name are the built-ins khula ships, role by
// role: a plugin added on one side only would pass validation and fail at
// start-up, or ship unreachable.
func TestSitesAcceptExactlyTheShippedBuiltins(t *testing.T) {
	shipped := map[string][]string{}
	for _, p := range All() {
		shipped[p.Role] = append(shipped[p.Role], p.Name)
		if got := p.New().Name(); got != p.Name {
			t.Errorf("built-in %q reports its name as %q", p.Name, got)
		}
	}
	accepted := sites.BuiltinPlugins()
	for role := range accepted {
		slices.Sort(accepted[role])
	}
	for role := range shipped {
		slices.Sort(shipped[role])
	}
	if len(accepted) != len(shipped) {
		t.Errorf("roles: sites accept %v, khula ships %v", accepted, shipped)
	}
	for role, names := range shipped {
		if !slices.Equal(accepted[role], names) {
			t.Errorf("role %s: sites accept %v, khula ships %v", role, accepted[role], names)
		}
	}
}
