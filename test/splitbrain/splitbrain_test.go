// Package splitbrain_test runs the split-brain acceptance scenarios (S1-S6
// of arbiter/README.md) end to end with real processes: two `vigil run`
// nodes with an arbiter block, `vigil arbiter` on a third namespace, a
// client probing the VIP; and the same cuts against a keepalived pair, the
// baseline. Figures go to docs/split-brain.md.
//
// Two networks, each a lab (its own switch): the VRRP net 198.18.2.0/24
// (A .1, B .2, client .100, VIP .50) and the gossip net 198.18.3.0/24 (A
// .1, B .2, arbiters .10 .11 .12). Cuts are nftables rules inside the
// namespaces: a node drops what arrives from the other node's address on a
// net (S1, S3); an isolated node's switch ports drop everything, ARP
// included, in a bridge table of the switch namespaces (S2), so its links
// stay up as with a failed switch rather than a pulled cable.
package splitbrain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

var vigilBin string

func TestMain(m *testing.M) { lab.MainWithVigil(m, &vigilBin) }

const (
	secret = "split-brain acceptance secret"
	// Observation windows: longer than B's master-down interval (3.61 s
	// at advert_int 1, priority 100) and than a lease (3 s).
	observe = 5 * time.Second
)

var (
	vip     = netip.MustParseAddr("198.18.2.50")
	service = netip.AddrPortFrom(vip, 8080)
	arbAddr = []netip.Addr{netip.MustParseAddr("198.18.3.10"), netip.MustParseAddr("198.18.3.11"), netip.MustParseAddr("198.18.3.12")}
)

// ---------------------------------------------------------------- the bed

type node struct {
	t            *testing.T
	name         string
	ns           *lab.NS
	vif, gif     string     // interfaces on the VRRP and gossip nets
	vaddr, gaddr netip.Addr // their addresses
	prio         int
	dir          string
	conf         string
	cmd          *lab.Proc
	out          lab.Buffer
	watch        *lab.AddrWatch
}

type arbiter struct {
	name  string
	ns    *lab.NS
	addr  netip.Addr
	dir   string
	cmd   *lab.Proc
	out   lab.Buffer
	sock  string
	peers []netip.Addr
}

type bed struct {
	t          *testing.T
	vnet, gnet *lab.Lab
	a, b       *node
	client     *lab.NS
	arbs       []*arbiter
	keepalived bool
	probe      *lab.Probe
}

