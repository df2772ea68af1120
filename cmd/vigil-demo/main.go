// Command vigil-demo shows a Vigil failover end to end, in a throwaway lab
// of network namespaces: two nodes run `vigil run` for one VIP, with the
// arbiter's second path (a gossip network and `vigil arbiter` on a third
// namespace); a client probes a TCP service on the VIP every 10 ms. Act 1
// kills the master's VRRP engine (nothing moves), act 2 cuts the VRRP path
// between the nodes (no split brain: the backup stays BACKUP), act 3 kills
// the master's host (the backup takes over). A timeline is printed in
// milliseconds. Everything is torn down afterwards, also on failure and
// on Ctrl-C; namespaces a crashed run left behind are swept by the next.
//
// It builds nothing: it runs the vigil binary given by -vigil. It needs
// root (network namespaces). `make demo` builds the binary and runs it.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/internal/vrrplab"
)

const (
	prioA, prioB  = 150, 100
	servicePort   = 8080
	probeInterval = 10 * time.Millisecond
	// steadyProbes is how many successful probes the client makes against
	// the first master before it is killed (about 2 s).
	steadyProbes = 200
	// recoveredProbes in a row after the takeover mean the client is back.
	recoveredProbes = 20
	// runBound caps the whole demo (the lab included).
	runBound = 55 * time.Second
)

var (
	vip     = netip.MustParseAddr("198.18.1.50")
	addrA   = "198.18.1.1/24"
	addrB   = "198.18.1.2/24"
	addrCli = "198.18.1.100/24"
	// The gossip network: the arbiter's second path between the nodes.
	gossipA, gossipB, gossipArb = "198.18.3.1", "198.18.3.2", "198.18.3.10"
)

// demoSecret is the gossip secret of the lab (any string; the key is
// derived from it).
const demoSecret = "vigil demo secret"

func main() {
	vigil := flag.String("vigil", "./bin/vigil", "the vigil `binary` to run on both nodes")
	version := flag.Int("version", 2, "VRRP version, 2 or 3")
	interval := flag.String("advert-int", "1", "advert_int in `seconds` (e.g. 1, or 0.1 with -version 3)")
	verbose := flag.Bool("v", false, "print the lab's log lines and the daemons' output")
	flag.Parse()

	r := &reporter{verbose: *verbose}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "vigil-demo: needs root: it creates network namespaces, veth links and a bridge (run: sudo make demo)")
		os.Exit(2)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		fmt.Fprintln(os.Stderr, "vigil-demo: needs the ip tool (iproute2)")
		os.Exit(2)
	}
	bin, err := filepath.Abs(*vigil)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vigil-demo: vigil binary: %v (build it with make build, or pass -vigil)\n", err)
		os.Exit(2)
	}
	secs, err := strconv.ParseFloat(*interval, 64)
	if err != nil || secs <= 0 || (*version != 2 && *version != 3) {
		fmt.Fprintln(os.Stderr, "vigil-demo: -version must be 2 or 3 and -advert-int a positive number of seconds")
		os.Exit(2)
	}
	advert := time.Duration(secs * float64(time.Second))

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nvigil-demo: %v: tearing the lab down\n", s)
		code := 130
		if sig, ok := s.(syscall.Signal); ok {
			code = 128 + int(sig)
		}
		r.exit(code)
	}()
	watchdog := time.AfterFunc(runBound, func() { r.Fatalf("the demo ran longer than %v", runBound) })
	defer watchdog.Stop()

	began := time.Now()
	ok := run(r, bin, *version, *interval, advert)
	r.stopIfExiting()
	r.teardown()
	fmt.Printf("lab torn down: namespaces, links and processes removed (demo took %.1f s)\n", time.Since(began).Seconds())
	if !ok {
		os.Exit(1)
	}
}

