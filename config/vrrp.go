package config

import "net/netip"

// This file holds the VRRP side of the model: the types the vrrp
// subsystem reads, with keepalived's defaults. The keyword table is in
// vrrp_table.go, the statement readers in vrrp_instance.go,
// vrrp_track.go and vrrp_addr.go, and the cross-checks in
// vrrp_validate.go. vrrpKeywords and validateVRRP, the two entry points
// root.go calls, are at the end of this file.
//
// Values keepalived corrects (an advert interval rounded to what the
// protocol version carries, nopreempt cleared for an initial MASTER, a
// weighted tracker dropped in a sync group, ...) are stored corrected, so
// the model is what the vrrp subsystem acts on; the value as written is
// kept in VRRPInstance.Overridden and each correction draws a warning
// naming the line, so a dump still shows everything the file says.
//
// Settings whose default comes from global_defs (garp_master_delay from
// vrrp_garp_master_delay, strict_mode from vrrp_strict, ...) are
// pointers, or zero, meaning "inherit": nil/zero in the model means the
// file did not set it on the instance and the global value applies.

// IPAddress is one address line of static_ipaddress, virtual_ipaddress or
// virtual_ipaddress_excluded, with the options of `ip address add`.
type IPAddress struct {
	// Address is the address with its prefix length; keepalived assumes
	// /32 (IPv4) or /128 (IPv6) when none is written, and the peer's
	// length when a peer is given.
	Address netip.Prefix `json:"address"`
	// Broadcast is the broadcast address (IPv4 only), already computed
	// for the "brd +" / "brd -" forms.
	Broadcast netip.Addr `json:"brd,omitzero"`
	// Dev is the interface; empty means the instance's interface (VIPs)
	// or global_defs default_interface (static addresses).
	Dev   string `json:"dev,omitempty"`
	Scope string `json:"scope,omitempty"`
	// Label names the alias (IPv4 only), e.g. eth0:1.
	Label string `json:"label,omitempty"`
	// Peer is the other end of a point-to-point address.
	Peer          netip.Addr `json:"peer,omitzero"`
	Home          bool       `json:"home,omitempty"`
	NoDAD         bool       `json:"nodad,omitempty"`
	MngTmpAddr    bool       `json:"mngtmpaddr,omitempty"`
	NoPrefixRoute bool       `json:"noprefixroute,omitempty"`
	AutoJoin      bool       `json:"autojoin,omitempty"`
	// NoTrack: the instance does not leave MASTER if the address is
	// deleted behind its back (keepalived's no_track).
	NoTrack bool `json:"no_track,omitempty"`
	// UseVMAC puts this VIP on a VMAC of its own interface.
	UseVMAC bool `json:"use_vmac,omitempty"`
	// PreferredLft is the IPv6 preferred lifetime in seconds; keepalived
	// deprecates /128 addresses (0) and keeps others (4294967295,
	// "forever"). Nil for IPv4.
	PreferredLft *uint32 `json:"preferred_lft,omitempty"`
	// TrackGroup names a static track_group (static addresses only).
	TrackGroup string `json:"track_group,omitempty"`
	Pos        Pos    `json:"-"`
}

