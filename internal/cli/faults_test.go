package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/simulate"
)

// budget is want, or less when the test's deadline (go test -timeout, 10
// minutes by default) is nearer: a wait that cannot finish in time fails the
// test with what it waited for, rather than the whole run panicking at the
// deadline. A minute is kept for stopping the processes and cleaning up.
func budget(t *testing.T, want time.Duration) time.Duration {
	if dl, ok := t.Deadline(); ok {
		return max(min(want, time.Until(dl)-time.Minute), time.Second)
	}
	return want
}

// TestKillDashNineMidWave kills `khula dev` with SIGKILL in the middle of a
// wave, starts it again on the same data directory and plays the wave to
// its end: every cycle completes, nothing is recorded twice, and no
// referral is mailed twice.
func TestKillDashNineMidWave(t *testing.T) {
	if testing.Short() {
		t.Skip("builds khula and kills it")
	}
	bin := buildKhula(t)
	dataDir := t.TempDir()
	apiPort, temporalPort := freePort(t), freePort(t)
	env := []string{"KHULA_PAYLOAD_KEYS=" + codectest.Spec, "KHULA_SITES_DIR=" + sitesDir}
	args := []string{"dev", "--data-dir", dataDir, "--addr", fmt.Sprintf("127.0.0.1:%d", apiPort), "--temporal-port", fmt.Sprint(temporalPort)}
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	token := func() string {
		data, err := os.ReadFile(filepath.Join(dataDir, "tokens", "coordinator.token"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(data))
	}
	sim := func(ctx context.Context) (simulate.Summary, error) {
		return simulate.RunSummary(ctx, simulate.Options{
			Addr: base, Token: token(), Site: "johannesburg", Wave: 1, DayLength: 200 * time.Millisecond,
			SitesDir: sitesDir, Timeout: budget(t, 4*time.Minute), RequestTimeout: 20 * time.Second, Out: testLog{t, "simulate"},
		})
	}

	first := start(t, "dev#1", bin, env, args...)
	first.waitFor(t, "khula dev is running", budget(t, 2*time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Second)
	if _, err := sim(ctx); err == nil {
		t.Fatal("the wave closed before the kill; the test needs it mid-way")
	}
	cancel()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := start(t, "dev#2", bin, env, args...)
	second.waitFor(t, "khula dev is running", budget(t, 2*time.Minute))
	sum, err := sim(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Report == nil || sum.Report.CohortSize != 60 {
		t.Fatalf("report %+v, want the 60 demo children", sum.Report)
	}
	total := 0
	for _, n := range sum.Report.Outcomes {
		total += n
	}
	if total != 60 {
		t.Errorf("outcomes %v cover %d of 60 children", sum.Report.Outcomes, total)
	}
	// No referral was mailed twice across the kill: one mail per idempotency key.
	mails, _ := filepath.Glob(filepath.Join(dataDir, "mail", "*.eml"))
	seen := map[string]int{}
	for _, m := range mails {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\r\n") {
			if k, ok := strings.CutPrefix(line, "X-Khula-Idempotency-Key: "); ok {
				seen[k]++
			}
		}
	}
	for k, n := range seen {
		if n > 1 && strings.HasPrefix(k, "referral/") {
			t.Errorf("referral %s mailed %d times", k, n)
		}
	}
	referrals := 0
	for _, n := range sum.Report.Referrals {
		referrals += n
	}
	if referrals == 0 {
		t.Error("the wave made no referral: the test proves nothing about dispatch")
	}
	// Nothing recorded twice: the database's own keys would refuse it, so
	// check the report's referrals match the distinct dispatches.
	dispatched := 0
	for k := range seen {
		if strings.HasPrefix(k, "referral/") {
			dispatched++
		}
	}
	if dispatched < sum.Report.Referrals["completed"] {
		t.Errorf("%d referral mails for %d completed referrals", dispatched, sum.Report.Referrals["completed"])
	}
}
