// Package smtptest runs an SMTP server for the built-in plugins' tests: a
// github.com/emersion/go-smtp server on a local port that keeps every
// message it accepts. Options make it offer or require STARTTLS (with a
// certificate of its own, whose CA a test gives the client to trust) and
// require AUTH PLAIN, and a test can make it refuse recipients.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options say what the server asks of a client. The zero value accepts
// every message in the clear, without authentication.
type Options struct {
	// StartTLS offers STARTTLS with a certificate for 127.0.0.1 signed by
	// a CA made for this server (Server.CAFile).
	StartTLS bool
	// RequireTLS refuses MAIL (530 5.7.0) until the client has started
	// TLS; it implies StartTLS.
	RequireTLS bool
	// Username and Password, when Username is set, make AUTH PLAIN with
	// them required before MAIL (530 5.7.0 without it, 535 5.7.8 for
	// other credentials). As in real relays, AUTH is offered only over TLS.
	Username, Password string
}

// Message is one message the server accepted.
type Message struct {
	// From and To are the envelope's sender and recipients.
	From string
	To   []string
	// Raw is the message as received, CRLF line ends.
	Raw    []byte
	Header mail.Header
	// Body is the decoded text body (quoted-printable undone), LF line ends.
	Body string
	// TLS is whether the message came over TLS; User is who authenticated
	// ("" for no one).
	TLS  bool
	User string
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is the host:port to give a client.
	Addr string
	// CAFile is a PEM file of the CA that signed the server's certificate
	// (with StartTLS), for the client to trust (deliver.SMTP.CAFile).
	CAFile string

	opts Options
	srv  *smtp.Server
	done chan struct{}

	mu         sync.Mutex
	msgs       []Message
	refuseRcpt *smtp.SMTPError
}

// New starts a server on a free port of 127.0.0.1; it stops when the test
// ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.RequireTLS {
		o.StartTLS = true
	}
	s := &Server{opts: o, done: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	// Not the test's log: the server's goroutines may outlive the test.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.StartTLS {
		cfg, caPEM, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.srv.TLSConfig = cfg
		s.CAFile = filepath.Join(t.TempDir(), "smtptest-ca.pem")
		if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; New's test does it when it ends.
func (s *Server) Close() {
	if err := s.srv.Close(); err == nil {
		<-s.done
	}
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// RefuseRecipients makes the server answer RCPT with code and text (e.g.
// 550, "5.1.1 no such mailbox"); code 0 accepts recipients again.
func (s *Server) RefuseRecipients(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.refuseRcpt = nil
		return
	}
	s.refuseRcpt = &smtp.SMTPError{Code: code, EnhancedCode: smtp.NoEnhancedCode, Message: text}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, tlsOn := c.TLSConnectionState()
	return &session{srv: s, tls: tlsOn}, nil
}

// session is one SMTP session; STARTTLS starts a new one.
type session struct {
	srv  *Server
	tls  bool
	user string
	from string
	to   []string
}

var (
	errTLSRequired  = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
)

func (s *session) AuthMechanisms() []string {
	if s.srv.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		o := s.srv.opts
		if username != o.Username || password != o.Password || (identity != "" && identity != username) {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	switch {
	case s.srv.opts.RequireTLS && !s.tls:
		return errTLSRequired
	case s.srv.opts.Username != "" && s.user == "":
		return errAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	refuse := s.srv.refuseRcpt
	s.srv.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: append([]string(nil), s.to...), Raw: raw, TLS: s.tls, User: s.user}
	if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = pm.Header
		var body io.Reader = pm.Body
		if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, m)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// selfSigned makes a CA and a server certificate for 127.0.0.1 and
// localhost that it signs; it returns the server's TLS config and the CA
// in PEM.
func selfSigned() (*tls.Config, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	return cfg, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
