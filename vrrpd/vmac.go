package vrrpd

import (
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
)

// setupVMAC creates (or adopts, after a restart) the instance's macvlan with
// the virtual MAC 00:00:5e:00:01:VRID, and points adverts, VIPs and GARPs
// at it. The macvlan is never deleted when vrrpd dies, only on a graceful
// stop, so a restarted vrrpd finds its VIPs where they were.
func (e *Engine) setupVMAC(in *instance) error {
	idx, err := e.adr.EnsureVMAC(in.ifname, in.vmac, uint8(in.cfg.VirtualRouterID), in.family == 6)
	if err != nil {
		return fmt.Errorf("vrrpd: instance %s: use_vmac: %w", in.cfg.Name, err)
	}
	link, err := e.nl.LinkByIndex(idx)
	if err != nil {
		return fmt.Errorf("vrrpd: instance %s: use_vmac %s: %w", in.cfg.Name, in.vmac, err)
	}
	in.mac = link.Attrs().HardwareAddr
	in.vipDev = in.vmac
	if !in.cfg.VMACXmitBase {
		in.xmitIndex = idx
	}
	// Only the macvlan may answer ARP for the VIPs: the base interface
	// would otherwise reply with its own MAC for every local address
	// (keepalived sets the same).
	if in.family == 4 {
		for _, kv := range []struct{ iface, key, val string }{
			{in.ifname, "arp_ignore", "1"},
			{in.ifname, "arp_filter", "1"},
			{in.vmac, "arp_filter", "0"},
			{in.vmac, "rp_filter", "0"},
		} {
			p := filepath.Join("/proc/sys/net/ipv4/conf", kv.iface, kv.key)
			if err := os.WriteFile(p, []byte(kv.val), 0o644); err != nil {
				e.log.Warn("cannot set interface parameter for VMAC", zap.String("instance", in.cfg.Name),
					zap.String("path", p), zap.Error(err))
			}
		}
	}
	return nil
}

// garpIndex is the interface announcements leave from: the VMAC if any.
func (e *Engine) garpIndex(in *instance) int {
	if in.vmac != "" {
		if link, err := e.nl.LinkByName(in.vmac); err == nil {
			return link.Attrs().Index
		}
	}
	return in.ifindex
}

// removeVMACs deletes the macvlans at the end of a graceful stop, as
// keepalived does; their VIPs are gone by then.
func (e *Engine) removeVMACs() {
	for _, in := range e.insts {
		if in.vmac == "" {
			continue
		}
		if err := e.adr.RemoveVMAC(in.vmac); err != nil {
			e.log.Warn("cannot remove VMAC", zap.String("instance", in.cfg.Name), zap.String("vmac", in.vmac), zap.Error(err))
		}
	}
}
