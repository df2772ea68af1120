package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Statement readers of a vrrp_instance block. Each one records where
// its keyword was written (VRRPInstance.mark) for later diagnostics.

// vrrpInst adapts a reader of a vrrp_instance statement.
func vrrpInst(f func(c *ctx, n *node, v *VRRPInstance)) func(*ctx, *node, any) any {
	return on(func(c *ctx, n *node, v *VRRPInstance) {
		v.mark(n)
		f(c, n, v)
	})
}

// vrrpOpenInstance reads "vrrp_instance NAME {". A second block of the same
// name is read (so its own mistakes are reported) but not used, as
// keepalived skips it.
func vrrpOpenInstance(c *ctx, n *node, cfg *Config) *VRRPInstance {
	if !c.nargs(n, 1, 1) {
		return nil
	}
	name := n.words[1].text
	v := newVRRPInstance(name, n.pos())
	if first, dup := c.define("vrrp_instance", name, n.pos()); dup {
		c.d.errorf(n.words[1].pos, "give each vrrp_instance its own name",
			"vrrp_instance %s is already defined at line %d; this block is ignored, as keepalived does", name, first.Line)
		return v
	}
	cfg.Instances = append(cfg.Instances, v)
	return v
}

// vrrpFloat parses a decimal number of seconds as keepalived's
// read_decimal_unsigned_strvec does: digits with an optional fraction
// of at most 6 digits (microseconds).
func vrrpFloat(s string) (float64, bool) {
	if s == "" || strings.ContainsAny(s, "eE+-") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return 0, false
	}
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 6 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// vrrpSeconds reads a decimal number of seconds within [lo, hi].
func (c *ctx) vrrpSeconds(n *node, lo, hi float64) (Duration, bool) {
	if !c.nargs(n, 1, 1) {
		return 0, false
	}
	t := n.words[1]
	v, ok := vrrpFloat(t.text)
	if !ok || v < lo || v > hi {
		c.d.errorf(t.pos, fmt.Sprintf("%s takes seconds from %g to %g (up to 6 decimals)", n.name(), lo, hi),
			"%s: %q is not valid", n.name(), t.text)
		return 0, false
	}
	return Duration(math.Round(v * float64(time.Second))), true
}

// vrrpWholeSeconds reads an integer number of seconds within [lo, hi].
func (c *ctx) vrrpWholeSeconds(n *node, lo, hi int64) (Duration, bool) {
	v, ok := c.intArg(n, lo, hi)
	return Duration(time.Duration(v) * time.Second), ok
}

// vrrpBool reads an optional-boolean keyword (keyword alone means true).
func (c *ctx) vrrpBool(n *node) *bool {
	v := c.flag(n)
	return &v
}

// vrrpNoArgs checks a flag keyword takes no argument.
func (c *ctx) vrrpNoArgs(n *node) bool { return c.nargs(n, 0, 0) }

// vrrpNotify reads a notify script line as keepalived does: the first
// argument is the command (quote it to pass arguments), the optional
// second and third the user and group to run it as.
func (c *ctx) vrrpNotify(n *node, optional bool) *Notify {
	lo := 1
	if optional {
		lo = 0
	}
	if !c.nargs(n, lo, 3) {
		return nil
	}
	if len(n.words) == 1 {
		return nil
	}
	cmd := n.words[1]
	s := &Notify{Script: Script{Command: cmd.text, Pos: cmd.pos}}
	if cmd.quoted {
		s.Args = splitCommand(cmd.text)
	} else {
		s.Args = []string{cmd.text}
	}
	if len(s.Args) == 0 {
		c.d.errorf(cmd.pos, "give the script's path", "%s: empty command", n.name())
		return nil
	}
	if len(n.words) > 2 {
		s.User = n.words[2].text
		if !cmd.quoted && strings.HasPrefix(s.User, "-") {
			c.d.warnf(n.words[2].pos, "quote the command and its arguments: "+n.name()+" \"CMD ARGS\"",
				"%s: %q is read as the user to run the script as, not as an argument", n.name(), s.User)
		}
	}
	if len(n.words) > 3 {
		s.Group = n.words[3].text
	}
	return s
}

