package vrrpd_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// A new master's gratuitous ARP burst moves the client's existing entry
// for the VIP from the dead master's MAC to its own within a second, with
// at least garp_master_repeat (5 by default) GARPs on the wire.
func TestE2EGARPMovesClientCache(t *testing.T) {
	t.Parallel()
	const ivs, iv = "0.1", 100 * time.Millisecond
	g := newLAN(t, 2, false)
	a, b := g.nodes[0], g.nodes[1]
	wire := g.client.Capture(g.clientIf, lab.EtherTypeARP)
	startSettled(t, g.vip, a, instanceConf(a.node, 3, 150, ivs, ""), 150, b, instanceConf(b.node, 3, 100, ivs, ""))

	// The client has talked to the VIP: its entry points at A, and stays
	// there (no more traffic) until someone announces otherwise.
	dialOnce(t, g.client, netip.AddrPortFrom(g.vip, 8080))
	g.neigh.Wait(g.vip, a.mac, 2*time.Second)

	killed := a.die(t)
	tookAt := b.watch.Wait(g.vip, true, 5*time.Second)
	moved := g.neigh.Wait(g.vip, b.mac, time.Second+time.Until(tookAt))
	lag := moved.Sub(tookAt)
	// The burst: vrrp_garp_interval is 0, so all five leave at once.
	fifth := wire.WaitFor(5, func(f lab.Frame) bool { return f.At.After(killed) && isGARP(g.vip, b.mac)(f) }, time.Second, "GARPs from B")
	burst := 0
	for _, x := range garps(wire.Frames(), g.vip) {
		if x.at.After(killed) && !x.at.After(tookAt.Add(500*time.Millisecond)) && bytes.Equal(x.sha, b.mac) {
			burst++
		}
	}
	t.Logf("B took over %v after A died; client entry moved %v after the VIP was added; %d GARPs within 500ms (5th at +%v)",
		tookAt.Sub(killed).Round(time.Millisecond), lag.Round(100*time.Microsecond), burst, fifth.Sub(tookAt).Round(100*time.Microsecond))
	if lag > time.Second {
		t.Errorf("client's entry moved to B %v after the takeover, want within 1s", lag)
	}
	if burst < 5 {
		t.Errorf("%d GARPs in B's takeover burst, want at least garp_master_repeat (5)", burst)
	}
	if limit := masterDown(100, iv) + 50*time.Millisecond; tookAt.Sub(killed) > limit {
		t.Errorf("takeover took %v, more than the master-down interval + 50ms (%v)", tookAt.Sub(killed), limit)
	}
}

// A partition of the VRRP path makes both routers master; once it heals,
// the lower one yields within about two advert intervals, the last word
// in the client's ARP cache is the winner's, and a client probing the VIP
// every 10 ms loses nothing from one second after the heal. The heal is
// placed at several phases of the winner's advert cycle, so either side's
// advert may cross the healed path first.
func TestE2EHealedPartition(t *testing.T) {
	const ivs, iv = "0.1", 100 * time.Millisecond
	for _, phase := range []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 55 * time.Millisecond, 80 * time.Millisecond} {
		t.Run(fmt.Sprintf("heal %v after A's advert", phase), func(t *testing.T) {
			t.Parallel()
			g := newLAN(t, 2, false)
			a, b := g.nodes[0], g.nodes[1]
			arps := g.client.Capture(g.clientIf, lab.EtherTypeARP)
			ads := g.client.Capture(g.clientIf, lab.EtherTypeIPv4)
			startSettled(t, g.vip, a, instanceConf(a.node, 3, 200, ivs, ""), 200, b, instanceConf(b.node, 3, 100, ivs, ""))
			dialOnce(t, g.client, netip.AddrPortFrom(g.vip, 8080))
			g.neigh.Wait(g.vip, a.mac, 2*time.Second)
			// Each connect may take up to 100 ms: a busy host's hiccup is no loss,
			// a SYN sent to the wrong MAC is (it is not retried that soon).
			probe := g.client.StartProbeTimeout(netip.AddrPortFrom(g.vip, 8080), 10*time.Millisecond, 100*time.Millisecond)

			// Cut: B neither sends nor receives VRRP (IP protocol 112).
			b.ns.MustRun("nft", "add", "table", "inet", "vgtcut")
			for _, hook := range []string{"input", "output"} {
				b.ns.MustRun("nft", "add", "chain", "inet", "vgtcut", hook, "{ type filter hook "+hook+" priority 0; }")
				b.ns.MustRun("nft", "add", "rule", "inet", "vgtcut", hook, "ip", "protocol", "112", "drop")
			}
			cut := time.Now()
			b.watch.Wait(g.vip, true, 5*time.Second)
			g.neigh.Wait(g.vip, b.mac, 2*time.Second)
			if !a.watch.Has(g.vip) {
				t.Fatal("A gave up the VIP during the partition")
			}
			// Stay split past B's delayed GARP (vrrp_garp_master_delay 1).
			splitUntil := cut.Add(1500 * time.Millisecond)
			n := len(adverts(ads.Frames(), a.addr))
			for {
				last := ads.WaitFor(n+1, isAdvertFrom(a.addr), time.Second, "adverts from A")
				n++
				if last.After(splitUntil) {
					// Place the heal at the phase: a scheduled action, not
					// a stand-in for an event.
					time.Sleep(time.Until(last.Add(phase)))
					break
				}
			}
			healed := time.Now()
			b.ns.MustRun("nft", "delete", "table", "inet", "vgtcut")

			released := b.watch.Wait(g.vip, false, 2*time.Second)
			if d := released.Sub(healed); d > 2*iv+50*time.Millisecond {
				t.Errorf("B yielded %v after the heal, want within about two advert intervals (%v)", d, 2*iv)
			}
			final := g.neigh.Wait(g.vip, a.mac, time.Second)
			end := healed.Add(2500 * time.Millisecond)
			time.Sleep(time.Until(end)) // a steady state under the probe: nothing to await
			probe.Stop()
			attempts, fails := probe.Result()
			late := 0
			for _, f := range fails {
				if f.After(healed.Add(time.Second)) {
					late++
				}
			}
			var last arpFrame
			for _, x := range garps(arps.Frames(), g.vip) {
				last = x
			}
			t.Logf("B yielded %v after the heal, client back on A %v after it; %d probes, %d failed (%d from 1s after the heal); last GARP %v after the heal from %v",
				released.Sub(healed).Round(time.Millisecond), final.Sub(healed).Round(time.Millisecond), attempts, len(fails), late,
				last.at.Sub(healed).Round(time.Millisecond), last.sha)
			if late > 0 {
				t.Errorf("%d probes failed from 1s after the heal on", late)
			}
			if !a.watch.Has(g.vip) || b.watch.Has(g.vip) {
				t.Errorf("after the heal A holds the VIP: %v, B: %v; want A alone", a.watch.Has(g.vip), b.watch.Has(g.vip))
			}
			if mac := g.neigh.MAC(g.vip); !bytes.Equal(mac, a.mac) {
				t.Errorf("client's entry for the VIP ends on %v, want A's %v", mac, a.mac)
			}
			if !bytes.Equal(last.sha, a.mac) || !last.at.After(healed) {
				t.Errorf("the last GARP for the VIP was from %v at %v after the heal; want A's (%v), after the heal",
					last.sha, last.at.Sub(healed), a.mac)
			}
		})
	}
}
