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
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the test's own PostgreSQL setup

	"github.com/khula-cop/khula/internal/codec/codectest"
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

	done := make(chan error, 1)
	var summary atomicSummary
	go func() {
		sum, err := simulateWave(context.Background(), t, d, 1)
		summary.set(sum)
		done <- err
	}()
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

	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkWave(t, d, summary.get(), 20)
	var dup int64
	d.Store.DB(context.Background()).Raw("SELECT count(*) FROM (SELECT cycle_id, seq FROM stage_events GROUP BY cycle_id, seq HAVING count(*) > 1) x").Scan(&dup)
	if dup != 0 {
		t.Errorf("%d stage events recorded twice", dup)
	}

}

type atomicSummary struct {
	mu  sync.Mutex
	sum simulateSummary
}

func (a *atomicSummary) set(s simulateSummary) { a.mu.Lock(); a.sum = s; a.mu.Unlock() }
func (a *atomicSummary) get() simulateSummary  { a.mu.Lock(); defer a.mu.Unlock(); return a.sum }