// vrrpSetNotify stores a notify script, keeping the first one as keepalived
// does.
func (c *ctx) vrrpSetNotify(n *node, slot **Notify, owner string) {
	s := c.vrrpNotify(n, false)
	if s == nil {
		return
	}
	if *slot != nil {
		c.d.warnf(n.pos(), "delete one of them", "%s: %s is already set (line %d); this one is ignored, as keepalived does",
			owner, n.name(), (*slot).Pos.Line)
		return
	}
	*slot = s
}

// vrrpInstanceAddr reads the address of unicast_src_ip / mcast_src_ip /
// mcast_dst_ip and checks it against the instance's family.
func (c *ctx) vrrpInstanceAddr(n *node, v *VRRPInstance) (netip.Addr, bool) {
	if !c.nargs(n, 1, 1) {
		return netip.Addr{}, false
	}
	t := n.words[1]
	a, ok := vrrpAddr(t.text)
	if !ok {
		c.d.errorf(t.pos, "write an IPv4 address like 198.18.0.1 or IPv6 like 2001:db8::1", "%s: %q is not an IP address", n.name(), t.text)
		return netip.Addr{}, false
	}
	if ok, by, at := v.setFamily(a, n.name(), t.pos); !ok {
		c.d.errorf(t.pos, "all addresses of an instance are of one family; use virtual_ipaddress_excluded for the other family's addresses",
			"%s %s is IPv%d but the instance is IPv%d (set by %s at line %d)", n.name(), a, vrrpFamilyOf(a), v.family(), by, at.Line)
		return netip.Addr{}, false
	}
	return a, true
}

// vrrpReadState reads state MASTER|BACKUP. keepalived matches case
// exactly, and once MASTER is given a later BACKUP is ignored.
func vrrpReadState(c *ctx, n *node, v *VRRPInstance) {
	if !c.nargs(n, 1, 1) {
		return
	}
	t := n.words[1]
	switch t.text {
	case StateMaster:
		v.State = StateMaster
		v.stateSet = true
	case StateBackup:
		if v.stateSet && v.State == StateMaster {
			c.d.warnf(t.pos, "delete one of the state lines", "state MASTER was given before; BACKUP is ignored, as keepalived does")
			return
		}
		v.State = StateBackup
		v.stateSet = true
	default:
		hint := "write MASTER or BACKUP"
		if strings.EqualFold(t.text, StateMaster) || strings.EqualFold(t.text, StateBackup) {
			hint = "write it in capitals: " + strings.ToUpper(t.text) + " (keepalived reads any other spelling as BACKUP)"
		}
		c.d.errorf(t.pos, hint, "state: unknown state %q", t.text)
	}
}

// vrrpReadAdvertInt reads advert_int. keepalived takes 0.01-255 seconds here
// and rounds to what the protocol version carries once the version is
// known (see vrrpValidate).
func vrrpReadAdvertInt(c *ctx, n *node, v *VRRPInstance) {
	if d, ok := c.vrrpSeconds(n, 0.01, 255); ok {
		v.AdvertInt = d
	}
}

// vrrpReadVersion reads version 2|3.
func vrrpReadVersion(c *ctx, n *node, v *VRRPInstance) {
	if x, ok := c.intArg(n, 2, 3); ok {
		v.Version = x
		v.versionAt = n.pos()
	}
}

// vrrpReadVMAC reads use_vmac [NAME] [MAC] [netlink_notify_msg] [group G].
func vrrpReadVMAC(c *ctx, n *node, v *VRRPInstance) {
	vm := &VMAC{}
	args := n.args()
	for i := 0; i < len(args); i++ {
		t := args[i]
		switch {
		case strings.Contains(t.text, ":"):
			if vm.MAC != "" {
				c.d.errorf(t.pos, "give one MAC address", "use_vmac: MAC address given twice")
				return
			}
			if !vrrpValidMAC(t.text) {
				c.d.errorf(t.pos, "write 5 or 6 hex octets, e.g. 02:00:5e:00:01 (the VRID is the 6th)", "use_vmac: invalid MAC address %q", t.text)
				return
			}
			vm.MAC = t.text
		case t.text == "netlink_notify_msg":
		case t.text == "group":
			if i+1 >= len(args) {
				c.d.errorf(t.pos, "write: group NAME", "use_vmac: group needs a value")
				return
			}
			i++
		default:
			if t.text == "name" {
				if i+1 >= len(args) {
					c.d.errorf(t.pos, "write: name IFNAME", "use_vmac: name needs a value")
					return
				}
				i++
				t = args[i]
			}
			if vm.Name != "" {
				c.d.errorf(t.pos, "give one interface name", "use_vmac: interface name given twice")
				return
			}
			name, ok := c.vrrpIfName("use_vmac", t)
			if !ok {
				return
			}
			vm.Name = name
		}
	}
	v.UseVMAC = vm
}

