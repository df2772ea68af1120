package vrrpd_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// The classic tracked-script setup: A (100) tracks a check with a
// negative weight, B is 80. A failing check costs A 10 (90 > 80: A stays)
// or 30 (70 < 80: B takes over, and A takes the VIP back when the check
// passes again).
func TestE2ETrackScriptWeight(t *testing.T) {
	const ivs, iv = "0.2", 200 * time.Millisecond
	setup := func(t *testing.T, weight int) (g *lan, flag string) {
		g = newLAN(t, 2, false)
		a, b := g.nodes[0], g.nodes[1]
		flag = filepath.Join(g.dir, "service.up")
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf(`vrrp_script chk_flag {
    script "/bin/test -e %s"
    interval 1
    fall 1
    rise 1
}
`, flag)
		track := fmt.Sprintf("    track_script {\n        chk_flag weight %d\n    }\n", weight)
		startSettled(t, g.vip, a, instanceConf(a.node, 3, 100, ivs, track)+script, 100, b, instanceConf(b.node, 3, 80, ivs, ""))
		return g, flag
	}

	t.Run("weight -10 keeps the master", func(t *testing.T) {
		t.Parallel()
		g, flag := setup(t, -10)
		a, b := g.nodes[0], g.nodes[1]
		mark := a.log.Len()
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		failed := a.waitLog(t, mark, "VRRP_Script(chk_flag) failed", 3*time.Second)
		// B would take over one master-down interval (737 ms) after A's last
		// advert at 100 if it outranked A's 90; three of them show it does not.
		neverHolds(t, b, g.vip, failed, 3*masterDown(80, iv), "B took over though A's 90 outranks its 80")
		if !a.watch.Has(g.vip) {
			t.Fatal("A lost the VIP")
		}
		if st := a.status(t); st.State != "MASTER" || st.EffectivePriority != 90 {
			t.Errorf("A is %s at priority %d, want MASTER at 90", st.State, st.EffectivePriority)
		}
		if st := b.status(t); st.MasterPriority != 90 {
			t.Errorf("B sees the master at priority %d, want 90 (A advertises its lowered priority)", st.MasterPriority)
		}
	})

	t.Run("weight -30 fails over and back", func(t *testing.T) {
		t.Parallel()
		g, flag := setup(t, -30)
		a, b := g.nodes[0], g.nodes[1]
		mark := a.log.Len()
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		failed := a.waitLog(t, mark, "VRRP_Script(chk_flag) failed", 3*time.Second)
		took := b.watch.Wait(g.vip, true, 5*time.Second).Sub(failed)
		// B discards A's adverts at 70 and its master-down timer, last reset
		// by A's advert at 100, runs out. (+10 ms: the log's ms precision.)
		limit := masterDown(80, iv) + 60*time.Millisecond
		t.Logf("B took over %v after A's check failed (limit %v)", took.Round(time.Millisecond), limit)
		if took > limit {
			t.Errorf("B took over %v after A's check failed, want within its master-down interval (%v)", took, limit)
		}
		a.watch.Wait(g.vip, false, 2*time.Second)
		if st := a.status(t); st.State != "BACKUP" || st.EffectivePriority != 70 {
			t.Errorf("A is %s at priority %d, want BACKUP at 70", st.State, st.EffectivePriority)
		}

		mark = a.log.Len()
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		ok := a.waitLog(t, mark, "VRRP_Script(chk_flag) succeeded", 3*time.Second)
		back := a.watch.Wait(g.vip, true, 5*time.Second).Sub(ok)
		limit = masterDown(100, iv) + 60*time.Millisecond
		t.Logf("A took the VIP back %v after its check passed (limit %v)", back.Round(time.Millisecond), limit)
		if back > limit {
			t.Errorf("A took the VIP back %v after its check passed, want within its master-down interval (%v)", back, limit)
		}
		b.watch.Wait(g.vip, false, 2*time.Second)
	})
}

