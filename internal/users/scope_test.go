package users_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

func setup(t *testing.T) (*store.Store, *sitedir.Directory) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "khula.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetFieldCipher(codectest.Keyring())
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir, err := sitedir.Load("../../sites")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []users.Spec{
		{Username: "manager", Role: auth.ProgrammeManager},
		{Username: "ops", Role: auth.Ops},
		{Username: "coord", Role: auth.SiteCoordinator, Sites: []string{"johannesburg"}},
		{Username: "sw", Role: auth.Practitioner, Practice: "social_worker", Sites: []string{"johannesburg"}, Schools: []string{"meadowlands"}},
		{Username: "advisor", Role: auth.Advisor, SeesNames: true},
	} {
		if _, err := users.Create(ctx, st, dir, s); err != nil {
			t.Fatal(err)
		}
	}
	return st, dir
}

func TestSetScope(t *testing.T) {
	tests := []struct {
		name, user      string
		sites, schools  []string
		wantSites       string
		wantSchools     string
		wantErr         []string // parts of the error; none: accepted
		wantFields      []string // the problems' fields, in order
		wantNotFoundErr bool
	}{
		{name: "coordinator given a new site", user: "coord", sites: []string{"johannesburg", "moutse"}, wantSites: "johannesburg,moutse"},
		{name: "coordinator moved to another site", user: "coord", sites: []string{"moutse"}, wantSites: "moutse"},
		{name: "repeats and blanks are dropped", user: "coord", sites: []string{" moutse ", "", "moutse", "johannesburg"}, wantSites: "moutse,johannesburg"},
		{name: "coordinator with no site", user: "coord", wantErr: []string{"a site coordinator needs at least one site"}, wantFields: []string{"sites"}},
		{name: "coordinator with an unknown site", user: "coord", sites: []string{"johannesburg", "atlantis"}, wantErr: []string{`no site "atlantis"`}, wantFields: []string{"sites"}},
		{name: "coordinator with a school", user: "coord", sites: []string{"johannesburg"}, schools: []string{"meadowlands"},
			wantErr: []string{"works across the site's schools: give no school"}, wantFields: []string{"schools"}},
		{name: "practitioner given another school", user: "sw", sites: []string{"johannesburg"}, schools: []string{"meadowlands", "alexandra"},
			wantSites: "johannesburg", wantSchools: "meadowlands,alexandra"},
		{name: "practitioner with a school of another site", user: "sw", sites: []string{"johannesburg"}, schools: []string{"moutse-primary"},
			wantErr: []string{`site johannesburg has no school "moutse-primary"`}, wantFields: []string{"schools"}},
		{name: "practitioner with two sites", user: "sw", sites: []string{"johannesburg", "moutse"}, schools: []string{"meadowlands"},
			wantErr: []string{"a practitioner needs one site and at least one school", `site moutse has no school "meadowlands"`}, wantFields: []string{"sites", "schools"}},
		{name: "practitioner with no school", user: "sw", sites: []string{"johannesburg"},
			wantErr: []string{"a practitioner needs one site and at least one school"}, wantFields: []string{"schools"}},
		{name: "programme manager keeps no scope", user: "manager"},
		{name: "programme manager with a site", user: "manager", sites: []string{"johannesburg"},
			wantErr: []string{"a programme_manager works across all sites: give no site or school"}, wantFields: []string{"sites"}},
		{name: "ops with a school", user: "ops", schools: []string{"meadowlands"}, wantErr: []string{"give no site or school"}, wantFields: []string{"schools"}},
		{name: "advisor narrowed to a site", user: "advisor", sites: []string{"moutse"}, wantSites: "moutse"},
		{name: "advisor with a school", user: "advisor", schools: []string{"meadowlands"}, wantErr: []string{"an advisor reads whole sites"}, wantFields: []string{"schools"}},
		{name: "unknown user", user: "nobody", sites: []string{"moutse"}, wantNotFoundErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, dir := setup(t)
			ctx := context.Background()
			before, _ := st.UserByUsername(ctx, tt.user)
			u, err := users.SetScope(ctx, st, dir, tt.user, tt.sites, tt.schools)
			after, _ := st.UserByUsername(ctx, tt.user)
			switch {
			case tt.wantNotFoundErr:
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("err = %v, want store.ErrNotFound", err)
				}
				return
			case len(tt.wantErr) > 0:
				var se *users.ScopeError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want a *users.ScopeError", err)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				var fields []string
				for _, p := range se.Problems {
					fields = append(fields, p.Field)
				}
				if strings.Join(fields, " ") != strings.Join(tt.wantFields, " ") {
					t.Errorf("problem fields %v, want %v", fields, tt.wantFields)
				}
				if after.Sites != before.Sites || after.Schools != before.Schools {
					t.Errorf("a refused scope was written: %q %q, was %q %q", after.Sites, after.Schools, before.Sites, before.Schools)
				}
				return
			case err != nil:
				t.Fatalf("SetScope: %v", err)
			}
			if u.Sites != tt.wantSites || u.Schools != tt.wantSchools {
				t.Errorf("returned scope %q %q, want %q %q", u.Sites, u.Schools, tt.wantSites, tt.wantSchools)
			}
			if after.Sites != tt.wantSites || after.Schools != tt.wantSchools {
				t.Errorf("stored scope %q %q, want %q %q", after.Sites, after.Schools, tt.wantSites, tt.wantSchools)
			}
			if after.Role != before.Role || after.Practice != before.Practice || after.SeesNames != before.SeesNames || after.PasswordHash != before.PasswordHash {
				t.Errorf("SetScope changed more than the scope: %+v, was %+v", after, before)
			}
		})
	}
}