// vrrpValidMAC accepts 5 or 6 colon-separated hex octets, unicast, and
// not the RFC 5798 VRRP MAC range (keepalived's checks).
func vrrpValidMAC(s string) bool {
	parts := strings.Split(strings.TrimSuffix(s, ":"), ":")
	if len(parts) != 5 && len(parts) != 6 {
		return false
	}
	var b [6]byte
	for i, p := range parts {
		if p == "" || len(p) > 2 {
			return false
		}
		x, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return false
		}
		b[i] = byte(x)
	}
	if b[0]&1 != 0 {
		return false
	}
	if b[0] == 0 && b[1] == 0 && b[2] == 0x5e && b[3] == 0 && (b[4] == 1 || b[4] == 2) {
		return false
	}
	return true
}

// vrrpReadGarpExtraIf reads garp_extra_if [all] SECS (and the deprecated
// vmac_garp_intvl).
func vrrpReadGarpExtraIf(c *ctx, n *node, v *VRRPInstance) {
	if n.name() == "vmac_garp_intvl" {
		c.d.warnf(n.pos(), "write garp_extra_if instead", "vmac_garp_intvl is deprecated, keepalived reads it as garp_extra_if")
	}
	if !c.nargs(n, 1, 2) {
		return
	}
	g := &GarpExtraIf{}
	have := false
	for _, t := range n.args() {
		if t.text == "all" {
			g.All = true
			continue
		}
		x, ok := c.intTok(n.name(), t, 0, 86400)
		if !ok {
			return
		}
		g.Interval, have = Duration(time.Duration(x)*time.Second), true
	}
	if !have {
		c.d.errorf(n.pos(), "write: "+n.name()+" [all] SECONDS", "%s: no interval given", n.name())
		return
	}
	v.GarpExtraIf = g
}

// vrrpReadGarpRepeat reads garp_master_repeat / garp_master_refresh_repeat:
// 0 is raised to 1 with a warning, as keepalived does.
func vrrpReadGarpRepeat(c *ctx, n *node) (*int, bool) {
	x, ok := c.intArg(n, 0, math.MaxInt32)
	if !ok {
		return nil, false
	}
	if x == 0 {
		c.d.warnf(n.words[1].pos, "write 1 or more", "%s must be greater than 0; keepalived uses 1", n.name())
		x = 1
	}
	return &x, true
}

func vrrpDurPtr(d Duration) *Duration { return &d }

// vrrpReadNativeIPv6 reads native_ipv6: the instance is IPv6 and VRRPv3.
func vrrpReadNativeIPv6(c *ctx, n *node, v *VRRPInstance) {
	if !c.vrrpNoArgs(n) {
		return
	}
	if v.fam == 4 {
		c.d.errorf(n.pos(), "remove native_ipv6, or make the instance's addresses IPv6",
			"native_ipv6 given for an IPv4 instance (set by %s at line %d)", v.famBy, v.famAt.Line)
		return
	}
	v.fam, v.famBy, v.famAt = 6, "native_ipv6", n.pos()
	v.NativeIPv6 = true
}

// vrrpReadMcastDst reads mcast_dst_ip: an IPv4 multicast or IPv6 link-local
// multicast group.
func vrrpReadMcastDst(c *ctx, n *node, v *VRRPInstance) {
	a, ok := c.vrrpInstanceAddr(n, v)
	if !ok {
		return
	}
	if a.Is4() && !a.IsMulticast() || a.Is6() && !a.IsLinkLocalMulticast() {
		c.d.errorf(n.words[1].pos, "use an IPv4 multicast group (224.0.0.0/4) or an IPv6 link-local one (ff02::/16)",
			"mcast_dst_ip %s is not a%s multicast address", a, map[bool]string{true: " link-local", false: ""}[a.Is6()])
		return
	}
	v.McastDstIP = a
}

