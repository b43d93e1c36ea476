package simulate_test

import (
	"context"
	"maps"
	"os"
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

// demoWave is what one play of the demo wave left behind.
type demoWave struct {
	sum simulate.Summary
	// outcome and risk of each child's cycle; forms lists the baseline
	// respondents whose forms were recorded, sorted.
	outcome, risk map[string]string
	forms         map[string][]string
	// referrals maps each referral to its final status and whether it was
	// dispatched to a service.
	referrals  map[string]string
	dispatched map[string]bool
	consented  map[string]bool
	took       time.Duration
}

// envFullDemo set to 1 plays the whole demo (60 children) instead of 20:
// on a loaded 2-core machine that takes minutes longer.
const envFullDemo = "KHULA_TEST_FULL_DEMO"

// TestDemoWaveOutcomeDoesNotDependOnLoad plays the demo wave (one simulated
// day per 250 ms; four children per school, or the demo's twelve with
// KHULA_TEST_FULL_DEMO=1) twice on the embedded engine: on an idle machine
// and with a process busy-looping on every core. Both plays end with the
// same outcome for every child, the outcomes the personas decide: no form
// is ever too late, not_assessed only for children nobody answers for,
// no_consent only for those without consent, every form a persona returns
// recorded, every referral closed with the service's own answer.
func TestDemoWaveOutcomeDoesNotDependOnLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine twice")
	}
	perSchool := 4
	if os.Getenv(envFullDemo) == "1" {
		perSchool = 12
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	sitesDir := filepath.Join(root, "sites")
	answers, err := simulate.NewAnswerer(sitesDir, "johannesburg", 7)
	if err != nil {
		t.Fatal(err)
	}

	idle := playDemoWave(t, root, perSchool, false)
	checkDemoWave(t, "idle", idle, answers, 5*perSchool)
	loaded := playDemoWave(t, root, perSchool, true)
	checkDemoWave(t, "loaded", loaded, answers, 5*perSchool)
	t.Logf("idle: %s, outcomes %v; loaded: %s, outcomes %v", idle.took.Round(time.Second), idle.sum.Report.Outcomes,
		loaded.took.Round(time.Second), loaded.sum.Report.Outcomes)

	if !maps.Equal(idle.sum.Report.Outcomes, loaded.sum.Report.Outcomes) {
		t.Errorf("outcomes idle %v, loaded %v", idle.sum.Report.Outcomes, loaded.sum.Report.Outcomes)
	}
	if !maps.Equal(idle.sum.Report.Referrals, loaded.sum.Report.Referrals) {
		t.Errorf("referrals idle %v, loaded %v", idle.sum.Report.Referrals, loaded.sum.Report.Referrals)
	}
	for child, o := range idle.outcome {
		if loaded.outcome[child] != o || loaded.risk[child] != idle.risk[child] {
			t.Errorf("child %s: idle %s (risk %s), loaded %s (risk %s)", child, o, idle.risk[child], loaded.outcome[child], loaded.risk[child])
		}
	}
	if !maps.Equal(idle.referrals, loaded.referrals) {
		t.Errorf("referrals idle %v, loaded %v", idle.referrals, loaded.referrals)
	}
}

// playDemoWave starts khula dev on a fresh data directory with the demo's
// children (perSchool in each of its five schools) and plays wave 1 to its
// end, with every core kept busy meanwhile when hog is set.
func playDemoWave(t *testing.T, root string, perSchool int, hog bool) demoWave {
	t.Helper()
	t.Setenv(app.EnvPayloadKeys, codectest.Spec)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	d, err := app.StartDev(ctx, app.DevOptions{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", SitesDir: filepath.Join(root, "sites"), GrowthDir: growthDir(root),
		DemoSite: "johannesburg", DemoPerSchool: perSchool, PluginCommand: pluginCommand,
	})
	cancel()
	if err != nil {
		t.Fatalf("starting khula dev: %v", err)
	}
	defer d.Stop(context.Background())

	stopHog := func() {}
	if hog {
		stopHog = startHog(t)
	}
	start := time.Now()
	sum, err := simulate.RunSummary(context.Background(), simulate.Options{
		Addr: d.BaseURL, Token: d.SimulatorToken, Site: "johannesburg", Wave: 1, DayLength: 250 * time.Millisecond,
		SitesDir: filepath.Join(root, "sites"), Timeout: budget(t, 6*time.Minute), RequestTimeout: 20 * time.Second, Out: testWriter{t},
	})
	took := time.Since(start)
	stopHog()
	if err != nil {
		t.Fatalf("playing the demo wave (hog %v): %v", hog, err)
	}
	if sum.Report == nil {
		t.Fatal("the wave closed without a report")
	}

	out := demoWave{sum: sum, took: took, outcome: map[string]string{}, risk: map[string]string{}, forms: map[string][]string{},
		referrals: map[string]string{}, dispatched: map[string]bool{}, consented: map[string]bool{}}
	db := d.Store.DB(context.Background())
	var cycles []store.Cycle
	if err := db.Where("wave_id = ?", sum.WaveID).Find(&cycles).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range cycles {
		out.outcome[c.ChildID], out.risk[c.ChildID] = c.Outcome, c.Risk
	}
	var forms []store.Assessment
	if err := db.Where("phase = ?", cycle.PhaseBaseline).Find(&forms).Error; err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		child := f.CycleID[strings.LastIndex(f.CycleID, "/")+1:]
		out.forms[child] = append(out.forms[child], f.Respondent)
	}
	for _, rs := range out.forms {
		slices.Sort(rs)
	}
	var refs []store.Referral
	if err := db.Where("wave_id = ?", sum.WaveID).Find(&refs).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		out.referrals[r.ID], out.dispatched[r.ID] = r.Status, r.DispatchedAt != nil
	}
	var consents []store.Consent
	if err := db.Where("withdrawn_at IS NULL").Find(&consents).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range consents {
		out.consented[c.ChildID] = true
	}
	return out
}

