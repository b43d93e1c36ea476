package messages

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	c := NewCatalog()
	if err := c.Add(PlanOverdue, "nso", "Leano le diegile", "Cycle {{.cycle}}: leano le diegile ({{.waited}})."); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, lang string
		params     map[string]string
		want       string
		wantErr    string
	}{
		{name: PlanOverdue, lang: "en", params: map[string]string{"cycle": "c1", "school": "s", "waited": "21d"}, want: "Cycle c1 at s has waited 21d"},
		{name: PlanOverdue, lang: "nso", params: map[string]string{"cycle": "c1", "school": "s", "waited": "21d"}, want: "leano le diegile (21d)"},
		{name: PlanOverdue, lang: "zu", params: map[string]string{"cycle": "c1", "school": "s", "waited": "21d"}, want: "has waited 21d"}, // falls back to English
		{name: PlanOverdue, lang: "en", params: map[string]string{"cycle": "c1"}, wantErr: "school"},
		{name: "nope", lang: "en", wantErr: "unknown template"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.lang, func(t *testing.T) {
			_, body, err := c.Render(tc.name, tc.lang, tc.params)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(body, tc.want) {
				t.Fatalf("body = %q, %v; want containing %q", body, err, tc.want)
			}
		})
	}
	if err := c.Add("nope", "en", "x", "y"); err == nil {
		t.Fatal("adding an unknown template succeeded")
	}
	if err := c.Add(PlanOverdue, "en", "x", "{{.broken"); err == nil {
		t.Fatal("adding a broken template succeeded")
	}
}

func TestSiteTextsWin(t *testing.T) {
	c := NewCatalog()
	if err := c.AddSite("moutse", FollowUpDue, "nso", "Go latelela", "Cycle {{.cycle}}: {{.open}}"); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"cycle": "c1", "open": "2"}
	if _, body, _ := c.RenderFor("moutse", FollowUpDue, "nso", params); body != "Cycle c1: 2" {
		t.Errorf("moutse in Sepedi = %q", body)
	}
	if _, body, _ := c.RenderFor("johannesburg", FollowUpDue, "nso", params); !strings.Contains(body, "open referral") {
		t.Errorf("another site falls back to English: %q", body)
	}
	if _, body, _ := c.RenderFor("moutse", FollowUpDue, "nr", params); !strings.Contains(body, "open referral") {
		t.Errorf("a language the site did not translate falls back to English: %q", body)
	}
	if err := c.AddSite("moutse", "nope", "nso", "x", "y"); err == nil {
		t.Error("an unknown template was accepted")
	}
}
