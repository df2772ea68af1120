package vrrpd

import (
	"fmt"
	"time"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// alertDrainBound is how long a stopping engine waits for queued alert
// e-mails: short, a stop must not hang on a dead relay.
const alertDrainBound = 2 * time.Second

// smtpAlertOn resolves keepalived's smtp_alert switches for an instance or
// a sync group: its own setting, else global smtp_alert_vrrp, else global
// smtp_alert, else off.
func smtpAlertOn(g *config.GlobalDefs, own *bool) bool {
	for _, b := range []*bool{own, g.SMTPAlertVRRP, g.SMTPAlert} {
		if b != nil {
			return *b
		}
	}
	return false
}

// alertWord is the state keepalived mails about; "" for the others
// (INIT, STOP: keepalived sends none).
func alertWord(g *config.GlobalDefs, to vrrp.State) string {
	switch to {
	case vrrp.Master:
		return smtpalert.Master
	case vrrp.Backup:
		return smtpalert.Backup
	case vrrp.Fault:
		if !g.NoEmailFaults {
			return smtpalert.Fault
		}
	}
	return ""
}

// mailTransition queues the e-mail of an instance's transition, when its
// smtp_alert says so. Never blocks (the queue drops when full).
func (e *Engine) mailTransition(c *config.VRRPInstance, x vrrp.StateChanged, prio uint8) {
	if e.alerts == nil || !smtpAlertOn(&e.cfg.Global, c.SMTPAlert) {
		return
	}
	if w := alertWord(&e.cfg.Global, x.To); w != "" {
		detail := fmt.Sprintf("from %s, priority %d", x.From, prio)
		if x.Reason != "" {
			detail += ", reason: " + x.Reason
		}
		e.alerts.Instance(c.Name, w, detail)
	}
}

// mailGroupTransition queues a sync group's e-mail.
func (e *Engine) mailGroupTransition(g *config.SyncGroup, to vrrp.State) {
	if e.alerts == nil || !smtpAlertOn(&e.cfg.Global, g.SMTPAlert) {
		return
	}
	if w := alertWord(&e.cfg.Global, to); w != "" {
		e.alerts.Group(g.Name, w)
	}
}
