package vrrpd_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// Unicast peers: adverts go from unicast_src_ip to each unicast_peer, the
// pair elects and fails over as with multicast, and no multicast advert
// is ever on the wire (the client, not a peer, watches every frame).
func TestE2EUnicast(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int
		ivs     string
		iv      time.Duration
	}{
		{"v2 PASS 1s", 2, "1", time.Second},
		{"v3 100ms", 3, "0.1", 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newLAN(t, 2, false)
			a, b := g.nodes[0], g.nodes[1]
			wire := g.client.Capture(g.clientIf, lab.EtherTypeAll)
			atB := b.ns.Capture(b.ifname, lab.EtherTypeIPv4)
			uc := func(self, peer *speaker) string {
				return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n", self.addr, peer.addr)
			}
			startSettled(t, g.vip, a, instanceConf(a.node, tc.version, 150, tc.ivs, uc(a, b)), 150,
				b, instanceConf(b.node, tc.version, 100, tc.ivs, uc(b, a)))

			// B hears A by unicast, with the configured version.
			atB.WaitFor(2, func(f lab.Frame) bool {
				v, ok := parseVRRP(f)
				return ok && v.src == a.addr && v.dst == b.addr && v.priority == 150 && int(v.version) == tc.version
			}, 3*tc.iv, "unicast adverts from A to B")
			if b.watch.Has(g.vip) {
				t.Fatal("B holds the VIP too: it does not follow A's unicast adverts")
			}
			if st := b.status(t); st.State != "BACKUP" || st.Master != a.addr {
				t.Fatalf("B is %s following %v, want BACKUP following A", st.State, st.Master)
			}

			killed := a.die(t)
			took := b.watch.Wait(g.vip, true, 10*time.Second).Sub(killed)
			limit := masterDown(100, tc.iv) + 50*time.Millisecond
			t.Logf("B took over %v after A died (limit %v)", took.Round(time.Millisecond), limit)
			if took > limit {
				t.Errorf("takeover took %v, more than the master-down interval + 50ms (%v)", took, limit)
			}
			// B's broadcast GARPs show the client's capture sees the wire...
			wire.WaitFor(1, isGARP(g.vip, b.mac), 2*time.Second, "GARPs from B")
			wire.Stop()
			// ...and no multicast advert was ever on it.
			var unicast int
			for _, v := range adverts(wire.Frames(), netip.Addr{}) {
				if v.multicast() {
					t.Fatalf("multicast advert on the wire: %v -> %v (%v) v%d prio %d", v.src, v.dst, v.dstMAC, v.version, v.priority)
				}
				unicast++
			}
			t.Logf("client saw %d frames, %d of them unicast adverts (flooded before the switch learned a MAC)", len(wire.Frames()), unicast)
		})
	}

	t.Run("empty unicast_peer block refuses to start", func(t *testing.T) {
		t.Parallel()
		g := newLAN(t, 1, false)
		a := g.nodes[0]
		conf := instanceConf(a.node, 3, 150, "1", "    unicast_src_ip 198.18.1.1\n    unicast_peer {\n    }\n")
		a.start(t, conf)
		if code := a.exitCode(t, 10*time.Second); code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
		out := a.log.String()
		at := fmt.Sprintf("%s:%d:", a.conf, lineOf(conf, "unicast_peer {"))
		if !strings.Contains(out, at) || !strings.Contains(out, "unicast_peer") {
			t.Errorf("output does not name the empty unicast_peer block at %s", at)
		}
		if a.watch.Has(g.vip) {
			t.Error("refused configuration left the VIP behind")
		}
	})
}
