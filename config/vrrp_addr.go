package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// The address, route and rule lines shared by static_ipaddress /
// static_routes / static_rules and a vrrp_instance's virtual_ipaddress /
// virtual_ipaddress_excluded / virtual_routes / virtual_rules. The
// grammar is keepalived's (vrrp_ipaddress.c, vrrp_iproute.c,
// vrrp_iprule.c), which follows `ip address/route/rule add` without
// iproute2's abbreviations.
//
// Severity policy: an unknown option, a missing option value or a value
// out of range is an error (keepalived drops the option or the whole
// line; Vigil will not guess). An address in a route or rule that does
// not parse is a warning and the line is ignored, exactly as keepalived
// does: keepalived's own sample keepalived.conf.vrrp.rules relies on it.

// vrrpIfNameMax is the longest interface name Linux accepts (IFNAMSIZ-1).
const vrrpIfNameMax = 15

// vrrpIfName checks an interface name token.
func (c *ctx) vrrpIfName(what string, t token) (string, bool) {
	s := t.text
	if s == "" || len(s) > vrrpIfNameMax || s == "." || s == ".." || strings.ContainsAny(s, "/: \t") {
		c.d.errorf(t.pos, fmt.Sprintf("interface names are 1-%d characters without '/', ':' or spaces", vrrpIfNameMax),
			"%s: %q is not a valid interface name", what, s)
		return "", false
	}
	return s, true
}

