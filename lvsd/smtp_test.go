package lvsd

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/smtpalert/smtptest"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// mailConf has one block that mails its quorum changes (smtp_alert,
// omega: it also mails at shutdown) and one that does not (no global
// smtp_alert: keepalived's default for virtual servers is off).
const mailConf = `
global_defs {
    router_id lb1
    notification_email {
        ops@example.com
    }
    notification_email_from vigil@lb1.example.com
    smtp_server %s %d
    smtp_connect_timeout 2
}
virtual_server 198.18.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    omega
    smtp_alert
    real_server 198.18.0.10 80 {
        weight 1
        TCP_CHECK {
        }
    }
    real_server 198.18.0.11 80 {
        weight 1
        TCP_CHECK {
        }
    }
}
virtual_server 198.18.0.2 443 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.0.20 443 {
        weight 1
        TCP_CHECK {
        }
    }
}
`

// Quorum transitions of a smtp_alert virtual server are mailed with
// keepalived's subject ([router_id] Virtualserver VS - UP|DOWN) and body
// (keepalived writes "+" and "<=" for a loss too) through a
// real SMTP conversation on loopback: the start, a loss, a gain and an
// omega shutdown; a block without smtp_alert mails nothing, and a
// resumed lvsd does not mail the state it resumes.
func TestDaemonMailsQuorumChanges(t *testing.T) {
	ctx := context.Background()
	sink := smtptest.New(t)
	host, port := sink.HostPort()
	cfg := parse(t, fmt.Sprintf(mailConf, host, port))
	fake := ipvs.NewFake()
	var scripts scriptLog
	d := New(Options{Config: cfg, Backend: fake, RunScript: scripts.run})
	vs := cfg.VirtualServers[0].ID()
	expect := func(step, subject, body string) {
		t.Helper()
		m := sink.Next(t)
		if got := m.Subject(); got != "[lb1] Virtualserver "+vs+" - "+subject {
			t.Fatalf("%s: subject %q, want [lb1] Virtualserver %s - %s", step, got, vs, subject)
		}
		if !strings.Contains(m.Data, "\r\n\r\n=> "+body+" <=\r\n") {
			t.Fatalf("%s: body lacks %q:\n%s", step, body, m.Data)
		}
		if strings.Join(m.Rcpt, " ") != "<ops@example.com>" || m.From != "<vigil@lb1.example.com>" {
			t.Fatalf("%s: envelope from %q rcpt %q", step, m.From, m.Rcpt)
		}
	}
	mustSync := func() {
		t.Helper()
		if _, err := d.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}

	mustSync()
	expect("cold start", "UP", "Starting with quorum up 2+0=2 <= 2")

	d.SetVerdict(verdict("198.18.0.1:80 TCP", "198.18.0.10:80", false, 1))
	d.SetVerdict(verdict("198.18.0.2:443 TCP", "198.18.0.20:443", false, 1)) // its quorum too: no mail
	mustSync()
	expect("one server down", "DOWN", "Lost quorum 2+0=2 <= 1")

	d.SetVerdict(verdict("198.18.0.1:80 TCP", "198.18.0.10:80", true, 1))
	mustSync()
	expect("back up", "UP", "Gained quorum 2+0=2 <= 2")
	st := d.State()

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.Stop(sctx, true); err != nil {
		t.Fatal(err)
	}
	expect("omega shutdown", "DOWN", "Shutting down")
	sink.None(t, 300*time.Millisecond)

	// A restarted lvsd resumes the quorum states: nothing to mail.
	d2 := New(Options{Config: cfg, Backend: ipvs.NewFake(), Restore: &st, RunScript: scripts.run})
	if _, err := d2.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_ = d2.Stop(sctx, false)
	sink.None(t, 300*time.Millisecond)
}

// The switch for quorum mails is the block's smtp_alert, else global
// smtp_alert_checker, else smtp_alert, else off (keepalived.conf(5):
// virtual_server smtp_alert).
func TestQuorumAlertSwitches(t *testing.T) {
	on, off := true, false
	for _, c := range []struct {
		own, checker, all *bool
		want              bool
	}{
		{nil, nil, nil, false},
		{nil, nil, &on, true},
		{nil, &off, &on, false},
		{nil, &on, &off, true},
		{&off, &on, &on, false},
		{&on, &off, &off, true},
	} {
		g := &config.GlobalDefs{SMTPAlertChecker: c.checker, SMTPAlert: c.all}
		if got := quorumAlertOn(g, &config.VirtualServer{SMTPAlert: c.own}); got != c.want {
			t.Errorf("own %v checker %v all %v: %v, want %v", c.own, c.checker, c.all, got, c.want)
		}
	}
}
