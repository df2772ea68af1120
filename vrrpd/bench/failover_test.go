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

// failoverRuns is how many times the master is killed per daemon and case.
const failoverRuns = 10

type failoverCase struct {
	name     string
	version  int
	interval string
	d        time.Duration
}

var failoverCases = []failoverCase{
	{"v2-1s", 2, "1", time.Second},
	{"v3-100ms", 3, "0.1", 100 * time.Millisecond},
}

// failoverResult is one daemon's runs of one case.
type failoverResult struct {
	vip  []time.Duration // kill → VIP up on the backup (netlink event)
	garp []time.Duration // kill → first gratuitous ARP for the VIP at the client
	// fromAdvert: the master's last advert at the client → VIP up on the
	// backup; the detection time proper (master-down interval + reaction).
	fromAdvert []time.Duration
}

var (
	vipAddr = netip.MustParseAddr("198.18.1.50")
	addrA   = netip.MustParseAddr("198.18.1.1")
)

const (
	prioMaster, prioBackup = 150, 100
)

// BenchmarkFailover kills the master (SIGKILL and its link down, a dead
// host) right after one of its adverts and times the backup's takeover:
// the VIP appearing on the backup (netlink) and the first gratuitous ARP
// for it reaching a client. Identical configurations for Vigil and
// keepalived; both pairs run in this one process, one after the other.
func BenchmarkFailover(b *testing.B) {
	bin := setup(b)
	results := map[string]*failoverResult{}
	for _, fc := range failoverCases {
		for _, d := range daemons {
			key := fc.name + "/" + string(d)
			b.Run(key, func(b *testing.B) {
				noNsPerOp(b)
				r := results[key]
				if r == nil { // one experiment, whatever b.N
					r = measureFailover(b, bin, fc, d)
					results[key] = r
				}
				b.ReportMetric(ms(median(r.vip)), "vip-median-ms")
				b.ReportMetric(ms(maxOf(r.vip)), "vip-max-ms")
				b.ReportMetric(ms(median(r.garp)), "garp-median-ms")
				b.ReportMetric(ms(maxOf(r.garp)), "garp-max-ms")
			})
		}
	}
	printFailoverTable(results)
}

func measureFailover(b *testing.B, bin string, fc failoverCase, d vrrplab.Daemon) *failoverResult {
	l := lab.New(b)
	a, bk, client := l.Namespace("a"), l.Namespace("b"), l.Namespace("client")
	ifA := l.Connect(a, addrA.String()+"/24")
	ifB := l.Connect(bk, "198.18.1.2/24")
	ifC := l.Connect(client, "198.18.1.100/24")
	watchA, watchB := a.WatchAddrs(), bk.WatchAddrs()
	wire := vrrplab.Listen(b, client, ifC)
	macB := vrrplab.MAC(b, bk, ifB)
	na, nb := vrrplab.NewNode(b, a, d, bin), vrrplab.NewNode(b, bk, d, bin)
	inst := func(state, ifname string, prio int) []vrrplab.Instance {
		return []vrrplab.Instance{{Name: "VI_1", State: state, Iface: ifname, VRID: 51, Priority: prio,
			Version: fc.version, Interval: fc.interval, Pass: "s3cret", VIPs: []string{vipAddr.String() + "/24"}}}
	}
	confA := vrrplab.Config("a", -1, inst("MASTER", ifA, prioMaster))
	confB := vrrplab.Config("b", -1, inst("BACKUP", ifB, prioBackup))
	md := vrrplab.MasterDown(fc.version, prioBackup, fc.d)
	bound := md + 5*time.Second
	b.Cleanup(func() {
		if b.Failed() {
			for _, n := range []*vrrplab.Node{na, nb} {
				b.Logf("--- %s output:\n%s", n.NS.Role, n.Output())
			}
		}
	})

	na.Start(confA)
	watchA.Wait(vipAddr, true, 10*time.Second)
	nb.Start(confB)
	if !nb.WaitOutput("Entering BACKUP STATE", 1, 10*time.Second) {
		b.Fatalf("%s backup did not report BACKUP state within 10 s", d)
	}
	steady(b, wire, watchB, fc.d)

	r := &failoverResult{}
	for run := 0; run < failoverRuns; run++ {
		// Kill right after one of the master's adverts: every run, and
		// both daemons, start from the same phase of the advert cycle.
		ads, ok := wire.WaitAdverts(addrA, 1, time.Now(), 3*fc.d+time.Second)
		if !ok {
			b.Fatalf("run %d: no advert from the master", run)
		}
		killed := na.Die(ifA)
		up := watchB.Wait(vipAddr, true, bound)
		garp, ok := wire.WaitGARP(vipAddr, macB, killed, bound)
		if !ok {
			b.Fatalf("run %d: no gratuitous ARP from the backup within %v", run, bound)
		}
		r.vip = append(r.vip, up.Sub(killed))
		r.garp = append(r.garp, garp.At.Sub(killed))
		r.fromAdvert = append(r.fromAdvert, up.Sub(ads[0].At))

		// The dead host comes back (its addresses gone, as after a
		// reboot) and, higher in priority, takes the VIP back.
		_, _ = a.Run("ip", "addr", "del", vipAddr.String()+"/24", "dev", ifA)
		a.MustRun("ip", "link", "set", ifA, "up")
		na.Start(confA)
		watchA.Wait(vipAddr, true, bound)
		watchB.Wait(vipAddr, false, bound)
		steady(b, wire, watchB, fc.d)
	}
	b.Logf("%s %s: kill→VIP %v; kill→GARP %v; last advert→VIP %v (master-down interval %v)",
		fc.name, d, list(r.vip), list(r.garp), list(r.fromAdvert), md)
	return r
}

