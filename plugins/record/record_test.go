package record_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/codec/codectest"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/record"
)

var t0 = time.Date(2025, 3, 3, 8, 0, 0, 0, time.UTC)

// fakeOutbox keeps records in memory, once per key, like the store.
type fakeOutbox struct {
	mu      sync.Mutex
	records map[string]cycle.OutboxRecord
	calls   int
	err     error
}

func (f *fakeOutbox) RecordOutbox(_ context.Context, r cycle.OutboxRecord) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return false, f.err
	}
	if f.records == nil {
		f.records = map[string]cycle.OutboxRecord{}
	}
	if _, ok := f.records[r.Key]; ok {
		return false, nil
	}
	f.records[r.Key] = r
	return true, nil
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "khula.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	st.SetFieldCipher(codectest.Keyring())
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

func referral(key string, urgent bool) plugins.ReferralRequest {
	return plugins.ReferralRequest{
		IdempotencyKey: key, SiteID: "alpha", SchoolID: "a-one", ServiceID: "clinic-1", ServiceType: "clinic",
		Domain: "health", Urgent: urgent, ChildRef: "ch-0123456789",
		Contact: plugins.Contact{Channel: "email", Address: "clinic@example.org"}, Language: "en",
	}
}

func TestReferrerDispatchRecordsOncePerKey(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	ref := &record.Referrer{Outbox: st, Now: func() time.Time { return t0 }}

	steps := []struct {
		name    string
		req     plugins.ReferralRequest
		wantRef string
		wantDup bool
		wantN   int64
	}{
		{name: "first dispatch", req: referral("referral/alpha/1/c1/1", false), wantRef: "outbox:referral/alpha/1/c1/1", wantN: 1},
		{name: "retry", req: referral("referral/alpha/1/c1/1", false), wantRef: "outbox:referral/alpha/1/c1/1", wantDup: true, wantN: 1},
		{name: "retry with changed content", req: referral("referral/alpha/1/c1/1", true), wantRef: "outbox:referral/alpha/1/c1/1", wantDup: true, wantN: 1},
		{name: "another referral", req: referral("referral/alpha/1/c1/0", true), wantRef: "outbox:referral/alpha/1/c1/0", wantN: 2},
	}
	for _, s := range steps {
		got, err := ref.Dispatch(ctx, s.req)
		if err != nil {
			t.Fatalf("%s: Dispatch: %v", s.name, err)
		}
		if got.DispatchRef != s.wantRef || got.Duplicate != s.wantDup {
			t.Errorf("%s: receipt = %+v, want ref %q duplicate %v", s.name, got, s.wantRef, s.wantDup)
		}
		var n int64
		if err := st.DB(ctx).Model(&store.OutboxMessage{}).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != s.wantN {
			t.Errorf("%s: %d outbox rows, want %d", s.name, n, s.wantN)
		}
	}

	msgs, err := st.Outbox(ctx, "alpha", 10)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	want := map[string]string{
		"referral/alpha/1/c1/1": "routine referral referral/alpha/1/c1/1 for clinic (health domain) from school a-one",
		"referral/alpha/1/c1/0": "URGENT referral referral/alpha/1/c1/0 for clinic (health domain) from school a-one",
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d outbox messages, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		if m.Body != want[m.ID] {
			t.Errorf("%s body = %q, want %q", m.ID, m.Body, want[m.ID])
		}
		if m.Kind != record.KindReferral || m.Recipient != "clinic-1" || m.Channel != "email" || m.Language != "en" ||
			m.Template != "referral" || !m.CreatedAt.Equal(t0) {
			t.Errorf("%s = %+v, want a referral to clinic-1 by email in en at %v", m.ID, m, t0)
		}
		if strings.Contains(m.Body, "ch-0123456789") {
			t.Errorf("%s body %q carries the child reference", m.ID, m.Body)
		}
	}
}

