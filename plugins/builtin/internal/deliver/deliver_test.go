package deliver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/internal/smtptest"
)

func TestSMTPSend(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := SMTP{Addr: srv.Addr, From: "khula <referrals@khula.example.org>", TLS: "starttls"}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	body := "Line one\n.starts with a dot\nUmntwana — ngesiZulu"
	id, err := c.Send(context.Background(), Mail{Key: "referral/jhb/3/c1/0", To: "clinic@example.org", Subject: "Referral: clinic", Body: body, Language: "zu",
		Headers: map[string]string{"x-khula-service": "clinic-1"}})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	wantID := MessageID("referral/jhb/3/c1/0", "khula.example.org")
	checks := map[string]string{
		"Message-ID":              wantID,
		"X-Khula-Idempotency-Key": "referral/jhb/3/c1/0",
		"To":                      "clinic@example.org",
		"Content-Language":        "zu",
		"Subject":                 "Referral: clinic",
		"X-Khula-Service":         "clinic-1",
		"Content-Type":            "text/plain; charset=utf-8",
	}
	for h, want := range checks {
		if got := m.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if id != wantID || m.From != "referrals@khula.example.org" || len(m.To) != 1 || m.To[0] != "clinic@example.org" {
		t.Errorf("id %q envelope %q -> %v", id, m.From, m.To)
	}
	if strings.TrimRight(m.Body, "\n") != body {
		t.Errorf("body %q, want %q", m.Body, body)
	}
	// The Message-ID depends on the key only, and reveals nothing of it.
	if MessageID("referral/jhb/3/c1/0", "khula.example.org") != wantID || MessageID("other", "khula.example.org") == wantID || strings.Contains(wantID, "c1") {
		t.Errorf("Message-ID %q is not a stable digest of the key", wantID)
	}
}

func TestSMTPRefusalIsPermanent(t *testing.T) {
	srv, _ := smtptest.Start()
	defer srv.Close()
	srv.RejectRcpt = "550 5.1.1 no such mailbox"
	c := SMTP{Addr: srv.Addr, From: "k@example.org"}
	_, err := c.Send(context.Background(), Mail{Key: "k", To: "x@example.org", Body: "b"})
	if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "550") {
		t.Errorf("550 reply: %v", err)
	}
	srv.RejectRcpt = "451 4.3.0 try later"
	_, err = c.Send(context.Background(), Mail{Key: "k", To: "x@example.org", Body: "b"})
	if errors.Is(err, plugins.ErrPermanent) || !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("451 reply: %v", err)
	}
	down := SMTP{Addr: "127.0.0.1:1", From: "k@example.org"}
	if _, err := down.Send(context.Background(), Mail{Key: "k", To: "x@example.org"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("relay down: %v", err)
	}
}

func TestWebhookPost(t *testing.T) {
	t.Setenv("TEST_WEBHOOK_SECRET", "s3cret")
	status := http.StatusOK
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotBody = r, mustRead(r.Body)
		w.WriteHeader(status)
		if status == http.StatusOK {
			w.Write([]byte(`{"id":"rcv-42"}`))
		}
	}))
	defer srv.Close()
	w := Webhook{SecretEnv: "TEST_WEBHOOK_SECRET", Headers: map[string]string{"X-Tenant": "moutse"}}
	ref, err := w.Post(context.Background(), srv.Client(), srv.URL, "key-1", map[string]string{"a": "b"})
	if err != nil || ref != "rcv-42" {
		t.Fatalf("Post = %q, %v", ref, err)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(gotBody)
	if got.Header.Get("Idempotency-Key") != "key-1" || got.Header.Get("X-Tenant") != "moutse" ||
		got.Header.Get("X-Khula-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", got.Header)
	}
	var body map[string]string
	if json.Unmarshal(gotBody, &body) != nil || body["a"] != "b" {
		t.Errorf("body %s", gotBody)
	}
	for code, permanent := range map[int]bool{400: true, 404: true, 401: true, 409: false, 429: false, 500: false, 503: false} {
		status = code
		_, err := w.Post(context.Background(), srv.Client(), srv.URL, "k", nil)
		if err == nil || errors.Is(err, plugins.ErrPermanent) != permanent {
			t.Errorf("status %d: %v, want permanent=%v", code, err, permanent)
		}
	}
	if _, err := w.Post(context.Background(), srv.Client(), "ftp://x", "k", nil); !errors.Is(err, plugins.ErrPermanent) {
		t.Errorf("bad URL: %v", err)
	}
}

func TestDecodeRefusesUnknownSettings(t *testing.T) {
	var s struct {
		SMTP *SMTP `json:"smtp"`
	}
	if err := Decode([]byte(`{"smpt":{}}`), &s); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "smpt") {
		t.Errorf("misspelt key: %v", err)
	}
	if err := Decode([]byte(`{"smtp":{"addr":"h:25","from":"a@b","timeout":"3s"}}`), &s); err != nil || s.SMTP.Timeout.Or(0).Seconds() != 3 {
		t.Errorf("Decode: %v %+v", err, s.SMTP)
	}
	if err := Decode(nil, &s); err != nil {
		t.Errorf("no settings: %v", err)
	}
}

func mustRead(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}
