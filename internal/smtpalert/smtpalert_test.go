package smtpalert

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/smtpalert/smtptest"
)

func TestSendsKeepalivedMailThroughLoopbackSink(t *testing.T) {
	s := smtptest.New(t)
	host, p := s.HostPort()
	g := &config.GlobalDefs{RouterID: "lb1", NotificationEmail: []string{"ops@example.com", "oncall@example.com"},
		NotificationEmailFrom: "vigil@lb1.example.com", SMTPServer: &config.SMTPServer{Host: host, Port: p},
		SMTPHeloName: "lb1.example.com", SMTPConnectTimeout: config.Duration(2 * time.Second)}
	snd := NewFromGlobal(g, zap.NewNop())
	if snd == nil {
		t.Fatal("no sender for a configured smtp_server")
	}
	defer snd.Close(time.Second)

	snd.Instance("VI_1", Master, "reason: master down timer expired")
	m := s.Next(t)
	if m.Helo != "lb1.example.com" || m.From != "<vigil@lb1.example.com>" ||
		strings.Join(m.Rcpt, " ") != "<ops@example.com> <oncall@example.com>" {
		t.Fatalf("envelope: helo %q from %q rcpt %q", m.Helo, m.From, m.Rcpt)
	}
	for _, want := range []string{
		"From: vigil@lb1.example.com\r\n",
		"Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state\r\n",
		"To: ops@example.com, oncall@example.com\r\n",
		"X-Mailer: Vigil\r\n",
		"\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n",
		"reason: master down timer expired",
	} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	if !strings.HasPrefix(m.Data, "Date: ") {
		t.Errorf("message does not start with Date:\n%s", m.Data)
	}

	snd.Checker("10.0.0.1:80 tcp", "10.0.1.5:80", "TCP_CHECK", false, "connection refused", "real server DOWN")
	m = s.Next(t)
	if !strings.Contains(m.Data, "Subject: [lb1] Realserver 10.0.1.5:80 of virtual server 10.0.0.1:80 tcp - DOWN\r\n") ||
		!strings.Contains(m.Data, "\r\n\r\n=> TCP CHECK failed on service <=\r\n\r\nreal server DOWN") {
		t.Errorf("checker mail:\n%s", m.Data)
	}
	snd.RealServerShutdown("10.0.0.1:80 tcp", "10.0.1.5:80")
	m = s.Next(t)
	if !strings.Contains(m.Data, "Subject: [lb1] Realserver 10.0.1.5:80 of virtual server 10.0.0.1:80 tcp - DOWN\r\n") ||
		!strings.Contains(m.Data, "\r\n\r\n=> Shutting down <=\r\n") {
		t.Errorf("shutdown mail:\n%s", m.Data)
	}
	snd.VirtualServer("10.0.0.1:80 tcp", false, "Lost quorum 2+0=2 <= 1")
	m = s.Next(t)
	if !strings.Contains(m.Data, "Subject: [lb1] Virtualserver 10.0.0.1:80 tcp - DOWN\r\n") ||
		!strings.Contains(m.Data, "\r\n\r\n=> Lost quorum 2+0=2 <= 1 <=\r\n") {
		t.Errorf("virtual server mail:\n%s", m.Data)
	}
	snd.Group("G1", Backup)
	m = s.Next(t)
	if !strings.Contains(m.Data, "Subject: [lb1] VRRP Group G1 - Entering BACKUP state\r\n") ||
		!strings.Contains(m.Data, "=> All VRRP group instances are now in BACKUP state <=") {
		t.Errorf("group mail:\n%s", m.Data)
	}
}

// Each checker type's body line is keepalived 2.2's wording (the strings
// of Debian's keepalived 2.2.7), so mail filters written for it match.
func TestCheckerLines(t *testing.T) {
	for _, c := range []struct {
		typ  string
		up   bool
		why  string
		want string
	}{
		{"TCP_CHECK", false, "refused", "TCP CHECK failed on service"},
		{"TCP_CHECK", true, "", "TCP CHECK succeed on service"},
		{"UDP_CHECK", false, "", "UDP CHECK failed on service"},
		{"PING_CHECK", true, "", "ICMP CHECK succeed on service"},
		{"MISC_CHECK", false, "exit 1", "MISC CHECK failed on service"},
		{"DNS_CHECK", false, "", "DNS_CHECK: failed on service"},
		{"HTTP_GET", false, "status 503", "CHECK failed on service : status 503"},
		{"SSL_GET", true, "", "CHECK succeed on service"},
		{"SMTP_CHECK", false, "", "CHECK failed on service"},
	} {
		if got := checkerLine(c.typ, c.up, c.why); got != c.want {
			t.Errorf("%s up=%v why=%q: %q, want %q", c.typ, c.up, c.why, got, c.want)
		}
	}
}

func TestNoServerNoSender(t *testing.T) {
	if NewFromGlobal(&config.GlobalDefs{NotificationEmail: []string{"a@b"}}, nil) != nil {
		t.Fatal("sender without smtp_server")
	}
	if NewFromGlobal(&config.GlobalDefs{SMTPServer: &config.SMTPServer{Host: "127.0.0.1"}}, nil) != nil {
		t.Fatal("sender without recipients")
	}
	var s *Sender // nil: every call is a no-op
	s.Instance("VI_1", Master, "")
	s.Close(time.Second)
	c, _ := FromGlobal(&config.GlobalDefs{NotificationEmail: []string{"a@b"}, SMTPServer: &config.SMTPServer{Host: "192.0.2.1"}})
	if c.Server != "192.0.2.1:25" || !strings.HasPrefix(c.From, "keepalived@") || c.HeloName == "" || c.RouterID == "" || c.Timeout != 30*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

// A server that accepts but never answers: the caller never blocks, each
// alert is dropped after the timeout and logged, and a full queue drops
// (logged) rather than waits.
func TestDeadServerNeverBlocksAndLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // silent: no greeting
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	core, logs := observer.New(zap.InfoLevel)
	snd := New(Config{Server: ln.Addr().String(), HeloName: "h", From: "f@h", To: []string{"t@h"},
		Timeout: 200 * time.Millisecond, RouterID: "r"}, zap.New(core))
	start := time.Now()
	for i := 0; i < QueueLen+10; i++ {
		snd.Instance("VI_1", Backup, "")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Send blocked for %s", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for logs.FilterMessage("SMTP alert not sent").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a timed-out alert was not logged")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if logs.FilterMessage("SMTP alert queue full; alert dropped").Len() == 0 {
		t.Fatal("a full queue did not log its drops")
	}
	// Close is bounded even with a queue of dead alerts.
	start = time.Now()
	snd.Close(300 * time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s", d)
	}

	// A refused connection (nothing listens) is logged too.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := dead.Addr().String()
	dead.Close()
	core2, logs2 := observer.New(zap.InfoLevel)
	snd2 := New(Config{Server: addr, HeloName: "h", From: "f@h", To: []string{"t@h"}, Timeout: time.Second, RouterID: "r"}, zap.New(core2))
	snd2.Instance("VI_1", Fault, "")
	snd2.Close(2 * time.Second)
	if logs2.FilterMessage("SMTP alert not sent").Len() != 1 {
		t.Fatalf("refused connection not logged: %v", logs2.All())
	}
}
