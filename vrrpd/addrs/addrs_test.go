package addrs

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/lab"
)

// node is one lab namespace with a link to the switch and a Manager
// working inside it.
type node struct {
	ns  *lab.NS
	dev string
	h   *netlink.Handle
	m   *Manager
}

func newNode(t *testing.T, addrs ...string) *node {
	t.Helper()
	l := lab.New(t)
	ns := l.Namespace("node")
	dev := l.Connect(ns, addrs...)
	nsh, err := ns.Handle()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nsh.Close() })
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &node{ns: ns, dev: dev, h: h, m: New(h)}
}

func u32(v uint32) *uint32 { return &v }

func vip(s string) *config.IPAddress {
	return &config.IPAddress{Address: netip.MustParsePrefix(s)}
}

// addrLines returns the `ip -o addr` lines of dev mentioning addr.
func (n *node) addrLines(t *testing.T, family, addr string) []string {
	t.Helper()
	out := n.ns.MustRun("ip", family, "-o", "addr", "show", "dev", n.dev)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+addr+"/") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestAddAddrLabelBroadcast(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	a := vip("198.19.5.10/24")
	a.Broadcast = netip.MustParseAddr("198.19.5.255")
	a.Label = n.dev + ":vip"
	want := regexp.MustCompile(`inet 198\.19\.5\.10/24 brd 198\.19\.5\.255 scope global ` + regexp.QuoteMeta(a.Label) + `\\`)

	for round := 1; round <= 2; round++ { // the second round is the idempotent re-apply
		if err := n.m.AddAddrs(n.dev, []*config.IPAddress{a}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		lines := n.addrLines(t, "-4", "198.19.5.10")
		if len(lines) != 1 || !want.MatchString(lines[0]) {
			t.Fatalf("round %d: ip -o addr shows %q, want one line matching %s", round, lines, want)
		}
	}
	if ok, err := n.m.HasAddr(n.dev, a); err != nil || !ok {
		t.Fatalf("HasAddr = %v, %v; want true", ok, err)
	}
	// The same address under another prefix length is another address.
	if ok, _ := n.m.HasAddr(n.dev, vip("198.19.5.10/32")); ok {
		t.Fatal("HasAddr(198.19.5.10/32) = true with only /24 present")
	}

	if err := n.m.RemoveAddrs(n.dev, []*config.IPAddress{a}); err != nil {
		t.Fatal(err)
	}
	if lines := n.addrLines(t, "-4", "198.19.5.10"); len(lines) != 0 {
		t.Fatalf("after RemoveAddrs still present: %q", lines)
	}
	if ok, err := n.m.HasAddr(n.dev, a); err != nil || ok {
		t.Fatalf("HasAddr after removal = %v, %v; want false", ok, err)
	}
}

func TestAddAddrDefaultsAndErrors(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	// No brd written: none is set (netlink alone would invent one).
	a := vip("198.19.6.10/24")
	peer := &config.IPAddress{Address: netip.MustParsePrefix("198.19.7.1/32"), Peer: netip.MustParseAddr("198.19.7.2")}
	scoped := vip("198.19.8.1/32")
	scoped.Scope = "link"
	if err := n.m.AddAddrs(n.dev, []*config.IPAddress{a, peer, scoped}); err != nil {
		t.Fatal(err)
	}
	if l := n.addrLines(t, "-4", "198.19.6.10"); len(l) != 1 || strings.Contains(l[0], " brd ") {
		t.Fatalf("198.19.6.10/24 without brd: ip shows %q", l)
	}
	if l := n.addrLines(t, "-4", "198.19.7.1"); len(l) != 0 {
		t.Fatalf("peer address shown as a plain one: %q", l)
	}
	out := n.ns.MustRun("ip", "-4", "-o", "addr", "show", "dev", n.dev)
	if !strings.Contains(out, "inet 198.19.7.1 peer 198.19.7.2/32 scope global") {
		t.Fatalf("peer address missing:\n%s", out)
	}
	if !strings.Contains(out, "inet 198.19.8.1/32 scope link") {
		t.Fatalf("scope link address missing:\n%s", out)
	}
	if ok, err := n.m.HasAddr(n.dev, peer); err != nil || !ok {
		t.Fatalf("HasAddr(peer) = %v, %v", ok, err)
	}

	// A bad label fails that address only, and the error names it.
	bad := vip("198.19.9.1/32")
	bad.Label = "eth0:1"
	good := vip("198.19.9.2/32")
	err := n.m.AddAddrs(n.dev, []*config.IPAddress{bad, good})
	if err == nil || !strings.Contains(err.Error(), "198.19.9.1/32") || !strings.Contains(err.Error(), n.dev) {
		t.Fatalf("bad label: err = %v, want one naming 198.19.9.1/32 and %s", err, n.dev)
	}
	if ok, _ := n.m.HasAddr(n.dev, good); !ok {
		t.Fatal("the good address after a bad one was not added")
	}
	if err := n.m.AddAddrs("", []*config.IPAddress{vip("198.19.9.3/32")}); err == nil {
		t.Fatal("no device: want an error")
	}
	err = n.m.AddAddrs("nosuchdev0", []*config.IPAddress{vip("198.19.9.4/32")})
	if err == nil || !strings.Contains(err.Error(), "198.19.9.4/32") || !strings.Contains(err.Error(), "nosuchdev0") {
		t.Fatalf("missing device: err = %v", err)
	}
}

func TestRemoveAbsent(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	absent := []*config.IPAddress{vip("198.19.5.77/32"), vip("2001:db8::77/128"), {Address: netip.MustParsePrefix("198.19.5.78/32"), Dev: "nosuchdev0"}}
	if err := n.m.RemoveAddrs(n.dev, absent); err != nil {
		t.Fatalf("RemoveAddrs of absent addresses: %v", err)
	}
	// The lab's own address under another prefix length is not ours.
	if err := n.m.RemoveAddrs(n.dev, []*config.IPAddress{vip("198.18.0.1/32")}); err != nil {
		t.Fatalf("RemoveAddrs 198.18.0.1/32: %v", err)
	}
	if l := n.addrLines(t, "-4", "198.18.0.1"); len(l) != 1 {
		t.Fatalf("198.18.0.1/24 touched by removing /32: %q", l)
	}
}

func TestIPv6NoDAD(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	a := vip("2001:db8::10/64")
	a.NoDAD = true
	a.PreferredLft = u32(0xffffffff)
	b := vip("2001:db8::11/128") // keepalived's default for /128: deprecated
	b.NoDAD = true
	b.PreferredLft = u32(0)
	c := vip("2001:db8:5::1/64")
	c.NoDAD = true
	c.NoPrefixRoute = true
	for round := 1; round <= 2; round++ {
		if err := n.m.AddAddrs(n.dev, []*config.IPAddress{a, b, c}); err != nil {
			t.Fatal(err)
		}
	}
	la := n.addrLines(t, "-6", "2001:db8::10")
	if len(la) != 1 || !strings.Contains(la[0], "inet6 2001:db8::10/64 scope global nodad") || strings.Contains(la[0], "tentative") {
		t.Fatalf("2001:db8::10/64 nodad: ip shows %q", la)
	}
	lb := n.addrLines(t, "-6", "2001:db8::11")
	if len(lb) != 1 || !strings.Contains(lb[0], "deprecated") || !strings.Contains(lb[0], "preferred_lft 0sec") {
		t.Fatalf("2001:db8::11/128 preferred_lft 0: ip shows %q", lb)
	}
	lc := n.addrLines(t, "-6", "2001:db8:5::1")
	if len(lc) != 1 || !strings.Contains(lc[0], "noprefixroute") {
		t.Fatalf("2001:db8:5::1/64 noprefixroute: ip shows %q", lc)
	}
	if out := n.ns.MustRun("ip", "-6", "route", "show", "2001:db8:5::/64"); strings.TrimSpace(out) != "" {
		t.Fatalf("noprefixroute: prefix route present: %q", out)
	}
	if err := n.m.RemoveAddrs(n.dev, []*config.IPAddress{a, b, c}); err != nil {
		t.Fatal(err)
	}
	if l := n.addrLines(t, "-6", "2001:db8::1"); len(l) != 0 {
		t.Fatalf("after removal: %q", l)
	}
}

// TestAdoptWithoutFlap is the hitless-restart property: an address that
// is already there (a previous vrrpd added it) is adopted by AddAddrs
// without the kernel ever deleting it, which the kernel's own address
// events would show.
func TestAdoptWithoutFlap(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	n.ns.MustRun("ip", "addr", "add", "198.18.0.100/32", "dev", n.dev)
	n.ns.MustRun("ip", "addr", "add", "198.19.1.100/24", "brd", "198.19.1.255", "dev", n.dev, "label", n.dev+":vip")
	n.ns.MustRun("ip", "-6", "addr", "add", "2001:db8::100/128", "dev", n.dev, "nodad")

	nsh, err := n.ns.Handle()
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	events := make(chan netlink.AddrUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	subErr := make(chan error, 1)
	if err := netlink.AddrSubscribeWithOptions(events, done, netlink.AddrSubscribeOptions{
		Namespace:         &nsh,
		ReceiveBufferSize: 1 << 20,
		ErrorCallback: func(err error) {
			select {
			case subErr <- err:
			default:
			}
		},
	}); err != nil {
		t.Fatal(err)
	}

	v4 := vip("198.18.0.100/32")
	v4l := vip("198.19.1.100/24")
	v4l.Broadcast = netip.MustParseAddr("198.19.1.255")
	v4l.Label = n.dev + ":vip"
	v6 := vip("2001:db8::100/128")
	v6.NoDAD = true
	v6.PreferredLft = u32(0)
	adopted := []*config.IPAddress{v4, v4l, v6}
	start := time.Now()
	for i := 0; i < 3; i++ {
		if err := n.m.AddAddrs(n.dev, adopted); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("3 x AddAddrs of %d present addresses: %v", len(adopted), time.Since(start))

	// A marker added afterwards: once its event arrives, every event
	// caused by AddAddrs has been read (one socket, in order).
	n.ns.MustRun("ip", "addr", "add", "198.18.0.199/32", "dev", n.dev)
	marker := netip.MustParseAddr("198.18.0.199")
	newSeen := map[netip.Addr]int{}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-subErr:
			t.Fatalf("address subscription failed (events may be lost): %v", err)
		case <-deadline:
			t.Fatalf("no event for the marker address within 5s; new-address events seen: %v", newSeen)
		case u, ok := <-events:
			if !ok {
				t.Fatal("address subscription closed early")
			}
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			ip = ip.Unmap()
			if !u.NewAddr {
				t.Fatalf("RTM_DELADDR for %s during AddAddrs: the address flapped", u.LinkAddress.String())
			}
			newSeen[ip]++
			if ip != marker {
				continue
			}
			for _, a := range adopted {
				if newSeen[a.Address.Addr()] == 0 {
					t.Errorf("no RTM_NEWADDR for %s: AddAddrs did not reach the kernel", a.Address)
				}
			}
			for _, a := range adopted {
				if ok, err := n.m.HasAddr(n.dev, a); err != nil || !ok {
					t.Errorf("%s gone after adoption: %v %v", a.Address, ok, err)
				}
			}
			// IPv6 flags and lifetimes are refreshed in place.
			if l := n.addrLines(t, "-6", "2001:db8::100"); len(l) != 1 || !strings.Contains(l[0], "preferred_lft 0sec") {
				t.Errorf("adopted 2001:db8::100 not refreshed to preferred_lft 0: %q", l)
			}
			return
		}
	}
}

func TestRoutes(t *testing.T) {
	n := newNode(t, "198.18.0.1/24", "2001:db8::1/64")
	n.ns.MustRun("ip", "addr", "add", "198.19.30.1/32", "dev", n.dev) // a VIP, for src
	metric := u32(5)
	routes := []*config.Route{
		{Family: 4, Type: "unicast", To: netip.MustParsePrefix("198.19.10.0/24"), Via: netip.MustParseAddr("198.18.0.254"),
			Table: "100", Metric: metric, Protocol: "keepalived", Src: netip.MustParseAddr("198.19.30.1")},
		{Family: 4, Type: "blackhole", To: netip.MustParsePrefix("198.19.11.0/24"), Table: "100"},
		{Family: 4, Type: "unicast", To: netip.MustParsePrefix("198.19.12.0/24"), Table: "100"}, // dev = defaultDev
		{Family: 4, Type: "unicast", To: netip.MustParsePrefix("198.19.13.0/24"), Table: "100", Nexthops: []*config.Nexthop{
			{Via: netip.MustParseAddr("198.18.0.253"), Weight: 2}, {Via: netip.MustParseAddr("198.18.0.254"), Dev: n.dev}}},
		{Family: 4, Type: "unicast", To: netip.MustParsePrefix("198.19.14.0/24"), Via: netip.MustParseAddr("198.19.99.1"),
			Dev: n.dev, Onlink: true, Table: "100", Options: map[string]string{"mtu": "lock 1400", "advmss": "1360"}},
		{Family: 4, Type: "unreachable", To: netip.MustParsePrefix("198.19.15.0/24"), Table: "main", Scope: "global"},
		{Family: 6, Type: "unicast", To: netip.MustParsePrefix("2001:db8:1::/64"), Via: netip.MustParseAddr("2001:db8::fe"), Table: "100"},
		{Family: 4, Type: "unicast", To: netip.MustParsePrefix("0.0.0.0/0"), Default: true, Via: netip.MustParseAddr("198.18.0.254"), Table: "100"},
	}
	want4 := []*regexp.Regexp{
		regexp.MustCompile(`^198\.19\.10\.0/24 via 198\.18\.0\.254 dev \S+ proto (keepalived|18) src 198\.19\.30\.1 metric 5 $`),
		regexp.MustCompile(`^blackhole 198\.19\.11\.0/24 $`),
		regexp.MustCompile(`^198\.19\.12\.0/24 dev ` + n.dev + ` scope link $`),
		regexp.MustCompile(`^198\.19\.13\.0/24 \\\tnexthop via 198\.18\.0\.253 dev ` + n.dev + ` weight 2 \\\tnexthop via 198\.18\.0\.254 dev ` + n.dev + ` weight 1 ?$`),
		regexp.MustCompile(`^198\.19\.14\.0/24 via 198\.19\.99\.1 dev ` + n.dev + ` onlink mtu lock 1400 advmss 1360 $`),
		regexp.MustCompile(`^default via 198\.18\.0\.254 dev ` + n.dev + ` $`),
	}
	check := func(stage string) {
		t.Helper()
		out := n.ns.MustRun("ip", "-o", "route", "show", "table", "100")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != len(want4) {
			t.Fatalf("%s: ip route show table 100 has %d lines, want %d:\n%s", stage, len(lines), len(want4), out)
		}
		for _, re := range want4 {
			found := 0
			for _, l := range lines {
				if re.MatchString(l) {
					found++
				}
			}
			if found != 1 {
				t.Errorf("%s: %d lines match %s in:\n%s", stage, found, re, out)
			}
		}
		if out := n.ns.MustRun("ip", "route", "show", "table", "main", "198.19.15.0/24"); !strings.Contains(out, "unreachable 198.19.15.0/24") {
			t.Errorf("%s: unreachable route in main missing: %q", stage, out)
		}
		if out := n.ns.MustRun("ip", "-6", "route", "show", "table", "100"); !strings.Contains(out, "2001:db8:1::/64 via 2001:db8::fe dev "+n.dev) {
			t.Errorf("%s: IPv6 route missing: %q", stage, out)
		}
	}
	for round := 1; round <= 2; round++ {
		if err := n.m.AddRoutes(n.dev, routes); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		check(fmt.Sprintf("round %d", round))
	}
	if err := n.m.RemoveRoutes(n.dev, routes); err != nil {
		t.Fatal(err)
	}
	if out := n.ns.MustRun("ip", "route", "show", "table", "100"); strings.TrimSpace(out) != "" {
		t.Fatalf("after RemoveRoutes table 100 still has:\n%s", out)
	}
	if out := n.ns.MustRun("ip", "-6", "route", "show", "table", "100"); strings.TrimSpace(out) != "" {
		t.Fatalf("after RemoveRoutes IPv6 table 100 still has:\n%s", out)
	}
	if out := n.ns.MustRun("ip", "route", "show", "198.19.15.0/24"); strings.TrimSpace(out) != "" {
		t.Fatalf("after RemoveRoutes main still has: %s", out)
	}
	if err := n.m.RemoveRoutes(n.dev, routes); err != nil {
		t.Fatalf("RemoveRoutes of absent routes: %v", err)
	}

	// Errors name the route.
	bad := &config.Route{Family: 4, Type: "unicast", To: netip.MustParsePrefix("198.19.16.0/24"), Table: "no_such_table_name"}
	if err := n.m.AddRoutes(n.dev, []*config.Route{bad}); err == nil || !strings.Contains(err.Error(), "198.19.16.0/24") {
		t.Fatalf("unknown table: err = %v, want one naming the route", err)
	}
}

func TestRules(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	proto := uint8(18)
	rules := []*config.Rule{
		{Family: 4, From: netip.MustParsePrefix("198.19.20.0/24"), Action: "table", Table: "100", Preference: u32(100), Protocol: &proto},
		{Family: 4, Action: "table", Table: "100", Preference: u32(101), FWMark: u32(0x10), FWMask: u32(0xff)},
		{Family: 4, To: netip.MustParsePrefix("198.19.21.0/24"), IIF: n.dev, Action: "table", Table: "100", Preference: u32(102)},
		{Family: 4, From: netip.MustParsePrefix("198.19.22.0/24"), Action: "table", Table: "100"}, // no preference
		{Family: 4, From: netip.MustParsePrefix("198.19.23.0/24"), Action: "blackhole", Preference: u32(104)},
		{Family: 4, Not: true, From: netip.MustParsePrefix("198.19.24.0/24"), OIF: n.dev, Action: "prohibit", Preference: u32(105)},
		{Family: 4, Action: "nop", Preference: u32(110)},
		{Family: 4, From: netip.MustParsePrefix("0.0.0.0/0"), Action: "goto", Goto: 110, Preference: u32(106), IPProto: "tcp", DPort: "80-90"},
		{Family: 4, Action: "table", Table: "main", Preference: u32(107), SuppressPrefixLength: u32(0)},
		{Family: 6, From: netip.MustParsePrefix("2001:db8:2::/64"), Action: "table", Table: "100", Preference: u32(103)},
	}
	want4 := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^100:\tfrom 198\.19\.20\.0/24 lookup 100 proto (keepalived|18) ?$`),
		regexp.MustCompile(`(?m)^101:\tfrom all fwmark 0x10/0xff lookup 100 ?$`),
		regexp.MustCompile(`(?m)^102:\tfrom all to 198\.19\.21\.0/24 iif ` + n.dev + ` lookup 100 ?$`),
		regexp.MustCompile(`(?m)^\d+:\tfrom 198\.19\.22\.0/24 lookup 100 ?$`),
		regexp.MustCompile(`(?m)^104:\tfrom 198\.19\.23\.0/24 blackhole ?$`),
		regexp.MustCompile(`(?m)^105:\tnot from 198\.19\.24\.0/24 oif ` + n.dev + ` prohibit ?$`),
		regexp.MustCompile(`(?m)^106:\tfrom all ipproto tcp dport 80-90 goto 110 ?$`),
		regexp.MustCompile(`(?m)^110:\tfrom all nop ?$`),
		regexp.MustCompile(`(?m)^107:\tfrom all lookup main suppress_prefixlength 0 ?$`),
	}
	check := func(stage string) {
		t.Helper()
		out := n.ns.MustRun("ip", "rule", "show")
		for _, re := range want4 {
			if got := len(re.FindAllString(out, -1)); got != 1 {
				t.Errorf("%s: %d rules match %s in:\n%s", stage, got, re, out)
			}
		}
		out6 := n.ns.MustRun("ip", "-6", "rule", "show")
		if got := strings.Count(out6, "103:\tfrom 2001:db8:2::/64 lookup 100"); got != 1 {
			t.Errorf("%s: IPv6 rule found %d times in:\n%s", stage, got, out6)
		}
	}
	for round := 1; round <= 2; round++ {
		if err := n.m.AddRules(rules); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		check(fmt.Sprintf("round %d", round))
	}
	if err := n.m.RemoveRules(rules); err != nil {
		t.Fatal(err)
	}
	out := n.ns.MustRun("ip", "rule", "show")
	if lines := strings.Count(out, "\n"); lines != 3 {
		t.Fatalf("after RemoveRules want the 3 default rules, got:\n%s", out)
	}
	if out6 := n.ns.MustRun("ip", "-6", "rule", "show"); strings.Contains(out6, "2001:db8:2::") {
		t.Fatalf("after RemoveRules IPv6 rule left:\n%s", out6)
	}
	if err := n.m.RemoveRules(rules); err != nil {
		t.Fatalf("RemoveRules of absent rules: %v", err)
	}
	l3 := &config.Rule{Family: 4, Action: "l3mdev", Preference: u32(1000)}
	if err := n.m.AddRules([]*config.Rule{l3}); err == nil || !strings.Contains(err.Error(), "pref 1000") {
		t.Fatalf("l3mdev: err = %v, want an unsupported error naming the rule", err)
	}
}

func TestVMAC(t *testing.T) {
	n := newNode(t, "198.18.0.1/24")
	idx, err := n.m.EnsureVMAC(n.dev, "vrrp.7", 7, false)
	if err != nil {
		t.Fatal(err)
	}
	out := n.ns.MustRun("ip", "-d", "-o", "link", "show", "vrrp.7")
	for _, want := range []string{"vrrp.7@" + n.dev, "link/ether 00:00:5e:00:01:07", "macvlan mode private", ",UP,"} {
		if !strings.Contains(out, want) {
			t.Fatalf("VMAC: %q missing in:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, fmt.Sprintf("%d: ", idx)) {
		t.Fatalf("EnsureVMAC returned index %d, ip shows:\n%s", idx, out)
	}
	// A VIP on it survives reuse: the interface is not recreated.
	n.ns.MustRun("ip", "addr", "add", "198.18.0.100/32", "dev", "vrrp.7")
	again, err := n.m.EnsureVMAC(n.dev, "vrrp.7", 7, false)
	if err != nil || again != idx {
		t.Fatalf("reuse: index %d, %v; want %d", again, err, idx)
	}
	// A wrong MAC is corrected in place.
	n.ns.MustRun("ip", "link", "set", "vrrp.7", "address", "02:00:00:00:00:07")
	again, err = n.m.EnsureVMAC(n.dev, "vrrp.7", 7, false)
	if err != nil || again != idx {
		t.Fatalf("reuse after MAC change: index %d, %v; want %d", again, err, idx)
	}
	out = n.ns.MustRun("ip", "-o", "addr", "show", "dev", "vrrp.7")
	if !strings.Contains(out, "198.18.0.100/32") {
		t.Fatalf("VIP on the VMAC lost by reuse:\n%s", out)
	}
	if out := n.ns.MustRun("ip", "-o", "link", "show", "vrrp.7"); !strings.Contains(out, "link/ether 00:00:5e:00:01:07") {
		t.Fatalf("MAC not corrected:\n%s", out)
	}

	idx6, err := n.m.EnsureVMAC(n.dev, "vrrp6.7", 7, true)
	if err != nil || idx6 == idx {
		t.Fatalf("IPv6 VMAC: %d, %v", idx6, err)
	}
	if out := n.ns.MustRun("ip", "-o", "link", "show", "vrrp6.7"); !strings.Contains(out, "link/ether 00:00:5e:00:02:07") {
		t.Fatalf("IPv6 VMAC MAC:\n%s", out)
	}

	// A name taken by something else is left alone.
	n.ns.MustRun("ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1")
	if _, err := n.m.EnsureVMAC(n.dev, "other0", 7, false); err == nil {
		t.Fatal("EnsureVMAC over a veth: want an error")
	}
	if err := n.m.RemoveVMAC("other0"); err == nil {
		t.Fatal("RemoveVMAC of a veth: want an error")
	}

	for _, name := range []string{"vrrp.7", "vrrp6.7"} {
		if err := n.m.RemoveVMAC(name); err != nil {
			t.Fatal(err)
		}
		if out, err := n.ns.Run("ip", "link", "show", name); err == nil {
			t.Fatalf("%s still there after RemoveVMAC:\n%s", name, out)
		}
		if err := n.m.RemoveVMAC(name); err != nil {
			t.Fatalf("RemoveVMAC of a missing interface: %v", err)
		}
	}
}
