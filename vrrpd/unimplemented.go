package vrrpd

import (
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
)

// unimplemented lists the vrrp_instance settings the configuration reader
// accepts but this engine does not act on yet, so an operator is told at
// start rather than finding out in an outage. Keep vrrpd/README.md in step.
var unimplemented = []struct {
	keyword string
	set     func(c *config.VRRPInstance) bool
}{
	{"promote_secondaries", func(c *config.VRRPInstance) bool { return c.PromoteSecondaries }},
	{"track_src_ip", func(c *config.VRRPInstance) bool { return c.TrackSrcIP }},
	{"unicast_fault_no_peer", func(c *config.VRRPInstance) bool { return c.UnicastFaultNoPeer }},
	{"unicast_ttl", func(c *config.VRRPInstance) bool { return c.UnicastTTL != nil }},
	{"unicast_peer min_ttl/max_ttl", func(c *config.VRRPInstance) bool {
		for _, p := range c.UnicastPeers {
			if p.MinTTL > 0 || (p.MaxTTL > 0 && p.MaxTTL < 255) {
				return true
			}
		}
		return false
	}},
	{"use_vmac_addr", func(c *config.VRRPInstance) bool { return c.UseVMACAddr }},
	{"garp_extra_if", func(c *config.VRRPInstance) bool { return c.GarpExtraIf != nil }},
	{"native_ipv6", func(c *config.VRRPInstance) bool { return c.NativeIPv6 }},
	{"higher_prio_send_advert", func(c *config.VRRPInstance) bool { return c.HigherPrioSendAdvert != nil && *c.HigherPrioSendAdvert }},
	{"garp_lower_prio_delay", func(c *config.VRRPInstance) bool { return c.GarpLowerPrioDelay != nil }},
	{"notify_master_rx_lower_pri", func(c *config.VRRPInstance) bool { return c.NotifyMasterRxLowerPri != nil }},
	{"notify_deleted", func(c *config.VRRPInstance) bool { return c.NotifyDeleted || c.NotifyDeletedScript != nil }},
	{"notify_priority_changes", func(c *config.VRRPInstance) bool { return c.NotifyPriorityChanges != nil && *c.NotifyPriorityChanges }},
	{"kernel_rx_buf_size", func(c *config.VRRPInstance) bool { return c.KernelRxBufSize != nil }},
	{"linkbeat_use_polling", func(c *config.VRRPInstance) bool { return c.LinkbeatUsePolling }},
}

// warnUnimplemented logs one line per instance naming the settings it uses
// that have no effect yet.
func warnUnimplemented(log *zap.Logger, c *config.VRRPInstance) {
	var used []string
	for _, u := range unimplemented {
		if u.set(c) {
			used = append(used, u.keyword)
		}
	}
	if len(used) > 0 {
		log.Warn("settings not implemented yet; they have no effect", zap.String("instance", c.Name),
			zap.Strings("keywords", used))
	}
}
