package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/internal/vrrplab"
)

// The pair's timings, as in examples/nginx-pair's keepalived.conf.
const (
	advertInt     = time.Second
	checkInterval = time.Second // chk_nginx's interval
	fall          = 2           // chk_nginx's fall
	leaseTTL      = 3 * time.Second
)

// masterDown is lb-b's Master_Down_Interval (VRRPv2, priority 100).
var masterDown = vrrplab.MasterDown(2, 100, advertInt)

var (
	vip       = netip.MustParsePrefix("198.18.1.50/24")
	addrA     = netip.MustParsePrefix("198.18.1.1/24")
	addrB     = netip.MustParsePrefix("198.18.1.2/24")
	addrCli   = netip.MustParsePrefix("198.18.1.100/24")
	gossA     = netip.MustParsePrefix("198.18.3.1/24")
	gossB     = netip.MustParsePrefix("198.18.3.2/24")
	gossArb   = netip.MustParsePrefix("198.18.3.10/24")
	vipURL    = "http://" + vip.Addr().String() + "/"
	demoNodes = []string{"lb-a", "lb-b"}
)

// demo is the running deployment and what the acts found.
type demo struct {
	r    *reporter
	tl   *timeline
	vip  netip.Addr
	a, b *node
	cli  *client
	view *liveView
	// allowed are the stretches where failed GETs are expected (between
	// a failure and the client being served again); a GET failing
	// anywhere else is a problem.
	allowed  []window
	problems []string
	figures  []string // the acts' measures, for the verdict
}

// setup deploys the example in the lab, starts the servers and waits
// until lb-a holds the VIP and the client is served through it.
func setup(r *reporter, bin, examples string) *demo {
	d := &demo{r: r, tl: newTimeline(), vip: vip.Addr()}
	s := newScratch(r)
	e := installExample(r, s, examples, gossArb.Addr())
	clientNS := d.buildLab(s, e, bin)
	fmt.Printf("     %s/keepalived-{a,b}.conf, arbiter-{a,b}.conf and nginx/nginx-pair.conf as they stand,\n", examples)
	fmt.Printf("     only the interface, the addresses and the paths rewritten for the lab (cmd/vigil-demo/example.go);\n")
	fmt.Printf("     chk_nginx runs check_nginx.sh http://127.0.0.1/health every second: fall 2, rise 2, weight -60\n\n")
	d.startNginx(clientNS)
	confA, confB := d.a.install(e), d.b.install(e)
	d.tl.say(time.Now(), "vigil check-config: both nodes' configurations are valid")
	d.a.startVigil(confA)
	d.b.startVigil(confB)
	d.tl.say(time.Now(), "vigil run started on lb-a and lb-b (supervisor, vrrpd, checkd, arbiter agent), both in state BACKUP")
	elected, ok := d.a.waitVIP(d.vip, true, 15*time.Second)
	if !ok {
		r.Fatalf("lb-a did not become MASTER within 15 s")
	}
	d.tl.say(elected, "lb-a elected MASTER: VIP %s up on lb-a", d.vip)
	d.cli = startClient(r, clientNS, vipURL)
	d.tl.say(time.Now(), "client: GET %s every %d ms, a new connection each, %d ms timeout", vipURL, fetchInterval.Milliseconds(), fetchTimeout.Milliseconds())
	d.view = startView(r, d.tl, d.cli, d.a, d.b)
	if _, ok := d.cli.waitServed(elected, "lb-a", 100, 5*time.Second); !ok {
		r.Fatalf("the client was not served by lb-a through the VIP (100 GETs in a row within 5 s)")
	}
	return d
}

// buildLab makes the namespaces: lb-a, lb-b and the client on the service
// LAN; lb-a, lb-b and the arbiter (running `vigil arbiter`) on the gossip
// net. It returns the client's namespace.
func (d *demo) buildLab(s *scratch, e *example, bin string) *lab.NS {
	l := lab.New(d.r)
	d.a = newNode(d.r, s, e, l, "a", addrA, bin)
	d.b = newNode(d.r, s, e, l, "b", addrB, bin)
	clientNS := l.Namespace("client")
	l.Connect(clientNS, addrCli.String())
	g := lab.New(d.r)
	arb := g.Namespace("arbiter")
	g.Connect(arb, gossArb.String())
	d.a.join(g, gossA)
	d.b.join(g, gossB)
	fmt.Printf("lab: lb-a %s (priority 150), lb-b %s (priority 100) and a client %s on the service LAN, VIP %s;\n",
		addrA, addrB, addrCli, vip)
	fmt.Printf("     the gossip net for the arbiter's path: lb-a %s, lb-b %s, `vigil arbiter` on %s\n",
		gossA.Addr(), gossB.Addr(), gossArb.Addr())
	startArbiter(d.r, s, e, arb, bin)
	return clientNS
}

