package nginxpair_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// The lab: the service net 198.18.20.0/24 (A .1, B .2, client .100, VIP
// .50) carries VRRP and the client's requests; the gossip net
// 198.18.21.0/24 (A .1, B .2, arbiter .10) is the second path.
var (
	vip     = netip.MustParseAddr("198.18.20.50")
	arbAddr = netip.MustParseAddr("198.18.21.10")
)

type node struct {
	t            *testing.T
	name         string // node_name in the example: lb-a, lb-b
	ns           *lab.NS
	vif          string
	vaddr, gaddr netip.Addr
	dir          string // scripts, configurations, nginx, run directory
	files        nodeFiles
	vigil        *lab.Proc
	vigilOut     lab.Buffer
	nginx        *lab.Proc
	nginxOut     lab.Buffer
	watch        *lab.AddrWatch
}

type bed struct {
	t          *testing.T
	vnet, gnet *lab.Lab
	a, b       *node
	client     *lab.NS
	clientIf   string
	arbNS      *lab.NS
	arbDir     string
	arb        *lab.Proc
	arbOut     lab.Buffer
	http       *client
}

// scratchDir is a directory for one node's scripts and files. Not under
// /tmp: the example sets enable_script_security, which refuses a script
// any of whose directories others may write (as /tmp is), and that is
// part of what is proven.
func scratchDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/run", "vigil-nginxpair-")
	if err != nil {
		t.Fatalf("scratch directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// nginx's workers (nobody) read the web root below it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newBed(t *testing.T) *bed {
	for _, tool := range []string{"nginx", "curl", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make test installs it)", tool)
		}
	}
	b := &bed{t: t, vnet: lab.New(t), gnet: lab.New(t)}
	mk := func(which, name string, last byte) *node {
		ns := b.vnet.Namespace(which)
		n := &node{t: t, name: name, ns: ns, dir: scratchDir(t),
			vaddr: netip.AddrFrom4([4]byte{198, 18, 20, last}), gaddr: netip.AddrFrom4([4]byte{198, 18, 21, last})}
		n.vif = b.vnet.Connect(ns, n.vaddr.String()+"/24")
		b.gnet.Connect(ns, n.gaddr.String()+"/24")
		n.watch = ns.WatchAddrs()
		return n
	}
	b.a, b.b = mk("a", "lb-a", 1), mk("b", "lb-b", 2)
	gp := func(a netip.Addr) string { return netip.AddrPortFrom(a, 7946).String() }
	for _, n := range []*node{b.a, b.b} {
		which := strings.TrimPrefix(n.name, "lb-")
		n.files = renderNode(t, which, n.dir, n.vif, vip.String()+"/24", gp(b.a.gaddr), gp(b.b.gaddr), gp(arbAddr))
		n.setupNginx()
	}
	b.client = b.vnet.Namespace("client")
	b.clientIf = b.vnet.Connect(b.client, "198.18.20.100/24")
	b.arbNS = b.gnet.Namespace("arbiter")
	b.gnet.Connect(b.arbNS, arbAddr.String()+"/24")
	b.arbDir = t.TempDir()

	// Runs before the labs' teardown (cleanups are LIFO): stop the
	// daemons while their directories exist; logs on failure.
	t.Cleanup(func() {
		if b.http != nil {
			b.http.stop()
		}
		for _, n := range []*node{b.a, b.b} {
			n.vigil.Kill(t, syscall.SIGKILL)
			n.nginx.Kill(t, syscall.SIGKILL)
		}
		b.arb.Kill(t, syscall.SIGKILL)
		if t.Failed() || os.Getenv("VIGIL_NGINXPAIR_LOGS") != "" {
			for _, n := range []*node{b.a, b.b} {
				t.Logf("--- %s vigil output:\n%s", n.name, tail(n.vigilOut.String(), 120))
				t.Logf("--- %s nginx output:\n%s", n.name, tail(n.nginxOut.String(), 20))
				t.Logf("--- %s notify.sh log:\n%s", n.name, n.notified())
			}
			t.Logf("--- arbiter output:\n%s", tail(b.arbOut.String(), 40))
		}
	})
	return b
}

// setupNginx writes the node's web root (the page names the node, as the
// README's install step writes it) and its nginx.conf around the
// example's site.
func (n *node) setupNginx() {
	root := filepath.Join(n.dir, "www")
	for _, d := range []string{root, filepath.Join(n.dir, "nginx", "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			n.t.Fatal(err)
		}
	}
	write(n.t, filepath.Join(root, "index.html"), "served by "+n.name+"\n", 0o644)
	site := filepath.Join(n.dir, "nginx", "site.conf")
	write(n.t, site, renderSite(n.t, root), 0o644)
	write(n.t, filepath.Join(n.dir, "nginx", "nginx.conf"), nginxConf(filepath.Join(n.dir, "nginx"), site), 0o644)
}

