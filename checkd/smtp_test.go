package checkd

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/ipc"
)

// smtpSink accepts SMTP conversations on loopback and sends each
// message's data on the channel.
func smtpSink(t *testing.T) (string, <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				say := func(s string) { _, _ = c.Write([]byte(s + "\r\n")) }
				say("220 sink")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch v := strings.ToUpper(strings.TrimSpace(l)); {
					case v == "DATA":
						say("354 go")
						var b strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil || l == ".\r\n" {
								break
							}
							b.WriteString(l)
						}
						out <- b.String()
						say("250 ok")
					case v == "QUIT":
						say("221 bye")
						return
					default:
						say("250 ok")
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), out
}

// A real server going DOWN then UP mails keepalived's subjects; one with
// smtp_alert off mails nothing; the first verdict (start, resume) none.
func TestRunnerMailsRealServerChanges(t *testing.T) {
	addr, mails := smtpSink(t)
	f := newFakePlan(t, false, "")
	f.plan.Mail = &smtpalert.Config{Server: addr, HeloName: "h", From: "vigil@h", To: []string{"ops@h"}, Timeout: 2 * time.Second, RouterID: "lb1"}
	f.plan.RealServers[0].SMTPAlert = true // 8000 mails, 8001 does not
	rec := &recorder{}
	run := NewRunner(f.plan, zap.NewNop(), nil, rec.emit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run.Run(ctx) }()
	defer func() { cancel(); <-done; run.Flush(); run.Close() }()

	rec.wait(t, run, "both up", func(bs []ipc.Backend) bool {
		a, ok1 := last(bs, 8000)
		b, ok2 := last(bs, 8001)
		return ok1 && ok2 && a.Alive && a.Decided && b.Alive && b.Decided
	})
	f.up[0].Store(false)
	f.up[1].Store(false)
	rec.wait(t, run, "both down", func(bs []ipc.Backend) bool {
		a, _ := last(bs, 8000)
		b, _ := last(bs, 8001)
		return !a.Alive && !b.Alive
	})
	f.up[0].Store(true)
	rec.wait(t, run, "8000 up", func(bs []ipc.Backend) bool { a, _ := last(bs, 8000); return a.Alive })
	for _, want := range []string{
		"Subject: [lb1] Realserver 198.18.0.10:8000 of virtual server vs - DOWN\r\n",
		"Subject: [lb1] Realserver 198.18.0.10:8000 of virtual server vs - UP\r\n",
	} {
		select {
		case m := <-mails:
			if !strings.Contains(m, want) {
				t.Fatalf("mail %q lacks %q", m, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no mail %q", want)
		}
	}
	select {
	case m := <-mails:
		t.Fatalf("unexpected mail (smtp_alert off, or a first verdict): %q", m)
	case <-time.After(200 * time.Millisecond):
	}
}