// run builds the lab, plays the scenario and prints the timeline; it
// reports whether Vigil behaved.
func run(r *reporter, bin string, version int, interval string, advert time.Duration) bool {
	fmt.Printf("Vigil failover demo: two nodes, one VIP, VRRPv%d, advert_int %s s\n\n", version, interval)
	built := time.Now()
	l := lab.New(r)
	a, b, client := l.Namespace("a"), l.Namespace("b"), l.Namespace("client")
	ifA, ifB := l.Connect(a, addrA), l.Connect(b, addrB)
	ifC := l.Connect(client, addrCli)
	a.Serve(servicePort)
	b.Serve(servicePort)
	watchA, watchB := a.WatchAddrs(), b.WatchAddrs()
	wire := vrrplab.Listen(r, client, ifC)
	macB := vrrplab.MAC(r, b, ifB)
	srcA := netip.MustParsePrefix(addrA).Addr()
	na, nb := vrrplab.NewNode(r, a, vrrplab.VigilRun, bin), vrrplab.NewNode(r, b, vrrplab.VigilRun, bin)
	// The second network: gossip between the nodes and the arbiter.
	g := lab.New(r)
	arb := g.Namespace("arbiter")
	gifA, _ := g.Connect(a, gossipA+"/24"), g.Connect(b, gossipB+"/24")
	g.Connect(arb, gossipArb+"/24")
	arbDir, err := os.MkdirTemp("", "vigil-demo-arbiter-")
	if err != nil {
		r.Fatalf("%v", err)
	}
	r.Cleanup(func() { _ = os.RemoveAll(arbDir) })
	secretFile := filepath.Join(arbDir, "secret")
	if err := os.WriteFile(secretFile, []byte(demoSecret+"\n"), 0o600); err != nil {
		r.Fatalf("%v", err)
	}
	var arbOut lab.Buffer
	arbCmd := arb.StartOutput(&arbOut, &arbOut, bin, "arbiter", "--bind", gossipArb+":7946", "--peer", gossipA+":7946",
		"--peer", gossipB+":7946", "--secret-file", secretFile, "--state", filepath.Join(arbDir, "state.json"), "--name", "arbiter",
		"--log-format", "json")
	r.Cleanup(func() {
		if arbCmd.Process != nil {
			_ = syscall.Kill(-arbCmd.Process.Pid, syscall.SIGKILL)
		}
		if r.verbose {
			fmt.Printf("--- arbiter output:\n%s", arbOut.String())
		}
	})
	conf := func(id string, prio int, ifname, self, peer string) string {
		return vrrplab.Config(id, -1, []vrrplab.Instance{{Name: "VI_DEMO", State: "BACKUP", Iface: ifname,
			VRID: 51, Priority: prio, Version: version, Interval: interval, Pass: "demo", VIPs: []string{vip.String() + "/24"}}}) +
			fmt.Sprintf("arbiter {\n    node_name %s\n    bind %s:7946\n    peer %s:7946\n    arbiter %s:7946\n    secret \"%s\"\n    require_quorum\n}\n",
				id, self, peer, gossipArb, demoSecret)
	}
	fmt.Printf("lab: namespaces a (%s, priority %d), b (%s, priority %d) and client (%s) on one switch;\n",
		addrA, prioA, addrB, prioB, addrCli)
	fmt.Printf("     a second network for the arbiter's path: a %s, b %s, and `vigil arbiter` on %s;\n", gossipA, gossipB, gossipArb)
	fmt.Printf("     VIP %s, a TCP service on :%d on both nodes (built in %d ms)\n\n", vip, servicePort, time.Since(built).Milliseconds())
	if r.verbose {
		r.Cleanup(func() {
			for _, n := range []*vrrplab.Node{na, nb} {
				if n.Running() {
					n.Kill(syscall.SIGKILL)
				}
				fmt.Printf("--- %s output:\n%s", n.NS.Role, n.Output())
			}
		})
	}

	t0 := time.Now()
	ms := func(t time.Time) string { return fmt.Sprintf("t=%6d ms", t.Sub(t0).Milliseconds()) }
	na.Start(conf("a", prioA, ifA, gossipA, gossipB))
	nb.Start(conf("b", prioB, ifB, gossipB, gossipA))
	fmt.Printf("%s  both nodes started (vigil run: the supervisor, its vrrpd and its arbiter agent), both in state BACKUP\n", ms(t0))

	elected := watchA.Wait(vip, true, 10*time.Second+4*advert)
	fmt.Printf("%s  a elected MASTER: VIP %s up on a\n", ms(elected), vip)
	if watchB.Has(vip) {
		r.Fatalf("b holds the VIP too")
	}
	probe := startProbe(r, client, netip.AddrPortFrom(vip, servicePort))
	fmt.Printf("%s  client starts a TCP connect to %s:%d every %v\n", ms(probe.started), vip, servicePort, probeInterval)
	steadyAt, ok := probe.waitOK(t0, steadyProbes, 10*time.Second)
	if !ok {
		r.Fatalf("the client did not reach the VIP on a (%d probes OK within 10 s)", steadyProbes)
	}
	fmt.Printf("%s  %d connects OK\n", ms(steadyAt), steadyProbes)

	// Act 1: the headline promise. The master's VRRP engine crashes; the
	// supervisor keeps advertising for it and the new engine resumes.
	oldPid := na.ChildPid("vrrpd")
	if oldPid == 0 {
		r.Fatalf("a's vrrpd child is not running")
	}
	crashed := time.Now()
	_ = syscall.Kill(oldPid, syscall.SIGKILL)
	fmt.Printf("%s  kill -9 of a's vrrpd (pid %d): the supervisor advertises for it meanwhile\n", ms(crashed), oldPid)
	var newPid int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if p := na.ChildPid("vrrpd"); p != 0 && p != oldPid {
			newPid = p
			break
		}
	}
	if newPid == 0 || !na.WaitOutput("Resuming MASTER STATE", 1, 10*time.Second) {
		r.Fatalf("a's vrrpd did not come back and resume MASTER")
	}
	resumed := time.Now()
	fmt.Printf("%s  new vrrpd (pid %d) resumed MASTER\n", ms(resumed), newPid)
	time.Sleep(advert*3 + advert/2) // a full master-down interval: b must not take over
	moved := false
	for _, ev := range watchA.Events(vip) {
		moved = moved || !ev.Added
	}
	moved = moved || watchB.Has(vip)
	_, crashFails := probe.result()
	fmt.Printf("%s  after a master-down interval: VIP never left a: %v; b stayed BACKUP: %v; connects failed: %d\n\n",
		ms(time.Now()), !moved, !watchB.Has(vip), len(crashFails))
	if moved || len(crashFails) > 0 {
		r.Fatalf("the vrrpd crash moved the VIP or lost connects")
	}

	// Act 2: the VRRP path between the nodes breaks (the client still
	// reaches a). keepalived makes b MASTER too: both hold the VIP. Vigil's
	// b still sees a as MASTER on the gossip path and stays BACKUP.
	b.MustRun("nft", "add", "table", "inet", "vigil_demo_cut")
	b.MustRun("nft", "add chain inet vigil_demo_cut input { type filter hook input priority -10 ; }")
	b.MustRun("nft", "add", "rule", "inet", "vigil_demo_cut", "input", "ip", "saddr", srcA.String(), "ip", "protocol", "vrrp", "drop")
	cut := time.Now()
	fmt.Printf("%s  VRRP path cut: b drops every advert from a (nftables); a keeps serving the client\n", ms(cut))
	md := vrrplab.MasterDown(version, prioB, advert)
	time.Sleep(md + advert + advert/2)
	reason := nb.HoldReason("VI_DEMO")
	dual := watchB.Has(vip)
	for _, ev := range watchB.Events(vip) {
		dual = dual || (ev.Added && ev.At.After(cut))
	}
	_, cutFails := probe.result()
	fmt.Printf("%s  %d ms later (b's master-down interval is %d ms): b holds the VIP: %v; b's agent keeps it BACKUP: %q; connects failed: %d\n",
		ms(time.Now()), time.Since(cut).Milliseconds(), md.Milliseconds(), dual, reason, len(cutFails)-len(crashFails))
	b.MustRun("nft", "delete", "table", "inet", "vigil_demo_cut")
	fmt.Printf("%s  VRRP path healed\n\n", ms(time.Now()))
	if dual || reason == "" || len(cutFails) > len(crashFails) {
		r.Fatalf("split brain or lost connects while the VRRP path was cut")
	}

	// Act 3: the whole host dies; the backup takes over.
	killed := na.Die(ifA, gifA)
	fmt.Printf("%s  master a killed: SIGKILL, and its links down (a dead host)\n", ms(killed))
	var lastAdvert time.Time
	if ads := wire.Adverts(srcA, t0); len(ads) > 0 {
		lastAdvert = ads[len(ads)-1].At
	}
	takeover := watchB.Wait(vip, true, 10*time.Second+4*advert)
	// With the arbiter b also needs a's lease to have expired: a renews
	// it every 0.5 s for 3 s, so it is gone by the master-down interval.
	expect := max(vrrplab.MasterDown(version, prioB, advert), 3*time.Second)
	fmt.Printf("%s  b took over: VIP up on b, %d ms after the kill (%d ms after a's last advert; master-down interval %d ms, lease 3000 ms)\n",
		ms(takeover), takeover.Sub(killed).Milliseconds(), takeover.Sub(lastAdvert).Milliseconds(), vrrplab.MasterDown(version, prioB, advert).Milliseconds())
	garp, gotGARP := wire.WaitGARP(vip, macB, killed, 5*time.Second)
	if gotGARP {
		fmt.Printf("%s  first gratuitous ARP from b for %s seen by the client (%d ms after the kill)\n",
			ms(garp.At), vip, garp.At.Sub(killed).Milliseconds())
	} else {
		fmt.Printf("            no gratuitous ARP from b for %s reached the client within 5 s\n", vip)
	}
	back, recovered := probe.waitRecovered(killed, recoveredProbes, 10*time.Second)
	if recovered {
		fmt.Printf("%s  client connecting again (%d probes in a row OK)\n", ms(back), recoveredProbes)
	}
	probe.stop()
	r.stopIfExiting()
	sent, fails := probe.result()
	fmt.Println()
	if len(fails) == 0 {
		fmt.Printf("probes: %d sent, none failed\n", sent)
	} else {
		fmt.Printf("probes: %d sent, %d failed, between %s and %s (%d ms without service)\n", sent, len(fails),
			ms(fails[0]), ms(fails[len(fails)-1]), fails[len(fails)-1].Sub(fails[0]).Milliseconds()+probeInterval.Milliseconds())
	}

	ok = true
	var problems []string
	if limit := expect + 500*time.Millisecond; takeover.Sub(lastAdvert) > limit {
		ok = false
		problems = append(problems, fmt.Sprintf("takeover %d ms after a's last advert, over max(master-down interval, lease) + 500 ms", takeover.Sub(lastAdvert).Milliseconds()))
	}
	if !gotGARP {
		ok = false
		problems = append(problems, "no gratuitous ARP from the new master")
	}
	if !recovered {
		ok = false
		problems = append(problems, "the client did not recover")
	}
	if len(fails) > 0 && fails[0].Before(killed) {
		ok = false
		problems = append(problems, "probes failed before the master was killed")
	}
	if ok {
		fmt.Printf("demo: PASS: the VIP moved from a to b %d ms after a died; the client was back %d ms after the kill\n",
			takeover.Sub(killed).Milliseconds(), back.Sub(killed).Milliseconds())
	} else {
		fmt.Printf("demo: FAIL: %s\n", strings.Join(problems, "; "))
	}
	return ok
}

