package config

import (
	"net/netip"
	"strings"
	"testing"
)

// vrrpLoad parses src and returns the model and diagnostics.
func vrrpLoad(t *testing.T, src string) (*Config, Diagnostics) {
	t.Helper()
	return Parse("test.conf", []byte(src), Options{})
}

// vrrpExpect checks the diagnostics: errSub "" means no error at all,
// otherwise some error must contain it; warnSub likewise for warnings
// ("" means no requirement).
func vrrpExpect(t *testing.T, ds Diagnostics, errSub, warnSub string) {
	t.Helper()
	if errSub == "" {
		if ds.HasErrors() {
			t.Fatalf("unexpected errors:\n%s", ds.Errors().Error())
		}
	} else if !vrrpHasDiag(ds.Errors(), errSub) {
		t.Fatalf("want an error containing %q, got:\n%s", errSub, ds.Error())
	}
	if warnSub != "" && !vrrpHasDiag(ds.Warnings(), warnSub) {
		t.Fatalf("want a warning containing %q, got:\n%s", warnSub, ds.Error())
	}
}

func vrrpHasDiag(ds Diagnostics, sub string) bool {
	for _, d := range ds {
		if strings.Contains(strings.ToLower(d.Msg), strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

func TestVRRPAddressLines(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		static  bool // static_ipaddress instead of virtual_ipaddress_excluded
		errSub  string
		warnSub string
		check   func(t *testing.T, a *IPAddress)
	}{
		{name: "ipv4 host default /32", line: "192.0.2.1", check: func(t *testing.T, a *IPAddress) {
			if a.Address != netip.MustParsePrefix("192.0.2.1/32") || a.PreferredLft != nil {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "ipv6 host default /128 deprecated", line: "2001:db8::1", check: func(t *testing.T, a *IPAddress) {
			if a.Address != netip.MustParsePrefix("2001:db8::1/128") || a.PreferredLft == nil || *a.PreferredLft != 0 {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "ipv6 /64 preferred forever", line: "2001:db8::1/64", check: func(t *testing.T, a *IPAddress) {
			if a.PreferredLft == nil || *a.PreferredLft != 4294967295 {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "full ipv4", line: "192.0.2.50/24 dev eth0 brd + scope link label eth0:5", check: func(t *testing.T, a *IPAddress) {
			if a.Broadcast != netip.MustParseAddr("192.0.2.255") || a.Dev != "eth0" || a.Scope != "link" || a.Label != "eth0:5" {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "brd minus", line: "192.0.2.51/24 brd -", check: func(t *testing.T, a *IPAddress) {
			if a.Broadcast != netip.MustParseAddr("192.0.2.0") {
				t.Errorf("got %v", a.Broadcast)
			}
		}},
		{name: "brd explicit", line: "192.0.2.51/24 broadcast 192.0.2.127", check: func(t *testing.T, a *IPAddress) {
			if a.Broadcast != netip.MustParseAddr("192.0.2.127") {
				t.Errorf("got %v", a.Broadcast)
			}
		}},
		{name: "brd plus on /31", line: "192.0.2.63/31 brd +", warnSub: "too long for a broadcast", check: func(t *testing.T, a *IPAddress) {
			if a.Broadcast.IsValid() {
				t.Errorf("brd kept: %v", a.Broadcast)
			}
		}},
		{name: "brd invalid", line: "192.0.2.1/24 brd 300.1.1.1", errSub: "invalid broadcast"},
		{name: "brd ipv6", line: "2001:db8::7 brd 1.2.3.4", errSub: "broadcast given for IPv6"},
		{name: "peer", line: "192.0.2.52 dev eth0 peer 192.0.2.53", check: func(t *testing.T, a *IPAddress) {
			if a.Peer != netip.MustParseAddr("192.0.2.53") || a.Address.Bits() != 32 {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "peer drops prefix", line: "192.0.2.54/24 peer 192.0.2.55", warnSub: "prefix length of 192.0.2.54/24 is ignored", check: func(t *testing.T, a *IPAddress) {
			if a.Address.Bits() != 32 {
				t.Errorf("got %v", a.Address)
			}
		}},
		{name: "peer drops brd", line: "192.0.2.54 brd 192.0.2.255 peer 192.0.2.55", warnSub: "broadcast is ignored"},
		{name: "peer with len", line: "192.0.2.52 peer 192.0.2.53/30", errSub: "invalid peer address"},
		{name: "peer family", line: "192.0.2.52 peer 2001:db8::1", errSub: "does not match the family"},
		{name: "peer twice", line: "192.0.2.52 peer 192.0.2.53 peer 192.0.2.54", errSub: "peer given twice"},
		{name: "ipv6 label ignored", line: "2001:db8::5/64 label foo", warnSub: "labels apply to IPv4 only", check: func(t *testing.T, a *IPAddress) {
			if a.Label != "" {
				t.Errorf("label kept")
			}
		}},
		{name: "label too long", line: "192.0.2.1 label abcdefghijklmnopq", errSub: "too long"},
		{name: "prefix 33", line: "192.0.2.56/33", errSub: "invalid prefix length"},
		{name: "prefix 129", line: "2001:db8::1/129", errSub: "invalid prefix length"},
		{name: "not an address", line: "not-an-address", errSub: "is not an IP address"},
		{name: "zone", line: "fe80::1%eth0", errSub: "is not an IP address"},
		{name: "dev missing value", line: "192.0.2.1 dev", errSub: "dev needs a value"},
		{name: "dev twice", line: "192.0.2.61 dev eth0 dev eth1", errSub: "dev given twice"},
		{name: "dev too long", line: "192.0.2.61 dev abcdefghijklmnop", errSub: "not a valid interface name"},
		{name: "scope bogus", line: "192.0.2.57 scope bogus", errSub: "unknown scope"},
		{name: "scope number", line: "192.0.2.57 scope 200", check: func(t *testing.T, a *IPAddress) {
			if a.Scope != "200" {
				t.Errorf("got %q", a.Scope)
			}
		}},
		{name: "flags", line: "2001:db8::6 home -nodad mngtmpaddr noprefixroute autojoin no_track", check: func(t *testing.T, a *IPAddress) {
			if !a.Home || !a.NoDAD || !a.MngTmpAddr || !a.NoPrefixRoute || !a.AutoJoin || !a.NoTrack {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "preferred_lft forever", line: "2001:db8::6 preferred_lft forever", check: func(t *testing.T, a *IPAddress) {
			if *a.PreferredLft != 4294967295 {
				t.Errorf("got %d", *a.PreferredLft)
			}
		}},
		{name: "preferred_lft 30", line: "2001:db8::6/64 preferred_lft 30", check: func(t *testing.T, a *IPAddress) {
			if *a.PreferredLft != 30 {
				t.Errorf("got %d", *a.PreferredLft)
			}
		}},
		{name: "preferred_lft bogus", line: "2001:db8::6 preferred_lft soon", errSub: "invalid preferred_lft"},
		{name: "track_group static", line: "192.0.2.1 dev eth0 track_group G", static: true, check: func(t *testing.T, a *IPAddress) {
			if a.TrackGroup != "G" {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "track_group virtual", line: "192.0.2.1 track_group G", errSub: "unknown option \"track_group\""},
		{name: "use_vmac virtual", line: "192.0.2.1 dev eth1 use_vmac", check: func(t *testing.T, a *IPAddress) {
			if !a.UseVMAC {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "use_vmac static", line: "192.0.2.1 use_vmac", static: true, errSub: "unknown option \"use_vmac\""},
		{name: "unknown option", line: "10.0.0.1 foo", errSub: "unknown option \"foo\""},
		{name: "mapped v4", line: "::ffff:192.0.2.1", check: func(t *testing.T, a *IPAddress) {
			if !a.Address.Addr().Is4() {
				t.Errorf("not unmapped: %v", a.Address)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src string
			if tt.static {
				src = "static_ipaddress {\n" + tt.line + "\n}\n"
			} else {
				src = vrrpMinimal("virtual_ipaddress_excluded {\n" + tt.line + "\n}")
			}
			cfg, ds := vrrpLoad(t, src)
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
			if tt.errSub != "" {
				return
			}
			var list []*IPAddress
			if tt.static {
				list = cfg.StaticAddresses
			} else {
				list = cfg.Instances[0].VirtualIPAddressesExcluded
			}
			if len(list) != 1 {
				t.Fatalf("got %d addresses", len(list))
			}
			if list[0].Pos.Line == 0 {
				t.Errorf("no position")
			}
			if tt.check != nil {
				tt.check(t, list[0])
			}
		})
	}
}

func TestVRRPRouteLines(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		static  bool
		errSub  string
		warnSub string
		skipped bool // a warning, and no route in the model
		check   func(t *testing.T, r *Route)
	}{
		{name: "via dev", line: "192.0.2.0/24 via 192.0.3.1 dev eth0", check: func(t *testing.T, r *Route) {
			if r.To != netip.MustParsePrefix("192.0.2.0/24") || r.Via != netip.MustParseAddr("192.0.3.1") || r.Dev != "eth0" || r.Family != 4 || r.Type != "unicast" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "many options", line: "src 192.0.2.10 to 198.18.0.0/24 via 192.0.2.1 dev eth0 metric 5 table 100 protocol static scope link",
			warnSub: "replaced by keepalived", check: func(t *testing.T, r *Route) {
				if r.Src != netip.MustParseAddr("192.0.2.10") || *r.Metric != 5 || r.Table != "100" || r.Scope != "link" || r.Protocol != "keepalived" {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "protocol kept with no_track", line: "198.18.0.0/24 dev eth0 protocol static no_track", check: func(t *testing.T, r *Route) {
			if r.Protocol != "static" || !r.NoTrack {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "preference is metric", line: "198.18.0.0/24 dev eth0 preference 9", check: func(t *testing.T, r *Route) {
			if *r.Metric != 9 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "blackhole", line: "blackhole 198.18.1.0/24", check: func(t *testing.T, r *Route) {
			if r.Type != "blackhole" || r.To != netip.MustParsePrefix("198.18.1.0/24") {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "to type", line: "to unreachable 198.18.2.0/24", check: func(t *testing.T, r *Route) {
			if r.Type != "unreachable" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "default v4", line: "default via 192.0.2.1", check: func(t *testing.T, r *Route) {
			if r.To != netip.MustParsePrefix("0.0.0.0/0") || r.Family != 4 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "inet6 default", line: "inet6 default via fe80::1 dev eth0", check: func(t *testing.T, r *Route) {
			if r.To != netip.MustParsePrefix("::/0") || r.Family != 6 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "default from via family", line: "default via 2001:db8::1", check: func(t *testing.T, r *Route) {
			if r.To != netip.MustParsePrefix("::/0") {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "via inet6 keyword", line: "2001:db8:5::/48 via inet6 2001:db8::1", check: func(t *testing.T, r *Route) {
			if r.Family != 6 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "gw or", line: "198.18.3.0/24 gw 192.0.2.1 or 192.0.2.2 dev eth0", warnSub: "\"or\" is deprecated", check: func(t *testing.T, r *Route) {
			if len(r.Nexthops) != 2 || r.Nexthops[0].Via != netip.MustParseAddr("192.0.2.1") || r.Nexthops[1].Via != netip.MustParseAddr("192.0.2.2") || r.Via.IsValid() {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "gw deprecated", line: "198.18.3.0/24 gw 192.0.2.1", warnSub: "\"gw\" is deprecated"},
		{name: "nexthops", line: "198.18.7.0/24 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth1 onlink", check: func(t *testing.T, r *Route) {
			if len(r.Nexthops) != 2 || r.Nexthops[0].Weight != 2 || r.Nexthops[1].Dev != "eth1" || !r.Nexthops[1].Onlink {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "nexthop weight 0", line: "198.18.7.0/24 nexthop via 192.0.2.1 weight 0", errSub: "weight 0"},
		{name: "nexthop trailing", line: "198.18.7.0/24 nexthop via 192.0.2.1 table 5", errSub: "unexpected \"table\" after nexthop"},
		{name: "nexthop empty", line: "198.18.7.0/24 nexthop weight 3", errSub: "without via or dev"},
		{name: "metrics", line: "198.18.8.0/24 dev eth0 mtu lock 1400 advmss 1300 initcwnd 10 features ecn rtt 10ms", check: func(t *testing.T, r *Route) {
			if r.Options["mtu"] != "lock 1400" || r.Options["advmss"] != "1300" || r.Options["initcwnd"] != "10" || r.Options["features"] != "ecn" || r.Options["rtt"] != "10ms" {
				t.Errorf("got %+v", r.Options)
			}
		}},
		{name: "metric bad", line: "198.18.8.0/24 mtu abc", errSub: "invalid mtu"},
		{name: "feature bad", line: "198.18.8.0/24 features foo", errSub: "invalid features"},
		{name: "mixed families", line: "198.18.9.0/24 via 2001:db8::1", errSub: "cannot mix IPv4 and IPv6"},
		{name: "from v6", line: "from 2001:db8::/64 2001:db8:1::/64 dev eth0", check: func(t *testing.T, r *Route) {
			if r.From != netip.MustParsePrefix("2001:db8::/64") || r.Family != 6 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "from v4", line: "from 192.0.2.0/24 198.18.10.0/24", errSub: "IPv6 only"},
		{name: "onlink realms", line: "to 198.18.12.0/24 dev eth0 priority 7 onlink realms 3", check: func(t *testing.T, r *Route) {
			if !r.Onlink || r.Realms != "3" || *r.Metric != 7 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "throw", line: "throw 198.18.13.0/24", check: func(t *testing.T, r *Route) {
			if r.Type != "throw" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "expires v4", line: "198.18.15.0/24 dev eth0 expires 5", errSub: "cannot mix"},
		{name: "expires v6", line: "2001:db8::/64 dev eth0 expires 5 pref high", check: func(t *testing.T, r *Route) {
			if r.Options["expires"] != "5" || r.Options["pref"] != "high" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "type without dest", line: "prohibit", errSub: "needs a value"},
		{name: "track_group static", line: "198.18.16.0/24 dev eth0 track_group G", static: true, check: func(t *testing.T, r *Route) {
			if r.TrackGroup != "G" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "track_group virtual", line: "198.18.16.0/24 dev eth0 track_group G", errSub: "unknown option \"track_group\""},
		{name: "via missing", line: "198.18.17.0/24 via", errSub: "via needs a value"},
		{name: "no destination", line: "via 192.0.2.1 dev eth0", errSub: "no destination"},
		{name: "bad destination skipped", line: "192.168.100./24 dev eth0", warnSub: "line ignored", skipped: true},
		{name: "bad via skipped", line: "198.18.0.0/24 via 192.0.2", warnSub: "line ignored", skipped: true},
		{name: "second destination", line: "198.18.0.0/24 198.18.1.0/24", errSub: "second destination"},
		{name: "unknown option", line: "198.18.4.0/24 dev eth0 bogus 5", errSub: "unknown option \"bogus\""},
		{name: "proto spelling", line: "198.18.4.0/24 proto static", errSub: "unknown option \"proto\""},
		{name: "bad prefix", line: "198.18.0.0/33", errSub: "invalid prefix length"},
		{name: "encap", line: "198.18.0.0/24 encap ip id 5 dst 192.0.2.1 dev eth0", errSub: "encap"},
		{name: "append table name", line: "198.18.0.0/24 dev eth0 table main append", check: func(t *testing.T, r *Route) {
			if !r.Append || r.Table != "main" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "table invalid", line: "198.18.0.0/24 table 1.5", errSub: "table"},
		{name: "metric invalid", line: "198.18.0.0/24 metric -1", errSub: "metric"},
		{name: "inet conflicts", line: "inet 2001:db8::/64", errSub: "cannot mix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src string
			if tt.static {
				src = "static_routes {\n" + tt.line + "\n}\n"
			} else {
				src = vrrpMinimal("virtual_routes {\n" + tt.line + "\n}")
			}
			cfg, ds := vrrpLoad(t, src)
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
			var list []*Route
			if tt.static {
				list = cfg.StaticRoutes
			} else {
				list = cfg.Instances[0].VirtualRoutes
			}
			if tt.errSub != "" || tt.skipped {
				if len(list) != 0 {
					t.Fatalf("route kept: %+v", list[0])
				}
				return
			}
			if len(list) != 1 {
				t.Fatalf("got %d routes", len(list))
			}
			if tt.check != nil {
				tt.check(t, list[0])
			}
		})
	}
}

func TestVRRPRuleLines(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		static  bool
		errSub  string
		warnSub string
		skipped bool
		check   func(t *testing.T, r *Rule)
	}{
		{name: "from table", line: "from 192.0.2.0/24 table 1 priority 10", check: func(t *testing.T, r *Rule) {
			if r.From != netip.MustParsePrefix("192.0.2.0/24") || r.Action != "table" || r.Table != "1" || *r.Preference != 10 || r.Family != 4 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "to lookup", line: "to 198.18.0.0/16 lookup 2 preference 11", check: func(t *testing.T, r *Rule) {
			if r.To != netip.MustParsePrefix("198.18.0.0/16") || r.Table != "2" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "pref spelling", line: "from all fwmark 0x10/0xff table 3 pref 12", errSub: "unknown option \"pref\""},
		{name: "fwmark all", line: "from all fwmark 0x10/0xff table 3 order 12", check: func(t *testing.T, r *Rule) {
			if *r.FWMark != 16 || *r.FWMask != 255 || r.From != netip.MustParsePrefix("0.0.0.0/0") {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "fwmark no mask", line: "fwmark 7 table 3 priority 1", check: func(t *testing.T, r *Rule) {
			if *r.FWMark != 7 || r.FWMask != nil {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "fwmark negative", line: "fwmark -1 table 3 priority 1", errSub: "invalid fwmark"},
		{name: "interfaces tos", line: "from 192.0.2.0/24 iif eth0 oif eth1 table 4 priority 13 tos 0x10", check: func(t *testing.T, r *Rule) {
			if r.IIF != "eth0" || r.OIF != "eth1" || r.TOS != "0x10" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "dev is iif", line: "dev eth0 table 4 priority 13", check: func(t *testing.T, r *Rule) {
			if r.IIF != "eth0" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "not", line: "not from 192.0.2.0/24 table 5 priority 14", check: func(t *testing.T, r *Rule) {
			if !r.Not {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "blackhole", line: "from 192.0.2.0/24 blackhole priority 15", check: func(t *testing.T, r *Rule) {
			if r.Action != "blackhole" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "goto", line: "from 192.0.2.0/24 goto 100 priority 16", check: func(t *testing.T, r *Rule) {
			if r.Action != "goto" || r.Goto != 100 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "goto no preference", line: "from 192.0.2.0/24 goto 100", errSub: "without a preference"},
		{name: "goto backwards", line: "from 192.0.2.0/24 goto 10 priority 20", errSub: "not below goto target"},
		{name: "nop", line: "nop priority 17", check: func(t *testing.T, r *Rule) {
			if r.Action != "nop" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "type unreachable", line: "from 192.0.2.0/24 type unreachable priority 18", check: func(t *testing.T, r *Rule) {
			if r.Action != "unreachable" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "route type not action", line: "from 192.0.2.0/24 local priority 18", errSub: "invalid action"},
		{name: "no action", line: "from 192.0.2.0/24 priority 19", errSub: "no action"},
		{name: "unknown option", line: "from 192.0.2.0/24 table 6 bogus priority 20", errSub: "unknown option \"bogus\""},
		{name: "ipv6 uidrange", line: "to 2001:db8::/32 table 7 uidrange 100-200 priority 21", check: func(t *testing.T, r *Rule) {
			if r.Family != 6 || r.UIDRange != "100-200" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "uidrange bad", line: "table 7 uidrange 100 priority 21", errSub: "invalid uidrange"},
		{name: "inet6 all", line: "inet6 from all table 8 priority 22", check: func(t *testing.T, r *Rule) {
			if r.From != netip.MustParsePrefix("::/0") || r.Family != 6 {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "l3mdev", line: "from 192.0.2.0/24 l3mdev priority 23", check: func(t *testing.T, r *Rule) {
			if r.Action != "l3mdev" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "l3mdev and table", line: "l3mdev table 5 priority 23", errSub: "one action"},
		{name: "ports protocol", line: "to 192.0.2.0/24 table 9 ipproto tcp sport 10-20 dport 30 priority 24 protocol 5",
			warnSub: "replaced by keepalived", check: func(t *testing.T, r *Rule) {
				if r.IPProto != "tcp" || r.SPort != "10-20" || r.DPort != "30" || *r.Protocol != 18 {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "port out of range", line: "table 9 sport 70000 priority 24", errSub: "invalid sport"},
		{name: "ip_proto spelling", line: "to 192.0.2.0/24 table 10 ip_proto udp priority 25", check: func(t *testing.T, r *Rule) {
			if r.IPProto != "udp" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "suppressors realms", line: "from 192.0.2.0/24 table 11 suppress_prefixlength 0 suppress_ifgroup 5 priority 26 realms 4/5", check: func(t *testing.T, r *Rule) {
			if *r.SuppressPrefixLength != 0 || r.SuppressIfgroup != "5" || r.Realms != "4/5" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "realms on nop", line: "nop realms 3 priority 3", errSub: "realms given for a nop rule"},
		{name: "tunnel id", line: "from 192.0.2.0/24 table 12 tunnel-id 5 priority 27 no_track", check: func(t *testing.T, r *Rule) {
			if *r.TunnelID != 5 || !r.NoTrack {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "table 0", line: "from 192.0.2.0/24 table 0 priority 28", errSub: "table 0"},
		{name: "two actions", line: "from 192.0.2.0/24 table 13 goto 99 priority 29", errSub: "one action"},
		{name: "bad address skipped", line: "to 192.168.100./24 table 1 priority 5", warnSub: "line ignored", skipped: true},
		{name: "mixed families", line: "from 192.0.2.0/24 to 2001:db8::/32 table 1 priority 5", errSub: "cannot mix"},
		{name: "no preference", line: "from 192.0.2.0/24 table 1", warnSub: "no preference", check: func(t *testing.T, r *Rule) {
			if r.Preference != nil {
				t.Errorf("invented a preference")
			}
		}},
		{name: "track_group static", line: "from 192.0.2.0/24 table 14 order 30 dev eth0 track_group G", static: true, check: func(t *testing.T, r *Rule) {
			if r.TrackGroup != "G" {
				t.Errorf("got %+v", r)
			}
		}},
		{name: "track_group virtual", line: "from 192.0.2.0/24 table 14 order 30 track_group G", errSub: "unknown option \"track_group\""},
		{name: "preference missing", line: "table 1 preference", errSub: "needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src string
			if tt.static {
				src = "static_rules {\n" + tt.line + "\n}\n"
			} else {
				src = vrrpMinimal("virtual_rules {\n" + tt.line + "\n}")
			}
			cfg, ds := vrrpLoad(t, src)
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
			var list []*Rule
			if tt.static {
				list = cfg.StaticRules
			} else {
				list = cfg.Instances[0].VirtualRules
			}
			if tt.errSub != "" || tt.skipped {
				if len(list) != 0 {
					t.Fatalf("rule kept: %+v", list[0])
				}
				return
			}
			if len(list) != 1 {
				t.Fatalf("got %d rules", len(list))
			}
			if tt.check != nil {
				tt.check(t, list[0])
			}
		})
	}
}

func TestVRRPBroadcastOf(t *testing.T) {
	for _, tt := range []struct {
		prefix   string
		set      bool
		expected string
	}{
		{"10.1.2.3/8", true, "10.255.255.255"},
		{"10.1.2.3/8", false, "10.0.0.0"},
		{"192.0.2.77/30", true, "192.0.2.79"},
		{"192.0.2.77/0", true, "255.255.255.255"},
	} {
		if got := vrrpBroadcast(netip.MustParsePrefix(tt.prefix), tt.set); got != netip.MustParseAddr(tt.expected) {
			t.Errorf("vrrpBroadcast(%s, %v) = %v, want %s", tt.prefix, tt.set, got, tt.expected)
		}
	}
}
