// Package desired computes the IPVS tables lvsd wants from the
// configuration and the live inputs (checkd's verdicts, which addresses
// this host holds), with keepalived's semantics for real servers,
// inhibit_on_failure, alpha, quorum with hysteresis, the sorry server
// and ha_suspend. It is pure: no I/O, no clock, no goroutines.
//
// keepalived changes IPVS edge by edge as checkers report
// (check/ipwrapper.c: perform_svr_state, update_quorum_state,
// perform_quorum_state); Vigil computes the whole table level by level
// from the current inputs and lets lvsd/plan find the difference. The
// only memory the rules need is each virtual_server block's quorum state
// (up or down, and whether it was started): the Engine keeps it, reports
// it with State, and takes it back in New so a restarted lvsd neither
// re-runs quorum scripts nor moves the sorry server.
package desired

import (
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/plan"
)

// Inputs are the live facts the tables depend on.
type Inputs struct {
	// Verdicts are checkd's real-server verdicts by ipc.Backend.Key. A
	// server without one has not been decided yet: it counts as alive
	// unless one of its checkers is in alpha mode.
	Verdicts map[string]ipc.Backend
	// Held reports whether a virtual address is configured on this host
	// (ha_suspend). Nil means every address is held.
	Held func(netip.Addr) bool
}

// EventKind says which quorum transition an Event reports.
type EventKind uint8

// Quorum transitions, for which the daemon runs quorum_up/quorum_down.
const (
	QuorumUp EventKind = iota + 1
	QuorumDown
)

