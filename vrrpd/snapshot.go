package vrrpd

import (
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/vrrpd/handover"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// snapshotEvery bounds how often snapshots go to the supervisor: 500
// instances changing state at start-up must not mean 500 full snapshots.
const snapshotEvery = 100 * time.Millisecond

// snapshot captures what a restarted vrrpd, or the supervisor standing in
// for it, needs: each instance's state and the exact adverts it sends.
func (e *Engine) snapshot() *handover.Snapshot {
	s := &handover.Snapshot{Taken: time.Now()}
	for _, in := range e.insts {
		s.Instances = append(s.Instances, e.instanceSnapshot(in))
	}
	return s
}

func (e *Engine) instanceSnapshot(in *instance) handover.Instance {
	hi := handover.Instance{
		Name: in.cfg.Name, State: in.m.State().String(), Priority: in.m.Priority(),
		MasterInterval: in.m.MasterInterval(), Family: in.family, IfIndex: in.xmitIndex, Src: in.src,
		Interval: in.cfg.AdvertInt.D(), VIPDev: in.vipDev,
		VIPs: append(append([]*config.IPAddress{}, in.cfg.VirtualIPAddresses...), in.cfg.VirtualIPAddressesExcluded...),
	}
	for _, dst := range in.dsts {
		adv := in.advert
		adv.Priority = in.m.Priority()
		if b, err := adv.Marshal(in.src, dst, in.checksum); err == nil {
			hi.Adverts = append(hi.Adverts, handover.Advert{Dst: dst, Payload: b})
		}
		adv.Priority = 0
		if b, err := adv.Marshal(in.src, dst, in.checksum); err == nil {
			hi.Release = append(hi.Release, handover.Advert{Dst: dst, Payload: b})
		}
	}
	return hi
}

// maybeSnapshot sends a snapshot if something changed and the last one is
// old enough; otherwise it returns when the next one is due.
func (e *Engine) maybeSnapshot(now time.Time) time.Time {
	if !e.dirty || e.rep == nil {
		return time.Time{}
	}
	if due := e.lastSnap.Add(snapshotEvery); now.Before(due) {
		return due
	}
	e.dirty, e.lastSnap = false, now
	e.rep.Snapshot(e.snapshot())
	return time.Time{}
}

// startInstances starts every instance, resuming those a previous vrrpd
// left (hitless restart and reload), and releases instances the previous
// configuration had and this one does not.
func (e *Engine) startInstances(now time.Time) {
	configured := map[string]bool{}
	for _, in := range e.insts {
		configured[in.cfg.Name] = true
		prev, ok := e.restore.Lookup(in.cfg.Name)
		if !ok || prev.State != "MASTER" {
			// A daemon without a saved master state must not keep
			// addresses it no longer owns.
			if err := e.adr.RemoveAddrs(in.vipDev, in.cfg.VirtualIPAddresses); err != nil {
				e.log.Warn("cleanup of stale VIPs failed", zap.String("instance", in.cfg.Name), zap.Error(err))
			}
		}
		if !ok {
			e.step(in, now, vrrp.Start{})
			continue
		}
		// Reload: addresses the instance no longer has go now.
		if gone := missingFrom(prev.VIPs, in.cfg.VirtualIPAddresses, in.cfg.VirtualIPAddressesExcluded); len(gone) > 0 {
			if err := e.adr.RemoveAddrs(prev.VIPDev, gone); err != nil {
				e.log.Warn("removing VIPs dropped by the new configuration failed", zap.String("instance", in.cfg.Name), zap.Error(err))
			}
		}
		st := vrrp.Backup
		if prev.State == "MASTER" {
			st = vrrp.Master
		}
		e.step(in, now, vrrp.Resume{State: st, MasterInterval: prev.MasterInterval})
	}
	var removed handover.Snapshot
	if e.restore != nil {
		for _, prev := range e.restore.Instances {
			if !configured[prev.Name] {
				removed.Instances = append(removed.Instances, prev)
			}
		}
	}
	if len(removed.Instances) > 0 {
		for _, r := range removed.Instances {
			e.log.Info("("+r.Name+") removed from the configuration; releasing", zap.String("instance", r.Name), zap.String("was", r.State))
		}
		if err := handover.Release(&removed); err != nil {
			e.log.Warn("releasing removed instances failed", zap.Error(err))
		}
	}
	e.dirty = true
}

// missingFrom returns the addresses of old that neither list of now has.
func missingFrom(old []*config.IPAddress, now ...[]*config.IPAddress) []*config.IPAddress {
	type key struct {
		p   netip.Prefix
		dev string
	}
	have := map[key]bool{}
	for _, list := range now {
		for _, a := range list {
			have[key{a.Address, a.Dev}] = true
		}
	}
	var out []*config.IPAddress
	for _, a := range old {
		if !have[key{a.Address, a.Dev}] {
			out = append(out, a)
		}
	}
	return out
}
