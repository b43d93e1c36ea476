package app

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the test's own PostgreSQL setup

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/simulate"
	"github.com/khula-cop/khula/internal/store"
)

// proxy forwards TCP to a target and can be cut (every connection dropped,
// new ones refused) and restored on the same port: a database outage.
type proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln {
				// Cut while dialling: this connection must not outlive the cut.
				p.mu.Unlock()
				c.Close()
				up.Close()
				continue
			}
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func (p *proxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("reopening the proxy on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestDatabaseOutageMidWave runs a wave on PostgreSQL and cuts the database
// off for a while in the middle: the API answers 503 with Retry-After,
// activities keep retrying, and once the database is back the wave finishes
// with every child accounted for and nothing written twice.
func TestDatabaseOutageMidWave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	base := os.Getenv("KHULA_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL unreachable in CI: %v", err)
		}
		t.Skipf("PostgreSQL unreachable: %v", err)
	}
	schema := fmt.Sprintf("khula_outage_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() })

	px := newProxy(t, "127.0.0.1:5432")
	t.Setenv(EnvPayloadKeys, codectest.Spec)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	d, err := StartDev(context.Background(), DevOptions{
		DataDir: t.TempDir(), Addr: "127.0.0.1:0", SitesDir: filepath.Join(root, "sites"), GrowthDir: growthDir(root),
		DB:       fmt.Sprintf("postgres://postgres@%s/test?sslmode=disable&search_path=%s", px.addr, schema),
		DemoSite: "johannesburg", DemoPerSchool: 4, PluginCommand: pluginCommand,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop(context.Background())

	waveClosed := simulateInBackground(t, d)
	// Let the wave get going, then cut the database off for six seconds.
	time.Sleep(4 * time.Second)
	px.cut()
	t.Log("database cut off")
	time.Sleep(time.Second)
	resp, err := http.Get(d.BaseURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d, want 503", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, d.BaseURL+"/api/v1/waves/johannesburg/1", nil)
	req.Header.Set("Authorization", "Bearer "+d.SimulatorToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("an API read during the outage = %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(5 * time.Second)
	px.restore(t)
	t.Log("database back")

	checkWaveAfterFault(t, d, waveClosed())
}

// TestSQLiteLockedMidWave is the outage test on the default SQLite
// database: another process holds the write lock for longer than the
// store's busy timeout in the middle of a wave. Reads go on (WAL); a write
// through the API answers 503 with Retry-After and leaves nothing behind;
// activities retry; once the lock is released the wave finishes with every
// child accounted for and nothing written twice.
func TestSQLiteLockedMidWave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded engine")
	}
	d := startDev(t, t.TempDir())
	defer d.Stop(context.Background())

	waveClosed := simulateInBackground(t, d)
	time.Sleep(4 * time.Second)

	// The lock holder is another connection to the same file, as a backup
	// tool or a second khula process would be.
	locker, err := sql.Open("sqlite", "file:"+filepath.Join(d.DataDir, "khula.db")+"?_pragma=busy_timeout(2000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	ctx := context.Background()
	conn, err := locker.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("taking the write lock: %v", err)
	}
	lockedAt := time.Now()
	t.Log("database locked")

	var before int64
	d.Store.DB(ctx).Raw("SELECT count(*) FROM children").Scan(&before)
	classList := "school,child_given_name,child_family_name,sex,birth_date,grade,caregiver_given_name,caregiver_family_name,caregiver_language\n" +
		"meadowlands,Demo,Locked,female,2020-01-01,R,Demo,Caregiver,zu\n"
	req, _ := http.NewRequest(http.MethodPost, d.BaseURL+"/api/v1/sites/johannesburg/cohort", strings.NewReader(classList))
	req.Header.Set("Authorization", "Bearer "+d.SimulatorToken)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a cohort import while the database is locked = %d (Retry-After %q): %s; want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if strings.Contains(string(body), "Locked") {
		t.Errorf("the refusal names the child: %s", body)
	}

	// Hold the lock a little past the store's busy timeout, so activities
	// fail and retry rather than merely wait.
	if wait := 12*time.Second - time.Since(lockedAt); wait > 0 {
		time.Sleep(wait)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	t.Log("database unlocked")

	checkWaveAfterFault(t, d, waveClosed())
	var after int64
	d.Store.DB(ctx).Raw("SELECT count(*) FROM children").Scan(&after)
	if after != before {
		t.Errorf("children: %d before the refused import, %d after; nothing may be half-written", before, after)
	}
}

// logStuck logs what a wave that did not close is waiting for: its open
// cycles, their referrals, and what the engine says of their workflows.
func logStuck(t *testing.T, d *Dev) {
	t.Helper()
	ctx := context.Background()
	var cycles []store.Cycle
	d.Store.DB(ctx).Where("status <> ?", store.CycleClosed).Find(&cycles)
	for _, c := range cycles {
		t.Logf("open cycle %s: stage %s, awaiting %q, seq %d", c.ID, c.Stage, c.Awaiting, c.StageSeq)
		var refs []store.Referral
		d.Store.DB(ctx).Where("cycle_id = ?", c.ID).Find(&refs)
		for _, r := range refs {
			t.Logf("  referral %s: status %s, dispatched %v, acknowledged %v", r.ID, r.Status, r.DispatchedAt, r.AcknowledgedAt)
			logWorkflow(t, d, r.ID)
		}
		logWorkflow(t, d, c.ID)
	}
}

func logWorkflow(t *testing.T, d *Dev, id string) {
	t.Helper()
	desc, err := d.Client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Logf("  workflow %s: %v", id, err)
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	t.Logf("  workflow %s: %s, %d history events", id, info.GetStatus(), info.GetHistoryLength())
	for _, a := range desc.GetPendingActivities() {
		t.Logf("    pending activity %s: attempt %d, last failure %v", a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage())
	}
}

// simulateInBackground plays wave 1 while a test breaks something; the
// function it returns waits for the wave to close and fails the test, with
// what the wave is stuck on, if it does not.
func simulateInBackground(t *testing.T, d *Dev) func() simulate.Summary {
	type result struct {
		sum simulate.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := simulateWave(context.Background(), t, d, 1)
		done <- result{sum, err}
	}()
	return func() simulate.Summary {
		t.Helper()
		r := <-done
		if r.err != nil {
			logStuck(t, d)
			t.Fatal(r.err)
		}
		return r.sum
	}
}

// checkWaveAfterFault is checkWave, plus: no stage recorded twice by the
// retries the fault caused.
func checkWaveAfterFault(t *testing.T, d *Dev, sum simulate.Summary) {
	t.Helper()
	checkWave(t, d, sum, 20)
	var dup int64
	d.Store.DB(context.Background()).Raw("SELECT count(*) FROM (SELECT cycle_id, seq FROM stage_events GROUP BY cycle_id, seq HAVING count(*) > 1) x").Scan(&dup)
	if dup != 0 {
		t.Errorf("%d stage events recorded twice", dup)
	}
}
