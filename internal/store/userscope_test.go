package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/khula-cop/khula/internal/store"
)

func TestSetUserScope(t *testing.T) {
	ctx := context.Background()
	errRefused := errors.New("refused")
	tests := []struct {
		name        string
		keyed       bool
		change      store.ScopeChange
		wantErr     error
		wantSites   string
		wantSchools string
		wantAudits  int64
	}{
		{name: "replaced", keyed: true, change: store.ScopeChange{Username: "coord", Sites: []string{siteA, siteB}},
			wantSites: siteA + "," + siteB},
		{name: "replaced and audited", keyed: true, change: store.ScopeChange{Username: "coord", Sites: []string{siteB}, Schools: []string{schoolB1},
			Audit: func(before store.User) store.AuditEntry {
				return store.AuditEntry{At: t0, Actor: "u-pm", ActorName: "pm", Role: "programme_manager", Action: store.AuditWrite, What: "scope of user coord (was " + before.Sites + ")"}
			}},
			wantSites: siteB, wantSchools: schoolB1, wantAudits: 1},
		{name: "check refuses: nothing written", keyed: true, change: store.ScopeChange{Username: "coord", Sites: []string{siteB},
			Check: func(store.User) error { return errRefused }}, wantErr: errRefused, wantSites: siteA},
		{name: "audit cannot be written: nothing written", keyed: false, change: store.ScopeChange{Username: "coord", Sites: []string{siteB},
			Audit: func(store.User) store.AuditEntry { return store.AuditEntry{At: t0, Action: store.AuditWrite} }},
			wantErr: store.ErrNoAuditKey, wantSites: siteA},
		{name: "unknown user", keyed: true, change: store.ScopeChange{Username: "nobody", Sites: []string{siteB}}, wantErr: store.ErrNotFound, wantSites: siteA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st *store.Store
			if tt.keyed {
				st = newStore(t)
			} else {
				st, _ = newSQLiteStore(t)
			}
			if err := st.CreateUser(ctx, store.User{ID: "u-coord", Username: "coord", Role: "site_coordinator", Sites: siteA, PasswordHash: "h", CreatedAt: t0}); err != nil {
				t.Fatal(err)
			}
			var seen store.User
			if tt.change.Check == nil {
				tt.change.Check = func(u store.User) error { seen = u; return nil }
			}
			u, err := st.SetUserScope(ctx, tt.change)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if seen.Sites != siteA {
					t.Errorf("the check saw %+v, want the user as stored before", seen)
				}
				if u.Sites != tt.wantSites || u.Schools != tt.wantSchools {
					t.Errorf("returned %q %q, want %q %q", u.Sites, u.Schools, tt.wantSites, tt.wantSchools)
				}
			}
			got, err := st.UserByUsername(ctx, "coord")
			if err != nil {
				t.Fatal(err)
			}
			if got.Sites != tt.wantSites || got.Schools != tt.wantSchools || got.PasswordHash != "h" || got.Role != "site_coordinator" {
				t.Errorf("stored %+v, want sites %q schools %q and the rest unchanged", got, tt.wantSites, tt.wantSchools)
			}
			var n int64
			if err := st.DB(ctx).Model(&store.AuditEntry{}).Where("action = ?", store.AuditWrite).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != tt.wantAudits {
				t.Errorf("%d write entries in the audit log, want %d", n, tt.wantAudits)
			}
		})
	}
}
