package nginxpair_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// slack covers what the VRRP arithmetic leaves out: the health check's
// own run time (a refused connect: milliseconds), the path from checkd's
// result through the parent to vrrpd, the agent's verdict, and scheduling
// on a loaded 2-core test host running -race.
const slack = time.Second

// killSlack is test/splitbrain's slack for takeovers that wait for the
// lease (docs/split-brain.md).
const killSlack = 1500 * time.Millisecond

// figures collects each scenario's numbers for the closing table.
var figures struct {
	mu   sync.Mutex
	rows []string
}

func record(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	figures.mu.Lock()
	figures.rows = append(figures.rows, t.Name()+": "+line)
	figures.mu.Unlock()
}

// TestNginxPair runs the example's nginx pair (two `vigil run` nodes with
// real nginx, `vigil arbiter`, a client fetching through the VIP every
// 10 ms) through three failures, each on a fresh bed.
func TestNginxPair(t *testing.T) {
	lab.Skip(t)
	t.Run("nginx-stop", nginxStop)
	t.Run("daemon-kill", daemonKill)
	t.Run("vrrp-cut", vrrpCut)
	figures.mu.Lock()
	defer figures.mu.Unlock()
	t.Logf("figures:\n%s", strings.Join(figures.rows, "\n"))
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// failWindow describes a window's failures: how many, from when to when
// (relative to t0).
func failWindow(s summary, t0 time.Time) string {
	if s.Failed == 0 {
		return "0 failed"
	}
	return fmt.Sprintf("%d failed, from +%s to +%s", s.Failed, ms(s.FirstFail.Sub(t0)), ms(s.LastFail.Sub(t0)))
}

// nginxStop: nginx stops on the master. After fall x interval the master's
// priority drops by the weight below the backup's, the backup takes over
// when its master-down timer fires, and from then on every request
// succeeds on lb-b. nginx back on lb-a: rise x interval later lb-a
// outranks lb-b again and preempts.
func nginxStop(t *testing.T) {
	b := newBed(t)
	b.steady()
	tm := readTimings(t, b.a.files.Keepalived, b.b.files.Keepalived)
	if !(tm.PrioA > tm.PrioB && tm.PrioA+tm.Weight < tm.PrioB) {
		t.Fatalf("the example's arithmetic: priorities %d/%d, weight %d: a sick master would not yield", tm.PrioA, tm.PrioB, tm.Weight)
	}
	bound := tm.detect() + tm.masterDown(tm.PrioB)

	t0 := time.Now()
	b.a.stopNginx()
	moved := b.b.watch.Wait(vip, true, bound+slack+5*time.Second)
	first := b.http.waitServedBy(t, "lb-b", t0, 5*time.Second)
	time.Sleep(2 * time.Second) // the "afterwards" of "no request fails afterwards"
	end := time.Now()
	all, after := summarize(b.http.between(t0, end)), summarize(b.http.between(first.At, end))
	move := moved.Sub(t0)
	record(t, "nginx stopped on lb-a: VIP on lb-b after %s (bound %s = fall %d x %s + master-down %s, +%s slack); first request served by lb-b at +%s; %s; after that %d requests, %d failed",
		ms(move), ms(bound), tm.Fall, tm.Interval, ms(tm.masterDown(tm.PrioB)), ms(slack), ms(first.At.Sub(t0)), failWindow(all, t0), after.Total, after.Failed)
	if move > bound+slack {
		t.Errorf("the VIP moved after %v, want within %v (+%v)", move, bound, slack)
	}
	if after.Failed != 0 || after.ByNode["lb-b"] != after.Total {
		t.Errorf("after the move: %d of %d requests failed, by node %v; want none failed, all lb-b: %v", after.Failed, after.Total, after.ByNode, after.Errors)
	}
	if b.a.watch.Has(vip) {
		t.Errorf("lb-a still holds the VIP after the move")
	}
	// notify.sh ran on both with the new states and priorities.
	if got := b.b.notified(); !strings.Contains(got, fmt.Sprintf("INSTANCE VI_WEB is MASTER (priority %d)", tm.PrioB)) {
		t.Errorf("lb-b's notify.sh log lacks its MASTER transition:\n%s", got)
	}
	if got := b.a.notified(); !strings.Contains(got, fmt.Sprintf("INSTANCE VI_WEB is BACKUP (priority %d)", tm.PrioA+tm.Weight)) {
		t.Errorf("lb-a's notify.sh log lacks its BACKUP transition at priority %d:\n%s", tm.PrioA+tm.Weight, got)
	}

	// nginx back on lb-a: it outranks lb-b again and preempts.
	t1 := time.Now()
	b.a.startNginx()
	// lb-a's master-down timer was armed by lb-b's last advert while
	// lb-a's own priority was lowered: its skew is that priority's.
	backBound := tm.restore() + tm.masterDown(tm.PrioA+tm.Weight)
	back := b.a.watch.Wait(vip, true, backBound+slack+5*time.Second)
	b.b.watch.Wait(vip, false, 5*time.Second)
	firstA := b.http.waitServedBy(t, "lb-a", t1, 5*time.Second)
	time.Sleep(time.Second)
	end = time.Now()
	ret, afterRet := summarize(b.http.between(t1, end)), summarize(b.http.between(firstA.At, end))
	record(t, "nginx back on lb-a: lb-a preempted after %s (bound %s = rise %d x %s + master-down %s at priority %d, +%s slack); %s; after that %d requests, %d failed",
		ms(back.Sub(t1)), ms(backBound), tm.Rise, tm.Interval, ms(tm.masterDown(tm.PrioA+tm.Weight)), tm.PrioA+tm.Weight, ms(slack), failWindow(ret, t1), afterRet.Total, afterRet.Failed)
	if back.Sub(t1) > backBound+slack {
		t.Errorf("lb-a took the VIP back after %v, want within %v (+%v)", back.Sub(t1), backBound, slack)
	}
	if afterRet.Failed != 0 || afterRet.ByNode["lb-a"] != afterRet.Total {
		t.Errorf("after the preemption: %d of %d failed, by node %v: %v", afterRet.Failed, afterRet.Total, afterRet.ByNode, afterRet.Errors)
	}
}

// daemonKill: every vigil process on the master gets SIGKILL. Nothing is
// left to remove the VIP from lb-a's interface, and nginx still runs
// there; lb-b takes over once its master-down timer fired and lb-a's
// lease expired at the arbiter, and its gratuitous ARP moves the client.
// Then Vigil starts again on lb-a (cold) and takes the VIP back.
func daemonKill(t *testing.T) {
	b := newBed(t)
	b.steady()
	tm := readTimings(t, b.a.files.Keepalived, b.b.files.Keepalived)
	bound := tm.masterDown(tm.PrioB) + tm.LeaseTTL

	pids := b.a.vigilPids()
	if len(pids) < 2 {
		t.Fatalf("lb-a runs %d vigil processes (%v), want the parent and its children", len(pids), pids)
	}
	t0 := time.Now()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill -9 %d: %v", pid, err)
		}
	}
	select {
	case <-b.a.vigil.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("lb-a's vigil parent survived SIGKILL")
	}
	moved := b.b.watch.Wait(vip, true, bound+killSlack+5*time.Second)
	first := b.http.waitServedBy(t, "lb-b", t0, 5*time.Second)
	time.Sleep(2 * time.Second)
	end := time.Now()
	all, after := summarize(b.http.between(t0, end)), summarize(b.http.between(first.At, end))
	move := moved.Sub(t0)
	record(t, "vigil killed on lb-a: VIP on lb-b after %s (bound %s = master-down %s + lease %s, +%s slack); first request served by lb-b at +%s; %s; by node %v; after that %d requests, %d failed; lb-a still has the VIP: %v",
		ms(move), ms(bound), ms(tm.masterDown(tm.PrioB)), ms(tm.LeaseTTL), ms(killSlack), ms(first.At.Sub(t0)), failWindow(all, t0), all.ByNode, after.Total, after.Failed, b.a.watch.Has(vip))
	if move > bound+killSlack {
		t.Errorf("lb-b took the VIP after %v, want within %v (+%v)", move, bound, killSlack)
	}
	if all.Failed > 0 && all.LastFail.Sub(t0) > bound+killSlack {
		t.Errorf("requests still failed %v after the kill, want recovery within %v (+%v): %v", all.LastFail.Sub(t0), bound, killSlack, all.Errors)
	}
	if after.Failed != 0 {
		t.Errorf("after lb-b served the first request: %d of %d failed: %v", after.Failed, after.Total, after.Errors)
	}
	// What a kill -9 leaves: the address stays on lb-a's interface (no
	// process is left to remove it).
	for _, e := range b.a.watch.Events(vip) {
		if e.At.After(t0) {
			t.Errorf("lb-a's VIP changed after the kill (added %v at +%v); nothing should be left to touch it", e.Added, e.At.Sub(t0))
		}
	}

	// Vigil back on lb-a at once, now that lb-b took over: the run
	// directory's snapshot is older than lb-a's master-down interval
	// (core's resumeWindow), so a cold start. vrrpd removes the stale
	// VIP, starts BACKUP and preempts lb-b once its own master-down timer
	// fires (lb-b's adverts carry a lower priority), with a gratuitous
	// ARP. (It used to resume MASTER from a snapshot up to 10 s old,
	// without notify_master or a gratuitous ARP: the client kept lb-b's
	// MAC for 34-50 s while lb-b had stepped down.)
	t2 := time.Now()
	b.a.startVigil()
	gone := b.a.watch.Wait(vip, false, 5*time.Second)
	back := b.a.watch.Wait(vip, true, tm.masterDown(tm.PrioA)+slack+5*time.Second)
	b.b.watch.Wait(vip, false, 5*time.Second)
	firstA := b.http.waitServedBy(t, "lb-a", t2, 5*time.Second)
	time.Sleep(time.Second)
	end = time.Now()
	ret, afterRet := summarize(b.http.between(t2, end)), summarize(b.http.between(firstA.At, end))
	record(t, "vigil started again on lb-a %s after the kill: stale VIP removed at +%s, lb-a preempted at +%s (bound: master-down %s, +%s slack); %s; after that %d requests, %d failed",
		ms(t2.Sub(t0)), ms(gone.Sub(t2)), ms(back.Sub(t2)), ms(tm.masterDown(tm.PrioA)), ms(slack), failWindow(ret, t2), afterRet.Total, afterRet.Failed)
	if gone.Sub(t2) > time.Second {
		t.Errorf("lb-a removed its stale VIP %v after the start, want at start-up", gone.Sub(t2))
	}
	if back.Sub(t2) > tm.masterDown(tm.PrioA)+slack {
		t.Errorf("lb-a took the VIP back %v after the start, want within its master-down interval %v (+%v)", back.Sub(t2), tm.masterDown(tm.PrioA), slack)
	}
	if afterRet.Failed != 0 || afterRet.ByNode["lb-a"] != afterRet.Total {
		t.Errorf("after lb-a's return: %d of %d failed, by node %v: %v", afterRet.Failed, afterRet.Total, afterRet.ByNode, afterRet.Errors)
	}
}

