package main

import (
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

// crashAct kills the master's VRRP engine. It is played only with
// -vrrpd-crash: with a track_script on the instance (as here) the resumed
// vrrpd is held "waiting for the lease", the lease passes to web2 and the
// VIP is gone for about 3.4 s (without a track_script it resumes in
// ~60 ms). The flag reproduces that until it is fixed.
var crashAct = act{"kill -9 of web1's vrrpd, the master's VRRP engine",
	"nothing moves: the supervisor advertises meanwhile and the new vrrpd resumes MASTER", crashVRRPEngine}

// acts play in order, each starting from the state the last one left:
// web1 MASTER with a healthy nginx, except between the nginx acts.
var acts = []act{
	{"VRRP link cut: web2 drops every advert from web1 (nftables)",
		"no split brain: web2 still sees web1 on the gossip path and stays BACKUP; no GET fails", cutVRRPLink},
	{"nginx stopped on web1, the master",
		"chk_nginx fails twice, web1's priority drops to 150 - 60 = 90 < 100, the VIP moves to web2", stopNginx},
	{"nginx started again on web1",
		"chk_nginx succeeds twice, web1's priority is 150 again and web1 preempts: the VIP comes back", restartNginx},
	{"web1's host dies: vigil and nginx killed, its links down",
		"web2 takes over once web1's adverts have stopped and its lease has expired", killHost},
}

// recoveredGETs in a row served by the expected node mean the client is
// back (0.2 s of GETs).
const recoveredGETs = 20

func crashVRRPEngine(d *demo) {
	st, err := d.web1.status()
	pid := st.childPid("vrrpd")
	if !d.expect(err == nil && pid != 0, "web1's vrrpd runs (%v)", err) {
		return
	}
	from := time.Now()
	_ = syscall.Kill(pid, syscall.SIGKILL)
	d.tl.say(from, "kill -9 of web1's vrrpd (pid %d)", pid)
	resumed, ok := waitStatus(d.web1, 10*time.Second, func(st nodeStatus) bool {
		state, _, _ := st.vrrp()
		p := st.childPid("vrrpd")
		return p != 0 && p != pid && state == "MASTER"
	})
	if !d.expect(ok, "web1's vrrpd came back and resumed MASTER within 10 s") {
		return
	}
	d.tl.say(resumed, "a new vrrpd on web1 is MASTER, %d ms after the kill", resumed.Sub(from).Milliseconds())
	// A master-down interval: web2 would have taken over by now.
	time.Sleep(masterDown + advertInt/2)
	d.expectQuiet(from, "the vrrpd crash")
}

func cutVRRPLink(d *demo) {
	ns := d.web2.ns
	ns.MustRun("nft", "add", "table", "inet", "vigil_demo_cut")
	ns.MustRun("nft", "add chain inet vigil_demo_cut input { type filter hook input priority -10 ; }")
	ns.MustRun("nft", "add", "rule", "inet", "vigil_demo_cut", "input", "ip", "saddr", d.web1.addr.String(), "ip", "protocol", "vrrp", "drop")
	cut := time.Now()
	d.tl.say(cut, "VRRP link cut: web2 hears no advert from web1; the client still reaches web1")
	time.Sleep(masterDown + advertInt/2)
	st, err := d.web2.status()
	state, _, hold := st.vrrp()
	d.tl.say(time.Now(), "%d ms later (web2's master-down interval is %d ms): web2 is %s, held by its agent: %q",
		time.Since(cut).Milliseconds(), masterDown.Milliseconds(), state, hold)
	d.expect(err == nil && state == "BACKUP" && hold != "", "web2 stays BACKUP, held by its arbiter agent")
	d.expectQuiet(cut, "the VRRP cut")
	ns.MustRun("nft", "delete", "table", "inet", "vigil_demo_cut")
	d.tl.say(time.Now(), "VRRP link healed")
}

func stopNginx(d *demo) {
	stopped := d.web1.web.stop()
	d.tl.say(stopped, "nginx stopped on web1 (SIGTERM, as nginx -s stop): GETs reaching web1 fail from now")
	// chk_nginx notices within fall runs (the first may be up to an
	// interval away), then web2's master-down interval passes.
	bound := fall*checkInterval + checkInterval + masterDown
	moved, ok := d.web2.waitVIP(d.vip, true, bound+3*time.Second)
	if !d.expect(ok, "the VIP moved to web2") {
		return
	}
	took := moved.Sub(stopped)
	d.tl.say(moved, "VIP on web2, %d ms after nginx stopped (bound: fall × interval + an interval + master-down = %d ms)",
		took.Milliseconds(), bound.Milliseconds())
	d.expect(took <= bound, "the VIP moved within %d ms", bound.Milliseconds())
	d.recovered(stopped, "web2")
}

func restartNginx(d *demo) {
	started := time.Now()
	d.web1.web.start()
	d.tl.say(started, "nginx started on web1")
	moved, ok := d.web1.waitVIP(d.vip, true, 10*time.Second)
	if !d.expect(ok, "the VIP came back to web1") {
		return
	}
	d.tl.say(moved, "VIP back on web1, %d ms after nginx started", moved.Sub(started).Milliseconds())
	d.recovered(started, "web1")
}

func killHost(d *demo) {
	killed := d.web1.die()
	d.tl.say(killed, "web1's host died: vigil and nginx SIGKILLed, links down")
	// web2 needs web1's adverts gone (master-down) and web1's lease
	// expired at the arbiter (lease_ttl 3 s after its last renewal).
	bound := max(masterDown, leaseTTL) + time.Second
	moved, ok := d.web2.waitVIP(d.vip, true, bound+5*time.Second)
	if !d.expect(ok, "web2 took over") {
		return
	}
	took := moved.Sub(killed)
	d.tl.say(moved, "VIP on web2, %d ms after the death (bound: max(master-down, lease) + 1 s = %d ms)",
		took.Milliseconds(), bound.Milliseconds())
	d.expect(took <= bound, "web2 took over within %d ms", bound.Milliseconds())
	d.recovered(killed, "web2")
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