// startNginx starts nginx on both nodes and waits until each serves its
// page to the client on the node's own address.
func (d *demo) startNginx(clientNS *lab.NS) {
	var dials sync.WaitGroup
	defer dials.Wait()
	h := newHTTP(clientNS, &dials)
	for _, n := range []*node{d.a, d.b} {
		n.web.start()
		url := "http://" + n.addr.String() + "/"
		at, ok := waitPage(h, url, n.name, 5*time.Second)
		if !ok {
			d.r.Fatalf("nginx on %s did not serve its page within 5 s:\n%s", n.name, n.web.errorLog())
		}
		d.tl.say(at, "nginx on %s answers %s: \"served by %s\"", n.name, url, n.name)
	}
}

// startArbiter runs `vigil arbiter -f` in its namespace on lb-a's
// arbiter.conf, as the example's README has the arbiter host do: it binds
// the block's only arbiter address and takes bind and peer as the nodes.
func startArbiter(r *reporter, s *scratch, e *example, ns *lab.NS, bin string) {
	dir := s.mkdir(r, "arbiter")
	conf := filepath.Join(dir, "arbiter.conf")
	if err := os.WriteFile(conf, []byte(e.arbiterConf(r, "a")), 0o600); err != nil {
		r.Fatalf("arbiter: %v", err)
	}
	var out lab.Buffer
	cmd := ns.StartOutput(&out, &out, bin, "arbiter", "-f", conf, "--state", filepath.Join(dir, "state.json"),
		"--name", "arbiter", "--log-format", "json")
	r.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if r.verbose {
			fmt.Printf("--- arbiter output:\n%s", out.String())
		}
	})
}

// expect records a problem unless ok; it reports ok.
func (d *demo) expect(ok bool, format string, args ...any) bool {
	if !ok {
		what := fmt.Sprintf(format, args...)
		d.problems = append(d.problems, "expected: "+what)
		fmt.Printf("%s  PROBLEM: expected %s\n", d.tl.ms(time.Now()), what)
	}
	return ok
}

// expectQuiet checks that nothing moved since from: the VIP stayed on
// lb-a, lb-b never held it, and no GET failed.
func (d *demo) expectQuiet(from time.Time, what string) {
	left := slices.ContainsFunc(d.a.watch.Events(d.vip), func(e lab.AddrEvent) bool { return !e.Added && e.At.After(from) })
	dual := d.b.watch.Has(d.vip) || slices.ContainsFunc(d.b.watch.Events(d.vip), func(e lab.AddrEvent) bool { return e.Added && e.At.After(from) })
	failed := d.cli.failedBetween(from, time.Now())
	d.tl.say(time.Now(), "since %s: VIP left lb-a: %v; lb-b held it: %v; GETs failed: %d", what, left, dual, failed)
	d.expect(!left && !dual && failed == 0, "nothing to move during %s", what)
}

// arpGrace is how long after the VIP arrived GETs may still fail: the
// new master's gratuitous ARP has to reach the client (a few ms here).
const arpGrace = 100 * time.Millisecond

// recovered allows the GETs failing from the failure at since until the
// VIP arrived on node (moved), then waits for the client to be served by
// node again and says how long it went without service. A GET failing
// after moved + arpGrace is a problem: the VIP has to stay where it went.
func (d *demo) recovered(since, moved time.Time, node string) {
	if moved.Before(since) {
		moved = since // the VIP never left node
	}
	d.allowed = append(d.allowed, window{from: since, to: moved.Add(arpGrace)})
	back, ok := d.cli.waitServed(since, node, recoveredGETs, 10*time.Second)
	if !d.expect(ok, "the client served by %s again within 10 s", node) {
		return
	}
	failed := d.cli.failedBetween(since, back)
	d.tl.say(back, "client served by %s again: %d GETs failed in %d ms", node, failed, back.Sub(since).Milliseconds())
	late := d.cli.failedBetween(moved.Add(arpGrace), back)
	d.expect(late == 0, "no GET failing once the VIP was on %s (%d did)", node, late)
}