// TestSetScopeAsAuditsWithTheChange: the audited change writes one entry
// (action write, no child) naming the user, the new scope and the old.
func TestSetScopeAsAuditsWithTheChange(t *testing.T) {
	st, dir := setup(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	by := users.Actor{ID: "u-1", Name: "manager", Role: "programme_manager", Why: "new site opened", At: at}
	if _, err := users.SetScopeAs(ctx, st, dir, by, "coord", []string{"johannesburg", "moutse"}, nil); err != nil {
		t.Fatal(err)
	}
	var entries []store.AuditEntry
	if err := st.DB(ctx).Where("action = ?", store.AuditWrite).Find(&entries).Error; err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d write entries, want 1: %+v", len(entries), entries)
	}
	e := entries[0]
	want := "scope of user coord: sites [johannesburg moutse] schools [] (was: sites [johannesburg] schools [])"
	if e.What != want || e.ChildID != "" || e.Actor != "u-1" || e.ActorName != "manager" || e.Why != "new site opened" || !e.At.Equal(at) {
		t.Errorf("audit entry %+v, want What %q by u-1 with no child", e, want)
	}
	if rep, err := st.VerifyAudit(ctx, nil, nil); err != nil || len(rep.Problems) > 0 {
		t.Errorf("the chain does not verify: %v %+v", err, rep)
	}

	// A refused scope is neither written nor audited.
	if _, err := users.SetScopeAs(ctx, st, dir, by, "coord", []string{"atlantis"}, nil); err == nil {
		t.Fatal("an unknown site was accepted")
	}
	var n int64
	if err := st.DB(ctx).Model(&store.AuditEntry{}).Where("action = ?", store.AuditWrite).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("%d write entries after a refused change (%v), want still 1", n, err)
	}
}

// TestSetScopeIsNotWrittenUnaudited: without the audit key the audited
// change fails and the scope stays as it was.
func TestSetScopeIsNotWrittenUnaudited(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "khula.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	dir, err := sitedir.Load("../../sites")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Create(ctx, st, dir, users.Spec{Username: "coord", Role: auth.SiteCoordinator, Sites: []string{"johannesburg"}}); err != nil {
		t.Fatal(err)
	}
	_, err = users.SetScopeAs(ctx, st, dir, users.Actor{ID: "cli", Name: "cli", Role: "operator"}, "coord", []string{"moutse"}, nil)
	if !errors.Is(err, store.ErrNoAuditKey) {
		t.Fatalf("err = %v, want store.ErrNoAuditKey", err)
	}
	u, err := st.UserByUsername(ctx, "coord")
	if err != nil || u.Sites != "johannesburg" {
		t.Errorf("scope after a failed audit: %q (%v), want johannesburg", u.Sites, err)
	}
}

func TestDescribeScope(t *testing.T) {
	tests := []struct {
		u    store.User
		want string
	}{
		{store.User{Role: "programme_manager"}, "all sites"},
		{store.User{Role: "ops"}, "all sites"},
		{store.User{Role: "advisor"}, "all sites"},
		{store.User{Role: "advisor", Sites: "moutse"}, "site moutse"},
		{store.User{Role: "site_coordinator", Sites: "johannesburg,moutse"}, "sites johannesburg, moutse (all their schools)"},
		{store.User{Role: "practitioner", Sites: "johannesburg", Schools: "meadowlands,alexandra"}, "site johannesburg, schools meadowlands, alexandra"},
	}
	for _, tt := range tests {
		if got := users.DescribeScope(tt.u); got != tt.want {
			t.Errorf("DescribeScope(%s %q %q) = %q, want %q", tt.u.Role, tt.u.Sites, tt.u.Schools, got, tt.want)
		}
	}
}

// TestCheckKeepsItsFlagWording: `khula user add` still names its flags.
func TestCheckKeepsItsFlagWording(t *testing.T) {
	dir, err := sitedir.Load("../../sites")
	if err != nil {
		t.Fatal(err)
	}
	err = users.Check(users.Spec{Username: "c", Role: auth.SiteCoordinator, Schools: []string{"meadowlands"}}, dir)
	for _, want := range []string{"a site coordinator needs at least one --site", "give no --school"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v, want it to say %q", err, want)
		}
	}
	if err := users.Check(users.Spec{Username: "sw", Role: auth.Practitioner, Practice: "nurse", Sites: []string{"johannesburg"}, Schools: []string{"alexandra"}}, dir); err != nil {
		t.Errorf("a valid practitioner: %v", err)
	}
}
