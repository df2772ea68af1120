package main

import (
	"fmt"
	"syscall"
	"time"
)

// act is one scene of the demo: what is done to the pair, what should
// follow, and the function doing it and checking the outcome.
type act struct {
	title  string
	expect string
	run    func(d *demo)
}

// acts play in order, each starting from the state the last one left:
// lb-a MASTER with a healthy nginx, except between the nginx acts.
var acts = []act{
	{"kill -9 of lb-a's vrrpd, the master's VRRP engine",
		"nothing moves: the supervisor advertises meanwhile and the new vrrpd resumes MASTER", crashVRRPEngine},
	{"VRRP link cut: lb-b drops every advert from lb-a (nftables)",
		"no split brain: lb-b still sees lb-a on the gossip path and stays BACKUP; no GET fails", cutVRRPLink},
	{"nginx stopped on lb-a, the master",
		"chk_nginx fails twice, lb-a's priority drops to 150 - 60 = 90 < 100, the VIP moves to lb-b", stopNginx},
	{"nginx started again on lb-a",
		"chk_nginx succeeds twice, lb-a's priority is 150 again and lb-a preempts: the VIP comes back", restartNginx},
	{"lb-a's host dies: vigil and nginx killed, its links down",
		"lb-b takes over once lb-a's adverts have stopped and its lease has expired", killHost},
}

// recoveredGETs in a row served by the expected node mean the client is
// back (0.2 s of GETs).
const recoveredGETs = 20

func crashVRRPEngine(d *demo) {
	st, err := d.a.status()
	pid := st.childPid("vrrpd")
	if !d.expect(err == nil && pid != 0, "lb-a's vrrpd runs (%v)", err) {
		return
	}
	from := time.Now()
	_ = syscall.Kill(pid, syscall.SIGKILL)
	d.tl.say(from, "kill -9 of lb-a's vrrpd (pid %d)", pid)
	resumed, ok := waitStatus(d.a, 10*time.Second, func(st nodeStatus) bool {
		state, _, _ := st.vrrp()
		p := st.childPid("vrrpd")
		return p != 0 && p != pid && state == "MASTER"
	})
	if !d.expect(ok, "lb-a's vrrpd came back and resumed MASTER within 10 s") {
		return
	}
	d.tl.say(resumed, "a new vrrpd on lb-a is MASTER, %d ms after the kill", resumed.Sub(from).Milliseconds())
	// A master-down interval: lb-b would have taken over by now.
	time.Sleep(masterDown + advertInt/2)
	d.expectQuiet(from, "the vrrpd crash")
}

func cutVRRPLink(d *demo) {
	ns := d.b.ns
	ns.MustRun("nft", "add", "table", "inet", "vigil_demo_cut")
	ns.MustRun("nft", "add chain inet vigil_demo_cut input { type filter hook input priority -10 ; }")
	ns.MustRun("nft", "add", "rule", "inet", "vigil_demo_cut", "input", "ip", "saddr", d.a.addr.String(), "ip", "protocol", "vrrp", "drop")
	cut := time.Now()
	d.tl.say(cut, "VRRP link cut: lb-b hears no advert from lb-a; the client still reaches lb-a")
	time.Sleep(masterDown + advertInt/2)
	st, err := d.b.status()
	state, _, hold := st.vrrp()
	d.tl.say(time.Now(), "%d ms later (lb-b's master-down interval is %d ms): lb-b is %s, held by its agent: %q",
		time.Since(cut).Milliseconds(), masterDown.Milliseconds(), state, hold)
	d.expect(err == nil && state == "BACKUP" && hold != "", "lb-b stays BACKUP, held by its arbiter agent")
	d.expectQuiet(cut, "the VRRP cut")
	ns.MustRun("nft", "delete", "table", "inet", "vigil_demo_cut")
	d.tl.say(time.Now(), "VRRP link healed")
}

func stopNginx(d *demo) {
	stopped := d.a.web.stop()
	d.tl.say(stopped, "nginx stopped on lb-a (SIGTERM, as nginx -s stop): GETs reaching lb-a fail from now")
	// chk_nginx notices within fall runs (the first may be up to an
	// interval away), then lb-b's master-down interval passes.
	bound := fall*checkInterval + checkInterval + masterDown
	moved, ok := d.b.waitVIP(d.vip, true, bound+3*time.Second)
	if !d.expect(ok, "the VIP moved to lb-b") {
		return
	}
	took := moved.Sub(stopped)
	d.tl.say(moved, "VIP on lb-b, %d ms after nginx stopped (bound: fall × interval + an interval + master-down = %d ms)",
		took.Milliseconds(), bound.Milliseconds())
	d.expect(took <= bound, "the VIP moved within %d ms", bound.Milliseconds())
	d.figures = append(d.figures, fmt.Sprintf("the VIP left the stopped nginx in %.1f s", took.Seconds()))
	d.recovered(stopped, moved, "lb-b")
}

func restartNginx(d *demo) {
	started := time.Now()
	d.a.web.start()
	d.tl.say(started, "nginx started on lb-a")
	moved, ok := d.a.waitVIP(d.vip, true, 10*time.Second)
	if !d.expect(ok, "the VIP came back to lb-a") {
		return
	}
	d.tl.say(moved, "VIP back on lb-a, %d ms after nginx started", moved.Sub(started).Milliseconds())
	d.figures = append(d.figures, fmt.Sprintf("came back %.1f s after it started", moved.Sub(started).Seconds()))
	d.recovered(started, moved, "lb-a")
}

func killHost(d *demo) {
	killed := d.a.die()
	d.tl.say(killed, "lb-a's host died: vigil and nginx SIGKILLed, links down")
	// lb-b needs lb-a's adverts gone (master-down) and lb-a's lease
	// expired at the arbiter (lease_ttl 3 s after its last renewal).
	bound := max(masterDown, leaseTTL) + time.Second
	moved, ok := d.b.waitVIP(d.vip, true, bound+5*time.Second)
	if !d.expect(ok, "lb-b took over") {
		return
	}
	took := moved.Sub(killed)
	d.tl.say(moved, "VIP on lb-b, %d ms after the death (bound: max(master-down, lease) + 1 s = %d ms)",
		took.Milliseconds(), bound.Milliseconds())
	d.expect(took <= bound, "lb-b took over within %d ms", bound.Milliseconds())
	d.figures = append(d.figures, fmt.Sprintf("lb-b took over %.1f s after lb-a died", took.Seconds()))
	d.recovered(killed, moved, "lb-b")
}

// waitStatus polls the node's status until ok holds, for at most timeout.
func waitStatus(n *node, timeout time.Duration, ok func(nodeStatus) bool) (time.Time, bool) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st, err := n.status(); err == nil && ok(st) {
			return time.Now(), true
		}
	}
	return time.Time{}, false
}