func TestNotifierSendRecordsOncePerKey(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	n := &record.Notifier{Outbox: st, Now: func() time.Time { return t0.In(time.FixedZone("SAST", 2*3600)) }}
	msg := func(key, body string) plugins.Message {
		return plugins.Message{IdempotencyKey: key, SiteID: "alpha", To: plugins.Contact{Channel: "sms", Address: "+27000000001"},
			Language: "zu", Template: "reminder", Subject: "Reminder", Body: body}
	}
	steps := []struct {
		name    string
		msg     plugins.Message
		wantRef string
		wantDup bool
	}{
		{name: "first send", msg: msg("notify/1", "Please submit the form."), wantRef: "outbox:notify/1"},
		{name: "retry", msg: msg("notify/1", "Please submit the form."), wantRef: "outbox:notify/1", wantDup: true},
		{name: "retry with another body", msg: msg("notify/1", "Changed."), wantRef: "outbox:notify/1", wantDup: true},
		{name: "next message", msg: msg("notify/2", "Second."), wantRef: "outbox:notify/2"},
	}
	for _, s := range steps {
		got, err := n.Send(ctx, s.msg)
		if err != nil {
			t.Fatalf("%s: Send: %v", s.name, err)
		}
		if got.MessageRef != s.wantRef || got.Duplicate != s.wantDup {
			t.Errorf("%s: delivery = %+v, want ref %q duplicate %v", s.name, got, s.wantRef, s.wantDup)
		}
	}
	msgs, err := st.Outbox(ctx, "alpha", 10)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	want := map[string]string{"notify/1": "Reminder\nPlease submit the form.", "notify/2": "Reminder\nSecond."}
	if len(msgs) != len(want) {
		t.Fatalf("%d outbox messages, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		if m.Body != want[m.ID] {
			t.Errorf("%s body = %q, want %q", m.ID, m.Body, want[m.ID])
		}
		if m.Kind != record.KindMessage || m.Recipient != "+27000000001" || m.Channel != "sms" || m.Language != "zu" ||
			m.Template != "reminder" || !m.CreatedAt.Equal(t0) {
			t.Errorf("%s = %+v, want an sms reminder to +27000000001 in zu at %v", m.ID, m, t0)
		}
	}
}

func TestMissingKeyIsPermanent(t *testing.T) {
	out := &fakeOutbox{}
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{name: "referral", wantMsg: "referral without an idempotency key", call: func() error {
			_, err := (&record.Referrer{Outbox: out}).Dispatch(ctx, referral("", true))
			return err
		}},
		{name: "message", wantMsg: "message without an idempotency key", call: func() error {
			_, err := (&record.Notifier{Outbox: out}).Send(ctx, plugins.Message{SiteID: "alpha", Body: "hi"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, plugins.ErrPermanent) {
				t.Fatalf("error = %v, want one wrapping plugins.ErrPermanent", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
	if out.calls != 0 {
		t.Errorf("the outbox was called %d times for keyless requests, want 0", out.calls)
	}
}

func TestOutboxErrorsAreWrapped(t *testing.T) {
	boom := errors.New("disk full")
	out := &fakeOutbox{err: boom}
	ctx := context.Background()
	tests := []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{name: "referral", wantMsg: "recording referral: disk full", call: func() error {
			_, err := (&record.Referrer{Outbox: out}).Dispatch(ctx, referral("k", false))
			return err
		}},
		{name: "message", wantMsg: "recording message: disk full", call: func() error {
			_, err := (&record.Notifier{Outbox: out}).Send(ctx, plugins.Message{IdempotencyKey: "k"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, boom) {
				t.Fatalf("error = %v, want one wrapping %v", err, boom)
			}
			// A failed write is worth retrying.
			if errors.Is(err, plugins.ErrPermanent) {
				t.Errorf("error %v is marked permanent", err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDefaultClockIsUTC(t *testing.T) {
	out := &fakeOutbox{}
	before := time.Now()
	if _, err := (&record.Notifier{Outbox: out}).Send(context.Background(), plugins.Message{IdempotencyKey: "k1"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := (&record.Referrer{Outbox: out}).Dispatch(context.Background(), referral("k2", false)); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	after := time.Now()
	for _, key := range []string{"k1", "k2"} {
		at := out.records[key].At
		if at.Location() != time.UTC {
			t.Errorf("%s recorded at %v in %v, want UTC", key, at, at.Location())
		}
		if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
			t.Errorf("%s recorded at %v, want between %v and %v", key, at, before, after)
		}
	}
	if got := out.records["k1"]; got.Kind != record.KindMessage || got.Body != "\n" {
		t.Errorf("empty message recorded as kind %q body %q, want %q and a lone newline", got.Kind, got.Body, record.KindMessage)
	}
}

func TestInjectedClockIsStoredInUTC(t *testing.T) {
	sast := time.FixedZone("SAST", 2*3600)
	out := &fakeOutbox{}
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2025, 3, 3, 10, 0, 0, 0, sast) } // 08:00 UTC
	if _, err := (&record.Referrer{Outbox: out, Now: clock}).Dispatch(ctx, referral("r", false)); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	if _, err := (&record.Notifier{Outbox: out, Now: clock}).Send(ctx, plugins.Message{IdempotencyKey: "m"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for _, key := range []string{"r", "m"} {
		at := out.records[key].At
		if at.Location() != time.UTC || !at.Equal(t0) || at.Hour() != 8 {
			t.Errorf("%s recorded at %v, want %v in UTC", key, at, t0)
		}
	}
}