// reporter is the demo's lab.TB: Fatalf and Skip print, tear the lab down
// and exit non-zero.
type reporter struct {
	verbose  bool
	exiting  atomic.Bool
	mu       sync.Mutex
	cleanups []func()
	once     sync.Once
}

func (r *reporter) Helper() {}

// stopIfExiting parks the caller while a signal or failure tears down
// (exit ends the process), so nothing reports on a half-removed lab.
func (r *reporter) stopIfExiting() {
	if r.exiting.Load() {
		select {}
	}
}

func (r *reporter) Logf(format string, args ...any) {
	if r.verbose {
		fmt.Fprintf(os.Stderr, "  lab: "+format+"\n", args...)
	}
}

func (r *reporter) Fatalf(format string, args ...any) {
	r.stopIfExiting() // a failure caused by the teardown under way: say nothing
	fmt.Fprintf(os.Stderr, "demo: FAIL: "+format+"\n", args...)
	r.exit(1)
}

func (r *reporter) Skip(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"demo: cannot run:"}, args...)...)
	r.exit(2)
}

func (r *reporter) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// teardown runs the cleanups, last registered first, once each.
func (r *reporter) teardown() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// exit tears down and exits; concurrent callers (a signal during a
// failure) wait for the first, which never returns.
func (r *reporter) exit(code int) {
	r.exiting.Store(true)
	r.once.Do(func() {
		r.teardown()
		os.Exit(code)
	})
	select {}
}

