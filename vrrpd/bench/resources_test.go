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

// resourceSizes are the instance counts measured; resourceWindow is the
// steady-state window CPU is measured over.
var resourceSizes = []int{1, 100, 1000}

const (
	resourceWindow = 10 * time.Second
	maxWires       = 4   // instances are spread over up to this many LANs
	maxPerWire     = 250 // VRIDs per LAN
)

// resourceResult is one daemon pair's steady state.
type resourceResult struct {
	masterCPU, backupCPU float64 // percent of one core
	masterRSS, backupRSS int64   // bytes
	masterProcs          int
}

// BenchmarkResources runs n instances (advert_int 1, VRRPv2 with PASS
// authentication, one VIP each, VRIDs over several point-to-point LANs)
// with every instance mastered by node a and backed up by node b, and
// measures each daemon's CPU (utime+stime of its processes, keepalived's
// parent and VRRP child summed) and RSS (VmRSS, summed) over a 10 s
// steady-state window.
func BenchmarkResources(b *testing.B) {
	bin := setup(b)
	results := map[string]*resourceResult{}
	for _, n := range resourceSizes {
		for _, d := range daemons {
			key := fmt.Sprintf("%d/%s", n, d)
			b.Run(key, func(b *testing.B) {
				noNsPerOp(b)
				r := results[key]
				if r == nil { // one experiment, whatever b.N
					r = measureResources(b, bin, n, d)
					results[key] = r
				}
				b.ReportMetric(r.masterCPU, "master-cpu-%")
				b.ReportMetric(r.backupCPU, "backup-cpu-%")
				b.ReportMetric(float64(r.masterRSS)/(1<<20), "master-rss-MiB")
				b.ReportMetric(float64(r.backupRSS)/(1<<20), "backup-rss-MiB")
			})
		}
	}
	printResourceTable(results)
}

func measureResources(b *testing.B, bin string, n int, d vrrplab.Daemon) *resourceResult {
	l := lab.New(b)
	a, bk := l.Namespace("a"), l.Namespace("b")
	wires := min(maxWires, n)
	if (n+wires-1)/wires > maxPerWire {
		b.Fatalf("%d instances do not fit %d LANs of %d VRIDs", n, wires, maxPerWire)
	}
	var instA, instB []vrrplab.Instance
	var vips []netip.Addr
	for w := 1; w <= wires; w++ {
		ifname := fmt.Sprintf("r%d", w)
		vrrplab.Wire(b, a, bk, ifname, fmt.Sprintf("198.19.%d.1/24", w), fmt.Sprintf("198.19.%d.2/24", w))
	}
	for i := range n {
		w, vrid := i%wires+1, i/wires+1
		vip := netip.AddrFrom4([4]byte{198, 18, byte(10 + w), byte(vrid)})
		vips = append(vips, vip)
		in := vrrplab.Instance{Name: fmt.Sprintf("VI_%d", i+1), Iface: fmt.Sprintf("r%d", w), VRID: vrid,
			Version: 2, Interval: "1", Pass: "s3cret", VIPs: []string{vip.String() + "/32"}}
		in.State, in.Priority = "MASTER", prioMaster
		instA = append(instA, in)
		in.State, in.Priority = "BACKUP", prioBackup
		instB = append(instB, in)
	}
	watchA := a.WatchAddrs()
	na, nb := vrrplab.NewNode(b, a, d, bin), vrrplab.NewNode(b, bk, d, bin)
	b.Cleanup(func() {
		if b.Failed() {
			for _, x := range []*vrrplab.Node{na, nb} {
				out := x.Output()
				b.Logf("--- %s output (last 4 kB):\n%s", x.NS.Role, out[max(0, len(out)-4096):])
			}
		}
	})
	// No delayed second gratuitous ARP burst (vrrp_garp_master_delay 0),
	// so the window measures the steady state only.
	na.Start(vrrplab.Config("a", 0, instA))
	deadline := time.Now().Add(60 * time.Second)
	for _, v := range vips {
		watchA.Wait(v, true, max(time.Until(deadline), time.Millisecond))
	}
	nb.Start(vrrplab.Config("b", 0, instB))
	if !nb.WaitOutput("Entering BACKUP STATE", n, 60*time.Second) {
		b.Fatalf("%s backup did not report BACKUP for all %d instances within 60 s", d, n)
	}
	if !na.Running() || !nb.Running() {
		b.Fatalf("a daemon exited")
	}

	ua0, ub0 := na.Usage(), nb.Usage()
	time.Sleep(resourceWindow) // the measurement window itself
	ua1, ub1 := na.Usage(), nb.Usage()

	// Still one master per VIP: the window measured a steady state.
	held := bk.MustRun("ip", "-o", "-4", "addr", "show")
	for _, v := range vips {
		if strings.Contains(held, " "+v.String()+"/") {
			b.Fatalf("%s: the backup holds %s after the window", d, v)
		}
	}
	r := &resourceResult{
		masterCPU: vrrplab.CPUPercent(ua0, ua1), backupCPU: vrrplab.CPUPercent(ub0, ub1),
		masterRSS: ua1.RSS, backupRSS: ub1.RSS, masterProcs: ua1.Procs,
	}
	b.Logf("%d instances, %s: master %.2f%% CPU (%v ticks), %.1f MiB RSS in %d processes; backup %.2f%% CPU (%v ticks), %.1f MiB RSS in %d processes",
		n, d, r.masterCPU, ua1.CPU-ua0.CPU, float64(r.masterRSS)/(1<<20), ua1.Procs,
		r.backupCPU, ub1.CPU-ub0.CPU, float64(r.backupRSS)/(1<<20), ub1.Procs)
	return r
}

func printResourceTable(results map[string]*resourceResult) {
	fmt.Println()
	fmt.Printf("Steady state over %v, advert_int 1 (VRRPv2, PASS), one VIP per instance: CPU %% of one core, RSS MiB\n\n", resourceWindow)
	fmt.Println("| instances | node | Vigil CPU % | keepalived CPU % | CPU ratio V/k | Vigil RSS MiB | keepalived RSS MiB | RSS ratio V/k |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, n := range resourceSizes {
		v, k := results[fmt.Sprintf("%d/vigil", n)], results[fmt.Sprintf("%d/keepalived", n)]
		if v == nil || k == nil {
			continue
		}
		mib := func(x int64) float64 { return float64(x) / (1 << 20) }
		fmt.Printf("| %d | master | %.2f | %.2f | %s | %.1f | %.1f | %s |\n", n,
			v.masterCPU, k.masterCPU, ratio(v.masterCPU, k.masterCPU), mib(v.masterRSS), mib(k.masterRSS), ratio(mib(v.masterRSS), mib(k.masterRSS)))
		fmt.Printf("| %d | backup | %.2f | %.2f | %s | %.1f | %.1f | %s |\n", n,
			v.backupCPU, k.backupCPU, ratio(v.backupCPU, k.backupCPU), mib(v.backupRSS), mib(k.backupRSS), ratio(mib(v.backupRSS), mib(k.backupRSS)))
	}
	fmt.Println()
}