// vrrpAddr parses a plain address the way keepalived does (inet_pton):
// no zone, no prefix length.
func vrrpAddr(s string) (netip.Addr, bool) {
	if strings.Contains(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// vrrpPrefix parses ADDR[/LEN]. A missing length is a host prefix. It
// reports badLen when the address is fine but the length is not.
func vrrpPrefix(s string) (p netip.Prefix, ok, badLen bool) {
	addr, length, hasLen := strings.Cut(s, "/")
	a, ok := vrrpAddr(addr)
	if !ok {
		return netip.Prefix{}, false, false
	}
	bits := a.BitLen()
	if hasLen {
		n, err := strconv.Atoi(length)
		if err != nil || n < 0 || n > a.BitLen() || strings.HasPrefix(length, "+") {
			return netip.Prefix{}, false, true
		}
		bits = n
	}
	return netip.PrefixFrom(a, bits), true, false
}

// vrrpLooksLikeAddr tells an address typo ("192.168.100./24") from an
// option word ("proto"), to choose between keepalived's "invalid address,
// line ignored" and an unknown-option error.
func vrrpLooksLikeAddr(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9', ch == '.', ch == ':', ch == '/':
		case ch >= 'a' && ch <= 'f', ch >= 'A' && ch <= 'F':
			if !strings.Contains(s, ":") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// vrrpLine walks the words of one list line, with helpers that report a
// missing value at the option that needs it.
type vrrpLine struct {
	c     *ctx
	n     *node
	what  string // "ip address", "route", "rule"
	words []token
	i     int
}

func (l *vrrpLine) more() bool  { return l.i < len(l.words) }
func (l *vrrpLine) next() token { t := l.words[l.i]; l.i++; return t }

// value returns the token after option opt, or reports it missing.
func (l *vrrpLine) value(opt token) (token, bool) {
	if !l.more() {
		l.c.d.errorf(opt.pos, fmt.Sprintf("write: %s VALUE", opt.text), "%s: %s needs a value", l.what, opt.text)
		return token{}, false
	}
	return l.next(), true
}

// vrrpNum parses an unsigned number as keepalived's strtoul(base 0)
// readers do: decimal, 0x hex or 0 octal.
func vrrpNum(s string, max uint64) (uint64, bool) {
	if s == "" || s[0] == '-' || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil || v > max {
		return 0, false
	}
	return v, true
}

// numTok reads an unsigned option value within [0, max].
func (l *vrrpLine) numTok(opt token, max uint64) (uint64, bool) {
	t, ok := l.value(opt)
	if !ok {
		return 0, false
	}
	v, ok := vrrpNum(t.text, max)
	if !ok {
		l.c.d.errorf(t.pos, fmt.Sprintf("%s takes a number from 0 to %d", opt.text, max), "%s: %s %q is not valid", l.what, opt.text, t.text)
		return 0, false
	}
	return v, true
}

// nameOrNum reads a value that is a number within [0, max] or a name
// (from the iproute2 tables: rt_tables, rt_protos, rt_scopes, ...).
func (l *vrrpLine) nameOrNum(opt token, max uint64) (string, bool) {
	t, ok := l.value(opt)
	if !ok {
		return "", false
	}
	if _, ok := vrrpNum(t.text, max); ok {
		return t.text, true
	}
	if vrrpIdent(t.text) {
		return t.text, true
	}
	l.c.d.errorf(t.pos, fmt.Sprintf("%s takes a name or a number from 0 to %d", opt.text, max), "%s: %s %q is not valid", l.what, opt.text, t.text)
	return "", false
}

// vrrpIdent accepts the names iproute2 tables use.
func vrrpIdent(s string) bool {
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		ch := s[i]
		if !(ch == '_' || ch == '-' || ch == '.' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return false
		}
	}
	return true
}

// ifName reads an interface name value.
func (l *vrrpLine) ifName(opt token) (string, bool) {
	t, ok := l.value(opt)
	if !ok {
		return "", false
	}
	return l.c.vrrpIfName(l.what+" "+opt.text, t)
}

// vrrpScopeNames are iproute2's rt_scopes.
var vrrpScopeNames = map[string]bool{"global": true, "universe": true, "site": true, "link": true, "host": true, "nowhere": true}

func (l *vrrpLine) scope(opt token) (string, bool) {
	t, ok := l.value(opt)
	if !ok {
		return "", false
	}
	if _, ok := vrrpNum(t.text, 255); ok || vrrpScopeNames[t.text] {
		return t.text, true
	}
	l.c.d.errorf(t.pos, "scope is one of global, site, link, host, nowhere, or a number 0-255", "%s: unknown scope %q", l.what, t.text)
	return "", false
}

// ---------------------------------------------------------------------
// Addresses

// vrrpParseAddress reads one address line. static allows track_group,
// vip allows use_vmac (virtual_ipaddress and virtual_ipaddress_excluded).
func (c *ctx) vrrpParseAddress(n *node, static bool) *IPAddress {
	l := &vrrpLine{c: c, n: n, what: "ip address", words: n.words}
	first := l.next()
	p, ok, badLen := vrrpPrefix(first.text)
	if !ok {
		if badLen {
			c.d.errorf(first.pos, "the prefix length is 0-32 for IPv4, 0-128 for IPv6", "ip address: invalid prefix length in %q", first.text)
		} else {
			c.d.errorf(first.pos, "write ADDRESS[/LEN], e.g. 198.18.0.10/24 or 2001:db8::10/64", "ip address: %q is not an IP address", first.text)
		}
		return nil
	}
	a := &IPAddress{Address: p, Pos: first.pos}
	v6 := p.Addr().Is6()
	brd := ""
	var brdTok, labelTok, peerTok token
	for l.more() {
		opt := l.next()
		switch opt.text {
		case "dev":
			if a.Dev != "" {
				c.d.errorf(opt.pos, "remove one of the dev options", "ip address: dev given twice")
				return nil
			}
			if a.Dev, ok = l.ifName(opt); !ok {
				return nil
			}
		case "scope":
			if a.Scope, ok = l.scope(opt); !ok {
				return nil
			}
		case "broadcast", "brd":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if v6 {
				c.d.errorf(opt.pos, "remove the broadcast option: IPv6 has no broadcast", "ip address: broadcast given for IPv6 address %s", p)
				return nil
			}
			brd, brdTok = t.text, t
			if brd != "+" && brd != "-" {
				b, ok := vrrpAddr(brd)
				if !ok || !b.Is4() {
					c.d.errorf(t.pos, "write an IPv4 address, '+' (set host bits) or '-' (clear host bits)", "ip address: invalid broadcast %q", brd)
					return nil
				}
				a.Broadcast = b
			}
		case "label":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if len(t.text) > vrrpIfNameMax {
				c.d.errorf(t.pos, fmt.Sprintf("labels are at most %d characters, e.g. eth0:1", vrrpIfNameMax), "ip address: label %q is too long", t.text)
				return nil
			}
			a.Label, labelTok = t.text, opt
		case "peer":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if a.Peer.IsValid() {
				c.d.errorf(t.pos, "remove one of the peer options", "ip address: peer given twice")
				return nil
			}
			pa, ok := vrrpAddr(t.text)
			if !ok {
				c.d.errorf(t.pos, "write the peer as a plain address (keepalived takes no /LEN here)", "ip address: invalid peer address %q", t.text)
				return nil
			}
			if pa.Is6() != v6 {
				c.d.errorf(t.pos, "use a peer of the same family as the address", "ip address: peer %s does not match the family of %s", pa, p.Addr())
				return nil
			}
			a.Peer, peerTok = pa, opt
		case "home":
			a.Home = true
		case "-nodad":
			a.NoDAD = true
		case "mngtmpaddr":
			a.MngTmpAddr = true
		case "noprefixroute":
			a.NoPrefixRoute = true
		case "autojoin":
			a.AutoJoin = true
		case "no_track":
			a.NoTrack = true
		case "preferred_lft":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			var v uint32 = math.MaxUint32
			if t.text != "forever" {
				n, ok := vrrpNum(t.text, math.MaxUint32)
				if !ok {
					c.d.errorf(t.pos, "write a number of seconds or forever", "ip address: invalid preferred_lft %q", t.text)
					return nil
				}
				v = uint32(n)
			}
			a.PreferredLft = &v
		case "track_group":
			if !static {
				c.vrrpUnknownOption(l, opt, "track_group applies to static_ipaddress only")
				return nil
			}
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if a.TrackGroup != "" {
				c.d.errorf(t.pos, "remove one of the track_group options", "ip address: track_group given twice")
				return nil
			}
			a.TrackGroup = t.text
		case "use_vmac":
			if static {
				c.vrrpUnknownOption(l, opt, "use_vmac applies to virtual_ipaddress only")
				return nil
			}
			a.UseVMAC = true
		default:
			c.vrrpUnknownOption(l, opt, "ip address options: dev, scope, brd, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, preferred_lft"+
				map[bool]string{true: ", track_group", false: ", use_vmac"}[static])
			return nil
		}
	}
	if a.Peer.IsValid() {
		if p.Bits() != p.Addr().BitLen() {
			c.d.warnf(peerTok.pos, "write the address without /LEN when it has a peer",
				"ip address: the prefix length of %s is ignored when a peer is given, as keepalived does", p)
			a.Address = netip.PrefixFrom(p.Addr(), p.Addr().BitLen())
		}
		if brd != "" {
			c.d.warnf(brdTok.pos, "remove the broadcast option", "ip address: broadcast is ignored when a peer is given, as keepalived does")
			brd, a.Broadcast = "", netip.Addr{}
		}
	}
	if brd == "+" || brd == "-" {
		if a.Address.Bits() > 30 {
			c.d.warnf(brdTok.pos, "remove the broadcast option", "ip address: prefix /%d is too long for a broadcast address; brd %s ignored, as keepalived does", a.Address.Bits(), brd)
		} else {
			a.Broadcast = vrrpBroadcast(a.Address, brd == "+")
		}
	}
	if v6 {
		if a.Label != "" {
			c.d.warnf(labelTok.pos, "remove the label option", "ip address: labels apply to IPv4 only; label ignored for %s, as keepalived does", p)
			a.Label = ""
		}
		if a.PreferredLft == nil {
			v := uint32(math.MaxUint32)
			if a.Address.Bits() == 128 {
				v = 0
			}
			a.PreferredLft = &v
		}
	}
	return a
}

// vrrpBroadcast sets (set) or clears the host bits of an IPv4 prefix.
func vrrpBroadcast(p netip.Prefix, set bool) netip.Addr {
	b := p.Addr().As4()
	host := uint32(math.MaxUint32) >> p.Bits()
	if p.Bits() == 0 {
		host = math.MaxUint32
	}
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if set {
		v |= host
	} else {
		v &^= host
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// vrrpUnknownOption reports an option keepalived does not know in an
// address, route or rule line.
func (c *ctx) vrrpUnknownOption(l *vrrpLine, opt token, hint string) {
	c.d.errorf(opt.pos, hint, "%s: unknown option %q", l.what, opt.text)
}

// ---------------------------------------------------------------------
// Routes

// vrrpRouteTypes are the route types keepalived's find_rttables_rtntype knows.
var vrrpRouteTypes = map[string]bool{
	"unicast": true, "local": true, "broadcast": true, "multicast": true, "throw": true,
	"unreachable": true, "prohibit": true, "blackhole": true, "nat": true, "anycast": true,
}

// vrrpRouteMetricOpts are the route attributes kept as written in
// Route.Options, with whether they take "lock".
var vrrpRouteMetricOpts = map[string]bool{
	"mtu": true, "advmss": true, "rtt": true, "rttvar": true, "reordering": true, "cwnd": true,
	"ssthresh": true, "rto_min": true, "congctl": true,
	"window": false, "initcwnd": false, "initrwnd": false, "hoplimit": false, "quickack": false,
	"features": false, "fastopen_no_cookie": false, "ttl-propagate": false, "pref": false, "expires": false,
}

// vrrpFam carries the family bookkeeping of one route or rule.
type vrrpFam struct {
	c      *ctx
	what   string
	family int
}

// set records family f (4/6) implied by token t; a conflict is an error.
func (s *vrrpFam) set(f int, t token) bool {
	if f == 0 {
		return true
	}
	if s.family == 0 {
		s.family = f
		return true
	}
	if s.family != f {
		s.c.d.errorf(t.pos, "a line is either IPv4 or IPv6", "%s: cannot mix IPv4 and IPv6 (%s)", s.what, t.text)
		return false
	}
	return true
}

// vrrpRouteDest parses a route/rule destination or source: default, any,
// all, or ADDR[/LEN]. family 0 means "either" (default/any/all). A
// malformed address is reported as keepalived does (warning, line
// ignored) and returns ok=false.
func (c *ctx) vrrpRouteDest(what, role string, t token) (p netip.Prefix, family int, ok bool) {
	switch t.text {
	case "default", "any", "all":
		return netip.Prefix{}, 0, true
	}
	p, ok, badLen := vrrpPrefix(t.text)
	if !ok {
		if badLen {
			c.d.errorf(t.pos, "the prefix length is 0-32 for IPv4, 0-128 for IPv6", "%s: invalid prefix length in %q", what, t.text)
		} else {
			c.d.warnf(t.pos, "fix the address; the line has no effect until then",
				"%s: invalid %s address %q; line ignored, as keepalived does", what, role, t.text)
		}
		return netip.Prefix{}, 0, false
	}
	return p, vrrpFamilyOf(p.Addr()), true
}

// vrrpRouteVia parses a gateway address, as keepalived warning and ignoring
// the line when it does not parse.
func (c *ctx) vrrpRouteVia(what string, t token) (netip.Addr, bool) {
	a, ok := vrrpAddr(t.text)
	if !ok {
		c.d.warnf(t.pos, "fix the address; the line has no effect until then",
			"%s: invalid gateway address %q; line ignored, as keepalived does", what, t.text)
	}
	return a, ok
}

// vrrpParseRoute reads one route line; static allows track_group.
func (c *ctx) vrrpParseRoute(n *node, static bool) *Route {
	l := &vrrpLine{c: c, n: n, what: "route", words: n.words}
	r := &Route{Type: "unicast", Pos: n.pos()}
	fs := &vrrpFam{c: c, what: "route"}
	toSet, defaultTo := false, false
	var protoTok token
	var ok bool
	for l.more() {
		opt := l.next()
		switch opt.text {
		case "inet":
			if !fs.set(4, opt) {
				return nil
			}
		case "inet6":
			if !fs.set(6, opt) {
				return nil
			}
		case "src":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			a, ok := c.vrrpRouteVia("route src", t)
			if !ok || !fs.set(vrrpFamilyOf(a), t) {
				return nil
			}
			r.Src = a
		case "via", "gw":
			if opt.text == "gw" {
				c.d.warnf(opt.pos, "write via instead", "route: \"gw\" is deprecated, keepalived reads it as \"via\"")
			}
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if t.text == "inet" || t.text == "inet6" {
				f := map[string]int{"inet": 4, "inet6": 6}[t.text]
				if !fs.set(f, t) {
					return nil
				}
				if t, ok = l.value(opt); !ok {
					return nil
				}
			}
			a, ok := c.vrrpRouteVia("route", t)
			if !ok || !fs.set(vrrpFamilyOf(a), t) {
				return nil
			}
			r.Via = a
		case "from":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			p, f, ok := c.vrrpRouteDest("route", "from", t)
			if !ok {
				return nil
			}
			if f == 4 {
				c.d.errorf(t.pos, "remove from, or use an IPv6 prefix", "route: from %s is IPv4; source-specific routes are IPv6 only", t.text)
				return nil
			}
			if !fs.set(6, t) {
				return nil
			}
			r.From = p
		case "tos", "dsfield":
			if r.TOS, ok = l.nameOrNum(opt, 255); !ok {
				return nil
			}
		case "table":
			if r.Table, ok = l.nameOrNum(opt, math.MaxUint32); !ok {
				return nil
			}
		case "protocol":
			if r.Protocol, ok = l.nameOrNum(opt, 255); !ok {
				return nil
			}
			protoTok = opt
		case "scope":
			if r.Scope, ok = l.scope(opt); !ok {
				return nil
			}
		case "metric", "priority", "preference":
			v, ok := l.numTok(opt, math.MaxUint32)
			if !ok {
				return nil
			}
			m := uint32(v)
			r.Metric = &m
		case "dev", "oif":
			if r.Dev, ok = l.ifName(opt); !ok {
				return nil
			}
		case "onlink":
			r.Onlink = true
		case "append":
			r.Append = true
		case "realms":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if !fs.set(4, opt) {
				return nil
			}
			r.Realms = t.text
		case "encap":
			c.d.errorf(opt.pos, "remove the encap option, or manage this route outside Vigil",
				"route: encap (lightweight tunnel) routes are not supported by Vigil: ignoring the option would install a different route")
			return nil
		case "as":
			c.d.errorf(opt.pos, "remove the option", "route: 'as [to]' (NAT/MPLS) is not supported, keepalived ignores it too")
			return nil
		case "or":
			c.d.warnf(opt.pos, "write: nexthop via GW1 nexthop via GW2", "route: \"or\" is deprecated, keepalived reads it as two next hops")
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if len(r.Nexthops) > 0 {
				c.d.errorf(opt.pos, "write the paths with nexthop", "route: \"or\" given twice")
				return nil
			}
			a, ok := c.vrrpRouteVia("route", t)
			if !ok || !fs.set(vrrpFamilyOf(a), t) {
				return nil
			}
			r.Nexthops = []*Nexthop{{Via: r.Via}, {Via: a}}
			r.Via = netip.Addr{}
		case "nexthop":
			if len(r.Nexthops) > 0 {
				c.d.errorf(opt.pos, "use either \"or\" or nexthop", "route: nexthop cannot follow \"or\"")
				return nil
			}
			if !c.vrrpParseNexthops(l, r, fs, opt) {
				return nil
			}
		case "no_track":
			r.NoTrack = true
		case "track_group":
			if !static {
				c.vrrpUnknownOption(l, opt, "track_group applies to static_routes only")
				return nil
			}
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			r.TrackGroup = t.text
		default:
			if lock, known := vrrpRouteMetricOpts[opt.text]; known {
				if !c.vrrpRouteMetric(l, r, fs, opt, lock) {
					return nil
				}
				continue
			}
			// Anything else is the destination, optionally after "to"
			// and a route type, as in keepalived.
			t := opt
			if t.text == "to" {
				if t, ok = l.value(opt); !ok {
					return nil
				}
			}
			if vrrpRouteTypes[t.text] {
				r.Type = t.text
				if t, ok = l.value(t); !ok {
					return nil
				}
			}
			isDest := vrrpLooksLikeAddr(t.text) || t.text == "default" || t.text == "any" || t.text == "all"
			if !isDest || toSet {
				hint := "route options: src, from, via, dev, scope, table, metric, protocol, tos, onlink, realms, mtu, advmss, ..., nexthop, no_track"
				if t.text == "proto" {
					hint = "keepalived spells it protocol"
				}
				if isDest {
					c.d.errorf(t.pos, "a route has one destination", "route: second destination %q", t.text)
				} else {
					c.vrrpUnknownOption(l, t, hint)
				}
				return nil
			}
			p, f, ok := c.vrrpRouteDest("route", "destination", t)
			if !ok || !fs.set(f, t) {
				return nil
			}
			r.To, toSet, defaultTo = p, true, f == 0
		}
	}
	if !toSet {
		c.d.errorf(n.pos(), "write the destination, e.g. 198.18.0.0/24 or default", "route: no destination")
		return nil
	}
	if fs.family == 0 {
		fs.family = 4
	}
	r.Family = fs.family
	if defaultTo {
		r.To, r.Default = netip.PrefixFrom(vrrpZeroAddr(r.Family), 0), true
	}
	if !r.NoTrack && r.Protocol != "" && r.Protocol != "keepalived" && r.Protocol != "18" {
		c.d.warnf(protoTok.pos, "add no_track to keep the protocol",
			"route: protocol %s is replaced by keepalived (18) on a tracked route, as keepalived does", r.Protocol)
		r.Protocol = "keepalived"
	}
	if r.Options["expires"] != "" || r.Options["pref"] != "" {
		if r.Family != 6 {
			c.d.errorf(n.pos(), "expires and pref apply to IPv6 routes only", "route: expires/pref on an IPv4 route")
			return nil
		}
	}
	return r
}

func vrrpZeroAddr(family int) netip.Addr {
	if family == 6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// vrrpRouteMetric reads one of the route attributes kept in Route.Options.
func (c *ctx) vrrpRouteMetric(l *vrrpLine, r *Route, fs *vrrpFam, opt token, lock bool) bool {
	t, ok := l.value(opt)
	if !ok {
		return false
	}
	val := t.text
	if lock && t.text == "lock" {
		if t, ok = l.value(opt); !ok {
			return false
		}
		val = "lock " + t.text
	}
	valid := true
	switch opt.text {
	case "features":
		valid = t.text == "ecn"
	case "ttl-propagate":
		valid = t.text == "enabled" || t.text == "disabled"
	case "pref":
		_, num := vrrpNum(t.text, 255)
		valid = num || t.text == "low" || t.text == "medium" || t.text == "high"
	case "congctl":
		valid = vrrpIdent(t.text)
	case "quickack", "fastopen_no_cookie":
		_, valid = vrrpNum(t.text, 1)
	case "hoplimit":
		_, valid = vrrpNum(t.text, 255)
	case "rtt", "rttvar", "rto_min":
		s := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(t.text, "ms"), "msec"), "s")
		_, valid = vrrpNum(s, math.MaxUint32)
		if !valid {
			_, err := strconv.ParseFloat(s, 64)
			valid = err == nil && !strings.HasPrefix(s, "-")
		}
	default:
		_, valid = vrrpNum(t.text, math.MaxUint32)
	}
	if !valid {
		c.d.errorf(t.pos, "see ip-route(8) for the value "+opt.text+" takes", "route: invalid %s %q", opt.text, t.text)
		return false
	}
	if opt.text == "expires" || opt.text == "pref" {
		if !fs.set(6, opt) {
			return false
		}
	}
	if r.Options == nil {
		r.Options = map[string]string{}
	}
	r.Options[opt.text] = val
	return true
}

// vrrpParseNexthops reads "nexthop via GW [dev IF] [weight N] [onlink]
// [realms R] ..." to the end of the line.
func (c *ctx) vrrpParseNexthops(l *vrrpLine, r *Route, fs *vrrpFam, first token) bool {
	cur := &Nexthop{}
	r.Nexthops = append(r.Nexthops, cur)
	var ok bool
	for l.more() {
		opt := l.next()
		switch opt.text {
		case "nexthop":
			cur = &Nexthop{}
			r.Nexthops = append(r.Nexthops, cur)
		case "via":
			t, ok := l.value(opt)
			if !ok {
				return false
			}
			if t.text == "inet" || t.text == "inet6" {
				if !fs.set(map[string]int{"inet": 4, "inet6": 6}[t.text], t) {
					return false
				}
				if t, ok = l.value(opt); !ok {
					return false
				}
			}
			a, ok := c.vrrpRouteVia("route nexthop", t)
			if !ok || !fs.set(vrrpFamilyOf(a), t) {
				return false
			}
			cur.Via = a
		case "dev":
			if cur.Dev, ok = l.ifName(opt); !ok {
				return false
			}
		case "weight":
			v, ok := l.numTok(opt, 256)
			if !ok {
				return false
			}
			if v == 0 {
				c.d.errorf(opt.pos, "nexthop weights are 1-256", "route: nexthop weight 0")
				return false
			}
			cur.Weight = int(v)
		case "onlink":
			cur.Onlink = true
		case "realms":
			t, ok := l.value(opt)
			if !ok {
				return false
			}
			if !fs.set(4, opt) {
				return false
			}
			cur.Realms = t.text
		case "encap", "as":
			c.d.errorf(opt.pos, "remove the option", "route: nexthop %s is not supported by Vigil", opt.text)
			return false
		default:
			c.d.errorf(opt.pos, "nexthop options: via, dev, weight, onlink, realms; nexthops end the line",
				"route: unexpected %q after nexthop", opt.text)
			return false
		}
	}
	for _, nh := range r.Nexthops {
		if !nh.Via.IsValid() && nh.Dev == "" {
			c.d.errorf(first.pos, "write: nexthop via GW [dev IF]", "route: nexthop without via or dev")
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------
// Rules

// vrrpParseRule reads one rule line; static allows track_group.
func (c *ctx) vrrpParseRule(n *node, static bool) *Rule {
	l := &vrrpLine{c: c, n: n, what: "rule", words: n.words}
	r := &Rule{Pos: n.pos()}
	fs := &vrrpFam{c: c, what: "rule"}
	fromAll, toAll := false, false
	var protoTok, actionTok token
	tableOption := ""
	var ok bool
	setAction := func(t token, action string) bool {
		if r.Action != "" {
			c.d.errorf(t.pos, "a rule has one action", "rule: more than one action (table, goto, nop, blackhole, unreachable, prohibit, l3mdev)")
			return false
		}
		r.Action, actionTok = action, t
		return true
	}
	for l.more() {
		opt := l.next()
		switch opt.text {
		case "inet":
			if !fs.set(4, opt) {
				return nil
			}
		case "inet6":
			if !fs.set(6, opt) {
				return nil
			}
		case "from", "to":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			p, f, ok := c.vrrpRouteDest("rule", opt.text, t)
			if !ok || !fs.set(f, t) {
				return nil
			}
			if opt.text == "from" {
				r.From, fromAll = p, f == 0
			} else {
				r.To, toAll = p, f == 0
			}
		case "table", "lookup":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if v, num := vrrpNum(t.text, math.MaxUint32); num && v == 0 {
				c.d.errorf(t.pos, "use a table other than 0", "rule: table 0 is not valid")
				return nil
			} else if !num && !vrrpIdent(t.text) {
				c.d.errorf(t.pos, "table takes a name or a number", "rule: invalid table %q", t.text)
				return nil
			}
			if !setAction(opt, "table") {
				return nil
			}
			r.Table = t.text
		case "not":
			r.Not = true
		case "preference", "order", "priority":
			v, ok := l.numTok(opt, math.MaxUint32)
			if !ok {
				return nil
			}
			p := uint32(v)
			r.Preference = &p
		case "tos", "dsfield":
			if r.TOS, ok = l.nameOrNum(opt, 255); !ok {
				return nil
			}
		case "fwmark":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			mark, mask, hasMask := strings.Cut(t.text, "/")
			m, ok1 := vrrpNum(mark, math.MaxUint32)
			k, ok2 := vrrpNum(mask, math.MaxUint32)
			if !ok1 || (hasMask && !ok2) {
				c.d.errorf(t.pos, "write: fwmark MARK[/MASK]", "rule: invalid fwmark %q", t.text)
				return nil
			}
			mv := uint32(m)
			r.FWMark = &mv
			if hasMask {
				kv := uint32(k)
				r.FWMask = &kv
			}
		case "realms":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			if !fs.set(4, opt) {
				return nil
			}
			r.Realms, tableOption = t.text, opt.text
		case "suppress_prefixlength", "sup_pl":
			v, ok := l.numTok(opt, math.MaxInt32)
			if !ok {
				return nil
			}
			s := uint32(v)
			r.SuppressPrefixLength, tableOption = &s, opt.text
		case "suppress_ifgroup", "sup_group":
			if r.SuppressIfgroup, ok = l.nameOrNum(opt, math.MaxUint32); !ok {
				return nil
			}
			tableOption = opt.text
		case "dev", "iif":
			if r.IIF, ok = l.ifName(opt); !ok {
				return nil
			}
		case "oif":
			if r.OIF, ok = l.ifName(opt); !ok {
				return nil
			}
		case "tunnel-id":
			v, ok := l.numTok(opt, math.MaxUint64)
			if !ok {
				return nil
			}
			r.TunnelID = &v
		case "uidrange":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			a, b, dash := strings.Cut(t.text, "-")
			_, ok1 := vrrpNum(a, math.MaxUint32)
			_, ok2 := vrrpNum(b, math.MaxUint32)
			if !dash || !ok1 || !ok2 {
				c.d.errorf(t.pos, "write: uidrange FIRST-LAST", "rule: invalid uidrange %q", t.text)
				return nil
			}
			r.UIDRange = t.text
		case "l3mdev":
			if !setAction(opt, "l3mdev") {
				return nil
			}
		case "protocol":
			v, ok := l.numTok(opt, 255)
			if !ok {
				return nil
			}
			p := uint8(v)
			r.Protocol, protoTok = &p, opt
		case "ipproto", "ip_proto":
			if r.IPProto, ok = l.nameOrNum(opt, 255); !ok {
				return nil
			}
		case "sport", "dport":
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			a, b, dash := strings.Cut(t.text, "-")
			_, ok1 := vrrpNum(a, 65535)
			_, ok2 := vrrpNum(b, 65535)
			if !ok1 || (dash && !ok2) {
				c.d.errorf(t.pos, "write: "+opt.text+" PORT[-PORT]", "rule: invalid %s %q", opt.text, t.text)
				return nil
			}
			if opt.text == "sport" {
				r.SPort = t.text
			} else {
				r.DPort = t.text
			}
		case "no_track":
			r.NoTrack = true
		case "track_group":
			if !static {
				c.vrrpUnknownOption(l, opt, "track_group applies to static_rules only")
				return nil
			}
			t, ok := l.value(opt)
			if !ok {
				return nil
			}
			r.TrackGroup = t.text
		default:
			t := opt
			if t.text == "type" {
				if t, ok = l.value(opt); !ok {
					return nil
				}
			}
			switch t.text {
			case "goto":
				v, ok := l.numTok(t, math.MaxUint32)
				if !ok || !setAction(t, "goto") {
					return nil
				}
				r.Goto = uint32(v)
			case "nop", "blackhole", "unreachable", "prohibit":
				if !setAction(t, t.text) {
					return nil
				}
			default:
				hint := "rule options: from, to, table, preference, fwmark, iif, oif, tos, realms, goto, nop, blackhole, unreachable, prohibit, l3mdev, uidrange, ipproto, sport, dport, no_track"
				if t.text == "pref" || t.text == "prio" {
					hint = "keepalived spells it preference (or priority, order)"
				}
				if vrrpRouteTypes[t.text] {
					c.d.errorf(t.pos, "rule actions: table, goto, nop, blackhole, unreachable, prohibit", "rule: invalid action %q", t.text)
					return nil
				}
				c.vrrpUnknownOption(l, t, hint)
				return nil
			}
		}
	}
	if r.Action == "" {
		c.d.errorf(n.pos(), "add an action, e.g. table 100", "rule: no action (table, goto, nop, blackhole, unreachable, prohibit or l3mdev)")
		return nil
	}
	if r.Action == "goto" {
		if r.Preference == nil {
			c.d.errorf(actionTok.pos, "add preference N with N below the goto target", "rule: goto %d without a preference", r.Goto)
			return nil
		}
		if *r.Preference >= r.Goto {
			c.d.errorf(actionTok.pos, "goto must jump forward", "rule: preference %d is not below goto target %d", *r.Preference, r.Goto)
			return nil
		}
	}
	if tableOption != "" && r.Action != "table" {
		c.d.errorf(n.pos(), "realms and suppress_* apply to table rules", "rule: %s given for a %s rule", tableOption, r.Action)
		return nil
	}
	if !r.NoTrack && r.Protocol != nil && *r.Protocol != 18 {
		c.d.warnf(protoTok.pos, "add no_track to keep the protocol",
			"rule: protocol %d is replaced by keepalived (18) on a tracked rule, as keepalived does", *r.Protocol)
		p := uint8(18)
		r.Protocol = &p
	}
	if fs.family == 0 {
		fs.family = 4
	}
	r.Family = fs.family
	if fromAll {
		r.From = netip.PrefixFrom(vrrpZeroAddr(r.Family), 0)
	}
	if toAll {
		r.To = netip.PrefixFrom(vrrpZeroAddr(r.Family), 0)
	}
	if r.Preference == nil {
		r.preferenceWasImplicit = true
		c.d.warnf(n.pos(), "add preference N: rules are added and removed as instances change state, so their order must be fixed",
			"rule has no preference; keepalived picks one counting down from 16384, which is probably not what you want")
	}
	return r
}