// prober starts a TCP connect to a service from the client every
// probeInterval, each bounded by probeTimeout and run concurrently so a
// slow one does not delay the next, and keeps every outcome by start
// time, so the timeline can say when service stopped and came back.
type prober struct {
	started time.Time
	mu      sync.Mutex
	results []probeResult // sorted by at
	changed chan struct{} // closed and replaced on every result
	quit    chan struct{}
	done    chan struct{}
}

type probeResult struct {
	at time.Time
	ok bool
}

const (
	// probeTimeout: a connect not done by then failed (a LAN round trip
	// is well under a millisecond; the margin absorbs a busy machine).
	probeTimeout = 100 * time.Millisecond
	// maxProbes bounds the prober (10 minutes of probes; the demo is
	// capped far below), maxInFlight the connects running at once.
	maxProbes   = 60000
	maxInFlight = 2 * int(probeTimeout/probeInterval)
)

func startProbe(r *reporter, ns *lab.NS, addr netip.AddrPort) *prober {
	p := &prober{started: time.Now(), changed: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		var wg sync.WaitGroup
		defer wg.Wait()
		slots := make(chan struct{}, maxInFlight)
		// Sockets belong to the namespace of the thread that opens them:
		// every connect runs on a thread inside the client namespace.
		t := time.NewTicker(probeInterval)
		defer t.Stop()
		for i := 0; i < maxProbes; i++ {
			select {
			case <-p.quit:
				return
			case <-t.C:
			}
			at := time.Now()
			select {
			case slots <- struct{}{}:
			default:
				p.add(probeResult{at: at}) // the client itself is stuck
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				err := ns.Do(func() error {
					c, err := net.DialTimeout("tcp", addr.String(), probeTimeout)
					if err == nil {
						c.Close()
					}
					return err
				})
				p.add(probeResult{at: at, ok: err == nil})
			}()
		}
	}()
	r.Cleanup(p.stop)
	return p
}