// startNginx runs nginx in the foreground in the node's namespace and
// waits until the example's check_nginx.sh passes there.
func (n *node) startNginx() {
	n.t.Helper()
	c := n.ns.Start(&n.nginxOut, &n.nginxOut, "nginx", "-e", "stderr", "-c", filepath.Join(n.dir, "nginx", "nginx.conf"))
	n.nginx = lab.Track(c)
	check := filepath.Join(n.dir, "check_nginx.sh")
	waitFor(n.t, 10*time.Second, n.name+"'s nginx answers check_nginx.sh", func() bool {
		_, err := n.ns.Run(check, "http://127.0.0.1/health")
		return err == nil
	})
}

// stopNginx stops nginx (SIGTERM, the fast shutdown) and waits for it.
func (n *node) stopNginx() {
	n.t.Helper()
	n.nginx.Kill(n.t, syscall.SIGTERM)
}

// startVigil runs `vigil run` on the node's configuration, as the unit
// does, with notify.sh's log file set.
func (n *node) startVigil() {
	n.t.Helper()
	c := n.ns.Start(&n.vigilOut, &n.vigilOut, "env", "NGINX_PAIR_LOG="+filepath.Join(n.dir, "notify.log"),
		vigilBin, "run", "-f", n.files.Keepalived, "--run-dir", filepath.Join(n.dir, "run"), "--log-format", "json")
	n.vigil = lab.Track(c)
}

// notified is what notify.sh has logged on the node.
func (n *node) notified() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "notify.log"))
	return string(b)
}

// startArbiter runs `vigil arbiter -f` on node A's arbiter.conf, as the
// example's README has the arbiter host do (the unit's command line, with
// the state and a status socket in the test's directory).
func (b *bed) startArbiter() {
	b.t.Helper()
	c := b.arbNS.Start(&b.arbOut, &b.arbOut, vigilBin, "arbiter", "-f", b.a.files.Arbiter,
		"--state", filepath.Join(b.arbDir, "arbiter.json"), "--status", "unix:"+b.arbSock(), "--log-format", "json")
	b.arb = lab.Track(c)
}

func (b *bed) arbSock() string { return filepath.Join(b.arbDir, "status.sock") }

// leaseHolder is the holder of the arbiter's leases, from its JSON status
// over the unix socket (not bound to a namespace).
func (b *bed) leaseHolder() string {
	return strings.Join(lab.LeaseHolders(b.arbSock()), ",")
}

// steady starts everything and waits until A serves the VIP: A has it, B
// does not, A holds the lease, and the client's requests reach lb-a.
func (b *bed) steady() {
	b.t.Helper()
	b.a.startNginx()
	b.b.startNginx()
	b.startArbiter()
	b.a.startVigil()
	b.a.watch.Wait(vip, true, 20*time.Second)
	b.b.startVigil()
	waitFor(b.t, 15*time.Second, "lb-a holds the lease at the arbiter", func() bool { return b.leaseHolder() == "lb-a" })
	// B is an established BACKUP once it has heard A: its notify.sh
	// reported BACKUP.
	waitFor(b.t, 15*time.Second, "lb-b's notify.sh reports BACKUP", func() bool {
		return strings.Contains(b.b.notified(), "INSTANCE VI_WEB is BACKUP")
	})
	if b.b.watch.Has(vip) {
		b.t.Fatalf("lb-b holds the VIP in the steady state")
	}
	b.http = startClient(b.t, b.client, "http://"+vip.String()+"/", 10*time.Millisecond, 300*time.Millisecond)
	waitFor(b.t, 10*time.Second, "the client is served by lb-a through the VIP", func() bool {
		rs := b.http.since(time.Now().Add(-200 * time.Millisecond))
		return len(rs) > 0 && rs[len(rs)-1].OK && rs[len(rs)-1].Node == "lb-a"
	})
}

// vigilPids are the node's vigil processes (the parent and its children):
// every process in its namespace whose executable is the test's vigil.
func (n *node) vigilPids() []int {
	n.t.Helper()
	out, err := exec.Command("ip", "netns", "pids", n.ns.Name).Output()
	if err != nil {
		n.t.Fatalf("ip netns pids %s: %v", n.ns.Name, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == vigilBin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ---------------------------------------------------------------- helpers

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
