package vrrpd

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/vrrpd/packet"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// instance is one vrrp_instance at run time: the pure state machine plus
// everything the driver needs to carry out its actions.
type instance struct {
	cfg *config.VRRPInstance
	m   *vrrp.Instance

	epoch    uint64    // MASTER entries of this incarnation, for the arbiter agent
	reported reportKey // what the Reporter last heard

	family  int    // 4 or 6
	ifname  string // the configured (base) interface
	ifindex int
	mac     net.HardwareAddr // the MAC announced by GARP/NA: the VMAC's if any
	// xmitIndex is where adverts are sent and received: the VMAC unless
	// vmac_xmit_base, else the base interface.
	xmitIndex int
	// vipDev is where VIPs without a dev go: the VMAC, else the base.
	vipDev string
	// vmac is the macvlan's name when use_vmac is set.
	vmac    string
	src     netip.Addr   // source of adverts; the primary address
	dsts    []netip.Addr // multicast group, or the unicast peers
	unicast bool

	advert   packet.Advert // template: everything but the priority
	expect   packet.Expect
	checksum packet.ChecksumMode
	peers    map[netip.Addr]bool // unicast peers, for check_unicast_src
	checkSrc bool

	vips4, vips6 []netip.Addr // announced by GARP / NA
	garpRepeat   int          // packets per burst on becoming master
	// garpRefreshRepeat is the burst of garp_master_refresh, and
	// garpRivalRepeat the one after a lower-priority advert
	// (garp_lower_prio_repeat).
	garpRefreshRepeat int
	garpRivalRepeat   int
	garpInterval      time.Duration

	stats instanceStats
	group *syncGroup // nil unless in a vrrp_sync_group

	timerGen   uint64 // see timerHeap
	garpQueued bool   // a GARP burst is pending (guarded by Engine.garpMu)
	garpBurst  int    // its size (guarded by Engine.garpMu)
}

// instanceStats counts what an operator asks about a single instance.
type instanceStats struct {
	AdvertsSent     uint64            `json:"adverts_sent"`
	AdvertsReceived uint64            `json:"adverts_received"`
	Drops           map[string]uint64 `json:"drops,omitempty"`
	Transitions     uint64            `json:"transitions"`
	GARPs           uint64            `json:"garps"`
	// BecameMaster and ReleasedMaster count transitions into and out of
	// MASTER (keepalived's become_master, release_master); a resume is
	// not a transition.
	BecameMaster   uint64 `json:"became_master"`
	ReleasedMaster uint64 `json:"released_master"`
	// PriorityZero* count priority-0 adverts (keepalived's pri_zero_*).
	PriorityZeroReceived uint64    `json:"priority_zero_received"`
	PriorityZeroSent     uint64    `json:"priority_zero_sent"`
	SendErrors           uint64    `json:"send_errors,omitempty"` // current streak of failed sends
	LastTransition       time.Time `json:"last_transition,omitzero"`
}

// interfaceInfo is what the engine needs to know of a local interface.
type interfaceInfo struct {
	index int
	mac   net.HardwareAddr
	addr4 netip.Addr // first global IPv4 address
	ll6   netip.Addr // link-local IPv6 address
}