func (p *prober) add(r probeResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.results, r.at, func(x probeResult, t time.Time) int { return x.at.Compare(t) })
	p.results = slices.Insert(p.results, i, r)
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *prober) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
}

// waitOK waits for n successful probes made at or after since and
// returns when the last of them started.
func (p *prober) waitOK(since time.Time, n int, timeout time.Duration) (time.Time, bool) {
	return p.wait(timeout, func(rs []probeResult) (time.Time, bool) {
		count := 0
		for _, r := range rs {
			if r.ok && !r.at.Before(since) {
				if count++; count == n {
					return r.at, true
				}
			}
		}
		return time.Time{}, false
	})
}

// waitRecovered waits for n successes in a row after the first failure
// following since (or after since, if none failed), and returns when
// that run began.
func (p *prober) waitRecovered(since time.Time, n int, timeout time.Duration) (time.Time, bool) {
	return p.wait(timeout, func(rs []probeResult) (time.Time, bool) {
		failed := false
		for _, r := range rs {
			if !r.ok && !r.at.Before(since) {
				failed = true
				break
			}
		}
		var runStart time.Time
		run := 0
		seenFail := !failed
		for _, r := range rs {
			if r.at.Before(since) {
				continue
			}
			if !r.ok {
				run, seenFail = 0, true
				continue
			}
			if !seenFail {
				continue
			}
			if run == 0 {
				runStart = r.at
			}
			if run++; run == n {
				return runStart, true
			}
		}
		return time.Time{}, false
	})
}

func (p *prober) wait(timeout time.Duration, find func([]probeResult) (time.Time, bool)) (time.Time, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		at, ok := find(p.results)
		changed := p.changed
		p.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-changed:
		case <-p.done:
			return time.Time{}, false
		case <-deadline.C:
			return time.Time{}, false
		}
	}
}

// result returns how many probes were made and when the failed ones began.
func (p *prober) result() (sent int, failed []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.results {
		if !r.ok {
			failed = append(failed, r.at)
		}
	}
	return len(p.results), failed
}
