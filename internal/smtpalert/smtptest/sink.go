// Package smtptest is a loopback SMTP sink for tests of the alert
// e-mails: it speaks just enough SMTP for smtpalert's conversation and
// hands each received message to the test, so every subsystem that mails
// (vrrpd, checkd, lvsd) asserts on what really went over a socket.
package smtptest

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is what the sink received in one conversation.
type Mail struct {
	Helo, From string
	Rcpt       []string
	// Data is the message as sent between DATA and the final dot:
	// headers, blank line, body, CRLF line ends.
	Data string
}

// Sink is a loopback SMTP server that records every message. It stops
// when the test ends.
type Sink struct {
	ln    net.Listener
	mails chan Mail
	wg    sync.WaitGroup
}

// New starts a sink on 127.0.0.1 with a free port.
func New(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{ln: ln, mails: make(chan Mail, 64)}
	t.Cleanup(func() { _ = ln.Close(); s.wg.Wait() })
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

// Addr is host:port of the sink.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// HostPort is the sink's address split as global_defs' smtp_server holds it.
func (s *Sink) HostPort() (string, uint16) {
	host, port, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.ParseUint(port, 10, 16)
	return host, uint16(p)
}

func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	// A test's conversation is short; a stuck client must not keep the
	// cleanup waiting.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = c.Write([]byte(line + "\r\n")) }
	var m Mail
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "HELO "):
			m.Helo = line[5:]
			say("250 sink")
		case strings.HasPrefix(verb, "MAIL FROM:"):
			m.From = line[10:]
			say("250 ok")
		case strings.HasPrefix(verb, "RCPT TO:"):
			m.Rcpt = append(m.Rcpt, line[8:])
			say("250 ok")
		case verb == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.Data = b.String()
			say("250 queued")
			select {
			case s.mails <- m:
			default: // the test stopped reading; it asserts counts itself
			}
			m = Mail{}
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

// Next waits up to 5 s for the next message.
func (s *Sink) Next(t testing.TB) Mail {
	t.Helper()
	select {
	case m := <-s.mails:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("smtptest: no mail received within 5s")
		return Mail{}
	}
}

// None fails the test if a message arrives within d (or is already
// waiting).
func (s *Sink) None(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case m := <-s.mails:
		t.Fatalf("smtptest: unexpected mail:\n%s", m.Data)
	case <-time.After(d):
	}
}

// Subject is the Subject header of m, or "".
func (m Mail) Subject() string {
	for _, l := range strings.Split(m.Data, "\r\n") {
		if l == "" {
			break
		}
		if v, ok := strings.CutPrefix(l, "Subject: "); ok {
			return v
		}
	}
	return ""
}
