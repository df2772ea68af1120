package vrrpd

import (
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// syncGroup is a vrrp_sync_group at run time: its members move together,
// as keepalived's do. One member becoming master takes the others to
// master, one yielding takes them to backup, one faulting puts them all in
// FAULT until it recovers.
type syncGroup struct {
	cfg     *config.SyncGroup
	members []*instance
	state   vrrp.State
	// busy is set while the group propagates a transition, so the
	// transitions it causes do not propagate again.
	busy bool
}

// buildSyncGroups links instances to their groups.
func (e *Engine) buildSyncGroups() {
	byName := map[string]*instance{}
	for _, in := range e.insts {
		byName[in.cfg.Name] = in
	}
	for _, g := range e.cfg.SyncGroups {
		sg := &syncGroup{cfg: g}
		for _, name := range g.Group {
			if in := byName[name]; in != nil && in.group == nil {
				in.group = sg
				sg.members = append(sg.members, in)
			}
		}
		if len(sg.members) > 0 {
			e.groups = append(e.groups, sg)
		}
	}
}

// propagate applies a member's transition to the rest of its group.
func (e *Engine) propagate(from *instance, x vrrp.StateChanged) {
	g := from.group
	if g == nil || g.busy {
		return
	}
	var to vrrp.State
	switch {
	case x.To == vrrp.Master:
		to = vrrp.Master
	case x.To == vrrp.Fault:
		to = vrrp.Fault
	case x.To == vrrp.Backup && (x.From == vrrp.Master || x.From == vrrp.Fault):
		to = vrrp.Backup
	default:
		return
	}
	g.busy = true
	defer func() { g.busy = false }()
	now := time.Now()
	for _, m := range g.members {
		if m != from {
			e.step(m, now, vrrp.Group{To: to, Reason: from.cfg.Name + " " + x.To.String()})
		}
	}
	e.groupChanged(g)
}

// groupChanged runs the group's notify scripts when all members agree on
// a new state.
func (e *Engine) groupChanged(g *syncGroup) {
	st := g.members[0].m.State()
	for _, m := range g.members[1:] {
		if m.m.State() != st {
			return
		}
	}
	if st == g.state {
		return
	}
	g.state = st
	prio := uint8(0)
	for _, m := range g.members {
		prio = max(prio, m.m.Priority())
	}
	e.log.Info("VRRP_Group("+g.cfg.Name+") Syncing instances to "+st.String()+" state",
		zap.String("group", g.cfg.Name), zap.Stringer("state", st))
	e.notify.groupTransition(g.cfg, st, prio)
	e.mailGroupTransition(g.cfg, st)
}