// buildInstance turns a configured vrrp_instance into a runnable one.
func buildInstance(g *config.GlobalDefs, c *config.VRRPInstance, scripts map[string]*config.VRRPScript, ifs func(string) (interfaceInfo, error)) (*instance, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("vrrpd: instance %s: %s", c.Name, fmt.Sprintf(format, args...))
	}
	if c.Interface == "" {
		return nil, fail("no interface")
	}
	info, err := ifs(c.Interface)
	if err != nil {
		return nil, fail("interface %s: %v", c.Interface, err)
	}
	in := &instance{cfg: c, ifname: c.Interface, ifindex: info.index, mac: info.mac, family: 4,
		xmitIndex: info.index, vipDev: c.Interface}
	in.stats.Drops = map[string]uint64{}

	for _, a := range c.VirtualIPAddresses {
		if a.Address.Addr().Is6() {
			in.vips6 = append(in.vips6, a.Address.Addr())
		} else {
			in.vips4 = append(in.vips4, a.Address.Addr())
		}
	}
	if len(in.vips6) > 0 && len(in.vips4) == 0 {
		in.family = 6
	}
	if c.UseVMAC != nil {
		in.vmac = c.UseVMAC.Name
		if in.vmac == "" {
			in.vmac = fmt.Sprintf("vrrp.%d", c.VirtualRouterID)
			if in.family == 6 {
				in.vmac = fmt.Sprintf("vrrp6.%d", c.VirtualRouterID)
			}
		}
		if c.UseVMAC.MAC != "" {
			return nil, fail("use_vmac with an explicit MAC address is not implemented")
		}
	}
	advertised := in.vips4
	if in.family == 6 {
		advertised = in.vips6
	}

	// Source address: the configured one, else the interface's own.
	switch {
	case c.UnicastSrcIP.IsValid():
		in.src = c.UnicastSrcIP
	case c.McastSrcIP.IsValid():
		in.src = c.McastSrcIP
	case in.family == 4:
		in.src = info.addr4
	default:
		in.src = info.ll6
	}
	if !in.src.IsValid() {
		return nil, fail("interface %s has no IPv%d address to send adverts from", c.Interface, in.family)
	}
	if len(c.UnicastPeers) > 0 {
		in.unicast = true
		in.peers = map[netip.Addr]bool{}
		for _, p := range c.UnicastPeers {
			in.dsts = append(in.dsts, p.Address)
			in.peers[p.Address] = true
		}
	} else {
		group := g.VRRPMcastGroup4
		if in.family == 6 {
			group = g.VRRPMcastGroup6
		}
		if c.McastDstIP.IsValid() {
			group = c.McastDstIP
		}
		in.dsts = []netip.Addr{group}
	}
	in.checkSrc = in.unicast && boolOr(c.CheckUnicastSrc, g.VRRPCheckUnicastSrc)

	version := uint8(c.Version)
	interval := c.AdvertInt.D()
	cs := uint16(interval / (10 * time.Millisecond))
	in.advert = packet.Advert{Version: version, VRID: uint8(c.VirtualRouterID), Interval: cs, Addrs: advertised}
	in.expect = packet.Expect{Version: version, Interval: cs, Addrs: advertised,
		SkipAddrCheck: boolOr(c.SkipCheckAdvAddr, g.VRRPSkipCheckAdvAddr)}
	if a := c.Authentication; a != nil && version == 2 {
		switch a.Type {
		case "PASS":
			in.advert.AuthType, in.advert.AuthData = packet.AuthSimple, packet.PassAuth(a.Pass)
			in.expect.AuthType, in.expect.AuthData = packet.AuthSimple, in.advert.AuthData
		case "AH":
			return nil, fail("auth_type AH is not implemented (use PASS, or no authentication)")
		}
	}
	if c.V3ChecksumAsV2 {
		in.checksum = packet.ChecksumAsV2
	}

	in.garpRepeat = intOr(c.GarpMasterRepeat, g.VRRPGarpMasterRepeat)
	in.garpRefreshRepeat = intOr(c.GarpMasterRefreshRepeat, g.VRRPGarpMasterRefreshRepeat)
	in.garpRivalRepeat = intOr(c.GarpLowerPrioRepeat, g.VRRPGarpLowerPrioRepeat)
	in.garpInterval = g.VRRPGarpInterval.D()
	if in.family == 6 {
		in.garpInterval = g.VRRPGnaInterval.D()
	}

	mc := vrrp.Config{
		VRID:              uint8(c.VirtualRouterID),
		Version:           version,
		Priority:          uint8(c.Priority),
		Interval:          interval,
		Preempt:           !c.Nopreempt,
		PreemptDelay:      c.PreemptDelay.D(),
		StartMaster:       c.State == config.StateMaster,
		Primary:           in.src,
		LowerPrioNoAdvert: boolOr(c.LowerPrioNoAdvert, g.VRRPLowerPrioNoAdvert),
		GARPDelay:         durOr(c.GarpMasterDelay, g.VRRPGarpMasterDelay),
		GARPRefresh:       durOr(c.GarpMasterRefresh, g.VRRPGarpMasterRefresh),
		DownAdverts:       c.DownTimerAdverts,
	}
	for _, t := range c.TrackInterfaces {
		mc.Tracks = append(mc.Tracks, vrrp.Track{Kind: vrrp.TrackInterface, Name: t.Name, Weight: t.Weight, Reverse: t.Reverse})
	}
	for _, t := range c.TrackScripts {
		initDown := false
		if s := scripts[t.Name]; s != nil {
			initDown = s.InitFail
		}
		mc.Tracks = append(mc.Tracks, vrrp.Track{Kind: vrrp.TrackScript, Name: t.Name, Weight: t.Weight, Reverse: t.Reverse, InitDown: initDown})
	}
	for _, t := range c.TrackFiles {
		mc.Tracks = append(mc.Tracks, vrrp.Track{Kind: vrrp.TrackFile, Name: t.Name, Weight: t.Weight, Reverse: t.Reverse})
	}
	m, err := vrrp.New(mc)
	if err != nil {
		return nil, fail("%v", err)
	}
	in.m = m
	return in, nil
}

// tracksInterface reports whether the instance cares about interface name,
// as its own interface (returned as own) or a tracked one.
func (in *instance) tracksInterface(name string) (own, tracked bool) {
	own = name == in.ifname && !in.cfg.DontTrackPrimary
	for _, t := range in.cfg.TrackInterfaces {
		if t.Name == name {
			tracked = true
		}
	}
	return own, tracked
}

func boolOr(p *bool, def bool) bool {
	if p != nil {
		return *p
	}
	return def
}

func intOr(p *int, def int) int {
	if p != nil {
		return *p
	}
	return def
}

func durOr(p *config.Duration, def config.Duration) time.Duration {
	if p != nil {
		return p.D()
	}
	return def.D()
}
