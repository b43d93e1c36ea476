package simulate_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/app"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/simulate"
	"github.com/khula-cop/khula/internal/store"
)

// TestSecondWaveFollowsTheSameChildren plays two waves of Moutse (whose
// consent must be renewed for every wave) on the embedded engine: between
// them the simulated coordinator records leavers, imports new intake and
// renews most consents. Wave 2 starts the continuing children under the
// IDs they had, never a leaver, every new child; a child whose consent
// was not renewed is not assessed.
func TestSecondWaveFollowsTheSameChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(app.EnvPayloadKeys, codectest.Spec)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	d, err := app.StartDev(ctx, app.DevOptions{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", SitesDir: filepath.Join(root, "sites"), GrowthDir: growthDir(root),
		DemoSite: "moutse", DemoPerSchool: 8, PluginCommand: pluginCommand,
	})
	cancel()
	if err != nil {
		t.Fatalf("starting khula dev: %v", err)
	}
	defer d.Stop(context.Background())

	var out strings.Builder
	sum, err := simulate.RunSummary(context.Background(), simulate.Options{
		Addr: d.BaseURL, Token: d.SimulatorToken, Site: "moutse", Wave: 1, Waves: 2, Intake: 4, LeaveShare: 0.3, DayLength: 200 * time.Millisecond,
		SitesDir: filepath.Join(root, "sites"), Timeout: budget(t, 6*time.Minute), RequestTimeout: 20 * time.Second, Out: &out,
		EveryoneAnswers: true,
	})
	t.Log(out.String())
	if err != nil {
		t.Fatalf("playing two waves: %v", err)
	}
	if sum.WaveID != cycle.WaveID("moutse", 2) {
		t.Fatalf("the last wave played is %s", sum.WaveID)
	}
	db := d.Store.DB(context.Background())
	inWave := func(n int) map[string]store.Cycle {
		var cycles []store.Cycle
		if err := db.Where("wave_id = ?", cycle.WaveID("moutse", n)).Find(&cycles).Error; err != nil {
			t.Fatal(err)
		}
		out := map[string]store.Cycle{}
		for _, c := range cycles {
			out[c.ChildID] = c
		}
		return out
	}
	w1, w2 := inWave(1), inWave(2)
	var children []store.Child
	if err := db.Select("id", "left_at", "left_reason", "created_at").Where("site_id = ?", "moutse").Find(&children).Error; err != nil {
		t.Fatal(err)
	}
	var leavers, intake, continuing []string
	for _, ch := range children {
		_, before := w1[ch.ID]
		_, after := w2[ch.ID]
		switch {
		case ch.LeftAt != nil:
			leavers = append(leavers, ch.ID)
			if after {
				t.Errorf("leaver %s (%s) was started in wave 2", ch.ID, ch.LeftReason)
			}
			if !before {
				t.Errorf("leaver %s never took part in wave 1", ch.ID)
			}
		case !before:
			intake = append(intake, ch.ID)
			if !after {
				t.Errorf("new child %s was not started in wave 2", ch.ID)
			}
		default:
			continuing = append(continuing, ch.ID)
			if !after {
				t.Errorf("continuing child %s was not started in wave 2 under the same ID", ch.ID)
			}
		}
	}
	if len(leavers) == 0 {
		t.Error("nobody left between the waves (the simulator records about 30%)")
	}
	if len(intake) != 4 {
		t.Errorf("new intake = %d children, want the 4 imported", len(intake))
	}
	// Consent: Moutse needs it renewed for each wave. A child with consent
	// renewed after wave 1 launched is assessed; one without is refused.
	var consents []store.Consent
	if err := db.Where("withdrawn_at IS NULL").Find(&consents).Error; err != nil {
		t.Fatal(err)
	}
	var w1Row store.Wave
	if err := db.Where("id = ?", cycle.WaveID("moutse", 1)).Take(&w1Row).Error; err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range consents {
		if (c.RenewedAt != nil && c.RenewedAt.After(w1Row.LaunchedAt)) || c.GivenAt.After(w1Row.LaunchedAt) {
			covered[c.ChildID] = true
		}
	}
	lapsed := 0
	for _, id := range slices.Concat(continuing, intake) {
		got := w2[id].Outcome
		if !covered[id] {
			lapsed++
			if got != cycle.OutcomeNoConsent {
				t.Errorf("child %s without consent for wave 2 closed %q, want %s", id, got, cycle.OutcomeNoConsent)
			}
		} else if got == cycle.OutcomeNoConsent {
			t.Errorf("child %s with consent renewed closed %s", id, got)
		}
	}
	t.Logf("wave 1: %d children; wave 2: %d (continuing %d, new %d, not assessed for consent %d); left %d",
		len(w1), len(w2), len(continuing), len(intake), lapsed, len(leavers))
	if !strings.Contains(out.String(), "from wave 1 to wave 2") {
		t.Error("the simulator did not print how the children changed")
	}
}