// newBed builds both networks with narbs arbiter namespaces (0 for the
// keepalived pair, which has no gossip path).
func newBed(t *testing.T, narbs int, keepalived bool) *bed {
	b := &bed{t: t, keepalived: keepalived}
	b.vnet = lab.New(t)
	b.gnet = lab.New(t)
	mk := func(name string, last byte, prio int) *node {
		ns := b.vnet.Namespace(name)
		n := &node{t: t, name: name, ns: ns, prio: prio, dir: t.TempDir(),
			vaddr: netip.AddrFrom4([4]byte{198, 18, 2, last}), gaddr: netip.AddrFrom4([4]byte{198, 18, 3, last})}
		n.vif = b.vnet.Connect(ns, n.vaddr.String()+"/24")
		if !keepalived {
			n.gif = b.gnet.Connect(ns, n.gaddr.String()+"/24")
		}
		n.conf = filepath.Join(n.dir, "keepalived.conf")
		n.watch = ns.WatchAddrs()
		ns.Serve(8080)
		return n
	}
	b.a, b.b = mk("a", 1, 150), mk("b", 2, 100)
	b.client = b.vnet.Namespace("client")
	b.vnet.Connect(b.client, "198.18.2.100/24")
	for i := 0; i < narbs; i++ {
		name := fmt.Sprintf("arb%d", i+1)
		ns := b.gnet.Namespace(name)
		b.gnet.Connect(ns, arbAddr[i].String()+"/24")
		dir := t.TempDir()
		b.arbs = append(b.arbs, &arbiter{name: name, ns: ns, addr: arbAddr[i], dir: dir,
			sock: filepath.Join(dir, "status.sock"), peers: []netip.Addr{b.a.gaddr, b.b.gaddr}})
	}
	// Runs before the labs' teardown (cleanups are LIFO): stop the
	// daemons while their directories exist, and show their logs on
	// failure (or always with VIGIL_SPLITBRAIN_LOGS=1).
	t.Cleanup(func() {
		for _, n := range []*node{b.a, b.b} {
			n.cmd.Kill(t, syscall.SIGKILL)
		}
		for _, r := range b.arbs {
			r.cmd.Kill(t, syscall.SIGKILL)
		}
		if t.Failed() || os.Getenv("VIGIL_SPLITBRAIN_LOGS") != "" {
			for _, n := range []*node{b.a, b.b} {
				t.Logf("--- %s output:\n%s", n.name, tail(n.out.String(), 200))
			}
			for _, r := range b.arbs {
				t.Logf("--- %s output:\n%s", r.name, tail(r.out.String(), 60))
			}
		}
	})
	return b
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func (b *bed) conf(n *node) string {
	// A tracked script that always succeeds: a track state then arrives
	// before the instance starts or resumes, as in the reference
	// deployments (a restarted master's vrrpd once reported INIT then,
	// and its agent gave the lease away).
	s := fmt.Sprintf(`vrrp_script chk_ok {
    script "/bin/true"
    interval 1
    weight -60
}
vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
    track_script {
        chk_ok
    }
}
`, n.vif, n.prio, vip)
	if b.keepalived {
		return s
	}
	peer := b.a
	if n == b.a {
		peer = b.b
	}
	var arbs strings.Builder
	for _, r := range b.arbs {
		fmt.Fprintf(&arbs, "    arbiter %s:7946\n", r.addr)
	}
	return s + fmt.Sprintf(`arbiter {
    node_name %s
    bind %s:7946
    peer %s:7946
%s    secret "%s"
    require_quorum
    notify_fence "%s"
}
`, n.name, n.gaddr, peer.gaddr, arbs.String(), secret, n.fenceScript())
}

// fenceScript writes the node's notify_fence hook: it appends its
// arguments to fence.log in the node's directory.
func (n *node) fenceScript() string {
	path := filepath.Join(n.dir, "fence.sh")
	body := "#!/bin/sh\necho \"$*\" >> " + filepath.Join(n.dir, "fence.log") + "\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		n.t.Fatal(err)
	}
	return path
}

// fenced is what the node's notify_fence hook has logged.
func (n *node) fenced() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "fence.log"))
	return string(b)
}

func (b *bed) startNode(n *node) {
	b.t.Helper()
	if err := os.WriteFile(n.conf, []byte(b.conf(n)), 0o644); err != nil {
		b.t.Fatal(err)
	}
	if b.keepalived {
		c := n.ns.Start(&n.out, &n.out, "keepalived", "-n", "-l", "-D", "-P", "-f", n.conf,
			"-p", filepath.Join(n.dir, "k.pid"), "-r", filepath.Join(n.dir, "v.pid"), "-c", filepath.Join(n.dir, "c.pid"))
		n.cmd = lab.Track(c)
		return
	}
	c := n.ns.Start(&n.out, &n.out, vigilBin, "run", "-f", n.conf, "--run-dir", filepath.Join(n.dir, "run"), "--log-format", "json")
	n.cmd = lab.Track(c)
}

func (b *bed) startArbiter(r *arbiter) {
	b.t.Helper()
	sf := filepath.Join(r.dir, "secret")
	if err := os.WriteFile(sf, []byte(secret+"\n"), 0o600); err != nil {
		b.t.Fatal(err)
	}
	args := []string{"arbiter", "--bind", r.addr.String() + ":7946", "--secret-file", sf, "--name", r.name,
		"--state", filepath.Join(r.dir, "state.json"), "--status", "unix:" + r.sock, "--log-format", "json"}
	for _, p := range r.peers {
		args = append(args, "--peer", p.String()+":7946")
	}
	c := r.ns.Start(&r.out, &r.out, vigilBin, args...)
	r.cmd = lab.Track(c)
}

