package outreach

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/khula-cop/khula/plugins"
)

func TestNextVisit(t *testing.T) {
	jhb, _ := time.LoadLocation("Africa/Johannesburg")
	tueThu := []time.Weekday{time.Tuesday, time.Thursday}
	cases := []struct {
		now    string
		urgent bool
		lead   int
		want   string
	}{
		{"2026-08-10 09:00", false, 1, "2026-08-11"}, // Monday -> Tuesday
		{"2026-08-11 09:00", false, 1, "2026-08-13"}, // Tuesday -> Thursday, not today
		{"2026-08-11 09:00", false, 0, "2026-08-11"}, // lead 0: today is a visit day
		{"2026-08-13 16:00", false, 1, "2026-08-18"}, // Thursday -> next Tuesday
		{"2026-08-14 23:30", false, 3, "2026-08-18"}, // Friday + 3 = Monday -> Tuesday
		{"2026-08-14 23:30", true, 1, "2026-08-15"},  // urgent: tomorrow whatever the day
	}
	for _, c := range cases {
		now, _ := time.ParseInLocation("2006-01-02 15:04", c.now, jhb)
		if got := NextVisit(now, c.urgent, tueThu, c.lead).Format(time.DateOnly); got != c.want {
			t.Errorf("NextVisit(%s, urgent %v, lead %d) = %s, want %s", c.now, c.urgent, c.lead, got, c.want)
		}
	}
}

func TestDigestIsSentOncePerDay(t *testing.T) {
	jhb, _ := time.LoadLocation("Africa/Johannesburg")
	// The clock is read by the plugin's digest goroutine too (its flush
	// at start), so it is shared through an atomic pointer.
	var now atomic.Pointer[time.Time]
	setNow := func(t time.Time) { now.Store(&t) }
	setNow(time.Date(2026, 8, 10, 16, 0, 0, 0, jhb))
	p := New()
	p.Now = func() time.Time { return *now.Load() }
	settings, _ := json.Marshal(map[string]any{"chws": []any{map[string]any{"id": "chw-a"}}, "send_at": "17:00", "check_every": "1h"})
	state := t.TempDir()
	if err := p.Configure(context.Background(), plugins.Config{SiteID: "moutse", Settings: settings, StateDir: state, Timezone: "Africa/Johannesburg"}); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	dispatch := func(key string) {
		if _, err := p.Dispatch(ctx, plugins.ReferralRequest{IdempotencyKey: key, SchoolID: "moutse-primary", ServiceType: "outreach", Domain: "nutrition", ChildRef: "cycle/" + key}); err != nil {
			t.Fatal(err)
		}
	}
	dispatch("r1")
	dispatch("r2")
	if n, err := p.FlushDigests(ctx); err != nil || n != 0 {
		t.Fatalf("before send_at: sent %d, %v", n, err)
	}
	setNow(time.Date(2026, 8, 10, 17, 30, 0, 0, jhb)) // after send_at
	dispatch("r3")                                    // joins tomorrow's digest
	if n, err := p.FlushDigests(ctx); err != nil || n != 1 {
		t.Fatalf("after send_at: sent %d, %v", n, err)
	}
	if n, _ := p.FlushDigests(ctx); n != 0 {
		t.Errorf("the digest went out twice")
	}
	txt, err := os.ReadFile(filepath.Join(state, "digest", "2026-08-10", "chw-a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(txt), "cycle/r1") || !strings.Contains(string(txt), "cycle/r2") || strings.Contains(string(txt), "cycle/r3") {
		t.Errorf("digest of 2026-08-10:\n%s", txt)
	}
	setNow(time.Date(2026, 8, 11, 18, 0, 0, 0, jhb))
	if n, _ := p.FlushDigests(ctx); n != 1 {
		t.Errorf("the next day's digest was not sent")
	}
	if txt, _ := os.ReadFile(filepath.Join(state, "digest", "2026-08-11", "chw-a.txt")); !strings.Contains(string(txt), "cycle/r3") {
		t.Errorf("digest of 2026-08-11:\n%s", txt)
	}
}