// checkDemoWave checks one play against what the personas decide.
func checkDemoWave(t *testing.T, name string, w demoWave, answers *simulate.Answerer, children int) {
	t.Helper()
	rep := w.sum.Report
	for action, n := range w.sum.Actions {
		if strings.Contains(action, "too late") {
			t.Errorf("%s: %d × %q", name, n, action)
		}
	}
	if rep.CohortSize != children || len(w.outcome) != children {
		t.Fatalf("%s: cohort %d, %d cycles; want the %d demo children", name, rep.CohortSize, len(w.outcome), children)
	}
	want := map[string]int{}
	atRisk := 0
	for child := range w.outcome {
		switch {
		case !w.consented[child]:
			want[cycle.OutcomeNoConsent]++
			continue
		case answers.PersonaOf(child) == simulate.Absent:
			want[cycle.OutcomeNotAssessed]++
			continue
		}
		// Every form the persona returns was recorded, and no other.
		var returned []string
		for _, r := range []string{"caregiver", "child", "nurse", "teacher"} {
			if answers.WillAnswer(child, cycle.PhaseBaseline, r) {
				returned = append(returned, r)
			}
		}
		if !slices.Equal(w.forms[child], returned) {
			t.Errorf("%s: child %s: baseline forms %v, the persona returns %v", name, child, w.forms[child], returned)
		}
		// A child at risk gets a plan and a reassessment: the cycle completes.
		if r := w.risk[child]; r == cycle.RiskModerate || r == cycle.RiskHigh {
			atRisk++
			if w.outcome[child] != cycle.OutcomeCompleted {
				t.Errorf("%s: child %s at %s risk closed %s, want %s", name, child, r, w.outcome[child], cycle.OutcomeCompleted)
			}
		}
	}
	want[cycle.OutcomeCompleted] = atRisk
	for _, o := range []string{cycle.OutcomeNoConsent, cycle.OutcomeNotAssessed, cycle.OutcomeCompleted} {
		if rep.Outcomes[o] != want[o] {
			t.Errorf("%s: %d %s, the personas make %d (outcomes %v)", name, rep.Outcomes[o], o, want[o], rep.Outcomes)
		}
	}
	if want[cycle.OutcomeNoConsent] == 0 || want[cycle.OutcomeNotAssessed] == 0 || atRisk == 0 {
		t.Errorf("%s: the demo should have children without consent, never assessed and at risk: %v", name, want)
	}
	if len(w.referrals) == 0 {
		t.Errorf("%s: no referral was made: the test proves nothing about services", name)
	}
	// The rest are assessed and not at risk: low risk, or incomplete where a
	// respondent's form never came; nothing else, and nothing left open.
	rest := 0
	for o, n := range rep.Outcomes {
		switch o {
		case cycle.OutcomeNoConsent, cycle.OutcomeNotAssessed, cycle.OutcomeCompleted:
		case cycle.OutcomeLowRisk, cycle.OutcomeIncomplete:
			rest += n
		default:
			t.Errorf("%s: %d cycles closed %s", name, n, o)
		}
	}
	if total := want[cycle.OutcomeNoConsent] + want[cycle.OutcomeNotAssessed] + atRisk + rest; total != children {
		t.Errorf("%s: outcomes %v cover %d of %d", name, rep.Outcomes, total, children)
	}
	// Each referral closed with the service's own answer: the persona's
	// outcome when it responds, unreachable when it never does (or no
	// service could take it).
	for id, status := range w.referrals {
		wantStatus := cycle.ReferralUnreachable
		if w.dispatched[id] && answers.ServiceResponds(id) {
			wantStatus = answers.ReferralOutcome(id)
		}
		if status != wantStatus {
			t.Errorf("%s: referral %s closed %s, the service answers %s", name, id, status, wantStatus)
		}
	}
}

// budget is want, or less when the test's deadline is nearer (a minute is
// kept to stop khula): a wave that cannot close in time fails the test
// instead of the package panicking at go test's timeout.
func budget(t *testing.T, want time.Duration) time.Duration {
	if dl, ok := t.Deadline(); ok {
		return max(min(want, time.Until(dl)-time.Minute), time.Second)
	}
	return want
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func growthDir(root string) string {
	if d := os.Getenv("KHULA_WHO_GROWTH_DIR"); d != "" {
		return d
	}
	d := filepath.Join(root, "..", "shared", "data", "who-growth")
	if _, err := os.Stat(d); err == nil {
		return d
	}
	return ""
}
