package core_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

var vigilBin string

func TestMain(m *testing.M) { lab.MainWithVigil(m, &vigilBin) }

type node struct {
	t      *testing.T
	ns     *lab.NS
	ifname string
	dir    string
	runDir string
	conf   string
	cmd    *exec.Cmd
	out    lab.Buffer
	watch  *lab.AddrWatch
}

type cluster struct {
	a, b    *node
	client  *lab.NS
	vip     netip.Addr
	service netip.AddrPort
}

func conf(n *node, prio int, vips ...string) string {
	var v strings.Builder
	for _, x := range vips {
		fmt.Fprintf(&v, "        %s/24\n", x)
	}
	return fmt.Sprintf(`vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
%s    }
}
`, n.ifname, prio, v.String())
}

func newCluster(t *testing.T) *cluster {
	l := lab.New(t)
	c := &cluster{vip: netip.MustParseAddr("198.18.2.50")}
	mk := func(role, cidr string) *node {
		ns := l.Namespace(role)
		n := &node{t: t, ns: ns, ifname: l.Connect(ns, cidr), dir: t.TempDir()}
		n.runDir = filepath.Join(n.dir, "run")
		n.conf = filepath.Join(n.dir, "keepalived.conf")
		n.watch = ns.WatchAddrs()
		ns.Serve(8080)
		return n
	}
	c.a, c.b = mk("a", "198.18.2.1/24"), mk("b", "198.18.2.2/24")
	c.client = l.Namespace("client")
	l.Connect(c.client, "198.18.2.100/24")
	c.service = netip.AddrPortFrom(c.vip, 8080)
	// Runs first (cleanups are LIFO): stop the daemons before their
	// temporary directories are removed under them.
	t.Cleanup(func() {
		for _, n := range []*node{c.a, c.b} {
			n.kill(syscall.SIGKILL)
			if t.Failed() {
				t.Logf("--- %s output:\n%s", n.ns.Role, n.out.String())
			}
		}
	})
	return c
}

func (n *node) start(text string) {
	n.t.Helper()
	if err := os.WriteFile(n.conf, []byte(text), 0o644); err != nil {
		n.t.Fatal(err)
	}
	n.cmd = n.ns.Start(&n.out, &n.out, vigilBin, "run", "-f", n.conf, "--run-dir", n.runDir, "--log-format", "json")
}

func (n *node) kill(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, sig)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		n.t.Errorf("%s: vigil did not exit within 15s of %v", n.ns.Role, sig)
	}
}

// vigil runs a client command against this node's daemon.
func (n *node) vigil(args ...string) (string, error) {
	full := append([]string{args[0], "--run-dir", n.runDir}, args[1:]...)
	return n.ns.Run(vigilBin, full...)
}

