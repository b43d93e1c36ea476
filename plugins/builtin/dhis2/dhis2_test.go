package dhis2

import (
	"regexp"
	"testing"
)

func TestUID(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{10}$`)
	seen := map[string]bool{}
	for _, id := range []string{"c1", "c2", "c3", "cycle/jhb/3/child-1"} {
		u := UID("jhb", "trackedEntity", id)
		if !valid.MatchString(u) {
			t.Errorf("UID %q is not a DHIS2 UID", u)
		}
		if u != UID("jhb", "trackedEntity", id) {
			t.Errorf("UID of %q is not stable", id)
		}
		if seen[u] {
			t.Errorf("UID %q repeats", u)
		}
		seen[u] = true
	}
	if UID("jhb", "event", "r1") == UID("moutse", "event", "r1") {
		t.Error("two sites share a UID")
	}
}