// track_interface with the default weight 0: the tracked interface going
// down puts A in FAULT, and A's priority-0 advert hands over at once (B's
// skew time, not a master-down interval); when it comes back A returns to
// BACKUP and preempts.
func TestE2ETrackInterface(t *testing.T) {
	t.Parallel()
	const ivs, iv = "0.5", 500 * time.Millisecond
	g := newLAN(t, 2, false)
	a, b := g.nodes[0], g.nodes[1]
	// The tracked interface: A's link into a second, separate lab segment.
	uplink := lab.New(t).Connect(a.ns)
	startSettled(t, g.vip, a, instanceConf(a.node, 3, 150, ivs, "    track_interface {\n        "+uplink+"\n    }\n"), 150,
		b, instanceConf(b.node, 3, 100, ivs, ""))

	mark := a.log.Len()
	down := time.Now()
	a.ns.MustRun("ip", "link", "set", "dev", uplink, "down")
	fault := a.waitLog(t, mark, "(VI_1) Entering FAULT STATE", 3*time.Second)
	took := b.watch.Wait(g.vip, true, 5*time.Second).Sub(down)
	skew := time.Duration(256-100) * iv / 256
	limit := skew + 100*time.Millisecond
	t.Logf("A in FAULT %v after its tracked link went down; B took over after %v (skew %v, limit %v, master-down %v)",
		fault.Sub(down).Round(time.Millisecond), took.Round(time.Millisecond), skew, limit, masterDown(100, iv))
	if took > limit {
		t.Errorf("B took over %v after A's tracked link went down, want within its skew time + 100ms (%v): did A send priority 0?", took, limit)
	}
	a.watch.Wait(g.vip, false, time.Second)
	if st := a.status(t); st.State != "FAULT" {
		t.Errorf("A is %s with its tracked link down, want FAULT", st.State)
	}

	mark = a.log.Len()
	a.ns.MustRun("ip", "link", "set", "dev", uplink, "up")
	recovered := a.waitLog(t, mark, "(VI_1) Entering BACKUP STATE", 3*time.Second)
	back := a.watch.Wait(g.vip, true, 10*time.Second).Sub(recovered)
	md := masterDown(150, iv)
	t.Logf("A back to BACKUP, preempted %v later (master-down %v)", back.Round(time.Millisecond), md)
	if back < md-20*time.Millisecond || back > md+200*time.Millisecond {
		t.Errorf("A preempted %v after recovering, want about its master-down interval %v", back, md)
	}
	b.watch.Wait(g.vip, false, 2*time.Second)
}

// The instance's own interface losing carrier (dont_track_primary unset):
// A goes FAULT and drops the VIP; B, which cannot hear A any more, takes
// over after its master-down interval; with carrier back A preempts.
func TestE2EOwnInterfaceDown(t *testing.T) {
	t.Parallel()
	const ivs, iv = "0.2", 200 * time.Millisecond
	g := newLAN(t, 2, false)
	a, b := g.nodes[0], g.nodes[1]
	startSettled(t, g.vip, a, instanceConf(a.node, 3, 150, ivs, ""), 150, b, instanceConf(b.node, 3, 100, ivs, ""))

	mark := a.log.Len()
	cut := time.Now()
	g.l.SetPort(a.ifname, false) // pull A's cable at the switch
	fault := a.waitLog(t, mark, "(VI_1) Entering FAULT STATE", 3*time.Second)
	a.watch.Wait(g.vip, false, time.Second)
	took := b.watch.Wait(g.vip, true, 5*time.Second).Sub(cut)
	limit := masterDown(100, iv) + 100*time.Millisecond
	t.Logf("A in FAULT %v after losing carrier; B took over after %v (limit %v)",
		fault.Sub(cut).Round(time.Millisecond), took.Round(time.Millisecond), limit)
	if took > limit {
		t.Errorf("B took over %v after A lost carrier, want within its master-down interval (%v)", took, limit)
	}

	mark = a.log.Len()
	g.l.SetPort(a.ifname, true)
	recovered := a.waitLog(t, mark, "(VI_1) Entering BACKUP STATE", 3*time.Second)
	back := a.watch.Wait(g.vip, true, 5*time.Second).Sub(recovered)
	md := masterDown(150, iv)
	t.Logf("A back to BACKUP, preempted %v later (master-down %v)", back.Round(time.Millisecond), md)
	if back > md+200*time.Millisecond {
		t.Errorf("A preempted %v after carrier came back, want about its master-down interval %v", back, md)
	}
	b.watch.Wait(g.vip, false, 2*time.Second)
}