type statusJSON struct {
	Children []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		PID      int    `json:"pid"`
		Restarts int    `json:"restarts"`
	} `json:"children"`
	VRRP struct {
		Instances []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"instances"`
	} `json:"vrrp"`
}

func (n *node) status() statusJSON {
	n.t.Helper()
	out, err := n.vigil("status", "--json")
	if err != nil {
		n.t.Fatalf("%s: vigil status: %v\n%s", n.ns.Role, err, out)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		n.t.Fatalf("%s: status JSON: %v\n%s", n.ns.Role, err, out)
	}
	return st
}

// waitChild waits until vrrpd runs with a pid other than not, and returns
// its pid.
func (n *node) waitChild(not int) int {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for {
		out, err := n.vigil("status", "--json")
		last = fmt.Sprintf("%v %s", err, out)
		if err == nil {
			var st statusJSON
			if json.Unmarshal([]byte(out), &st) == nil {
				for _, c := range st.Children {
					if c.Name == "vrrpd" && c.State == "running" && c.PID > 0 && c.PID != not {
						return c.PID
					}
				}
			}
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s: vrrpd not running after 15s; last status: %s\n%s", n.ns.Role, last, n.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// steady starts both nodes and waits for A to be master.
func (c *cluster) steady(t *testing.T) {
	c.a.start(conf(c.a, 150, "198.18.2.50"))
	c.b.start(conf(c.b, 100, "198.18.2.50"))
	c.a.watch.Wait(c.vip, true, 15*time.Second)
	c.a.waitChild(0)
	c.b.waitChild(0)
}

// assertHitless checks the promise after a disruption on A: the VIP never
// left A, the backup never took over, the client lost nothing.
func (c *cluster) assertHitless(t *testing.T, probe *lab.Probe, what string) {
	t.Helper()
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("%s: probe %d connects, %d failed", what, n, len(fails))
	if len(fails) != 0 {
		t.Errorf("%s: %d client connects failed: %v", what, len(fails), probe.Reasons())
	}
	for _, ev := range c.a.watch.Events(c.vip) {
		if !ev.Added {
			t.Errorf("%s: VIP removed from the master at %v", what, ev.At.Format("15:04:05.000"))
		}
	}
	if c.b.watch.Has(c.vip) || strings.Contains(c.b.out.String(), "Entering MASTER STATE") {
		t.Errorf("%s: the backup took over", what)
	}
}

func TestKillVRRPDIsHitless(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	pid := c.a.waitChild(0)
	for i := 0; i < 10; i++ {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill vrrpd %d: %v", pid, err)
		}
		pid = c.a.waitChild(pid)
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(4 * time.Second) // a master-down interval after the last kill
	c.assertHitless(t, probe, "10 x kill -9 vrrpd")
}

func TestRestartAndReloadAreHitless(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	pid := c.a.waitChild(0)
	if out, err := c.a.vigil("restart", "vrrpd"); err != nil {
		t.Fatalf("vigil restart vrrpd: %v\n%s", err, out)
	}
	pid = c.a.waitChild(pid)
	if out, err := c.a.vigil("reload"); err != nil {
		t.Fatalf("vigil reload: %v\n%s", err, out)
	}
	c.a.waitChild(pid)
	time.Sleep(4 * time.Second)
	c.assertHitless(t, probe, "restart + unchanged reload")

	// A changed VIP list adds only the difference.
	second := netip.MustParseAddr("198.18.2.60")
	if err := os.WriteFile(c.a.conf, []byte(conf(c.a, 150, "198.18.2.50", "198.18.2.60")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.b.conf, []byte(conf(c.b, 100, "198.18.2.50", "198.18.2.60")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.b.vigil("reload"); err != nil {
		t.Fatalf("reload b: %v\n%s", err, out)
	}
	if out, err := c.a.vigil("reload"); err != nil {
		t.Fatalf("reload a: %v\n%s", err, out)
	}
	c.a.watch.Wait(second, true, 10*time.Second)
	for _, ev := range c.a.watch.Events(c.vip) {
		if !ev.Added {
			t.Errorf("the unchanged VIP was removed during the reload")
		}
	}
	// An invalid configuration is refused and the running one kept.
	if err := os.WriteFile(c.a.conf, []byte("vrrp_instance VI_1 {\n priority 300\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.a.vigil("reload"); err == nil || !strings.Contains(out, "priority 300 is out of range") {
		t.Errorf("invalid reload accepted or unexplained: %v\n%s", err, out)
	}
	if !c.a.watch.Has(c.vip) || !c.a.watch.Has(second) {
		t.Errorf("an invalid reload moved the VIPs")
	}
}

// A vrrpd that cannot get back to work (it dies before its first
// snapshot, five times in a row) is given up on in a defined way: its VIPs
// are released so the peer takes over, and `vigil restart` revives it.
func TestCrashLoopGivesUpAndReleases(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	// Make every new vrrpd die at once: its configuration (handed over
	// IPC on restart) names an interface that does not exist.
	if err := os.WriteFile(c.a.conf, []byte(strings.Replace(conf(c.a, 150, "198.18.2.50"), c.a.ifname, "vgnosuchif0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.a.waitChild(0)
	if out, err := c.a.vigil("reload"); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	c.b.watch.Wait(c.vip, true, 10*time.Second)
	c.a.watch.Wait(c.vip, false, 10*time.Second)
	st := c.a.status()
	if len(st.Children) == 0 || st.Children[0].State != "given-up" {
		t.Fatalf("vrrpd not reported given-up: %+v", st.Children)
	}
	if !strings.Contains(c.a.out.String(), "giving up on child") {
		t.Errorf("give-up not logged")
	}
	// Fixed configuration, revived: it comes back and preempts.
	if err := os.WriteFile(c.a.conf, []byte(conf(c.a, 150, "198.18.2.50")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.a.vigil("reload"); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	if out, err := c.a.vigil("restart", "vrrpd"); err != nil {
		t.Fatalf("revive: %v\n%s", err, out)
	}
	c.a.waitChild(0)
	c.a.watch.Wait(c.vip, true, 15*time.Second)
}

// SIGTERM to the daemon: make-before-break, the client loses nothing.
func TestGracefulStopOfTheDaemon(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	c.a.kill(syscall.SIGTERM)
	c.b.watch.Wait(c.vip, true, 5*time.Second)
	c.a.watch.Wait(c.vip, false, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("graceful stop: probe %d connects, %d failed", n, len(fails))
	if len(fails) != 0 {
		t.Errorf("%d connects failed during a graceful stop", len(fails))
	}
	if _, err := os.Stat(filepath.Join(c.a.runDir, "vigil.pid")); err == nil {
		t.Errorf("pid file left behind")
	}
}

// vigil upgrade re-executes the daemon from a new binary in place: the PID
// stays, no VIP moves, the backup never takes over, the client loses
// nothing.
func TestUpgradeIsHitless(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	// A rebuilt binary at another path.
	newBin := filepath.Join(t.TempDir(), "vigil-new")
	if out, err := exec.Command("go", "build", "-o", newBin, "-ldflags", "-X main.upgradeMarker=new", "github.com/vigil-ha/vigil/cmd/vigil").CombinedOutput(); err != nil {
		t.Fatalf("build the new binary: %v\n%s", err, out)
	}
	before := c.a.status()
	oldChild := c.a.waitChild(0)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if out, err := c.a.vigil("upgrade", "--binary", newBin); err != nil || !strings.Contains(out, "upgraded to "+newBin) {
		t.Fatalf("vigil upgrade: %v\n%s", err, out)
	}
	c.a.waitChild(oldChild)
	time.Sleep(4 * time.Second) // a master-down interval
	c.assertHitless(t, probe, "upgrade")
	var pid int
	if out, err := c.a.vigil("status", "--json"); err == nil {
		var st struct {
			PID int `json:"pid"`
		}
		_ = json.Unmarshal([]byte(out), &st)
		pid = st.PID
	}
	if before.Children == nil || pid == 0 {
		t.Fatalf("no status after the upgrade")
	}
	if pid != c.a.cmd.Process.Pid && !strings.Contains(c.a.out.String(), "Upgrading: re-executing in place") {
		t.Errorf("the daemon did not re-execute in place")
	}
	if !strings.Contains(c.a.out.String(), "Resuming MASTER STATE") {
		t.Errorf("the new vrrpd did not resume MASTER")
	}
}

// vigil handoff: a planned switchover loses no client connect, and the
// handed-off node does not take the VIP back until --undo.
func TestHandoffLosesNothing(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	if out, err := c.a.vigil("handoff", "VI_1"); err != nil {
		t.Fatalf("vigil handoff: %v\n%s", err, out)
	}
	c.b.watch.Wait(c.vip, true, 5*time.Second)
	c.a.watch.Wait(c.vip, false, 5*time.Second)
	time.Sleep(5 * time.Second) // longer than A's master-down interval: A must stay BACKUP
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("handoff: probe %d connects, %d failed", n, len(fails))
	if len(fails) != 0 {
		t.Errorf("%d connects failed during a handoff: %v", len(fails), probe.Reasons())
	}
	if c.a.watch.Has(c.vip) {
		t.Errorf("the handed-off node took the VIP back while held")
	}
	if out, err := c.a.vigil("handoff", "--undo", "VI_1"); err != nil {
		t.Fatalf("vigil handoff --undo: %v\n%s", err, out)
	}
	c.a.watch.Wait(c.vip, true, 10*time.Second)
}

// A crash of the whole daemon (parent and children killed) and a restart
// half a second later, as systemd's Restart=on-failure with RestartSec=500ms
// does: the new parent resumes from the run directory's snapshot within
// the resume window (three adverts), stands in, and nothing moves.
func TestDaemonCrashAndRestartIsHitless(t *testing.T) {
	c := newCluster(t)
	c.steady(t)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	c.a.kill(syscall.SIGKILL)
	time.Sleep(500 * time.Millisecond)
	c.a.start(conf(c.a, 150, "198.18.2.50"))
	c.a.waitChild(0)
	time.Sleep(4 * time.Second) // a master-down interval after the crash
	c.assertHitless(t, probe, "kill -9 of the daemon, restarted after 500 ms")
	out := c.a.out.String()
	if !strings.Contains(out, "resuming from the run directory's snapshot") || !strings.Contains(out, "Resuming MASTER STATE") {
		t.Errorf("the restarted daemon did not resume MASTER from the snapshot:\n%s", out)
	}
}
