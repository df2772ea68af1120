package vrrpd_test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// With use_vmac the VIP lives on a macvlan carrying the virtual MAC
// 00:00:5e:00:01:VRID, so clients keep the same MAC across a failover.
func TestVMAC(t *testing.T) {
	p := newPair(t)
	extra := "    use_vmac\n"
	p.a.startVigil(t, instanceConf(p.a, 2, 150, "1", extra))
	p.b.startVigil(t, instanceConf(p.b, 2, 100, "1", extra))
	p.watchA.Wait(p.vip, true, 10*time.Second)
	const vmacMAC = "00:00:5e:00:01:33" // VRID 51
	if out := p.a.ns.MustRun("ip", "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(out, "198.18.1.50/24") {
		t.Fatalf("VIP not on the VMAC interface vrrp.51:\n%s", out)
	}
	if out := p.a.ns.MustRun("ip", "-o", "link", "show", "dev", "vrrp.51"); !strings.Contains(out, vmacMAC) {
		t.Fatalf("vrrp.51 does not carry %s:\n%s", vmacMAC, out)
	}
	probe := p.client.StartProbe(p.service, 10*time.Millisecond)
	neighMAC := func() string {
		return p.client.MustRun("ip", "neigh", "show", p.vip.String())
	}
	waitNeigh := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(neighMAC(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("client's neighbour entry for the VIP is %q, want %s", neighMAC(), want)
			}
			time.Sleep(50 * time.Millisecond) // the neighbour table has no event we can await portably
		}
	}
	waitNeigh(vmacMAC)

	killed := p.a.die(t)
	took := p.watchB.Wait(p.vip, true, 10*time.Second).Sub(killed)
	t.Logf("takeover %v after the master died", took)
	if out := p.b.ns.MustRun("ip", "-o", "addr", "show", "dev", "vrrp.51"); !strings.Contains(out, "198.18.1.50/24") {
		t.Fatalf("VIP not on B's VMAC:\n%s", out)
	}
	time.Sleep(500 * time.Millisecond)
	waitNeigh(vmacMAC)
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("probe: %d connects, %d failed", n, len(fails))
	if len(fails) > 0 && fails[len(fails)-1].After(killed.Add(masterDown(100, time.Second)+300*time.Millisecond)) {
		t.Errorf("client still failing %v after the master died", fails[len(fails)-1].Sub(killed))
	}

	// A graceful stop removes the macvlan (keepalived does too).
	p.b.kill(t, syscall.SIGTERM)
	if out, _ := p.b.ns.Run("ip", "link", "show", "dev", "vrrp.51"); !strings.Contains(out, "does not exist") {
		t.Errorf("vrrp.51 still present after a graceful stop:\n%s", out)
	}
}
