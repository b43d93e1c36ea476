package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

// fakeCentral is an ODK Central server holding one form's submissions.
type fakeCentral struct {
	mu    sync.Mutex
	rows  []map[string]any
	calls int
}

func (c *fakeCentral) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer central-test-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/v1/projects/7/forms/cwbtt-johannesburg.svc/Submissions" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	c.calls++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"value": c.rows})
}

// teacherRow is a teacher's baseline form as Central's OData feed gives it.
func teacherRow(n int, cycleRef string, disclosure bool) map[string]any {
	id := fmt.Sprintf("uuid:7e57da7a-0000-4000-8000-%012d", n)
	yes := "no"
	if disclosure {
		yes = "yes"
	}
	return map[string]any{
		"__id": id, "meta": map[string]any{"instanceID": id},
		"__system":  map[string]any{"submissionDate": "2026-08-03T08:00:00.000Z", "reviewState": nil},
		"cycle_ref": cycleRef, "phase": "baseline", "respondent": "teacher",
		"teacher": map[string]any{"edu_number": "partly", "edu_reading": "achieved", "edu_days_absent": 2, "teacher_disclosure": yes},
	}
}

// withIntake copies the shipped sites and names an odk-central intake
// plugin for Johannesburg, reading from url.
func withIntake(t *testing.T, url string) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sites")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "sites"))); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "johannesburg", "site.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	intake := "plugins:\n  intake: {builtin: odk-central, every: 1h, config: {url: \"" + url +
		"\", project: 7, form_id: cwbtt-johannesburg, token_env: KHULA_TEST_CENTRAL_TOKEN}}\n"
	if !bytes.Contains(data, []byte("\nplugins:\n")) {
		t.Fatal("test broken: johannesburg/site.yaml has no plugins: line")
	}
	data = bytes.Replace(data, []byte("\nplugins:\n"), []byte("\n"+intake), 1)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestScheduledIntakePullFromODKCentral runs the intake pull end to end on
// the embedded engine: the worker's schedule exists, the odk-central
// plugin runs as its own process and downloads the form's submissions from
// a Central server, each form reaches its child's running cycle once
// however often it is pulled, and a teacher's disclosure raises the red
// flag on arrival.
func TestScheduledIntakePullFromODKCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	central := &fakeCentral{}
	srv := httptest.NewServer(central)
	defer srv.Close()
	t.Setenv("KHULA_TEST_CENTRAL_TOKEN", "central-test-token")
	t.Setenv(EnvPayloadKeys, codectest.Spec)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	ctx := context.Background()
	d, err := StartDev(ctx, DevOptions{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", SitesDir: withIntake(t, srv.URL), GrowthDir: growthDir(root),
		DemoSite: "johannesburg", DemoPerSchool: 4, PluginCommand: pluginCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop(context.Background())

	desc, err := d.Client.ScheduleClient().GetHandle(ctx, "intake/johannesburg").Describe(ctx)
	if err != nil {
		t.Fatalf("the worker made no intake schedule: %v", err)
	}
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour {
		t.Errorf("intake schedule intervals %+v, want every 1h", iv)
	}

	launchWave(t, d, "johannesburg", 1)
	children := cyclesAt(t, d, "wave/johannesburg/1", "assess", 2)
	central.mu.Lock()
	central.rows = []map[string]any{
		teacherRow(1, "johannesburg/1/"+children[0], false),
		teacherRow(2, "johannesburg/1/"+children[1], true),
		teacherRow(3, "johannesburg/1/ch-00000000dead", false),
	}
	central.mu.Unlock()

	first := pull(t, d, "intake-test-1")
	if first.Rows != 3 || first.Submitted != 2 || first.Already != 0 || first.NotSubmitted != 1 || first.RedFlags != 1 {
		t.Errorf("first pull: %+v", first)
	}
	if len(first.Errors) != 1 || first.Errors[0].Row != 3 || !strings.Contains(first.Errors[0].Reason, "no such child") {
		t.Errorf("first pull's errors: %+v", first.Errors)
	}
	second := pull(t, d, "intake-test-2")
	if second.Submitted != 0 || second.Already != 2 {
		t.Errorf("second pull: %+v", second)
	}
	if central.calls != 2 {
		t.Errorf("Central was asked %d times, want 2", central.calls)
	}

	db := d.Store.DB(ctx)
	var forms []store.Assessment
	db.Where("respondent = ?", "teacher").Find(&forms)
	if len(forms) != 2 {
		t.Fatalf("%d teacher forms recorded, want 2", len(forms))
	}
	for _, f := range forms {
		if !strings.Contains(f.SubmittedBy, "intake pull, imported from submission uuid:7e57da7a") {
			t.Errorf("form %s submitted by %q", f.ID, f.SubmittedBy)
		}
	}
	// The disclosure acts at once: the cycle is flagged and an urgent
	// referral goes out, long before the wave's other forms arrive.
	flagged := "cycle/johannesburg/1/" + children[1]
	deadline := time.Now().Add(time.Minute)
	for {
		var c store.Cycle
		db.Where("id = ?", flagged).Take(&c)
		var urgent int64
		db.Model(&store.Referral{}).Where("cycle_id = ? AND urgent", flagged).Count(&urgent)
		if c.RedFlag && urgent > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the pull: cycle red flag %v, %d urgent referrals", c.RedFlag, urgent)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// launchWave launches a wave through the API as the simulator's user, with
// windows held open.
func launchWave(t *testing.T, d *Dev, site string, n int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"site": site, "number": n, "day_length": "1s", "hold_windows": true})
	req, _ := http.NewRequest(http.MethodPost, d.BaseURL+"/api/v1/waves", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+d.SimulatorToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("test-wave-%s-%d", site, n))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("launching wave %d: %s", n, resp.Status)
	}
}

// cyclesAt waits until at least n cycles of the wave are at stage and
// returns their children.
func cyclesAt(t *testing.T, d *Dev, waveID, stage string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var ids []string
		d.Store.DB(context.Background()).Model(&store.Cycle{}).Where("wave_id = ? AND stage = ?", waveID, stage).Order("child_id").Pluck("child_id", &ids)
		if len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d cycles of %s at %s after two minutes", len(ids), waveID, stage)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pull runs one IntakeWorkflow, as the schedule does, and returns its report.
func pull(t *testing.T, d *Dev, id string) activities.IntakeReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := d.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: sites.TaskQueue("johannesburg")},
		workflows.IntakeWorkflowName, "johannesburg")
	if err != nil {
		t.Fatal(err)
	}
	var rep activities.IntakeReport
	if err := run.Get(ctx, &rep); err != nil {
		t.Fatalf("intake pull %s: %v", id, err)
	}
	return rep
}
