package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/khula-cop/khula/plugins"
)

// gateway records the payloads posted to it.
type gateway struct {
	mu       sync.Mutex
	payloads []Payload
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var p Payload
	_ = json.Unmarshal(b, &p)
	g.mu.Lock()
	g.payloads = append(g.payloads, p)
	g.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (g *gateway) got() []Payload {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Payload(nil), g.payloads...)
}

func configured(t *testing.T, url string) *Plugin {
	t.Helper()
	settings, _ := json.Marshal(map[string]any{"url": url})
	p := New()
	if err := p.Configure(context.Background(), plugins.Config{SiteID: "moutse", Settings: settings, StateDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.journal.Close() })
	return p
}

// An SMS or WhatsApp recipient reaches the gateway in E.164, however the
// site file wrote the number; other addresses go as they are.
func TestPhoneRecipientsArePostedAsE164(t *testing.T) {
	g := &gateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	p := configured(t, srv.URL)
	cases := []struct {
		channel, address, want string
	}{
		{"sms", "082 123 4567", "+27821234567"},
		{"sms", "+27 82 123 4567", "+27821234567"},
		{"whatsapp", "072 555 6666", "+27725556666"},
		{"whatsapp", "+44 7911 123456", "+447911123456"},
		{"webhook", "https://chat.example.org/hook", "https://chat.example.org/hook"},
		{"email", "sw@example.org", "sw@example.org"},
	}
	for i, c := range cases {
		msg := plugins.Message{IdempotencyKey: "n/" + string(rune('a'+i)), SiteID: "moutse", To: plugins.Contact{Channel: c.channel, Address: c.address}, Body: "Meeting on Tuesday."}
		if _, err := p.Send(context.Background(), msg); err != nil {
			t.Fatalf("%s %q: %v", c.channel, c.address, err)
		}
	}
	got := g.got()
	if len(got) != len(cases) {
		t.Fatalf("the gateway got %d messages, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if r := got[i].Recipient; r.Channel != c.channel || r.Address != c.want {
			t.Errorf("%s %q posted as %+v, want address %q", c.channel, c.address, r, c.want)
		}
	}
}

// A phone number that is not valid is a permanent failure, journaled as
// failed, and nothing is posted; neither the error nor the journal holds
// the number.
func TestInvalidPhoneIsPermanentAndNotRepeated(t *testing.T) {
	g := &gateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	p := configured(t, srv.URL)
	for i, address := range []string{"082 123 456", "O82 123 4567", "", "+999 123 4567"} {
		key := "bad/" + string(rune('a'+i))
		_, err := p.Send(context.Background(), plugins.Message{IdempotencyKey: key, To: plugins.Contact{Channel: "sms", Address: address}, Body: "b"})
		if !errors.Is(err, plugins.ErrPermanent) {
			t.Errorf("%q: %v, want a permanent error", address, err)
			continue
		}
		st, _ := p.DeliveryStatus(context.Background(), key)
		if st.State != plugins.DeliveryFailed {
			t.Errorf("%q: state %+v, want failed", address, st)
		}
		if address == "" {
			continue
		}
		for _, text := range []string{err.Error(), st.Detail} {
			if strings.Contains(text, address) || strings.Contains(text, strings.ReplaceAll(address, " ", "")) {
				t.Errorf("%q: the error repeats the number: %s", address, text)
			}
		}
	}
	if n := len(g.got()); n != 0 {
		t.Errorf("the gateway got %d messages for invalid numbers", n)
	}
}