// ---------------------------------------------------------------------
// List blocks of an instance

// vrrpAddrTarget is the model a virtual_ipaddress-style list fills.
type vrrpAddrTarget struct {
	list     *[]*IPAddress
	inst     *VRRPInstance // nil for static_ipaddress
	excluded bool
}

func (t *vrrpAddrTarget) item(c *ctx, n *node) {
	a := c.vrrpParseAddress(n, t.inst == nil)
	if a == nil {
		return
	}
	if t.inst != nil && !t.excluded {
		if ok, by, at := t.inst.setFamily(a.Address.Addr(), "virtual_ipaddress", a.Pos); !ok {
			c.d.errorf(a.Pos, "move it to virtual_ipaddress_excluded, which may mix families",
				"virtual_ipaddress %s is IPv%d but the instance is IPv%d (set by %s at line %d); keepalived ignores it",
				a.Address.Addr(), vrrpFamilyOf(a.Address.Addr()), t.inst.family(), by, at.Line)
			return
		}
	}
	*t.list = append(*t.list, a)
}

func vrrpAddrItem(c *ctx, n *node, target any) {
	if t, ok := target.(*vrrpAddrTarget); ok {
		t.item(c, n)
	}
}

type vrrpRouteTarget struct {
	list   *[]*Route
	static bool
}

func vrrpRouteItem(c *ctx, n *node, target any) {
	if t, ok := target.(*vrrpRouteTarget); ok {
		if r := c.vrrpParseRoute(n, t.static); r != nil {
			*t.list = append(*t.list, r)
		}
	}
}

type vrrpRuleTarget struct {
	list   *[]*Rule
	static bool
}

func vrrpRuleItem(c *ctx, n *node, target any) {
	if t, ok := target.(*vrrpRuleTarget); ok {
		if r := c.vrrpParseRule(n, t.static); r != nil {
			*t.list = append(*t.list, r)
		}
	}
}

// vrrpPeerTarget collects unicast_peer entries.
type vrrpPeerTarget struct{ inst *VRRPInstance }

func vrrpPeerItem(c *ctx, n *node, target any) {
	t, ok := target.(*vrrpPeerTarget)
	if !ok {
		return
	}
	v := t.inst
	first := n.words[0]
	a, ok := vrrpAddr(first.text)
	if !ok {
		c.d.errorf(first.pos, "write one peer address per line, e.g. 198.18.0.2", "unicast_peer: %q is not an IP address", first.text)
		return
	}
	if ok, by, at := v.setFamily(a, "unicast_peer", first.pos); !ok {
		c.d.errorf(first.pos, "unicast peers must be of the instance's family",
			"unicast_peer %s is IPv%d but the instance is IPv%d (set by %s at line %d)", a, vrrpFamilyOf(a), v.family(), by, at.Line)
		return
	}
	p := &UnicastPeer{Address: a, MinTTL: 0, MaxTTL: 255, Pos: first.pos}
	args := n.words[1:]
	for i := 0; i < len(args); i += 2 {
		opt := args[i]
		if opt.text != "min_ttl" && opt.text != "max_ttl" {
			c.d.errorf(opt.pos, "unicast_peer options: min_ttl N, max_ttl N", "unicast_peer: unknown option %q", opt.text)
			return
		}
		if i+1 >= len(args) {
			c.d.errorf(opt.pos, "write: "+opt.text+" 0-255", "unicast_peer: %s needs a value", opt.text)
			return
		}
		x, ok := c.intTok("unicast_peer "+opt.text, args[i+1], 0, 255)
		if !ok {
			return
		}
		if opt.text == "min_ttl" {
			p.MinTTL = int(x)
		} else {
			p.MaxTTL = int(x)
		}
		on := true
		v.CheckUnicastSrc = &on
	}
	if p.MinTTL > p.MaxTTL {
		c.d.errorf(first.pos, "make min_ttl at most max_ttl", "unicast_peer %s: min_ttl %d > max_ttl %d would discard every advert", a, p.MinTTL, p.MaxTTL)
		return
	}
	for _, o := range v.UnicastPeers {
		if o.Address == a {
			c.d.warnf(first.pos, "delete one of them", "unicast_peer %s is listed twice (line %d)", a, o.Pos.Line)
			return
		}
	}
	v.UnicastPeers = append(v.UnicastPeers, p)
}