// steady waits until the master has sent three adverts in a row with the
// backup silent and without the VIP: the pair is settled.
func steady(b *testing.B, wire *vrrplab.Capture, watchB *lab.AddrWatch, interval time.Duration) {
	b.Helper()
	ads, ok := wire.WaitAdverts(addrA, 3, time.Now(), 6*interval+2*time.Second)
	if !ok {
		b.Fatalf("the master did not send 3 adverts within %v", 6*interval+2*time.Second)
	}
	if watchB.Has(vipAddr) {
		b.Fatalf("the backup still holds the VIP while the master advertises")
	}
	// The backup's last advert as master may cross the master's first
	// (captures are stamped when read, microseconds apart); none may
	// follow the master's second.
	if bad := wire.Adverts(netip.MustParseAddr("198.18.1.2"), ads[1].At); len(bad) > 0 {
		b.Fatalf("the backup sent %d adverts while the master advertised: first at %s (priority %d); the master's at %s, %s, %s; backup VIP events %v",
			len(bad), bad[0].At.Format("15:04:05.000000"), bad[0].Priority, ads[0].At.Format("15:04:05.000000"),
			ads[1].At.Format("15:04:05.000000"), ads[2].At.Format("15:04:05.000000"), watchB.Events(vipAddr))
	}
}

func list(d []time.Duration) string {
	var s []string
	for _, x := range d {
		s = append(s, fmt.Sprintf("%.0f", ms(x)))
	}
	return "[" + strings.Join(s, " ") + "] ms"
}

func printFailoverTable(results map[string]*failoverResult) {
	fmt.Println()
	fmt.Printf("Failover, %d runs each: kill master (SIGKILL + link down) → VIP up on backup / → first GARP at client (ms)\n\n", failoverRuns)
	fmt.Println("| case | metric | Vigil median | Vigil max | keepalived median | keepalived max | median ratio V/k | max ratio V/k |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|")
	for _, fc := range failoverCases {
		v, k := results[fc.name+"/vigil"], results[fc.name+"/keepalived"]
		if v == nil || k == nil {
			continue
		}
		for _, m := range []struct {
			name   string
			vs, ks []time.Duration
		}{
			{"kill → VIP", v.vip, k.vip},
			{"kill → GARP", v.garp, k.garp},
			{"last advert → VIP", v.fromAdvert, k.fromAdvert},
		} {
			fmt.Printf("| %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %s |\n", fc.name, m.name,
				ms(median(m.vs)), ms(maxOf(m.vs)), ms(median(m.ks)), ms(maxOf(m.ks)),
				ratio(ms(median(m.vs)), ms(median(m.ks))), ratio(ms(maxOf(m.vs)), ms(maxOf(m.ks))))
		}
	}
	fmt.Println()
}
