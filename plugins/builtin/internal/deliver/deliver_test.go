package deliver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/smtptest"
)

func TestSMTPSend(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
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
	if m.TLS || m.User != "" {
		t.Errorf("a relay without STARTTLS or AUTH: tls %v, user %q", m.TLS, m.User)
	}
	// The Message-ID depends on the key only, and reveals nothing of it.
	if MessageID("referral/jhb/3/c1/0", "khula.example.org") != wantID || MessageID("other", "khula.example.org") == wantID || strings.Contains(wantID, "c1") {
		t.Errorf("Message-ID %q is not a stable digest of the key", wantID)
	}
}

func TestSMTPRefusalIsPermanent(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{})
	srv.RefuseRecipients(550, "5.1.1 no such mailbox")
	c := SMTP{Addr: srv.Addr, From: "k@example.org"}
	_, err := c.Send(context.Background(), Mail{Key: "k", To: "x@example.org", Body: "b"})
	if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "RCPT TO") || !strings.Contains(err.Error(), "550") {
		t.Errorf("550 reply: %v", err)
	}
	srv.RefuseRecipients(451, "4.3.0 try later")
	_, err = c.Send(context.Background(), Mail{Key: "k", To: "x@example.org", Body: "b"})
	if errors.Is(err, plugins.ErrPermanent) || !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("451 reply: %v", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered to refused recipients", n)
	}
	srv.RefuseRecipients(0, "")
	if _, err := c.Send(context.Background(), Mail{Key: "k", To: "x@example.org", Body: "b"}); err != nil || len(srv.Messages()) != 1 {
		t.Errorf("recipient accepted again: %v, %d messages", err, len(srv.Messages()))
	}
	down := SMTP{Addr: "127.0.0.1:1", From: "k@example.org"}
	if _, err := down.Send(context.Background(), Mail{Key: "k", To: "x@example.org"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("relay down: %v", err)
	}
}

// A relay that requires STARTTLS: the client upgrades, verifying the
// relay's certificate against ca_file; it never falls back to sending in
// the clear.
func TestSMTPStartTLS(t *testing.T) {
	srv := smtptest.New(t, smtptest.Options{RequireTLS: true})
	send := func(c SMTP) error {
		_, err := c.Send(context.Background(), Mail{Key: "k-" + c.TLS, To: "clinic@example.org", Subject: "s", Body: "b"})
		return err
	}
	for _, mode := range []string{"", "starttls", "require"} {
		c := SMTP{Addr: srv.Addr, From: "k@example.org", TLS: mode, CAFile: srv.CAFile}
		if err := c.Check(); err != nil {
			t.Fatalf("tls %q: %v", mode, err)
		}
		if err := send(c); err != nil {
			t.Errorf("tls %q: %v", mode, err)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		if !m.TLS {
			t.Errorf("message %s came in the clear", m.Header.Get("X-Khula-Idempotency-Key"))
		}
	}

	// tls: none to a relay that requires TLS: refused for good.
	err := send(SMTP{Addr: srv.Addr, From: "k@example.org", TLS: "none"})
	if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "530") {
		t.Errorf("tls none: %v, want a permanent 530", err)
	}
	// A certificate the client cannot verify (no ca_file: the system's
	// roots) fails the upgrade; nothing goes in the clear instead.
	err = send(SMTP{Addr: srv.Addr, From: "k@example.org", TLS: "starttls"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown CA: %v, want a STARTTLS certificate error", err)
	}
	if n := len(srv.Messages()); n != 3 {
		t.Errorf("%d messages after the refusals, want 3", n)
	}

	// tls: require to a relay that does not offer STARTTLS: refused for good.
	plain := smtptest.New(t, smtptest.Options{})
	if err := send(SMTP{Addr: plain.Addr, From: "k@example.org", TLS: "require"}); !errors.Is(err, plugins.ErrPermanent) || len(plain.Messages()) != 0 {
		t.Errorf("require without STARTTLS: %v, %d messages", err, len(plain.Messages()))
	}
}

// A relay that requires AUTH PLAIN (over STARTTLS): the password comes from
// the variable password_env names; wrong credentials are a permanent error
// that does not carry the password.
func TestSMTPAuthPlain(t *testing.T) {
	const password = "kh-relay-Pa55word"
	srv := smtptest.New(t, smtptest.Options{StartTLS: true, Username: "khula", Password: password})
	t.Setenv("KHULA_TEST_SMTP_PASSWORD", password)
	c := SMTP{Addr: srv.Addr, From: "k@example.org", Username: "khula", PasswordEnv: "KHULA_TEST_SMTP_PASSWORD", TLS: "require", CAFile: srv.CAFile}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), Mail{Key: "auth-1", To: "clinic@example.org", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].User != "khula" || !msgs[0].TLS {
		t.Fatalf("messages %+v, want one from khula over TLS", msgs)
	}

	const wrong = "not-the-Pa55word"
	t.Setenv("KHULA_TEST_SMTP_PASSWORD", wrong)
	_, err := c.Send(context.Background(), Mail{Key: "auth-2", To: "clinic@example.org", Body: "b"})
	if !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "AUTH") || !strings.Contains(err.Error(), "535") {
		t.Errorf("wrong password: %v, want a permanent 535", err)
	}
	if err != nil {
		for _, secret := range []string{wrong, password, base64.StdEncoding.EncodeToString([]byte("\x00khula\x00" + wrong))} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error carries the password: %v", err)
			}
		}
	}
	// No credentials at all: the relay refuses the mail.
	anon := SMTP{Addr: srv.Addr, From: "k@example.org", CAFile: srv.CAFile}
	if _, err := anon.Send(context.Background(), Mail{Key: "auth-3", To: "clinic@example.org", Body: "b"}); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "530") {
		t.Errorf("no credentials: %v, want a permanent 530", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	// The password's variable unset: a permanent error naming the variable.
	os.Unsetenv("KHULA_TEST_SMTP_PASSWORD")
	if err := c.Check(); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "KHULA_TEST_SMTP_PASSWORD") {
		t.Errorf("password variable unset: %v", err)
	}
}

func TestSMTPCheckCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]SMTP{
		"missing file":  {CAFile: filepath.Join(dir, "none.pem")},
		"not PEM":       {CAFile: notPEM},
		"with tls none": {CAFile: notPEM, TLS: "none"},
	} {
		c.Addr, c.From = "mail.example.org:587", "k@example.org"
		if err := c.Check(); !errors.Is(err, plugins.ErrPermanent) || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("%s: %v, want a permanent ca_file error", name, err)
		}
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
	if err := Decode([]byte(`{"smtp":{"addr":"h:25","from":"a@b","timeout":"3s","ca_file":"/etc/khula/relay-ca.pem"}}`), &s); err != nil ||
		s.SMTP.Timeout.Or(0).Seconds() != 3 || s.SMTP.CAFile != "/etc/khula/relay-ca.pem" {
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