// vrrpCut: the nodes drop each other's packets on the service net (VRRP's
// path); the gossip path still shows lb-a MASTER, so lb-b stays BACKUP
// past its master-down interval: no VIP moves, no request fails.
func vrrpCut(t *testing.T) {
	b := newBed(t)
	b.steady()
	tm := readTimings(t, b.a.files.Keepalived, b.b.files.Keepalived)
	observe := tm.masterDown(tm.PrioB) + 1500*time.Millisecond

	t0 := time.Now()
	b.a.ns.DropFrom("vgt_vrrp", b.b.vaddr)
	b.b.ns.DropFrom("vgt_vrrp", b.a.vaddr)
	time.Sleep(observe / 2)
	// Why nothing moves, in lb-b's own words.
	out, err := b.b.ns.Run(vigilBin, "status", "--run-dir", filepath.Join(b.b.dir, "run"))
	time.Sleep(observe - observe/2)
	end := time.Now()
	s := summarize(b.http.between(t0, end))
	var moves []string
	for _, n := range []*node{b.a, b.b} {
		for _, e := range n.watch.Events(vip) {
			if e.At.After(t0) {
				moves = append(moves, fmt.Sprintf("%s %s at +%s", n.name, map[bool]string{true: "added", false: "removed"}[e.Added], ms(e.At.Sub(t0))))
			}
		}
	}
	record(t, "VRRP cut between lb-a and lb-b for %s (master-down %s): %d VIP changes; %d requests, %s, by node %v",
		ms(end.Sub(t0)), ms(tm.masterDown(tm.PrioB)), len(moves), s.Total, failWindow(s, t0), s.ByNode)
	if len(moves) != 0 {
		t.Errorf("the VIP moved during the cut: %v", moves)
	}
	if s.Failed != 0 || s.ByNode["lb-a"] != s.Total || s.Total == 0 {
		t.Errorf("during the cut: %d of %d requests failed, by node %v; want none failed, all lb-a: %v", s.Failed, s.Total, s.ByNode, s.Errors)
	}
	if err != nil || !strings.Contains(out, "peer MASTER alive on the gossip path") {
		t.Errorf("vigil status on lb-b does not show the gossip path's hold: %v\n%s", err, out)
	}
	t.Logf("vigil status on lb-b during the cut:\n%s", out)
}
