package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/store"
)

func TestAuditChainDetectsTampering(t *testing.T) {
	ctx := context.Background()
	fill := func(t *testing.T) *store.Store {
		st := newStore(t)
		for i := range 5 {
			if _, err := st.Audit(ctx, store.AuditEntry{At: t0, Actor: "u1", ActorName: "sw", Role: "practitioner", Action: store.AuditRead,
				SiteID: siteA, ChildID: []string{"ch-1", "ch-2"}[i%2], What: "GET /api/v1/cycles/:site/:wave/:child", Outcome: "200"}); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	tests := []struct {
		name    string
		tamper  string
		problem string
	}{
		{"intact", "", ""},
		{"a field changed", "UPDATE audit_log SET actor_name = 'someone else' WHERE seq = 3", "entry 3 was changed"},
		{"an entry deleted", "DELETE FROM audit_log WHERE seq = 2", "entries 2 to 2 are missing"},
		{"the last entry deleted", "DELETE FROM audit_log WHERE seq = 5", "entries at the end were deleted"},
		{"an entry rewritten with a fresh hash", "UPDATE audit_log SET why = 'x', hash = 'abc' WHERE seq = 4", "entry 4 was changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := fill(t)
			if tc.tamper != "" {
				if err := st.DB(ctx).Exec(tc.tamper).Error; err != nil {
					t.Fatal(err)
				}
			}
			rep, err := st.VerifyAudit(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.problem == "" {
				if !rep.OK() || rep.Entries != 5 || rep.HeadSeq != 5 {
					t.Fatalf("intact chain reported %+v", rep)
				}
				return
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "; "), tc.problem) {
				t.Fatalf("problems %v, want one mentioning %q", rep.Problems, tc.problem)
			}
		})
	}
	st := fill(t)
	trail, err := st.AuditTrail(ctx, "ch-1", 100)
	if err != nil || len(trail) != 3 || trail[0].Seq != 1 || trail[2].Seq != 5 {
		t.Fatalf("trail of ch-1 = %+v, %v", trail, err)
	}
}
