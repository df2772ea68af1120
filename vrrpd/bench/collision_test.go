package bench

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/internal/vrrplab"
)

// The start-up collision of issue 3, both daemons: two nodes started at
// the same instant with 500 instances each (VRIDs 1-250 on two LANs), half
// won by each node. vrrpd/e2e_scale_test.go holds Vigil to it; this puts
// keepalived beside it.
const (
	collisionWires   = 2
	collisionPerWire = 250
	// collisionObserve is how long after the start the pair is watched;
	// CPU is measured over its second half.
	collisionObserve = 20 * time.Second
)

type collisionResult struct {
	converged        bool
	took             time.Duration // start → last VIP change, if converged
	both, none, lost int           // VIPs on both nodes, on none, on the loser
	cpuA, cpuB       float64       // second half of the observation
}

// BenchmarkStartupCollision starts both nodes together and, after the
// observation time, reads who holds which VIP (ip -o addr) and when the
// last VIP moved (netlink events), and each node's CPU over the second
// half of the observation.
func BenchmarkStartupCollision(b *testing.B) {
	bin := setup(b)
	results := map[vrrplab.Daemon]*collisionResult{}
	for _, d := range daemons {
		b.Run(string(d), func(b *testing.B) {
			noNsPerOp(b)
			r := results[d]
			if r == nil { // one experiment, whatever b.N
				r = measureCollision(b, bin, d)
				results[d] = r
			}
			conv := -1.0 // not converged
			if r.converged {
				conv = ms(r.took)
			}
			b.ReportMetric(conv, "converge-ms")
			b.ReportMetric(float64(r.both), "vips-on-both")
			b.ReportMetric(max(r.cpuA, r.cpuB), "max-cpu-%")
		})
	}
	v, k := results[vrrplab.Vigil], results[vrrplab.Keepalived]
	if v == nil || k == nil {
		return
	}
	conv := func(r *collisionResult) string {
		if !r.converged {
			return fmt.Sprintf("not within %v", collisionObserve)
		}
		return fmt.Sprintf("%.0f ms", ms(r.took))
	}
	fmt.Println()
	fmt.Printf("Start-up collision: 2 nodes x %d instances started together, observed %v\n\n", collisionWires*collisionPerWire, collisionObserve)
	fmt.Println("| daemon | converged | VIPs on both | on none | on the lower node | CPU % node a | CPU % node b |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|")
	for _, x := range []struct {
		name string
		r    *collisionResult
	}{{"Vigil", v}, {"keepalived", k}} {
		fmt.Printf("| %s | %s | %d | %d | %d | %.2f | %.2f |\n", x.name, conv(x.r), x.r.both, x.r.none, x.r.lost, x.r.cpuA, x.r.cpuB)
	}
	fmt.Println()
}

func measureCollision(b *testing.B, bin string, d vrrplab.Daemon) *collisionResult {
	l := lab.New(b)
	a, bk := l.Namespace("a"), l.Namespace("b")
	type vipInfo struct {
		addr   netip.Addr
		ownerA bool
	}
	var vips []vipInfo
	var instA, instB []vrrplab.Instance
	for w := 1; w <= collisionWires; w++ {
		ifname := fmt.Sprintf("c%d", w)
		vrrplab.Wire(b, a, bk, ifname, fmt.Sprintf("198.19.%d.1/24", w), fmt.Sprintf("198.19.%d.2/24", w))
		for vrid := 1; vrid <= collisionPerWire; vrid++ {
			v := vipInfo{netip.AddrFrom4([4]byte{198, 18, byte(10 + w), byte(vrid)}), vrid%2 == 1}
			vips = append(vips, v)
			in := vrrplab.Instance{Name: fmt.Sprintf("VI_%s_%d", ifname, vrid), State: "BACKUP", Iface: ifname,
				VRID: vrid, Version: 2, Interval: "1", Pass: "s3cret", VIPs: []string{v.addr.String() + "/32"}}
			pa, pb := prioMaster, prioBackup
			if !v.ownerA {
				pa, pb = pb, pa
			}
			in.Priority = pa
			instA = append(instA, in)
			in.Priority = pb
			instB = append(instB, in)
		}
	}
	watchA, watchB := a.WatchAddrs(), bk.WatchAddrs()
	na, nb := vrrplab.NewNode(b, a, d, bin), vrrplab.NewNode(b, bk, d, bin)
	confA, confB := vrrplab.Config("a", -1, instA), vrrplab.Config("b", -1, instB)

	start := time.Now()
	na.Start(confA)
	nb.Start(confB)
	// A fixed observation: whether and when the pair settles is the result.
	time.Sleep(collisionObserve / 2)
	ua0, ub0 := na.Usage(), nb.Usage()
	time.Sleep(collisionObserve / 2)
	ua1, ub1 := na.Usage(), nb.Usage()

	r := &collisionResult{cpuA: vrrplab.CPUPercent(ua0, ua1), cpuB: vrrplab.CPUPercent(ub0, ub1)}
	heldA := a.MustRun("ip", "-o", "-4", "addr", "show")
	heldB := bk.MustRun("ip", "-o", "-4", "addr", "show")
	var last time.Time
	for _, v := range vips {
		ha := strings.Contains(heldA, " "+v.addr.String()+"/")
		hb := strings.Contains(heldB, " "+v.addr.String()+"/")
		switch {
		case ha && hb:
			r.both++
		case !ha && !hb:
			r.none++
		case ha != v.ownerA:
			r.lost++
		}
		for _, w := range []*lab.AddrWatch{watchA, watchB} {
			if ev := w.Events(v.addr); len(ev) > 0 && ev[len(ev)-1].At.After(last) {
				last = ev[len(ev)-1].At
			}
		}
	}
	r.converged = r.both+r.none+r.lost == 0
	r.took = last.Sub(start)
	b.Logf("%s: last VIP change %v after the start; at %v: %d VIPs on both nodes, %d on none, %d on the lower-priority node; CPU a %.2f%%, b %.2f%% (second half)",
		d, r.took.Round(time.Millisecond), collisionObserve, r.both, r.none, r.lost, r.cpuA, r.cpuB)
	return r
}