func (k EventKind) String() string {
	switch k {
	case QuorumUp:
		return "quorum-up"
	case QuorumDown:
		return "quorum-down"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is a quorum transition of one virtual_server block: the daemon
// runs Script (when set), logs Message and may send an alert.
type Event struct {
	Kind EventKind
	// VirtualServer is config.VirtualServer.ID() of the block.
	VirtualServer string
	// Script is the block's quorum_up or quorum_down script, or nil.
	Script *config.Script
	// Init marks the transition decided when the block is first started
	// ("Starting with quorum up/down"); Stopping the quorum_down of an
	// omega block at shutdown.
	Init, Stopping bool
	// Quorum and Hysteresis are the block's settings, Threshold the
	// bound that was crossed, WeightSum the live weight.
	Quorum, Hysteresis   uint32
	Threshold, WeightSum int64
}

// Message is keepalived's log line for the transition
// (update_quorum_state, do_vs_notifies).
func (e Event) Message() string {
	switch {
	case e.Stopping:
		return fmt.Sprintf("Shutting down: quorum down for VS %s", e.VirtualServer)
	case e.Kind == QuorumUp && e.Init:
		return fmt.Sprintf("Starting with quorum up %d+%d=%d <= %d for VS %s", e.Quorum, e.Hysteresis, e.Threshold, e.WeightSum, e.VirtualServer)
	case e.Kind == QuorumUp:
		return fmt.Sprintf("Gained quorum %d+%d=%d <= %d for VS %s", e.Quorum, e.Hysteresis, e.Threshold, e.WeightSum, e.VirtualServer)
	case e.Init:
		return fmt.Sprintf("Starting with quorum down %d-%d=%d > %d for VS %s", e.Quorum, e.Hysteresis, e.Threshold, e.WeightSum, e.VirtualServer)
	}
	return fmt.Sprintf("Lost quorum %d-%d=%d > %d for VS %s", e.Quorum, e.Hysteresis, e.Threshold, e.WeightSum, e.VirtualServer)
}

// State is the Engine's memory, for snapshots: the quorum state of every
// started virtual_server block, by config.VirtualServer.ID().
type State struct {
	Quorum map[string]QuorumState `json:"quorum,omitempty"`
}

// QuorumState is one block's quorum state. A block absent from State has
// not been started: its first Desired decides its state and reports the
// "Starting with quorum ..." event.
type QuorumState struct {
	Up bool `json:"up"`
}

// Engine turns the configuration and live inputs into desired tables.
// It is not safe for concurrent use.
type Engine struct {
	vss      []*config.VirtualServer
	groups   map[string]*config.VirtualServerGroup
	entries  map[string][]entry
	owned    map[ipvs.ServiceKey]bool
	quorum   map[string]QuorumState
	warnings []string
}

// New builds an Engine for cfg, resuming the quorum states in restore
// (nil: a cold start). States of blocks no longer configured are dropped.
func New(cfg *config.Config, restore *State) *Engine {
	e := &Engine{
		groups:  map[string]*config.VirtualServerGroup{},
		entries: map[string][]entry{},
		owned:   map[ipvs.ServiceKey]bool{},
		quorum:  map[string]QuorumState{},
	}
	if cfg == nil {
		return e
	}
	for _, g := range cfg.VirtualServerGroups {
		if _, dup := e.groups[g.Name]; !dup {
			e.groups[g.Name] = g
		}
	}
	for _, vs := range cfg.VirtualServers {
		if vs == nil {
			continue
		}
		id := vs.ID()
		if _, dup := e.entries[id]; dup {
			e.warnings = append(e.warnings, fmt.Sprintf("virtual server %s is configured twice; the first block is used", id))
			continue
		}
		ents, warns := entries(vs, e.groups)
		e.warnings = append(e.warnings, warns...)
		e.entries[id] = ents
		e.vss = append(e.vss, vs)
		for _, en := range ents {
			e.owned[en.key.Canonical()] = true
		}
		if restore != nil {
			if st, ok := restore.Quorum[id]; ok {
				e.quorum[id] = st
			}
		}
	}
	return e
}

// Warnings are the configuration problems New worked around.
func (e *Engine) Warnings() []string { return slices.Clone(e.warnings) }

// Owns reports whether the configuration declares the service at k
// (suspended ha_suspend services included), for plan.Diff's owned: what
// is declared but not desired right now must go. A daemon should also
// own what an earlier configuration declared, so a reload removes the
// services of deleted blocks.
func (e *Engine) Owns(k ipvs.ServiceKey) bool { return e.owned[k.Canonical()] }

// State returns a copy of the quorum states, for the daemon's snapshot.
func (e *Engine) State() State {
	st := State{Quorum: make(map[string]QuorumState, len(e.quorum))}
	for k, v := range e.quorum {
		st.Quorum[k] = v
	}
	return st
}

// Desired computes the tables for in, advancing each block's quorum state
// machine, and returns them in configuration order with the quorum
// transitions that happened.
func (e *Engine) Desired(in Inputs) ([]plan.Desired, []Event) {
	var out []plan.Desired
	var events []Event
	for _, vs := range e.vss {
		id := vs.ID()
		var live []entry
		for _, en := range e.entries[id] {
			if suspended(vs, en, in.Held) {
				continue
			}
			live = append(live, en)
		}
		if len(live) == 0 && len(e.entries[id]) > 0 {
			// Every service of the block is suspended: keepalived's
			// checkers stop, so nothing changes the quorum either.
			continue
		}
		servers := evaluate(vs, in.Verdicts)
		if ev, ok := e.step(vs, servers); ok {
			events = append(events, ev)
		}
		up := e.quorum[id].Up
		for _, en := range live {
			out = append(out, plan.Desired{Service: service(vs, en.key), Dests: dests(vs, en.key, servers, up)})
		}
	}
	return out, events
}

// Stop returns the events keepalived raises when it shuts down: for each
// omega block, quorum_down with Stopping set, whatever the state was
// (update_vs_notifies with stopping: do_vs_notifies runs non-SNMP
// notifies at stop only when omega is set). Blocks without omega report
// nothing. The quorum states are marked down.
func (e *Engine) Stop() []Event {
	var events []Event
	for _, vs := range e.vss {
		id := vs.ID()
		e.quorum[id] = QuorumState{Up: false}
		if !vs.Omega {
			continue
		}
		events = append(events, Event{Kind: QuorumDown, VirtualServer: id, Script: vs.QuorumDown, Stopping: true,
			Quorum: vs.Quorum, Hysteresis: vs.Hysteresis})
	}
	return events
}

// suspended reports whether the service of entry en is absent because of
// ha_suspend: an address-based service whose address this host does not
// hold. fwmark services have no address and are never suspended (the
// configuration refuses ha_suspend with fwmarks, as keepalived does).
func suspended(vs *config.VirtualServer, en entry, held func(netip.Addr) bool) bool {
	return vs.HASuspend && held != nil && en.addr.IsValid() && !held(en.addr)
}

// server is a real server as the rules see it.
type server struct {
	rs     *config.RealServer
	alive  bool
	weight int // real_weight(effective weight): clamped to 0..MaxInt32
}

// evaluate folds the verdicts into each real server's liveness and
// weight. Without a verdict a server starts alive unless a checker is in
// alpha mode (check_api.c: an alpha checker starts failed, and
// init_service_rs adds only servers with no failed checker; a server
// without checkers is alive).
func evaluate(vs *config.VirtualServer, verdicts map[string]ipc.Backend) []server {
	out := make([]server, 0, len(vs.RealServers))
	for _, rs := range vs.RealServers {
		if rs == nil {
			continue
		}
		s := server{rs: rs, weight: realWeight(rs.Weight)}
		key := ipc.Backend{VirtualServer: vs.ID(), Server: netip.AddrPortFrom(rs.Address, rs.Port)}.Key()
		if v, ok := verdicts[key]; ok {
			s.alive, s.weight = v.Alive, realWeight(v.Weight)
		} else {
			s.alive = !slices.ContainsFunc(rs.Checkers, func(c *config.Checker) bool { return c != nil && c.Alpha })
		}
		out = append(out, s)
	}
	return out
}

// realWeight clamps an effective weight into IPVS's range, as
// keepalived's real_weight does.
func realWeight(w int) int { return max(0, min(w, math.MaxInt32)) }

// liveWeight is weigh_live_realservers: the sum of the weights of the
// alive servers. Inhibited failed servers are not alive and count 0.
func liveWeight(servers []server) int64 {
	var sum int64
	for _, s := range servers {
		if s.alive {
			sum += int64(s.weight)
		}
	}
	return sum
}
