// Package smtptest is a minimal SMTP server for tests: it accepts every
// message (or refuses recipients with a chosen reply) and keeps what it got.
// It speaks just enough of RFC 5321 for net/smtp: EHLO/HELO, MAIL, RCPT,
// DATA, RSET, NOOP, QUIT; no TLS, no AUTH.
package smtptest

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
)

// Message is one message the server accepted.
type Message struct {
	From   string
	To     []string
	Raw    []byte
	Header mail.Header
	// Body is the decoded text body.
	Body string
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port to give a client.
	Addr string
	// RejectRcpt, when set (e.g. "550 5.1.1 no such user"), is the reply to RCPT.
	RejectRcpt string

	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	wg   sync.WaitGroup
}

// Start starts a server on a free local port; Close stops it.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.ln.Close()
	s.wg.Wait()
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(textproto.NewConn(c))
		}()
	}
}

func (s *Server) session(c *textproto.Conn) {
	reply := func(line string) bool { return c.PrintfLine("%s", line) == nil }
	if !reply("220 localhost smtptest") {
		return
	}
	var from string
	var to []string
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			if !reply("250-localhost\r\n250-8BITMIME\r\n250 SIZE 10485760") {
				return
			}
		case "HELO", "NOOP":
			reply("250 ok")
		case "RSET":
			from, to = "", nil
			reply("250 ok")
		case "MAIL":
			from = addr(arg)
			reply("250 ok")
		case "RCPT":
			if s.RejectRcpt != "" {
				reply(s.RejectRcpt)
				continue
			}
			to = append(to, addr(arg))
			reply("250 ok")
		case "DATA":
			if len(to) == 0 {
				reply("503 need RCPT")
				continue
			}
			reply("354 go ahead")
			raw, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			m := Message{From: from, To: to, Raw: raw}
			if pm, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
				m.Header = pm.Header
				var body io.Reader = pm.Body
				if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
					body = quotedprintable.NewReader(body)
				}
				b, _ := io.ReadAll(body)
				m.Body = strings.ReplaceAll(string(b), "\r\n", "\n")
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			s.mu.Unlock()
			reply(fmt.Sprintf("250 queued as %d", len(s.msgs)))
			from, to = "", nil
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

func addr(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	a = strings.TrimSpace(a)
	if i := strings.IndexByte(a, ' '); i >= 0 {
		a = a[:i]
	}
	return strings.Trim(a, "<>")
}
