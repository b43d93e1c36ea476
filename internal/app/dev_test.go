package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/simulate"
	"github.com/khula-cop/khula/internal/store"
)

func startDev(t *testing.T, dataDir string) *Dev {
	t.Helper()
	t.Setenv(EnvPayloadKeys, codectest.Spec)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := StartDev(ctx, DevOptions{
		DataDir:       dataDir,
		Addr:          "127.0.0.1:0",
		SitesDir:      filepath.Join(root, "sites"),
		GrowthDir:     growthDir(root),
		TemporalPort:  0,
		DemoSite:      "johannesburg",
		DemoPerSchool: 4,
		PluginCommand: pluginCommand,
	})
	if err != nil {
		t.Fatalf("starting khula dev: %v", err)
	}
	return d
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

func simulateWave(ctx context.Context, t *testing.T, d *Dev, wave int) (simulate.Summary, error) {
	t.Helper()
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	return simulate.RunSummary(ctx, simulate.Options{
		Addr: d.BaseURL, Token: d.SimulatorToken, Site: "johannesburg", Wave: wave, DayLength: 200 * time.Millisecond,
		SitesDir: filepath.Join(root, "sites"), Timeout: budget(t, 4*time.Minute), RequestTimeout: 20 * time.Second, Out: testWriter{t},
	})
}

// budget is want, or less when the test's deadline (go test -timeout, 10
// minutes by default) is nearer, keeping a minute to stop khula and clean
// up: a wave that cannot close in time fails its test, with what it is
// stuck on, instead of the package panicking at the deadline.
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

// checkWave asserts what must hold of any finished wave: every child
// accounted for, nothing recorded twice, no answers kept for children
// without consent.
func checkWave(t *testing.T, d *Dev, sum simulate.Summary, children int) {
	st := d.Store
	t.Helper()
	ctx := context.Background()
	rep := sum.Report
	if rep == nil {
		t.Fatal("the wave closed without a report")
	}
	total := 0
	for _, n := range rep.Outcomes {
		total += n
	}
	if total != children || rep.CohortSize != children {
		t.Errorf("outcomes %v cover %d children (cohort %d), want %d", rep.Outcomes, total, rep.CohortSize, children)
	}
	if rep.Outcomes[cycle.OutcomeNoConsent] == 0 {
		t.Errorf("no child without consent in %v; the demo seeds some", rep.Outcomes)
	}
	db := st.DB(ctx)
	var leaked int64
	db.Model(&store.Assessment{}).Where("cycle_id IN (?)", db.Model(&store.Cycle{}).Select("id").Where("outcome = ?", cycle.OutcomeNoConsent)).Count(&leaked)
	if leaked != 0 {
		t.Errorf("%d answers stored for children without consent", leaked)
	}
	var open int64
	db.Model(&store.Cycle{}).Where("wave_id = ? AND status <> ?", sum.WaveID, store.CycleClosed).Count(&open)
	if open != 0 {
		t.Errorf("%d cycles still open after the wave closed", open)
	}
	// Each referral went out exactly once, through the plugin process: one
	// mail per referral at the dev relay, each with its own idempotency key.
	var referrals int64
	db.Model(&store.Referral{}).Where("wave_id = ? AND status <> ?", sum.WaveID, cycle.ReferralCreated).Count(&referrals)
	keys := map[string]int{}
	files, err := d.Mail.Messages()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\r\n") {
			if k, ok := strings.CutPrefix(line, "X-Khula-Idempotency-Key: "); ok && strings.HasPrefix(k, "referral/") {
				keys[k]++
			}
		}
	}
	if referrals == 0 || int64(len(keys)) != referrals {
		t.Errorf("%d referrals dispatched but %d distinct referral mails", referrals, len(keys))
	}
	for k, n := range keys {
		if n != 1 {
			t.Errorf("referral %s was mailed %d times", k, n)
		}
	}
}

func TestWaveEndToEndOnEmbeddedEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	dir := t.TempDir()
	d := startDev(t, dir)
	defer d.Stop(context.Background())

	ctx := context.Background()
	sum, err := simulateWave(ctx, t, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkWave(t, d, sum, 20)
	// The closed wave's aggregates go out through the export plugin just
	// after the wave closes.
	var exported []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(exported) == 0; time.Sleep(200 * time.Millisecond) {
		exported, _ = filepath.Glob(filepath.Join(d.DataDir, "exports", "*aggregates.csv"))
	}
	if len(exported) != 1 {
		t.Errorf("exports: %v, want one aggregates file for wave 1", exported)
	}

	// Launching the same wave again launches nothing.
	again, err := simulate.RunSummary(ctx, simulate.Options{Addr: d.BaseURL, Token: d.SimulatorToken, Wave: 1, DayLength: 200 * time.Millisecond, Timeout: 10 * time.Second})
	if err != nil || again.Report == nil || again.Report.CohortSize != 20 {
		t.Fatalf("relaunching wave 1: %+v, %v", again, err)
	}
	var cycles int64
	d.Store.DB(ctx).Model(&store.Cycle{}).Count(&cycles)
	if cycles != 20 {
		t.Errorf("%d cycles after launching wave 1 twice, want 20", cycles)
	}

	// The stage is visible as a search attribute.
	resp, err := d.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: "KhulaStage = 'closed' AND KhulaSite = 'johannesburg' AND ExecutionStatus = 'Completed' AND WorkflowType = 'ChildCycleWorkflow'",
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetCount() != 20 {
		t.Errorf("visibility finds %d closed cycles by search attribute, want 20", resp.GetCount())
	}

	// No payload reaches the engine in clear: every payload in a cycle's
	// history is encrypted, and no answer key or demo name appears in it.
	var c store.Cycle
	if err := d.Store.DB(ctx).Where("outcome = ?", cycle.OutcomeCompleted).Order("id").First(&c).Error; err != nil {
		t.Fatal(err)
	}
	h := &historypb.History{}
	it := d.Client.GetWorkflowHistory(ctx, c.ID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	raw, err := protojson.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sdq01", "phq9_", "Demo child", "hunger_bed", "answers", "submitted_by"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the history of %s holds %q in clear", c.ID, secret)
		}
	}
	input := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
	// Sealed with the child's own data key (crypto-shredding), not the keyring.
	if string(input.GetMetadata()["encoding"]) != "binary/encrypted" || !strings.HasPrefix(string(input.GetMetadata()["encryption-key-id"]), "dek:") {
		t.Errorf("the cycle's input is not sealed with the child's data key: metadata %v", input.GetMetadata())
	}

	if out := os.Getenv("KHULA_RECORD_HISTORY"); out != "" {
		recordHistory(t, d, out)
	}
}

// recordHistory saves histories of real runs into dir for the replay test
// in workflows/testdata (payloads sealed with a child's data key are
// sealed again with the test keyring: the replay test has no database): a completed at-risk cycle (plan, referral,
// reassessment), one of its referrals, a meeting that was held, and the wave.
func recordHistory(t *testing.T, d *Dev, dir string) {
	ctx := context.Background()
	db := d.Store.DB(ctx)
	var c store.Cycle
	if err := db.Where("outcome = ?", cycle.OutcomeCompleted).Order("id").First(&c).Error; err != nil {
		t.Fatalf("no completed at-risk cycle to record: %v", err)
	}
	var r store.Referral
	if err := db.Where("cycle_id = ?", c.ID).Order("id").First(&r).Error; err != nil {
		t.Fatalf("no referral to record: %v", err)
	}
	var m store.Meeting
	if err := db.Where("status = ?", cycle.MeetingHeld).Order("id").First(&m).Error; err != nil {
		t.Fatalf("no meeting to record: %v", err)
	}
	for name, id := range map[string]string{"cycle-at-risk": c.ID, "referral": r.ID, "meeting": m.ID, "wave": cycle.WaveID("johannesburg", 1)} {
		it := d.Client.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		h := &historypb.History{}
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, ev)
		}
		resealForReplay(t, d, h)
		data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name+".json")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s (%d events) to %s", id, len(h.Events), out)
	}
}

func TestRestartMidWaveLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	dir := t.TempDir()
	d := startDev(t, dir)
	// Play until a dozen forms are saved, then stop khula mid-wave.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := simulateWave(ctx, t, d, 1)
		done <- err
	}()
	var before int64
	deadline := time.Now().Add(time.Minute)
	for before < 12 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		d.Store.DB(context.Background()).Model(&store.Assessment{}).Count(&before)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the wave closed before the restart; the test needs it mid-way")
	}
	if before < 12 {
		t.Fatalf("only %d forms saved in a minute", before)
	}
	d.Stop(context.Background())

	d2 := startDev(t, dir)
	defer d2.Stop(context.Background())
	sum, err := simulateWave(context.Background(), t, d2, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkWave(t, d2, sum, 20)
	var after int64
	d2.Store.DB(context.Background()).Model(&store.Assessment{}).Count(&after)
	if after < before {
		t.Errorf("forms saved before the restart were lost: %d then %d", before, after)
	}
}

// TestMoutseWaveWithItsPlugins runs a wave at the rural site: forms arrive
// in batches after connectivity gaps, referrals go to community health
// workers through the outreach plugin process.
func TestMoutseWaveWithItsPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	t.Setenv(EnvPayloadKeys, codectest.Spec)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	d, err := StartDev(context.Background(), DevOptions{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", SitesDir: filepath.Join(root, "sites"), GrowthDir: growthDir(root),
		DemoSite: "moutse", DemoPerSchool: 12, PluginCommand: pluginCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop(context.Background())
	sum, err := simulate.RunSummary(context.Background(), simulate.Options{
		Addr: d.BaseURL, Token: d.SimulatorToken, Site: "moutse", Wave: 1, DayLength: 200 * time.Millisecond,
		SitesDir: filepath.Join(root, "sites"), Timeout: budget(t, 4*time.Minute), RequestTimeout: 20 * time.Second, Out: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Report == nil || sum.Report.CohortSize != 12 {
		t.Fatalf("report %+v", sum.Report)
	}
	total := 0
	for _, n := range sum.Report.Outcomes {
		total += n
	}
	if total != 12 {
		t.Errorf("outcomes %v cover %d of 12", sum.Report.Outcomes, total)
	}
	// The outreach plugin process took the referrals: its journal names
	// each one, assigned to a community health worker for a home visit.
	journal, err := os.ReadFile(filepath.Join(d.DataDir, "plugins", "moutse", "referral-outreach", "referrals.jsonl"))
	referrals := 0
	for _, n := range sum.Report.Referrals {
		referrals += n
	}
	if referrals > 0 && (err != nil || !strings.Contains(string(journal), "referral/moutse/1/") || !strings.Contains(string(journal), "chw-ward7")) {
		t.Errorf("referrals %v but the outreach journal lacks them (%v):\n%.400s", sum.Report.Referrals, err, journal)
	}
}

// resealForReplay opens every payload sealed with a child's data key and
// seals it again with the test keyring, in place.
func resealForReplay(t *testing.T, d *Dev, h *historypb.History) {
	t.Helper()
	open := codec.New(codectest.Keyring()).WithDataKeys(d.DataKeys)
	seal := codec.New(codectest.Keyring())
	eachPayload(h.ProtoReflect(), func(p *commonpb.Payload) {
		if !bytes.HasPrefix(p.GetMetadata()[codec.MetadataKeyID], []byte("dek:")) {
			return
		}
		plain, err := open.Decode([]*commonpb.Payload{p})
		if err != nil {
			t.Fatalf("opening a recorded payload: %v", err)
		}
		sealed, err := seal.Encode(plain)
		if err != nil {
			t.Fatal(err)
		}
		p.Metadata, p.Data = sealed[0].Metadata, sealed[0].Data
	})
}
