package schoolpack

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestRenderListsChildrenAndEscapes(t *testing.T) {
	p := Pack{SiteName: "Demo", SchoolName: "North <Primary>", MeetingDate: "2027-03-25", Wave: 2,
		PrintedAt: time.Date(2027, 3, 24, 9, 0, 0, 0, time.UTC), PrintedBy: "Coordinator",
		Domains: []Domain{{ID: "health", Label: "Health"}, {ID: "material", Label: "Material"}},
		Children: []Child{
			{ChildID: "ch-1", Name: `<script>alert(1)</script>`, Reason: "awaiting_plan",
				Levels:  []Level{{Domain: "material", Label: "Material", Level: "high", Reason: "no grant, no birth certificate"}},
				Missing: []string{"teacher"}, Flags: []Flag{{Code: "protection.disclosure", Reason: "child disclosed harm"}},
				Urgent: []Referral{{ServiceType: "social_development", Status: "acknowledged"}}, Previous: &Previous{Wave: 1, Outcome: "low_risk"}},
			{ChildID: "ch-2", Reason: "concern", Concern: "worried about weight"},
		},
		OverdueActions: []Action{{ChildID: "ch-3", Domain: "education", What: "note", DueOn: "2027-03-01"}},
		Summary:        Summary{Levels: map[string]map[string]int{"material": {"high": 1, "low": 6}}, Scored: 7, ReferralsOpen: 2, ReferralsOverdue: 1},
	}
	var buf bytes.Buffer
	if err := Render(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"North &lt;Primary&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;", "(name erased)", "no grant, no birth certificate",
		"Missing forms:</strong> Teacher", "Red flag: Protection.disclosure", "Social development (Acknowledged)",
		"Previous wave (1): Low risk", "Added with a concern</strong>: worried about weight", "ch-3", "not named",
		"7 child(ren) scored · referrals open: 2 · overdue: 1", "@page { size: A4",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("pack lacks %q", want)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("a name was not escaped")
	}
	// The summary row for material: high 1, moderate 0, low 6, not assessed 0.
	if !strings.Contains(out, `<td>Material</td><td class="num">1</td><td class="num">0</td><td class="num">6</td><td class="num">0</td>`) {
		t.Error("the summary's material row is wrong")
	}
}
