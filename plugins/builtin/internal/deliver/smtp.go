package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"sort"
	"strings"
	"time"
)

// SMTP says how to reach a mail relay. Settings key "smtp".
type SMTP struct {
	// Addr is the relay's host:port.
	Addr string `json:"addr,omitempty"`
	// AddrEnv names an environment variable holding the relay's host:port,
	// for a relay that differs per deployment (khula dev runs its own).
	AddrEnv string `json:"addr_env,omitempty"`
	// From is the envelope and header sender.
	From string `json:"from"`
	// Hello is the name given in EHLO; default "localhost".
	Hello string `json:"hello,omitempty"`
	// Username and PasswordEnv (the name of an environment variable) turn
	// on PLAIN authentication, which net/smtp only allows over TLS or to localhost.
	Username    string `json:"username,omitempty"`
	PasswordEnv string `json:"password_env,omitempty"`
	// TLS is "starttls" (use it when offered, the default), "require" or "none".
	TLS string `json:"tls,omitempty"`
	// CAFile is a PEM file of the certificate authorities that the relay's
	// certificate must chain to, for a relay whose certificate a private CA
	// signed (default: the system's roots). The certificate is always
	// verified, against the host of the relay's address: there is no
	// setting to skip that.
	CAFile string `json:"ca_file,omitempty"`
	// Domain is the right-hand side of Message-IDs; default From's domain.
	Domain string `json:"domain,omitempty"`
	// Timeout bounds one delivery; default 30s (the call's deadline wins when earlier).
	Timeout Duration `json:"timeout,omitempty"`
}

// Check validates the settings.
func (c SMTP) Check() error {
	addr, err := c.relay()
	if err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return Permanent("smtp.addr %q: %v", addr, err)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return Permanent("smtp.from %q is not a mail address: %v", c.From, err)
	}
	switch c.TLS {
	case "", "starttls", "require", "none":
	default:
		return Permanent("smtp.tls %q: want starttls, require or none", c.TLS)
	}
	if c.Username != "" && c.TLS == "none" {
		return Permanent("smtp.username: authentication needs TLS (smtp.tls starttls or require)")
	}
	if c.Username != "" {
		if _, err := Secret(c.PasswordEnv); err != nil {
			return err
		}
	}
	if c.CAFile != "" {
		if c.TLS == "none" {
			return Permanent("smtp.ca_file: smtp.tls is none, so no certificate would be checked")
		}
		if _, err := c.roots(); err != nil {
			return err
		}
	}
	return nil
}

// roots is the pool the relay's certificate is verified against: the CAs
// of CAFile, or nil (the system's roots) without one.
func (c SMTP) roots() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, Permanent("smtp.ca_file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, Permanent("smtp.ca_file %s holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}

// Mail is one message.
type Mail struct {
	// Key is the idempotency key: it becomes the Message-ID (hashed) and the
	// X-Khula-Idempotency-Key header, identical on every attempt.
	Key      string
	To       string
	Subject  string
	Body     string
	Language string
	// Headers are extra headers (e.g. X-Khula-Urgent).
	Headers map[string]string
}

// MessageID is the Message-ID of the mail sent under key: derived from the
// key alone, so a resend after a crash carries the same one and a receiving
// system that deduplicates on Message-ID keeps one copy.
func MessageID(key, domain string) string {
	return "<khula." + Hash("message-id", key) + "@" + domain + ">"
}

func (c SMTP) domain() string {
	if c.Domain != "" {
		return c.Domain
	}
	if a, err := mail.ParseAddress(c.From); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			return a.Address[i+1:]
		}
	}
	return "khula.invalid"
}

// Compose renders m as an RFC 5322 message with CRLF line ends.
func (c SMTP) Compose(m Mail, now time.Time) []byte {
	h := map[string]string{
		"From":                      c.From,
		"To":                        m.To,
		"Subject":                   mime.QEncoding.Encode("utf-8", m.Subject),
		"Date":                      now.Format(time.RFC1123Z),
		"Message-ID":                MessageID(m.Key, c.domain()),
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
		"X-Khula-Idempotency-Key":   m.Key,
		"Auto-Submitted":            "auto-generated",
	}
	if m.Language != "" {
		h["Content-Language"] = m.Language
	}
	for k, v := range m.Headers {
		h[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", k, strings.NewReplacer("\r", "", "\n", "").Replace(h[k]))
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n")))
	qp.Close()
	return []byte(b.String())
}

// relay is the relay's address, from addr or the variable addr_env names.
func (c SMTP) relay() (string, error) {
	switch {
	case c.Addr != "" && c.AddrEnv != "":
		return "", Permanent("smtp: give addr or addr_env, not both")
	case c.Addr != "":
		return c.Addr, nil
	case c.AddrEnv != "":
		if v := os.Getenv(c.AddrEnv); v != "" {
			return v, nil
		}
		return "", Permanent("smtp.addr_env: $%s is not set (the mail relay's host:port)", c.AddrEnv)
	}
	return "", Permanent("smtp.addr (host:port of the mail relay) or smtp.addr_env is required")
}

// Send delivers m and returns its Message-ID. 5xx replies are permanent
// errors; connection failures and 4xx replies are transient.
func (c SMTP) Send(ctx context.Context, m Mail) (string, error) {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return "", Permanent("recipient %q is not a mail address", m.To)
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout.Or(30*time.Second))
	defer cancel()
	if addr, err := c.relay(); err != nil {
		return "", err
	} else {
		c.Addr = addr
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return "", Transient("connecting to the mail relay %s: %v", c.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return "", smtpErr("greeting", err)
	}
	defer cl.Close()
	hello := c.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := cl.Hello(hello); err != nil {
		return "", smtpErr("EHLO", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok && c.TLS != "none" {
		roots, err := c.roots()
		if err != nil {
			return "", err
		}
		if err := cl.StartTLS(&tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}); err != nil {
			return "", smtpErr("STARTTLS", err)
		}
	} else if c.TLS == "require" {
		return "", Permanent("the mail relay %s does not offer STARTTLS and smtp.tls is require", c.Addr)
	}
	if c.Username != "" {
		pw, err := Secret(c.PasswordEnv)
		if err != nil {
			return "", err
		}
		if err := cl.Auth(smtp.PlainAuth("", c.Username, pw, host)); err != nil {
			return "", smtpErr("AUTH", err)
		}
	}
	from, _ := mail.ParseAddress(c.From)
	to, _ := mail.ParseAddress(m.To)
	if err := cl.Mail(from.Address); err != nil {
		return "", smtpErr("MAIL FROM", err)
	}
	if err := cl.Rcpt(to.Address); err != nil {
		return "", smtpErr("RCPT TO", err)
	}
	w, err := cl.Data()
	if err != nil {
		return "", smtpErr("DATA", err)
	}
	if _, err := w.Write(c.Compose(m, time.Now())); err != nil {
		return "", smtpErr("DATA", err)
	}
	if err := w.Close(); err != nil {
		return "", smtpErr("end of DATA", err)
	}
	_ = cl.Quit()
	return MessageID(m.Key, c.domain()), nil
}

func smtpErr(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent("mail relay refused %s: %d %s", step, te.Code, te.Msg)
	}
	return Transient("mail relay, %s: %v", step, err)
}
