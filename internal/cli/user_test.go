package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/store"
)

// TestUserScope: `khula user scope` replaces a user's scope, prints it,
// audits it, and refuses an unknown user, site or school with exit 2
// and a message naming it; `khula user list` shows every user's scope.
func TestUserScope(t *testing.T) {
	t.Setenv(app.EnvPayloadKeys, codectest.Spec)
	dsn := filepath.Join(t.TempDir(), "khula.db")
	db := []string{"--db", dsn, "--sites-dir", sitesDir}
	khula := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return run(t, stdin, append(args, db...)...)
	}
	for _, args := range [][]string{
		{"user", "add", "coord", "--role", "site_coordinator", "--site", "johannesburg"},
		{"user", "add", "sw", "--role", "practitioner", "--practice", "nurse", "--site", "johannesburg", "--school", "meadowlands"},
		{"user", "add", "pm", "--role", "programme_manager"},
	} {
		if code, _, stderr := khula("", args...); code != 0 {
			t.Fatalf("khula %v: exit %d %s", args, code, stderr)
		}
	}

	code, out, stderr := khula("", "user", "scope", "coord", "--site", "johannesburg", "--site", "moutse", "--reason", "Moutse opened")
	if code != 0 || !strings.Contains(out, "coord (site_coordinator) now sees sites johannesburg, moutse (all their schools)") ||
		!strings.Contains(out, "sites=johannesburg,moutse schools=-") {
		t.Fatalf("scope: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = khula("", "user", "scope", "sw", "--site", "johannesburg", "--school", "meadowlands,alexandra")
	if code != 0 || !strings.Contains(out, "sw (practitioner) now sees site johannesburg, schools meadowlands, alexandra") {
		t.Fatalf("practitioner scope: exit %d\n%s%s", code, out, stderr)
	}

	code, out, _ = khula("", "user", "list")
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	for _, want := range []string{"sites=johannesburg,moutse schools=-", "sites=johannesburg schools=meadowlands,alexandra", "sites=- schools=-"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list does not show %q:\n%s", want, out)
		}
	}

	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"unknown user", []string{"nobody", "--site", "moutse"}, `no user "nobody"`},
		{"unknown site", []string{"coord", "--site", "johannesburg", "--site", "atlantis"}, `no site "atlantis"`},
		{"unknown school", []string{"sw", "--site", "johannesburg", "--school", "hogwarts"}, `site johannesburg has no school "hogwarts"`},
		{"coordinator without a site", []string{"coord"}, "a site coordinator needs at least one site"},
		{"programme manager with a site", []string{"pm", "--site", "moutse"}, "works across all sites"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := khula("", append([]string{"user", "scope"}, tt.args...)...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q (stdout %q); want exit 2 saying %q", code, stderr, out, tt.want)
			}
		})
	}

	// Without the keyring the change cannot be audited, so it is not made.
	t.Setenv(app.EnvPayloadKeys, "")
	if code, _, stderr := khula("", "user", "scope", "coord", "--site", "moutse"); code != 1 || !strings.Contains(stderr, "audit") {
		t.Errorf("without keys: exit %d %q, want 1 about the audit log", code, stderr)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByUsername(ctx, "coord")
	if err != nil || u.Sites != "johannesburg,moutse" {
		t.Fatalf("coord's stored scope %q (%v), want johannesburg,moutse (unchanged by the refusals)", u.Sites, err)
	}
	var entries []store.AuditEntry
	if err := st.DB(ctx).Where("action = ?", store.AuditWrite).Order("seq").Find(&entries).Error; err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d write entries, want 2 (the two changes): %+v", len(entries), entries)
	}
	e := entries[0]
	if !strings.HasPrefix(e.What, "scope of user coord: sites [johannesburg moutse] schools []") || e.ChildID != "" ||
		!strings.HasPrefix(e.Actor, "cli") || e.Role != "operator" || e.Why != "Moutse opened" {
		t.Errorf("audit entry %+v", e)
	}
}
