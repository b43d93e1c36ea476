package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for the test's own setup

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/freeport"
	"github.com/khula-cop/khula/internal/mailsink"
	"github.com/khula-cop/khula/internal/simulate"
)

// buildKhula builds the binary for a test. It builds with the settings go
// test compiled this package with (not the Makefile's CGO_ENABLED=0): the
// packages are then in the build cache already, and the build is a link of
// seconds, not a fresh compile of the embedded engine that takes minutes on
// two cores and used to eat the package's whole test timeout. The store's
// SQLite is pure Go either way.
func buildKhula(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "khula")
	ctx, cancel := context.WithTimeout(context.Background(), budget(t, 5*time.Minute))
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/khula")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building khula (%s): %v\n%s", time.Since(start).Round(time.Second), err, out)
	}
	t.Logf("built khula in %s", time.Since(start).Round(100*time.Millisecond))
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := freeport.Pick("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testDatabase returns a PostgreSQL URL on a fresh schema when the machine's
// PostgreSQL answers (CI starts it), else a SQLite file.
func testDatabase(t *testing.T) (dsn, kind string) {
	t.Helper()
	base := envOr("KHULA_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	db, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err = db.PingContext(ctx); err == nil {
			schema := fmt.Sprintf("khula_t%d", time.Now().UnixNano())
			if _, err = db.ExecContext(ctx, "CREATE SCHEMA "+schema); err == nil {
				t.Cleanup(func() {
					db.Exec("DROP SCHEMA " + schema + " CASCADE")
					db.Close()
				})
				return base + "&search_path=" + schema, "PostgreSQL"
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL unreachable in CI at %s: %v", base, err)
	}
	t.Logf("PostgreSQL unreachable (%v): using SQLite", err)
	return filepath.Join(t.TempDir(), "khula.db"), "SQLite"
}

type proc struct {
	name string
	cmd  *exec.Cmd
	out  chan string
}

func start(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = testLog{t, name}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			t.Logf("[%s] %s", name, sc.Text())
			p.out <- sc.Text()
		}
		close(p.out)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// waitFor waits until the process prints a line starting with prefix.
func (p *proc) waitFor(t *testing.T, prefix string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-p.out:
			if !ok {
				t.Fatalf("%s exited before printing %q", p.name, prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("%s did not print %q within %s", p.name, prefix, within)
		}
	}
}

func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s did not stop cleanly on SIGTERM: %v", p.name, err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
}

type testLog struct {
	t    *testing.T
	name string
}

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("[%s stderr] %s", l.name, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// getWithToken reads url with an API token; anything but 200 fails the test.
func getWithToken(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}

// TestEngineWorkerAndAPIInSeparateProcesses runs the production shape on one
// machine: `khula engine`, `khula worker` and `khula serve` as three
// processes that meet only over the network and the database, and a wave
// that runs to the end through them.
func TestEngineWorkerAndAPIInSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds khula and starts three processes")
	}
	bin := buildKhula(t)
	dsn, kind := testDatabase(t)
	t.Logf("database: %s", kind)
	enginePort, apiPort, metricsPort := freePort(t), freePort(t), freePort(t)
	mail, err := mailsink.Start("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer mail.Close()
	exports := t.TempDir()
	env := []string{"KHULA_EXPORT_DIR=" + exports, "KHULA_SMTP_ADDR=" + mail.Addr(), "KHULA_PLUGIN_STATE_DIR=" + t.TempDir(), "KHULA_DB=" + dsn, "KHULA_PAYLOAD_KEYS=" + codectest.Spec, "KHULA_SITES_DIR=" + sitesDir, "KHULA_TEMPORAL_ADDRESS=127.0.0.1:" + fmt.Sprint(enginePort)}

	var token, opsToken string
	for _, args := range [][]string{
		{"migrate"}, {"demo", "--site", "johannesburg", "--per-school", "3"},
		{"user", "add", "prometheus", "--role", "ops"}, {"user", "token", "prometheus"},
		{"user", "add", "coord", "--role", "site_coordinator", "--site", "johannesburg"}, {"user", "token", "coord"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("khula %v: %v\n%s", args, err, out)
		}
		switch {
		case args[0] == "user" && args[1] == "token" && args[2] == "prometheus":
			opsToken = strings.TrimSpace(string(out))
		case args[0] == "user" && args[1] == "token":
			token = strings.TrimSpace(string(out))
		}
	}

	engine := start(t, "engine", bin, env, "engine", "--data-dir", t.TempDir(), "--temporal-port", fmt.Sprint(enginePort))
	engine.waitFor(t, "khula engine:", 2*time.Minute)
	worker := start(t, "worker", bin, env, "worker", "--site", "johannesburg", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort), "--allow-placeholders")
	worker.waitFor(t, "khula worker:", time.Minute)
	api := start(t, "serve", bin, env, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", apiPort), "--allow-compressed-time")
	api.waitFor(t, "khula serve:", time.Minute)

	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("API /readyz = %d %s", code, body)
	}
	if code, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", metricsPort)); code != http.StatusOK {
		t.Fatalf("worker /readyz = %d %s", code, body)
	}

	sum, err := simulate.RunSummary(context.Background(), simulate.Options{
		Addr: base, Token: token, Site: "johannesburg", Wave: 1, DayLength: 200 * time.Millisecond, SitesDir: sitesDir,
		Timeout: budget(t, 4*time.Minute), RequestTimeout: 20 * time.Second, Out: testLog{t, "simulate"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Report == nil || sum.Report.CohortSize != 15 {
		t.Fatalf("report = %+v, want a cohort of 15", sum.Report)
	}
	total := 0
	for _, n := range sum.Report.Outcomes {
		total += n
	}
	if total != 15 {
		t.Errorf("outcomes %v cover %d of 15 children", sum.Report.Outcomes, total)
	}
	_, metrics := get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	for _, want := range []string{"temporal_sdk_", `khula_cycles{site="johannesburg",stage="closed",wave="1"} 15`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("worker metrics lack %q", want)
		}
	}
	if code, _ := get(t, base+"/metrics"); code != http.StatusUnauthorized {
		t.Errorf("the API's /metrics without a token: %d, want 401", code)
	}
	apiMetrics := getWithToken(t, base+"/metrics", opsToken)
	if !strings.Contains(apiMetrics, `khula_http_requests_total{code="200",method="POST",route="/api/v1/cycles/:site/:wave/:child/assessments"}`) {
		t.Errorf("API metrics lack assessment submissions by route template")
	}
	if strings.Contains(apiMetrics, "ch-") {
		t.Errorf("a child ID appears in the API's metrics")
	}
	// The closed wave's aggregates reach the site's export plugin (CSV).
	var exported []string
	for deadline := time.Now().Add(30 * time.Second); len(exported) == 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		exported, _ = filepath.Glob(filepath.Join(exports, "*aggregates.csv"))
	}
	if len(exported) != 1 {
		t.Errorf("exports: %v, want one aggregates file for wave 1", exported)
	}
	// The research dataset of the closed wave: one row per child and phase,
	// keyed by pseudonyms, with its codebook; progress on standard error.
	outDir := t.TempDir()
	export := exec.Command(bin, "export", "research", "--site", "johannesburg", "--out", outDir, "--purpose", "process test of the research export")
	export.Env = append(os.Environ(), env...)
	var exportErr bytes.Buffer
	export.Stderr = &exportErr
	exportOut, err := export.Output()
	if err != nil {
		t.Fatalf("export research: %v\n%s\n%s", err, exportOut, exportErr.String())
	}
	if !strings.Contains(exportErr.String(), "15 of 15 cycles") {
		t.Errorf("export progress %q does not reach 15 of 15 cycles", exportErr.String())
	}
	data, err := os.ReadFile(filepath.Join(outDir, "research-johannesburg-data.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 16 || !strings.HasPrefix(lines[0], "pseudonym,") {
		t.Errorf("research data has %d lines, want a header and at least 15 rows: %.200s", len(lines), data)
	}
	if strings.Contains(string(data), "ch-") {
		t.Error("a child ID appears in the research dataset")
	}
	if _, err := os.Stat(filepath.Join(outDir, "research-johannesburg-codebook.csv")); err != nil {
		t.Errorf("no codebook: %v", err)
	}
	// ops stuck finds cycles that have not moved: launch wave 2 and leave it.
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/waves", strings.NewReader(`{"site":"johannesburg","number":2}`))
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("launching wave 2: %v %v", resp, err)
	}
	// Children without consent close at enrol; the others wait for forms.
	// Enrolment and the engine's visibility take a moment, longer on a
	// loaded machine: ask until every cycle is listed (or a minute passes).
	waiting := 15 - sum.Report.Outcomes[cycle.OutcomeNoConsent]
	want := fmt.Sprintf("%d cycle(s) at johannesburg", waiting)
	var out []byte
	for deadline := time.Now().Add(time.Minute); ; {
		time.Sleep(2 * time.Second)
		cmd := exec.Command(bin, "ops", "stuck", "--site", "johannesburg", "--older-than", "1s", "--stage", "assess")
		cmd.Env = append(os.Environ(), env...)
		if out, err = cmd.Output(); err != nil {
			t.Fatalf("ops stuck: %v\n%s", err, out)
		}
		if strings.Contains(string(out), want) && strings.Contains(string(out), "cycle/johannesburg/2/") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "cycle/johannesburg/2/") {
		t.Errorf("ops stuck did not list wave 2's %d cycles waiting for forms:\n%s", waiting, out)
	}
	// Referrals went through the worker's plugin processes to the relay.
	if msgs, _ := mail.Messages(); len(msgs) == 0 && len(sum.Report.Referrals) > 0 {
		t.Errorf("referrals %v but no mail reached the relay", sum.Report.Referrals)
	}
	if !strings.Contains(metrics, "khula_plugin_calls_total") {
		t.Errorf("worker metrics lack plugin calls")
	}
}
