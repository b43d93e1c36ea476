// Package mailsink is the mail relay of `khula dev`: a minimal SMTP server
// on loopback that accepts every message and writes it, whole, as a .eml
// file in a directory, so referrals and notifications sent by e-mail in dev
// can be read instead of reaching anyone.
package mailsink

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// maxMessage bounds one message's size.
const maxMessage = 10 << 20

// Sink is a running mail sink.
type Sink struct {
	ln  net.Listener
	dir string
	wg  sync.WaitGroup
	mu  sync.Mutex
	n   int
}

// Start listens on addr (e.g. 127.0.0.1:0) and writes messages into dir.
func Start(addr, dir string) (*Sink, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mailsink: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailsink: %w", err)
	}
	s := &Sink{ln: ln, dir: dir}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the sink's host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// Dir is where messages are written.
func (s *Sink) Dir() string { return s.dir }

// Close stops accepting and waits for open sessions.
func (s *Sink) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Sink) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
			s.session(textproto.NewConn(conn))
		}()
	}
}

func (s *Sink) session(c *textproto.Conn) {
	reply := func(code int, msg string) bool { return c.PrintfLine("%d %s", code, msg) == nil }
	if !reply(220, "khula dev mail sink") {
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
		case "EHLO", "HELO":
			if !reply(250, "khula-dev") {
				return
			}
		case "MAIL":
			from, to = arg, nil
			reply(250, "ok")
		case "RCPT":
			to = append(to, arg)
			reply(250, "ok")
		case "DATA":
			if from == "" || len(to) == 0 {
				reply(503, "MAIL and RCPT first")
				continue
			}
			reply(354, "end with .")
			data, err := readData(c.Reader.R)
			if err != nil {
				reply(552, err.Error())
				return
			}
			if err := s.save(data); err != nil {
				reply(451, "could not store the message")
				continue
			}
			from, to = "", nil
			reply(250, "stored")
		case "RSET":
			from, to = "", nil
			reply(250, "ok")
		case "NOOP":
			reply(250, "ok")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			reply(502, "not implemented")
		}
	}
}

// readData reads a DATA section up to the lone dot, undoing dot-stuffing.
func readData(r *bufio.Reader) ([]byte, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "." {
			return []byte(b.String()), nil
		}
		if strings.HasPrefix(trimmed, "..") {
			trimmed = trimmed[1:]
		}
		b.WriteString(trimmed + "\r\n")
		if b.Len() > maxMessage {
			return nil, errors.New("message too large")
		}
	}
}

func (s *Sink) save(data []byte) error {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	name := fmt.Sprintf("%s-%04d-%s.eml", time.Now().UTC().Format("20060102T150405"), n, hex.EncodeToString(sum[:4]))
	return os.WriteFile(filepath.Join(s.dir, name), data, 0o600)
}

// Messages lists the stored messages' paths in arrival order.
func (s *Sink) Messages() ([]string, error) {
	return filepath.Glob(filepath.Join(s.dir, "*.eml"))
}