// childPid returns the pid of a node's running child (vigil status
// --json), 0 when it is not running.
func (n *node) childPid(name string) int {
	out, err := n.ns.Run(vigilBin, "status", "--json", "--run-dir", filepath.Join(n.dir, "run"))
	if err != nil {
		return 0
	}
	var st struct {
		Children []struct {
			Name  string `json:"name"`
			State string `json:"state"`
			PID   int    `json:"pid"`
		} `json:"children"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return 0
	}
	for _, c := range st.Children {
		if c.Name == name && c.State == "running" {
			return c.PID
		}
	}
	return 0
}

// steady starts everything and waits until A owns the VIP, B does not,
// and (Vigil) A holds the lease at every running arbiter.
func (b *bed) steady() {
	b.t.Helper()
	for _, r := range b.arbs {
		b.startArbiter(r)
	}
	b.startNode(b.a)
	time.Sleep(300 * time.Millisecond) // A first: it becomes MASTER with nobody to preempt
	b.startNode(b.b)
	b.a.watch.Wait(vip, true, 20*time.Second)
	if !b.keepalived {
		b.waitFor(15*time.Second, "A holds the lease at every arbiter", func() bool {
			for _, r := range b.arbs {
				if !strings.Contains(r.leaseHolder(), "a") {
					return false
				}
			}
			return true
		})
	}
	time.Sleep(1500 * time.Millisecond) // past B's start, so B is an established BACKUP
	if b.b.watch.Has(vip) {
		b.t.Fatalf("B holds the VIP in the steady state")
	}
	b.probe = b.client.StartProbeTimeout(service, 10*time.Millisecond, 200*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
}

// metrics scrapes the arbiter's /metrics over its unix socket.
func (r *arbiter) metrics() string {
	hc := http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", r.sock)
		}}}
	resp, err := hc.Get("http://arbiter/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (r *arbiter) leaseHolder() string {
	return strings.Join(lab.LeaseHolders(r.sock), ",")
}

func (b *bed) waitFor(timeout time.Duration, what string, ok func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			b.t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- cuts

// cutVRRP: S1, the nodes drop each other's packets on the VRRP net.
func (b *bed) cutVRRP() {
	b.a.ns.DropFrom("vgt_vrrp", b.b.vaddr)
	b.b.ns.DropFrom("vgt_vrrp", b.a.vaddr)
}

func (b *bed) healVRRP() {
	b.a.ns.Heal("vgt_vrrp")
	b.b.ns.Heal("vgt_vrrp")
}

// cutGossip: the nodes drop each other's packets on the gossip net.
func (b *bed) cutGossip() {
	b.a.ns.DropFrom("vgt_gossip", b.b.gaddr)
	b.b.ns.DropFrom("vgt_gossip", b.a.gaddr)
}

func (b *bed) healGossip() {
	b.a.ns.Heal("vgt_gossip")
	b.b.ns.Heal("vgt_gossip")
}

// isolate cuts n off both networks at its switch ports: a bridge table
// in each switch namespace drops every frame from or to n's port, ARP
// included; the links stay up.
func (b *bed) isolate(n *node, on bool) {
	b.vnet.Isolate(n.vif, on)
	if n.gif != "" {
		b.gnet.Isolate(n.gif, on)
	}
}

// ---------------------------------------------------------------- figures

// result is one scenario's figures on one implementation.
type result struct {
	Scenario string
	DualHold time.Duration // both nodes hold the VIP
	NoHold   time.Duration // neither does
	Failed   int           // failed client connects
	// FirstFail, LastFail: when the first and last of them started,
	// after the window's start (for the log).
	FirstFail, LastFail time.Duration
	Takeover            time.Duration // B took the VIP this long after the cut (-1: never)
	Transitions         int           // VIP additions and removals on either node
	Owner               string        // who holds the VIP at the end of the window
}

// measure computes a window's figures from the kernel's address events
// on both nodes (exact times, not samples) and the probe's failures.
func (b *bed) measure(name string, from, to time.Time) result {
	r := result{Scenario: name, Takeover: -1}
	evA, evB := b.a.watch.Events(vip), b.b.watch.Events(vip)
	at := func(evs []lab.AddrEvent, t time.Time) bool {
		has := false
		for _, e := range evs {
			if !e.At.After(t) {
				has = e.Added
			}
		}
		return has
	}
	type ev struct {
		at    time.Time
		b     bool
		added bool
	}
	var all []ev
	for _, e := range evA {
		if e.At.After(from) && !e.At.After(to) {
			all = append(all, ev{e.At, false, e.Added})
		}
	}
	for _, e := range evB {
		if e.At.After(from) && !e.At.After(to) {
			all = append(all, ev{e.At, true, e.Added})
			if e.Added && r.Takeover < 0 {
				r.Takeover = e.At.Sub(from)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	hasA, hasB := at(evA, from), at(evB, from)
	prev := from
	account := func(until time.Time) {
		switch {
		case hasA && hasB:
			r.DualHold += until.Sub(prev)
		case !hasA && !hasB:
			r.NoHold += until.Sub(prev)
		}
		prev = until
	}
	for _, e := range all {
		account(e.at)
		if e.b {
			hasB = e.added
		} else {
			hasA = e.added
		}
	}
	account(to)
	r.Transitions = len(all)
	switch {
	case hasA && hasB:
		r.Owner = "A+B"
	case hasA:
		r.Owner = "A"
	case hasB:
		r.Owner = "B"
	default:
		r.Owner = "none"
	}
	if b.probe != nil {
		_, fails := b.probe.Result()
		for _, f := range fails {
			if !f.Before(from) && f.Before(to) {
				if r.Failed == 0 {
					r.FirstFail = f.Sub(from)
				}
				r.LastFail = f.Sub(from)
				r.Failed++
			}
		}
	}
	return r
}

// window marks a scenario's start; its figures are taken when it ends.
type window struct {
	b    *bed
	name string
	from time.Time
}

func (b *bed) begin(name string) *window { return &window{b: b, name: name, from: time.Now()} }

func (w *window) end() result {
	time.Sleep(50 * time.Millisecond) // let the watchers read the last events
	r := w.b.measure(w.name, w.from, time.Now())
	fails := ""
	if r.Failed > 0 {
		fails = fmt.Sprintf(" (from %v to %v)", ms(r.FirstFail), ms(r.LastFail))
	}
	w.b.t.Logf("%s: dual-hold %v, no-hold %v, failed probes %d%s, takeover %v, transitions %d, owner %s",
		r.Scenario, ms(r.DualHold), ms(r.NoHold), r.Failed, fails, ms(r.Takeover), r.Transitions, r.Owner)
	return r
}

func ms(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

// ---------------------------------------------------------------- results

type results struct {
	mu   sync.Mutex
	rows map[string][]result // by implementation
}

func (rs *results) add(impl string, r result) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.rows == nil {
		rs.rows = map[string][]result{}
	}
	rs.rows[impl] = append(rs.rows[impl], r)
}

// table prints Vigil's and keepalived's figures side by side, one row per
// scenario; the three-arbiter runs are Vigil rows of their own (S6).
func (rs *results) table() string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	type row struct{ vigil, ka *result }
	rows := map[string]*row{}
	var order []string
	get := func(sc string) *row {
		if rows[sc] == nil {
			rows[sc] = &row{}
			order = append(order, sc)
		}
		return rows[sc]
	}
	for _, impl := range []string{"vigil", "vigil-3-arbiters", "keepalived"} {
		for i := range rs.rows[impl] {
			r := &rs.rows[impl][i]
			switch impl {
			case "vigil":
				get(r.Scenario).vigil = r
			case "vigil-3-arbiters":
				sc := r.Scenario
				if !strings.HasPrefix(sc, "S6") {
					sc = "S6 (2 of 3 arbiters up): " + sc
				}
				get(sc).vigil = r
			default:
				get(r.Scenario).ka = r
			}
		}
	}
	// Rows in the order Vigil ran them (keepalived's fill the same
	// rows), the three-arbiter runs last.
	cells := func(r *result) string {
		if r == nil {
			return "| | | | | "
		}
		return fmt.Sprintf("| %s | %s | %d | %s | %s ", ms(r.DualHold), ms(r.NoHold), r.Failed, ms(r.Takeover), r.Owner)
	}
	var sb strings.Builder
	sb.WriteString("| scenario | Vigil dual-hold | no-hold | failed probes | takeover | owner after " +
		"| keepalived dual-hold | no-hold | failed probes | takeover | owner after |\n")
	sb.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, sc := range order {
		fmt.Fprintf(&sb, "| %s %s%s|\n", sc, cells(rows[sc].vigil), cells(rows[sc].ka))
	}
	return sb.String()
}
