package vrrpd

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// InstanceStatus is one instance as `vigil status` and the supervisor's
// snapshot see it.
type InstanceStatus struct {
	Name              string        `json:"name"`
	VRID              uint8         `json:"vrid"`
	Interface         string        `json:"interface"`
	Family            int           `json:"family"`
	State             string        `json:"state"`
	Priority          uint8         `json:"priority"`
	EffectivePriority uint8         `json:"effective_priority"`
	Master            netip.Addr    `json:"master,omitzero"`
	MasterPriority    uint8         `json:"master_priority,omitempty"`
	MasterInterval    time.Duration `json:"master_interval"`
	Source            netip.Addr    `json:"source"`
	VIPs              []netip.Addr  `json:"vips"`
	// ExcludedVIPs are virtual_ipaddress_excluded (not in adverts).
	ExcludedVIPs []netip.Addr `json:"excluded_vips,omitempty"`
	// Preempt is false with nopreempt.
	Preempt bool `json:"preempt"`
	// Epoch counts MASTER entries since vrrpd started.
	Epoch uint64 `json:"epoch"`
	// Held is the arbiter agent's hold, HoldReason its reason; Waiting
	// marks a held BACKUP whose master-down timer expired.
	Held       bool   `json:"held,omitempty"`
	HoldReason string `json:"hold_reason,omitempty"`
	Waiting    bool   `json:"waiting,omitempty"`
	// Stepping marks a master releasing its VIPs make-before-break (stop,
	// handoff) or an instance held by vigil handoff: not a candidate.
	Stepping bool          `json:"stepping,omitempty"`
	Stats    instanceStats `json:"stats"`
}

// Status is the engine's state for `vigil status`.
type Status struct {
	Instances []InstanceStatus `json:"instances"`
	// Drops counts packets dropped before they could be matched to an
	// instance (bad checksum, TTL, unknown VRID, ...).
	Drops map[string]uint64 `json:"drops,omitempty"`
}

func (e *Engine) status(in *instance) InstanceStatus {
	master, mp := in.m.Master()
	st := InstanceStatus{
		Name: in.cfg.Name, VRID: uint8(in.cfg.VirtualRouterID), Interface: in.ifname, Family: in.family,
		State: in.m.State().String(), Priority: uint8(in.cfg.Priority), EffectivePriority: in.m.Priority(),
		Master: master, MasterPriority: mp, MasterInterval: in.m.MasterInterval(), Source: in.src,
		VIPs:    append(append([]netip.Addr{}, in.vips4...), in.vips6...),
		Preempt: !in.cfg.Nopreempt, Epoch: in.epoch, Waiting: in.m.Waiting(), Stepping: in.m.Stepping(),
		Stats: in.stats,
	}
	st.Held, st.HoldReason = in.m.Held()
	for _, a := range in.cfg.VirtualIPAddressesExcluded {
		st.ExcludedVIPs = append(st.ExcludedVIPs, a.Address.Addr())
	}
	st.Stats.Drops = map[string]uint64{}
	for k, v := range in.stats.Drops {
		st.Stats.Drops[k] = v
	}
	return st
}

// Status asks the engine goroutine for a consistent snapshot.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	ch := make(chan Status, 1)
	f := func() {
		s := Status{Drops: map[string]uint64{}}
		for _, in := range e.insts {
			s.Instances = append(s.Instances, e.status(in))
		}
		for d, n := range e.drops {
			s.Drops[d.String()] = n
		}
		ch <- s
	}
	select {
	case e.ctrl <- f:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	select {
	case s := <-ch:
		return s, nil
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// Verdict is the arbiter agent's word on an instance (ipc.Verdict).
type Verdict struct {
	Instance string
	Hold     bool
	Reason   string
	GARP     bool
	Fence    string
}

// ApplyVerdict applies the arbiter agent's verdict to an instance's state
// machine as an ordinary event (vrrp.Hold); GARP re-announces a master's
// VIPs, Fence is logged as the reason this node was demoted.
func (e *Engine) ApplyVerdict(ctx context.Context, v Verdict) error {
	errc := make(chan error, 1)
	f := func() {
		for _, in := range e.insts {
			if in.cfg.Name != v.Instance {
				continue
			}
			if v.Fence != "" {
				e.log.Warn(fmt.Sprintf("(%s) Fenced by the arbiter: %s", in.cfg.Name, v.Fence),
					zap.String("instance", in.cfg.Name), zap.Uint8("vrid", uint8(in.cfg.VirtualRouterID)), zap.String("reason", v.Fence))
			}
			if held, why := in.m.Held(); held != v.Hold || (v.Hold && why != v.Reason) {
				e.step(in, time.Now(), vrrp.Hold{On: v.Hold, Reason: v.Reason})
			}
			if v.GARP && in.m.State() == vrrp.Master {
				e.log.Info(fmt.Sprintf("(%s) Re-announcing VIPs after a dual-master conflict", in.cfg.Name), zap.String("instance", in.cfg.Name))
				in.stats.GARPs++
				e.queueGARP(in, in.garpRivalRepeat)
			}
			errc <- nil
			return
		}
		errc <- fmt.Errorf("vrrpd: no vrrp_instance %q", v.Instance)
	}
	select {
	case e.ctrl <- f:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handoff hands an instance's master role over make-before-break and holds
// it as BACKUP (undo releases the hold): `vigil handoff INSTANCE`.
func (e *Engine) Handoff(ctx context.Context, name string, undo bool) error {
	errc := make(chan error, 1)
	f := func() {
		for _, in := range e.insts {
			if in.cfg.Name == name {
				e.step(in, time.Now(), vrrp.Handoff{Undo: undo})
				errc <- nil
				return
			}
		}
		errc <- fmt.Errorf("vrrpd: no vrrp_instance %q", name)
	}
	select {
	case e.ctrl <- f:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
