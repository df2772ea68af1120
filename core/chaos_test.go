package core_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Chaos: 50 child kills at random moments over two minutes, on both nodes,
// under the probe: no failed connect, no moment with the VIP on both
// nodes, and nothing leaked (processes, descriptors).
func TestChaosChildKills(t *testing.T) {
	if testing.Short() {
		t.Skip("two-minute chaos test; skipped with -short")
	}
	c := newCluster(t)
	c.steady(t)
	nodes := []*node{c.a, c.b}
	fdsBefore := map[*node]int{}
	for _, n := range nodes {
		fdsBefore[n] = countFDs(n.cmd.Process.Pid)
	}
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)

	// Sample dual ownership every 10 ms from the kernel's address events.
	var dual, samples atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(10 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tk.C:
				samples.Add(1)
				if c.a.watch.Has(c.vip) && c.b.watch.Has(c.vip) {
					dual.Add(1)
				}
			}
		}
	}()

	rng := rand.New(rand.NewSource(20261122))
	const kills = 50
	window := 2 * time.Minute
	start := time.Now()
	pids := map[*node]int{c.a: c.a.waitChild(0), c.b: c.b.waitChild(0)}
	for i := 0; i < kills; i++ {
		// Random gaps averaging window/kills, bounded.
		gap := time.Duration(rng.Int63n(int64(2 * window / kills)))
		time.Sleep(gap)
		n := nodes[rng.Intn(len(nodes))]
		_ = syscall.Kill(pids[n], syscall.SIGKILL)
		pids[n] = n.waitChild(pids[n])
		if time.Since(start) > window+time.Minute {
			t.Fatalf("chaos loop overran: %d kills in %v", i+1, time.Since(start))
		}
	}
	time.Sleep(4 * time.Second) // a master-down interval after the last kill
	close(stopSampling)
	<-sampled
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("chaos: %d kills in %v; probe %d connects, %d failed; dual-hold samples %d of %d",
		kills, time.Since(start).Round(time.Second), n, len(fails), dual.Load(), samples.Load())
	if len(fails) != 0 {
		t.Errorf("%d connects failed under chaos: %v", len(fails), probe.Reasons())
	}
	if dual.Load() != 0 {
		t.Errorf("the VIP was on both nodes in %d samples", dual.Load())
	}
	if !c.a.watch.Has(c.vip) || c.b.watch.Has(c.vip) {
		t.Errorf("after the chaos the VIP is not on the master alone")
	}
	for _, nd := range nodes {
		// One child per parent, and no descriptor growth in the parent
		// (a socketpair leaked per restart would show here).
		if got := len(childrenOf(nd.cmd.Process.Pid)); got > 1 {
			t.Errorf("%s: %d child processes after the chaos, want 1", nd.ns.Role, got)
		}
		if before, after := fdsBefore[nd], countFDs(nd.cmd.Process.Pid); after > before+4 {
			t.Errorf("%s: parent descriptors grew from %d to %d", nd.ns.Role, before, after)
		}
	}
	if strings.Contains(c.a.out.String(), "giving up") || strings.Contains(c.b.out.String(), "giving up") {
		t.Errorf("a node gave up on vrrpd under chaos")
	}
}

// countFDs counts a process's open descriptors.
func countFDs(pid int) int {
	entries, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	return len(entries)
}
