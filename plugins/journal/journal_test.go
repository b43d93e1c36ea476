package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/khula-cop/khula/plugins"
)

type receipt struct{ Ref string }

func open(t *testing.T, dir string) *Journal {
	t.Helper()
	j, err := Open(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func sendOp(sends *atomic.Int32, err error) Op[struct{}, receipt] {
	return Op[struct{}, receipt]{
		Fingerprint: "fp",
		Send: func(ctx context.Context, _ struct{}, a Attempt) (receipt, error) {
			sends.Add(1)
			if err != nil {
				return receipt{}, err
			}
			return receipt{Ref: "r" + string(rune('0'+a.N))}, nil
		},
	}
}

func TestDoSendsOncePerKey(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	var sends atomic.Int32
	r, dup, err := Do(context.Background(), j, "k1", sendOp(&sends, nil))
	if err != nil || dup || r.Ref != "r1" {
		t.Fatalf("first Do = %+v %v %v", r, dup, err)
	}
	r, dup, err = Do(context.Background(), j, "k1", sendOp(&sends, nil))
	if err != nil || !dup || r.Ref != "r1" {
		t.Fatalf("second Do = %+v %v %v", r, dup, err)
	}
	j.Close()
	// After a restart the receipt is still there.
	j2 := open(t, dir)
	r, dup, err = Do(context.Background(), j2, "k1", sendOp(&sends, nil))
	if err != nil || !dup || r.Ref != "r1" {
		t.Fatalf("Do after reopening = %+v %v %v", r, dup, err)
	}
	if n := sends.Load(); n != 1 {
		t.Errorf("sent %d times, want 1", n)
	}
}

func TestPendingIsResentWithTheSamePlan(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	plans := 0
	op := func(fail bool, got *Attempt, gotPlan *string) Op[string, receipt] {
		return Op[string, receipt]{
			Plan: func(seq int) (string, error) { plans++; return "chw-" + string(rune('a'+seq)), nil },
			Send: func(ctx context.Context, plan string, a Attempt) (receipt, error) {
				*got, *gotPlan = a, plan
				if fail {
					return receipt{}, errors.New("connection reset")
				}
				return receipt{Ref: plan}, nil
			},
		}
	}
	var a Attempt
	var plan string
	if _, _, err := Do(context.Background(), j, "k", op(true, &a, &plan)); err == nil {
		t.Fatal("want the send's error")
	}
	if e, _ := j.Get("k"); e.State != Pending || a.N != 1 || a.Resumed {
		t.Fatalf("after a failed send: entry %+v attempt %+v", e, a)
	}
	// A crash here: the process is gone, the journal reopened.
	j.Close()
	j = open(t, dir)
	r, dup, err := Do(context.Background(), j, "k", op(false, &a, &plan))
	if err != nil || dup {
		t.Fatal(err, dup)
	}
	if !a.Resumed || a.N != 2 || plan != "chw-a" || r.Ref != "chw-a" || plans != 1 {
		t.Errorf("resumed attempt %+v plan %q receipt %+v, plans made %d: want attempt 2, resumed, the first plan", a, plan, r, plans)
	}
	// The next key gets the next plan.
	if _, _, err := Do(context.Background(), j, "k2", op(false, &a, &plan)); err != nil || plan != "chw-b" || a.Seq != 1 {
		t.Errorf("second key: plan %q seq %d err %v", plan, a.Seq, err)
	}
}

func TestPermanentFailureIsRecordedAndMayBeRetried(t *testing.T) {
	j := open(t, t.TempDir())
	var sends atomic.Int32
	perm := errors.Join(errors.New("refused"), plugins.ErrPermanent)
	if _, _, err := Do(context.Background(), j, "k", sendOp(&sends, perm)); !errors.Is(err, plugins.ErrPermanent) {
		t.Fatal(err)
	}
	if e, _ := j.Get("k"); e.State != Failed || !strings.Contains(e.Error, "refused") {
		t.Errorf("entry %+v", e)
	}
	if _, dup, err := Do(context.Background(), j, "k", sendOp(&sends, nil)); err != nil || dup {
		t.Errorf("deliberate retry: %v %v", dup, err)
	}
}

func TestKeyReusedForAnotherRequest(t *testing.T) {
	j := open(t, t.TempDir())
	var sends atomic.Int32
	Do(context.Background(), j, "k", sendOp(&sends, nil))
	op := sendOp(&sends, nil)
	op.Fingerprint = "other"
	if _, _, err := Do(context.Background(), j, "k", op); !errors.Is(err, ErrKeyReused) || !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("reused key: %v", err)
	}
}

func TestConcurrentAttemptsOfOneKeySendOnce(t *testing.T) {
	j := open(t, t.TempDir())
	var sends atomic.Int32
	slow := Op[struct{}, receipt]{Send: func(ctx context.Context, _ struct{}, a Attempt) (receipt, error) {
		sends.Add(1)
		time.Sleep(50 * time.Millisecond)
		return receipt{Ref: "x"}, nil
	}}
	var wg sync.WaitGroup
	var dups atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, dup, err := Do(context.Background(), j, "k", slow)
			if err != nil {
				t.Error(err)
			}
			if dup {
				dups.Add(1)
			}
		}()
	}
	wg.Wait()
	if sends.Load() != 1 || dups.Load() != 7 {
		t.Errorf("sends %d duplicates %d, want 1 and 7", sends.Load(), dups.Load())
	}
}

func TestTornLastLineIsCutAndDamageReported(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir)
	var sends atomic.Int32
	Do(context.Background(), j, "k1", sendOp(&sends, nil))
	j.Close()
	path := filepath.Join(dir, "test.jsonl")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"k2","state":"pen`)
	f.Close()

	j = open(t, dir)
	if _, ok := j.Get("k2"); ok {
		t.Error("torn line was read")
	}
	if _, dup, _ := Do(context.Background(), j, "k1", sendOp(&sends, nil)); !dup {
		t.Error("k1 forgotten after a torn line")
	}
	if _, _, err := Do(context.Background(), j, "k2", sendOp(&sends, nil)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), `"pen`+"\n") || strings.Count(string(data), "\n") != 4 {
		t.Errorf("journal after repair:\n%s", data)
	}

	// Damage in the middle is not silently skipped.
	os.WriteFile(path, []byte("{\"key\":\"a\",\"state\":\"done\"}\nnot json\n{\"key\":\"b\",\"state\":\"done\"}\n"), 0o600)
	if _, err := Open(dir, "test"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("damaged journal opened: %v", err)
	}
}

func TestOneProcessPerJournal(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	if _, err := Open(dir, "test"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want 'in use'", err)
	}
}