// vrrpOpenUnicastPeer reads "unicast_peer {". An empty block is an error:
// keepalived falls back to multicast silently (deprecated behaviour),
// which would send adverts where the operator said not to.
func vrrpOpenUnicastPeer(c *ctx, n *node, v *VRRPInstance) *vrrpPeerTarget {
	v.mark(n)
	if !c.vrrpNoArgs(n) {
		return nil
	}
	if n.block && len(n.children) == 0 {
		c.d.errorf(n.pos(), "list the peers' addresses, or remove the block (and any unicast_* keyword) to use multicast",
			"unicast_peer block is empty; keepalived would silently fall back to multicast")
	}
	v.unicastBlock = true
	return &vrrpPeerTarget{inst: v}
}

// vrrpTrackTarget collects track_interface / track_script / track_file
// entries of an instance or sync group.
type vrrpTrackTarget struct {
	list *[]*Track
	kind string // "track_interface", "track_script", "track_file"
}

func vrrpTrackItem(c *ctx, n *node, target any) {
	t, ok := target.(*vrrpTrackTarget)
	if !ok {
		return
	}
	first := n.words[0]
	name := first.text
	if t.kind == "track_interface" {
		var ok bool
		if name, ok = c.vrrpIfName(t.kind, first); !ok {
			return
		}
	}
	tr := &Track{Name: name, Pos: first.pos}
	args := n.words[1:]
	if len(args) > 0 {
		if args[0].text != "weight" {
			c.d.errorf(args[0].pos, "write: NAME [weight N [reverse]]", "%s %s: unknown option %q", t.kind, name, args[0].text)
			return
		}
		if len(args) < 2 {
			c.d.errorf(args[0].pos, "write: NAME weight N", "%s %s: weight needs a value", t.kind, name)
			return
		}
		lo, hi := int64(-254), int64(254)
		w, ok := c.intTok(t.kind+" weight", args[1], lo, hi)
		if !ok {
			return
		}
		if t.kind != "track_file" && (w == 254 || w == -254) {
			c.d.warnf(args[1].pos, "write 253 or -253", "%s %s: weight %d is out of range -253..253; keepalived uses %d", t.kind, name, w, w/254*253)
			w = w / 254 * 253
		}
		tr.Weight, tr.weightSet = int(w), true
		if len(args) > 2 {
			switch args[2].text {
			case "reverse":
				tr.Reverse, tr.reverseSet = true, true
			case "noreverse", "no_reverse":
				if t.kind == "track_interface" {
					c.d.errorf(args[2].pos, "track_interface takes only reverse", "%s %s: unknown weight option %q", t.kind, name, args[2].text)
					return
				}
				tr.Reverse, tr.reverseSet = false, true
			default:
				c.d.errorf(args[2].pos, "write reverse or noreverse", "%s %s: unknown weight option %q", t.kind, name, args[2].text)
				return
			}
		}
		if len(args) > 3 {
			c.d.errorf(args[3].pos, "write: NAME [weight N [reverse]]", "%s %s: unexpected %q", t.kind, name, args[3].text)
			return
		}
	}
	for _, o := range *t.list {
		if o.Name == tr.Name {
			c.d.warnf(first.pos, "delete one of them", "%s: %s is listed twice (line %d); keepalived ignores the second", t.kind, name, o.Pos.Line)
			return
		}
	}
	*t.list = append(*t.list, tr)
}

// vrrpGroupTarget collects the member names of a sync group's group block.
type vrrpGroupTarget struct{ sg *SyncGroup }

func vrrpGroupItem(c *ctx, n *node, target any) {
	t, ok := target.(*vrrpGroupTarget)
	if !ok {
		return
	}
	// keepalived reads every word of the block as a member name.
	for _, w := range n.words {
		t.sg.Group = append(t.sg.Group, w.text)
		t.sg.memberPos = append(t.sg.memberPos, w.pos)
	}
}