// Route is one route line (static_routes, virtual_routes), with the
// options of `ip route add`.
type Route struct {
	// Family is 4 or 6; keepalived defaults to 4 when nothing in the
	// line says which.
	Family int `json:"family"`
	// Type is the route type: unicast (default), blackhole, unreachable,
	// prohibit, local, broadcast, throw, nat, anycast, multicast.
	Type string `json:"type"`
	// To is the destination; "default" is 0.0.0.0/0 or ::/0, with
	// Default set to say it was written so (or as any/all).
	To      netip.Prefix `json:"to"`
	Default bool         `json:"default,omitempty"`
	From    netip.Prefix `json:"from,omitzero"`
	// Src is the preferred source address (ip route ... src).
	Src netip.Addr `json:"src,omitzero"`
	Via netip.Addr `json:"via,omitzero"`
	// Nexthops holds a multipath route (nexthop ..., or the deprecated
	// "or" form, which keepalived turns into two next hops).
	Nexthops []*Nexthop `json:"nexthops,omitempty"`
	Dev      string     `json:"dev,omitempty"`
	Scope    string     `json:"scope,omitempty"`
	// Table is the routing table as written (number or rt_tables name);
	// empty means main.
	Table    string  `json:"table,omitempty"`
	Metric   *uint32 `json:"metric,omitempty"`
	Protocol string  `json:"protocol,omitempty"`
	TOS      string  `json:"tos,omitempty"`
	Realms   string  `json:"realms,omitempty"`
	Onlink   bool    `json:"onlink,omitempty"`
	// Append adds the route after matching ones (ip route append).
	Append bool `json:"append,omitempty"`
	// Options holds the remaining route attributes (mtu, advmss, rtt,
	// initcwnd, features, ...) as written, keyed by option name.
	Options    map[string]string `json:"options,omitempty"`
	NoTrack    bool              `json:"no_track,omitempty"`
	TrackGroup string            `json:"track_group,omitempty"`
	Pos        Pos               `json:"-"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr `json:"via,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight,omitempty"`
	Onlink bool       `json:"onlink,omitempty"`
	Realms string     `json:"realms,omitempty"`
}

// Rule is one policy routing rule line (static_rules, virtual_rules),
// with the options of `ip rule add`.
type Rule struct {
	Family int          `json:"family"`
	From   netip.Prefix `json:"from,omitzero"`
	To     netip.Prefix `json:"to,omitzero"`
	Not    bool         `json:"not,omitempty"`
	// Action is what the rule does: table, goto, nop, blackhole,
	// unreachable, prohibit or l3mdev.
	Action string `json:"action"`
	Table  string `json:"table,omitempty"`
	Goto   uint32 `json:"goto,omitempty"`
	// Preference orders the rules. keepalived invents one (with a
	// warning) when none is written; the model leaves it nil then.
	Preference            *uint32 `json:"preference,omitempty"`
	TOS                   string  `json:"tos,omitempty"`
	FWMark                *uint32 `json:"fwmark,omitempty"`
	FWMask                *uint32 `json:"fwmask,omitempty"`
	Realms                string  `json:"realms,omitempty"`
	SuppressPrefixLength  *uint32 `json:"suppress_prefixlength,omitempty"`
	SuppressIfgroup       string  `json:"suppress_ifgroup,omitempty"`
	IIF                   string  `json:"iif,omitempty"`
	OIF                   string  `json:"oif,omitempty"`
	TunnelID              *uint64 `json:"tunnel_id,omitempty"`
	UIDRange              string  `json:"uidrange,omitempty"`
	Protocol              *uint8  `json:"protocol,omitempty"`
	IPProto               string  `json:"ipproto,omitempty"`
	SPort                 string  `json:"sport,omitempty"`
	DPort                 string  `json:"dport,omitempty"`
	NoTrack               bool    `json:"no_track,omitempty"`
	TrackGroup            string  `json:"track_group,omitempty"`
	Pos                   Pos     `json:"-"`
	preferenceWasImplicit bool
}

// VRRPScript is a vrrp_script block: a command run periodically whose
// exit status moves the priority of, or faults, the instances that
// track it.
type VRRPScript struct {
	Name string `json:"name"`
	// Script is the command; nil when the block has no script line, in
	// which case keepalived drops the block.
	Script *Script `json:"script,omitempty"`
	// Interval between runs (whole seconds; default 1s).
	Interval Duration `json:"interval"`
	// Timeout after which a run counts as failed; keepalived uses the
	// interval when none is written.
	Timeout Duration `json:"timeout"`
	// Weight is added to (positive, on success) or subtracted from
	// (negative, on failure) the priority; 0 (default) faults the
	// instance instead. Reverse swaps the direction.
	Weight  int  `json:"weight"`
	Reverse bool `json:"reverse,omitempty"`
	// Rise and Fall are the consecutive successes/failures needed to
	// change state (default 1 each).
	Rise int `json:"rise"`
	Fall int `json:"fall"`
	// User and Group run the script; empty means global_defs script_user.
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
	// InitFail starts the script in the failed state.
	InitFail bool `json:"init_fail,omitempty"`
	Pos      Pos  `json:"-"`

	timeoutSet bool
}

// TrackFile is a track_file block (vrrp_track_file is the deprecated
// spelling): a file holding a number that moves or faults the instances
// that track it.
type TrackFile struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Weight multiplies the number read (default 1); 0 makes any
	// non-zero value a fault. Reverse swaps the direction.
	Weight  int  `json:"weight"`
	Reverse bool `json:"reverse,omitempty"`
	// InitFile writes a value at start-up (see TrackFileInit).
	InitFile *TrackFileInit `json:"init_file,omitempty"`
	Pos      Pos            `json:"-"`

	weightSet bool
}

// TrackFileInit is init_file [VALUE] [overwrite]: create the file with
// Value (default 0) if it is missing, or always when Overwrite is set.
type TrackFileInit struct {
	Value     int  `json:"value"`
	Overwrite bool `json:"overwrite,omitempty"`
}

// Track is one entry of a track_interface, track_script or track_file
// list: what is tracked and how it moves the priority.
type Track struct {
	Name string `json:"name"`
	// Weight: for interfaces 0 (default) faults the instance when the
	// interface is down; for scripts and files an unwritten weight is
	// the vrrp_script's / track_file's own, filled in after reading.
	Weight  int  `json:"weight"`
	Reverse bool `json:"reverse,omitempty"`
	Pos     Pos  `json:"-"`

	weightSet  bool
	reverseSet bool
}

// Notify is a notify script with the user and group it runs as (empty:
// global_defs script_user).
type Notify struct {
	Script
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// SyncGroup is a vrrp_sync_group block: instances that change state
// together.
type SyncGroup struct {
	Name string `json:"name"`
	// Group lists the member instances by name.
	Group []string `json:"group"`

	NotifyMaster *Notify `json:"notify_master,omitempty"`
	NotifyBackup *Notify `json:"notify_backup,omitempty"`
	NotifyFault  *Notify `json:"notify_fault,omitempty"`
	NotifyStop   *Notify `json:"notify_stop,omitempty"`
	Notify       *Notify `json:"notify,omitempty"`
	// SMTPAlert nil inherits global_defs smtp_alert_vrrp / smtp_alert.
	SMTPAlert *bool `json:"smtp_alert,omitempty"`
	// NotifyPriorityChanges nil inherits vrrp_notify_priority_changes.
	NotifyPriorityChanges *bool `json:"notify_priority_changes,omitempty"`
	// SyncGroupTrackingWeight lets members keep weighted trackers
	// (global_tracking is the deprecated spelling).
	SyncGroupTrackingWeight bool `json:"sync_group_tracking_weight,omitempty"`

	TrackInterfaces []*Track `json:"track_interface,omitempty"`
	TrackScripts    []*Track `json:"track_script,omitempty"`
	TrackFiles      []*Track `json:"track_file,omitempty"`

	Pos Pos `json:"-"`

	memberPos []Pos
	groupSeen bool
}

// Authentication is the authentication block of a VRRPv2 instance.
type Authentication struct {
	// Type is PASS or AH.
	Type string `json:"auth_type,omitempty"`
	// Pass is the password, at most 8 characters (keepalived truncates
	// longer ones, with a warning).
	Pass string `json:"auth_pass,omitempty"`
	Pos  Pos    `json:"-"`

	// typeWritten records an auth_type line even when its value was
	// refused, so that mistake is reported once, not again as "missing".
	typeWritten bool
}

// UnicastPeer is one unicast_peer entry.
type UnicastPeer struct {
	Address netip.Addr `json:"address"`
	// MinTTL and MaxTTL bound the TTL/hop limit of adverts accepted from
	// the peer (0 and 255 when unset); setting either turns on
	// check_unicast_src.
	MinTTL int `json:"min_ttl"`
	MaxTTL int `json:"max_ttl"`
	Pos    Pos `json:"-"`
}

// VMAC is use_vmac [NAME] [MAC]: the instance runs on a macvlan carrying
// the VRRP virtual MAC.
type VMAC struct {
	// Name of the macvlan; empty lets the runtime choose (vrrp.VRID).
	Name string `json:"name,omitempty"`
	// MAC overrides the virtual MAC; five octets take the VRID as the
	// sixth.
	MAC string `json:"mac,omitempty"`
}

// GarpExtraIf is garp_extra_if [all] SECS: periodic gratuitous ARP/NA on
// the interfaces of VIPs other than the instance's own.
type GarpExtraIf struct {
	All      bool     `json:"all,omitempty"`
	Interval Duration `json:"interval"`
}

// Instance states as keepalived writes them.
const (
	StateMaster = "MASTER"
	StateBackup = "BACKUP"
)

// VRRPInstance is a vrrp_instance block: one virtual router.
type VRRPInstance struct {
	Name string `json:"name"`
	// State is the initial state, MASTER or BACKUP; unwritten, MASTER
	// for priority 255 and BACKUP otherwise (keepalived).
	State string `json:"state"`
	// Interface carries the adverts.
	Interface string `json:"interface,omitempty"`
	// VirtualRouterID is the VRID, 1-255.
	VirtualRouterID int `json:"virtual_router_id"`
	// Priority is 1-255; 255 means address owner. Unwritten, it is 255
	// for state MASTER and 100 otherwise (keepalived).
	Priority int `json:"priority"`
	// AdvertInt is the advert interval (default 1s), rounded as
	// keepalived does: whole seconds for VRRPv2, 10ms units up to 40.95s
	// for VRRPv3.
	AdvertInt Duration `json:"advert_int"`
	// Version is the VRRP version, 2 or 3: as written, else 3 for IPv6
	// instances, else global_defs vrrp_version.
	Version int `json:"version"`

	Authentication *Authentication `json:"authentication,omitempty"`

	VirtualIPAddresses         []*IPAddress `json:"virtual_ipaddress,omitempty"`
	VirtualIPAddressesExcluded []*IPAddress `json:"virtual_ipaddress_excluded,omitempty"`
	// NoVirtualIPAddress allows an instance without VIPs.
	NoVirtualIPAddress bool     `json:"no_virtual_ipaddress,omitempty"`
	VirtualRoutes      []*Route `json:"virtual_routes,omitempty"`
	VirtualRules       []*Rule  `json:"virtual_rules,omitempty"`
	PromoteSecondaries bool     `json:"promote_secondaries,omitempty"`

	TrackInterfaces  []*Track `json:"track_interface,omitempty"`
	TrackScripts     []*Track `json:"track_script,omitempty"`
	TrackFiles       []*Track `json:"track_file,omitempty"`
	DontTrackPrimary bool     `json:"dont_track_primary,omitempty"`
	// TrackSrcIP faults the instance when its configured source address
	// disappears.
	TrackSrcIP bool `json:"track_src_ip,omitempty"`

	McastSrcIP netip.Addr `json:"mcast_src_ip,omitzero"`
	// McastDstIP replaces the VRRP multicast group (224.0.0.18/ff02::12).
	McastDstIP   netip.Addr     `json:"mcast_dst_ip,omitzero"`
	UnicastSrcIP netip.Addr     `json:"unicast_src_ip,omitzero"`
	UnicastPeers []*UnicastPeer `json:"unicast_peer,omitempty"`
	// UnicastFaultNoPeer faults the instance instead of falling back to
	// multicast when it has no peers.
	UnicastFaultNoPeer bool `json:"unicast_fault_no_peer,omitempty"`
	// UnicastTTL is the TTL of unicast adverts; nil keeps the default.
	UnicastTTL *int `json:"unicast_ttl,omitempty"`
	// CheckUnicastSrc drops adverts whose source is not a unicast peer;
	// nil inherits vrrp_check_unicast_src.
	CheckUnicastSrc *bool `json:"check_unicast_src,omitempty"`

	UseVMAC      *VMAC        `json:"use_vmac,omitempty"`
	UseVMACAddr  bool         `json:"use_vmac_addr,omitempty"`
	VMACXmitBase bool         `json:"vmac_xmit_base,omitempty"`
	GarpExtraIf  *GarpExtraIf `json:"garp_extra_if,omitempty"`
	NativeIPv6   bool         `json:"native_ipv6,omitempty"`

	Nopreempt bool `json:"nopreempt,omitempty"`
	// PreemptDelay delays preemption at start-up or on seeing a lower
	// priority master (0-1000s).
	PreemptDelay Duration `json:"preempt_delay,omitempty"`
	// Accept is accept (true) / no_accept (false); nil means keepalived's
	// default: accept, except in strict mode where only the address owner
	// (priority 255) accepts.
	Accept *bool `json:"accept,omitempty"`
	// StrictMode nil inherits global_defs vrrp_strict.
	StrictMode *bool `json:"strict_mode,omitempty"`
	// SkipCheckAdvAddr nil inherits vrrp_skip_check_adv_addr.
	SkipCheckAdvAddr *bool `json:"skip_check_adv_addr,omitempty"`

	// Gratuitous ARP / unsolicited NA settings; nil inherits the
	// matching global_defs vrrp_garp_* value.
	GarpMasterDelay         *Duration `json:"garp_master_delay,omitempty"`
	GarpMasterRepeat        *int      `json:"garp_master_repeat,omitempty"`
	GarpMasterRefresh       *Duration `json:"garp_master_refresh,omitempty"`
	GarpMasterRefreshRepeat *int      `json:"garp_master_refresh_repeat,omitempty"`
	GarpLowerPrioDelay      *Duration `json:"garp_lower_prio_delay,omitempty"`
	GarpLowerPrioRepeat     *int      `json:"garp_lower_prio_repeat,omitempty"`
	// LowerPrioNoAdvert and HigherPrioSendAdvert nil inherit
	// vrrp_lower_prio_no_advert / vrrp_higher_prio_send_advert.
	LowerPrioNoAdvert    *bool `json:"lower_prio_no_advert,omitempty"`
	HigherPrioSendAdvert *bool `json:"higher_prio_send_advert,omitempty"`
	// DownTimerAdverts is the number of advert intervals before a backup
	// declares the master down (default 3, as the RFCs).
	DownTimerAdverts int `json:"down_timer_adverts"`
	// V3ChecksumAsV2 computes VRRPv3 IPv4 checksums without the pseudo
	// header, for old peers.
	V3ChecksumAsV2 bool `json:"v3_checksum_as_v2,omitempty"`

	NotifyMaster           *Notify `json:"notify_master,omitempty"`
	NotifyBackup           *Notify `json:"notify_backup,omitempty"`
	NotifyFault            *Notify `json:"notify_fault,omitempty"`
	NotifyStop             *Notify `json:"notify_stop,omitempty"`
	Notify                 *Notify `json:"notify,omitempty"`
	NotifyMasterRxLowerPri *Notify `json:"notify_master_rx_lower_pri,omitempty"`
	// NotifyDeleted reports DELETED rather than FAULT for an instance
	// removed by a reload; NotifyDeletedScript also runs then.
	NotifyDeleted       bool    `json:"notify_deleted,omitempty"`
	NotifyDeletedScript *Notify `json:"notify_deleted_script,omitempty"`
	// NotifyPriorityChanges nil inherits vrrp_notify_priority_changes.
	NotifyPriorityChanges *bool `json:"notify_priority_changes,omitempty"`
	// SMTPAlert nil inherits smtp_alert_vrrp / smtp_alert.
	SMTPAlert *bool `json:"smtp_alert,omitempty"`

	// KernelRxBufSize sets the advert socket's receive buffer (bytes).
	KernelRxBufSize    *uint64 `json:"kernel_rx_buf_size,omitempty"`
	LinkbeatUsePolling bool    `json:"linkbeat_use_polling,omitempty"`

	// Overridden records the settings of the file that keepalived (and
	// so Vigil) overrides for this instance: keyword -> value as written.
	// The fields above hold what runs (e.g. nopreempt cleared for an
	// initial MASTER, advert_int rounded for VRRPv2); each override is
	// also reported as a warning naming the line.
	Overridden map[string]string `json:"overridden,omitempty"`

	// Vigil's own per-instance arbiter opt-in/out will live here (e.g.
	// an "arbiter" field read from a Vigil-only keyword kept in an
	// included file), defaulting to the global arbiter block's setting.

	Pos Pos `json:"-"`

	// marks are the instance's statements, so validation can point at the
	// line that matters and record what it overrides.
	marks []*node

	// fam is the address family (4 or 6) fixed by the first address
	// statement, famBy the keyword that fixed it and famAt where.
	fam   int
	famBy string
	famAt Pos

	stateSet     bool // a state line was read
	versionAt    Pos  // where version was written
	unicastBlock bool // a unicast_peer block was written
}

// newVRRPInstance returns an instance with keepalived's defaults.
func newVRRPInstance(name string, pos Pos) *VRRPInstance {
	return &VRRPInstance{
		Name:             name,
		State:            StateBackup,
		Priority:         100,
		AdvertInt:        Duration(1e9),
		DownTimerAdverts: 3,
		Pos:              pos,
	}
}

// newVRRPScript returns a vrrp_script with keepalived's defaults.
func newVRRPScript(name string, pos Pos) *VRRPScript {
	return &VRRPScript{Name: name, Interval: Duration(1e9), Timeout: Duration(1e9), Rise: 1, Fall: 1, Pos: pos}
}

// newTrackFile returns a track_file with keepalived's defaults.
func newTrackFile(name string, pos Pos) *TrackFile {
	return &TrackFile{Name: name, Weight: 1, Pos: pos}
}

// mark records where keyword n was written in the instance (the last
// occurrence wins, as for the value) and its arguments.
func (v *VRRPInstance) mark(n *node) {
	if v.marks == nil {
		v.marks = make([]*node, 0, 16)
	}
	v.marks = append(v.marks, n)
}

// marked returns the last statement of keyword kw, or nil. A slice, not a
// map: an instance has a dozen keywords and lookups are rare, and maps per
// instance dominated the cost of reading 10,000 instances.
func (v *VRRPInstance) marked(kw string) *node {
	for i := len(v.marks) - 1; i >= 0; i-- {
		if v.marks[i].name() == kw {
			return v.marks[i]
		}
	}
	return nil
}

// override records that keyword kw, written as value, is overridden.
func (v *VRRPInstance) override(kw, value string) {
	if v.Overridden == nil {
		v.Overridden = map[string]string{}
	}
	if old, ok := v.Overridden[kw]; ok && old != "" {
		value = old + " " + value
	}
	v.Overridden[kw] = value
}

// overrideKw records that keyword kw is overridden, with the arguments
// it was written with.
func (v *VRRPInstance) overrideKw(kw string) {
	value := ""
	if n := v.marked(kw); n != nil {
		value = n.argText()
	}
	v.override(kw, value)
}

// posOf returns where keyword kw was written, or the instance's own
// position when it was not.
func (v *VRRPInstance) posOf(kw string) Pos {
	if n := v.marked(kw); n != nil {
		return n.pos()
	}
	return v.Pos
}

// written reports whether keyword kw appears in the instance.
func (v *VRRPInstance) written(kw string) bool {
	return v.marked(kw) != nil
}

// family is the instance's address family (4 or 6) as keepalived
// deduces it: from the first statement that carries an address (a VIP,
// unicast_src_ip, mcast_src_ip, mcast_dst_ip, a unicast peer) or
// native_ipv6, else IPv4.
func (v *VRRPInstance) family() int {
	if v.fam != 0 {
		return v.fam
	}
	return 4
}

// setFamily records the family an address implies. The first one fixes
// the instance's family; a later different one is reported by the
// caller (it returns false and what set the family, and where).
func (v *VRRPInstance) setFamily(a netip.Addr, by string, at Pos) (ok bool, setBy string, setAt Pos) {
	f := vrrpFamilyOf(a)
	if v.fam == 0 {
		v.fam, v.famBy, v.famAt = f, by, at
		return true, "", Pos{}
	}
	return v.fam == f, v.famBy, v.famAt
}

// unicast reports whether the instance sends adverts by unicast.
func (v *VRRPInstance) unicast() bool { return len(v.UnicastPeers) > 0 }

func vrrpFamilyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// vrrpKeywords returns the top-level keywords of keepalived's vrrp and
// trackers areas (see vrrp_table.go).
func vrrpKeywords() []*Keyword { return vrrpTopKeywords() }

// validateVRRP runs the checks that need the whole file (see
// vrrp_validate.go).
func validateVRRP(c *ctx) { vrrpValidate(c) }
