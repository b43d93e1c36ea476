package host

import (
	"bytes"
	"io"
	"log"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// relay is a mail relay for the tests of the mailing built-ins: a
// github.com/emersion/go-smtp server on a local port that accepts every
// message, in the clear and without authentication, and keeps it. (The
// built-ins' own tests use plugins/builtin/internal/smtptest, which also
// does STARTTLS, AUTH and refusals; an internal package this one cannot
// import.)
type relay struct {
	// Addr is the host:port to give a plugin.
	Addr string

	mu   sync.Mutex
	msgs []relayed
}

// relayed is one message the relay accepted.
type relayed struct {
	From   string
	To     []string
	Header mail.Header
	// Body is the decoded text body, LF line ends.
	Body string
}

// startSMTP starts a relay that stops when the test ends.
func startSMTP(t *testing.T) *relay {
	t.Helper()
	r := &relay{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{relay: r}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0) // its goroutines may outlive the test
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return r
}

// Messages returns the messages accepted so far.
func (r *relay) Messages() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayed(nil), r.msgs...)
}

type relaySession struct {
	relay *relay
	from  string
	to    []string
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }

func (s *relaySession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := relayed{From: s.from, To: append([]string(nil), s.to...)}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = pm.Header
		var body io.Reader = pm.Body
		if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	s.relay.mu.Lock()
	s.relay.msgs = append(s.relay.msgs, m)
	s.relay.mu.Unlock()
	return nil
}
