package vrrpd_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// An IPv6 VIP on VRRPv3: adverts from link-local sources to ff02::12 with
// hop limit 255, election and failover, and an unsolicited NA that moves
// the client's neighbour entry for the VIP to the new master.
func TestE2EIPv6(t *testing.T) {
	t.Parallel()
	const ivs, iv = "0.1", 100 * time.Millisecond
	g := newLAN(t, 2, true)
	a, b := g.nodes[0], g.nodes[1]
	wire := g.client.Capture(g.clientIf, lab.EtherTypeIPv6)
	startSettled(t, g.vip6, a, conf6(a.node, 150, ivs, ""), 150, b, conf6(b.node, 100, ivs, ""))

	// A's adverts are IPv6 VRRPv3 from its link-local address.
	wire.WaitFor(2, func(f lab.Frame) bool {
		v, ok := parseVRRP(f)
		return ok && v.src.Is6() && v.src.IsLinkLocalUnicast() && v.dst == vrrpMcast6 &&
			v.ttl == 255 && v.version == 3 && v.vrid == 61 && v.priority == 150 && v.intervalC == 10
	}, time.Second, "IPv6 adverts from A (link-local source, ff02::12, hop limit 255, v3, VRID 61, prio 150, 10cs)")
	if b.watch.Has(g.vip6) {
		t.Fatal("B holds the VIP too")
	}
	var llA netip.Addr
	for _, v := range adverts(wire.Frames(), netip.Addr{}) {
		if v.priority == 150 {
			llA = v.src
		}
	}
	if st := b.status(t); st.State != "BACKUP" || st.Master != llA || st.Family != 6 {
		t.Fatalf("B is %s (IPv%d) following %v, want BACKUP (IPv6) following A's %v", st.State, st.Family, st.Master, llA)
	}

	// The client talks to the VIP, so it has a neighbour entry for it: A's.
	service := netip.AddrPortFrom(g.vip6, 8080)
	dialOnce(t, g.client, service)
	g.neigh.Wait(g.vip6, a.mac, 2*time.Second)

	killed := a.die(t)
	tookAt := b.watch.Wait(g.vip6, true, 5*time.Second)
	took := tookAt.Sub(killed)
	limit := masterDown(100, iv) + 50*time.Millisecond
	if took > limit {
		t.Errorf("takeover took %v, more than the master-down interval + 50ms (%v)", took, limit)
	}
	naAt := wire.WaitFor(1, isUnsolicitedNA(g.vip6, b.mac), time.Second, "unsolicited NAs for the VIP from B")
	moved := g.neigh.Wait(g.vip6, b.mac, time.Second)
	t.Logf("B took over %v after A died (limit %v); first NA %v and client entry moved %v after the VIP was added",
		took.Round(time.Millisecond), limit, naAt.Sub(tookAt).Round(time.Millisecond), moved.Sub(tookAt).Round(time.Millisecond))
	for _, f := range wire.Frames() {
		if n, ok := parseNA(f); ok && n.target == g.vip6 && isUnsolicitedNA(g.vip6, b.mac)(f) {
			if n.hopLimit != 255 || n.dst != netip.MustParseAddr("ff02::1") {
				t.Errorf("NA for the VIP: hop limit %d to %v, want 255 to ff02::1", n.hopLimit, n.dst)
			}
			break
		}
	}
	if moved.Sub(tookAt) > time.Second {
		t.Errorf("client's entry for the VIP moved to B %v after the takeover, want within 1s", moved.Sub(tookAt))
	}
	dialOnce(t, g.client, service)
}
