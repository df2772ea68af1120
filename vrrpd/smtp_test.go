package vrrpd

import (
	"testing"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

func TestSMTPAlertSwitches(t *testing.T) {
	on, off := true, false
	for _, c := range []struct {
		own, vrrp, all *bool
		want           bool
	}{
		{nil, nil, nil, false},
		{nil, nil, &on, true},
		{nil, &off, &on, false},
		{&on, &off, &off, true},
		{&off, &on, &on, false},
	} {
		g := &config.GlobalDefs{SMTPAlertVRRP: c.vrrp, SMTPAlert: c.all}
		if got := smtpAlertOn(g, c.own); got != c.want {
			t.Errorf("own %v vrrp %v all %v: %v, want %v", c.own, c.vrrp, c.all, got, c.want)
		}
	}
	g := &config.GlobalDefs{}
	if alertWord(g, vrrp.Master) != "MASTER" || alertWord(g, vrrp.Fault) != "FAULT" || alertWord(g, vrrp.Stopped) != "" {
		t.Error("state words")
	}
	g.NoEmailFaults = true
	if alertWord(g, vrrp.Fault) != "" || alertWord(g, vrrp.Backup) != "BACKUP" {
		t.Error("no_email_faults")
	}
}
