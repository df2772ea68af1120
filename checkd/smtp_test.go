package checkd

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/internal/smtpalert/smtptest"
	"github.com/vigil-ha/vigil/ipc"
)

// A real server going DOWN then UP mails keepalived's subjects; one with
// smtp_alert off mails nothing; the first verdict (start, resume) none.
func TestRunnerMailsRealServerChanges(t *testing.T) {
	sink := smtptest.New(t)
	f := newFakePlan(t, false, "")
	f.plan.Mail = &smtpalert.Config{Server: sink.Addr(), HeloName: "h", From: "vigil@h", To: []string{"ops@h"}, Timeout: 2 * time.Second, RouterID: "lb1"}
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
		"[lb1] Realserver 198.18.0.10:8000 of virtual server vs - DOWN",
		"[lb1] Realserver 198.18.0.10:8000 of virtual server vs - UP",
	} {
		if m := sink.Next(t); m.Subject() != want {
			t.Fatalf("mail subject %q, want %q:\n%s", m.Subject(), want, m.Data)
		}
	}
	sink.None(t, 200*time.Millisecond)
}

// keepalived mails per checker, not per real server: with two checkers
// on one server each change of each checker is a mail, worded for its
// type, whatever the server's state; an omega shutdown mails the
// server's removal once.
func TestRunnerMailsEachChecker(t *testing.T) {
	sink := smtptest.New(t)
	addr := netip.MustParseAddrPort("198.18.0.10:80")
	var tcpUp, httpUp atomic.Bool
	tcpUp.Store(true)
	httpUp.Store(true)
	hc := health.CheckerConfig{DelayLoop: 20 * time.Millisecond, DelayBeforeRetry: 10 * time.Millisecond, Omega: true}
	tcpID, httpID := "vs/"+addr.String()+"/TCP_CHECK[0]", "vs/"+addr.String()+"/HTTP_GET[1]"
	plan := &Plan{
		Checkers: []Checker{
			{ID: tcpID, VirtualServer: "vs", RealServer: addr, Type: "TCP_CHECK", Health: hc,
				Probe: func(context.Context) probe.Result {
					return probe.Result{OK: tcpUp.Load(), Detail: "connection refused"}
				}},
			{ID: httpID, VirtualServer: "vs", RealServer: addr, Type: "HTTP_GET", Health: hc,
				Probe: func(context.Context) probe.Result { return probe.Result{OK: httpUp.Load(), Detail: "status 503"} }},
		},
		RealServers: []RealServer{{VirtualServer: "vs", Addr: addr, Weight: 3, Checkers: []string{tcpID, httpID}, SMTPAlert: true}},
		Mail:        &smtpalert.Config{Server: sink.Addr(), HeloName: "h", From: "vigil@h", To: []string{"ops@h"}, Timeout: 2 * time.Second, RouterID: "lb1"},
	}
	rec := &recorder{}
	run := NewRunner(plan, zap.NewNop(), nil, rec.emit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
			run.Close()
		}
	}()
	const subject = "[lb1] Realserver 198.18.0.10:80 of virtual server vs - "
	expect := func(step, word, line, detail string) {
		t.Helper()
		m := sink.Next(t)
		if m.Subject() != subject+word || !strings.Contains(m.Data, "\r\n\r\n=> "+line+" <=\r\n") || !strings.Contains(m.Data, detail) {
			t.Fatalf("%s: want subject %q, body %q and %q; got:\n%s", step, subject+word, line, detail, m.Data)
		}
	}

	rec.wait(t, run, "decided up", func(bs []ipc.Backend) bool { b, ok := last(bs, 80); return ok && b.Decided && b.Alive })
	tcpUp.Store(false)
	expect("TCP fails", "DOWN", "TCP CHECK failed on service", "checker "+tcpID+"; real server DOWN, weight 3, failed checks: "+tcpID)
	httpUp.Store(false)
	expect("HTTP fails too", "DOWN", "CHECK failed on service : status 503", "checker "+httpID+"; real server DOWN")
	tcpUp.Store(true)
	expect("TCP back, HTTP still down", "UP", "TCP CHECK succeed on service", "real server DOWN, weight 3, failed checks: "+httpID)
	httpUp.Store(true)
	expect("HTTP back", "UP", "CHECK succeed on service", "real server UP, weight 3")
	rec.wait(t, run, "alive again", func(bs []ipc.Backend) bool { b, _ := last(bs, 80); return b.Alive })

	cancel()
	<-done
	run.Flush()
	run.Close()
	stopped = true
	expect("omega shutdown", "DOWN", "Shutting down", "")
	sink.None(t, 200*time.Millisecond)
}
