package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
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

// masterDown is web2's Master_Down_Interval (VRRPv2, priority 100).
var masterDown = vrrplab.MasterDown(2, 100, advertInt)

var (
	vip       = netip.MustParsePrefix("198.18.1.50/24")
	addrWeb1  = netip.MustParsePrefix("198.18.1.1/24")
	addrWeb2  = netip.MustParsePrefix("198.18.1.2/24")
	addrCli   = netip.MustParsePrefix("198.18.1.100/24")
	gossWeb1  = netip.MustParsePrefix("198.18.3.1/24")
	gossWeb2  = netip.MustParsePrefix("198.18.3.2/24")
	gossArb   = netip.MustParsePrefix("198.18.3.10/24")
	vipURL    = "http://" + vip.Addr().String() + "/"
	demoNodes = []string{"web1", "web2"}
)

// demoSecret is the gossip secret of the lab (any string; the key is
// derived from it).
const demoSecret = "vigil demo secret"

// demo is the running deployment and what the acts found.
type demo struct {
	r          *reporter
	tl         *timeline
	vip        netip.Addr
	web1, web2 *node
	cli        *client
	view       *liveView
	// allowed are the stretches where failed GETs are expected (between
	// a failure and the client being served again); a GET failing
	// anywhere else is a problem.
	allowed  []window
	problems []string
}

// setup builds the lab, starts the servers and waits until web1 holds
// the VIP and the client is served through it.
func setup(r *reporter, bin, check string) *demo {
	d := &demo{r: r, tl: newTimeline(), vip: vip.Addr()}
	clientNS := d.buildLab(newScratch(r), bin)
	fmt.Printf("     chk_nginx: %s http://127.0.0.1/health, interval 1, fall 2, rise 2, weight -60\n\n", check)
	d.startNginx(clientNS)
	d.web1.startVigil(d.web1.config(d.web2, check, vip, gossArb.Addr()))
	d.web2.startVigil(d.web2.config(d.web1, check, vip, gossArb.Addr()))
	d.tl.say(time.Now(), "vigil run started on web1 and web2 (supervisor, vrrpd, checkd, arbiter agent), both in state BACKUP")
	elected, ok := d.web1.waitVIP(d.vip, true, 15*time.Second)
	if !ok {
		r.Fatalf("web1 did not become MASTER within 15 s")
	}
	d.tl.say(elected, "web1 elected MASTER: VIP %s up on web1", d.vip)
	d.cli = startClient(r, clientNS, vipURL)
	d.tl.say(time.Now(), "client: GET %s every %d ms, a new connection each, %d ms timeout", vipURL, fetchInterval.Milliseconds(), fetchTimeout.Milliseconds())
	d.view = startView(r, d.tl, d.cli, d.web1, d.web2)
	if _, ok := d.cli.waitServed(elected, "web1", 100, 5*time.Second); !ok {
		r.Fatalf("the client was not served by web1 through the VIP (100 GETs in a row within 5 s)")
	}
	return d
}

// buildLab makes the namespaces: web1, web2 and the client on the service
// LAN; web1, web2 and the arbiter (running `vigil arbiter`) on the gossip
// net. It returns the client's namespace.
func (d *demo) buildLab(s *scratch, bin string) *lab.NS {
	l := lab.New(d.r)
	d.web1 = newNode(d.r, s, l, "web1", 150, addrWeb1, bin)
	d.web2 = newNode(d.r, s, l, "web2", 100, addrWeb2, bin)
	clientNS := l.Namespace("client")
	l.Connect(clientNS, addrCli.String())
	g := lab.New(d.r)
	arb := g.Namespace("arbiter")
	g.Connect(arb, gossArb.String())
	d.web1.join(g, gossWeb1)
	d.web2.join(g, gossWeb2)
	fmt.Printf("lab: web1 %s (priority 150), web2 %s (priority 100) and a client %s on the service LAN, VIP %s;\n",
		addrWeb1, addrWeb2, addrCli, vip)
	fmt.Printf("     the gossip net for the arbiter's path: web1 %s, web2 %s, `vigil arbiter` on %s\n",
		gossWeb1.Addr(), gossWeb2.Addr(), gossArb.Addr())
	startArbiter(d.r, s, arb, bin)
	return clientNS
}

// startNginx starts nginx on both nodes and waits until each serves its
// page to the client on the node's own address.
func (d *demo) startNginx(clientNS *lab.NS) {
	h := newHTTP(clientNS)
	for _, n := range []*node{d.web1, d.web2} {
		n.web.start()
		url := "http://" + n.addr.String() + "/"
		at, ok := waitPage(h, url, n.name, 5*time.Second)
		if !ok {
			d.r.Fatalf("nginx on %s did not serve its page within 5 s:\n%s", n.name, n.web.errorLog())
		}
		d.tl.say(at, "nginx on %s answers %s: \"served by %s\"", n.name, url, n.name)
	}
}

// startArbiter runs `vigil arbiter` in its namespace.
func startArbiter(r *reporter, s *scratch, ns *lab.NS, bin string) {
	dir := s.mkdir(r, "arbiter")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(demoSecret+"\n"), 0o600); err != nil {
		r.Fatalf("%v", err)
	}
	var out lab.Buffer
	cmd := ns.StartOutput(&out, &out, bin, "arbiter", "--bind", gossArb.Addr().String()+":7946",
		"--peer", gossWeb1.Addr().String()+":7946", "--peer", gossWeb2.Addr().String()+":7946",
		"--secret-file", secret, "--state", filepath.Join(dir, "state.json"), "--name", "arbiter", "--log-format", "json")
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
// web1, web2 never held it, and no GET failed.
func (d *demo) expectQuiet(from time.Time, what string) {
	left := slices.ContainsFunc(d.web1.watch.Events(d.vip), func(e lab.AddrEvent) bool { return !e.Added && e.At.After(from) })
	dual := d.web2.watch.Has(d.vip) || slices.ContainsFunc(d.web2.watch.Events(d.vip), func(e lab.AddrEvent) bool { return e.Added && e.At.After(from) })
	failed := d.cli.failedBetween(from, time.Now())
	d.tl.say(time.Now(), "since %s: VIP left web1: %v; web2 held it: %v; GETs failed: %d", what, left, dual, failed)
	d.expect(!left && !dual && failed == 0, "nothing to move during %s", what)
}

// recovered waits for the client to be served by node again after a
// failure at since, says how long it went without service, and allows
// the GETs failed in between.
func (d *demo) recovered(since time.Time, node string) {
	back, ok := d.cli.waitServed(since, node, recoveredGETs, 10*time.Second)
	if !d.expect(ok, "the client served by %s again within 10 s", node) {
		return
	}
	d.allowed = append(d.allowed, window{from: since, to: back})
	failed := d.cli.failedBetween(since, back)
	d.tl.say(back, "client served by %s again: %d GETs failed in %d ms", node, failed, back.Sub(since).Milliseconds())
}
