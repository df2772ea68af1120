package vrrpd_test

import (
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

// vigilBin is the binary under test, built once for the package.
var vigilBin string

func TestMain(m *testing.M) { lab.MainWithVigil(m, &vigilBin) }

// node is one VRRP speaker in the lab: Vigil or keepalived.
type node struct {
	ns     *lab.NS
	ifname string
	addr   netip.Addr
	cmd    *exec.Cmd
	out    lab.Buffer
	dir    string
}

type pair struct {
	l       *lab.Lab
	a, b    *node
	client  *lab.NS
	vip     netip.Addr
	watchA  *lab.AddrWatch
	watchB  *lab.AddrWatch
	service netip.AddrPort
}

func newPair(t *testing.T) *pair {
	l := lab.New(t)
	p := &pair{l: l, vip: netip.MustParseAddr("198.18.1.50")}
	mk := func(role, cidr string) *node {
		ns := l.Namespace(role)
		n := &node{ns: ns, ifname: l.Connect(ns, cidr), addr: netip.MustParsePrefix(cidr).Addr(), dir: t.TempDir()}
		return n
	}
	p.a, p.b = mk("a", "198.18.1.1/24"), mk("b", "198.18.1.2/24")
	p.client = l.Namespace("client")
	l.Connect(p.client, "198.18.1.100/24")
	p.watchA, p.watchB = p.a.ns.WatchAddrs(), p.b.ns.WatchAddrs()
	p.a.ns.Serve(8080)
	p.b.ns.Serve(8080)
	p.service = netip.AddrPortFrom(p.vip, 8080)
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []*node{p.a, p.b} {
				n.stop() // so the output is complete
				t.Logf("--- %s output:\n%s", n.ns.Role, n.out.String())
			}
		}
	})
	return p
}

// instanceConf renders one vrrp_instance in keepalived syntax (both Vigil
// and keepalived read it).
func instanceConf(n *node, version, prio int, interval string, extra string) string {
	auth := ""
	if version == 2 {
		auth = "    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n"
	}
	return fmt.Sprintf(`global_defs {
    router_id %s
    vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface %s
    virtual_router_id 51
    priority %d
    advert_int %s
    version %d
%s    virtual_ipaddress {
        198.18.1.50/24
    }
%s}
`, n.ns.Role, n.ifname, prio, interval, version, auth, extra)
}

func (n *node) startVigil(t *testing.T, conf string) {
	t.Helper()
	path := filepath.Join(n.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.out.Reset()
	n.cmd = n.ns.Start(&n.out, &n.out, vigilBin, "vrrpd", "-f", path, "--log-format", "json")
}

func (n *node) startKeepalived(t *testing.T, conf string) {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (make test installs Debian's package)")
	}
	path := filepath.Join(n.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.out.Reset()
	n.cmd = n.ns.Start(&n.out, &n.out, "keepalived", "-n", "-l", "-D", "-f", path,
		"-p", filepath.Join(n.dir, "k.pid"), "-r", filepath.Join(n.dir, "v.pid"), "-c", filepath.Join(n.dir, "c.pid"))
}

// stop kills the daemon if it still runs and waits (bounded) for it, so
// its output is complete.
func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// kill ends the daemon's whole process group with sig and waits for it.
func (n *node) kill(t *testing.T, sig syscall.Signal) time.Time {
	t.Helper()
	at := time.Now()
	_ = syscall.Kill(-n.cmd.Process.Pid, sig)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not exit within 10s of %v", n.ns.Role, sig)
	}
	return at
}

// die simulates the node's host dying: the daemon is killed and the node
// drops off the network at once (its addresses die with it).
func (n *node) die(t *testing.T) time.Time {
	at := n.kill(t, syscall.SIGKILL)
	n.ns.MustRun("ip", "link", "set", n.ifname, "down")
	return at
}

// masterDown is RFC 5798's Master_Down_Interval for a backup.
func masterDown(prio int, interval time.Duration) time.Duration {
	return 3*interval + time.Duration(256-prio)*interval/256
}

func TestVigilPairFailover(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  int
		interval string
		d        time.Duration
	}{
		{"v2 1s PASS", 2, "1", time.Second},
		{"v3 100ms", 3, "0.1", 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			p.a.startVigil(t, instanceConf(p.a, tc.version, 150, tc.interval, ""))
			p.b.startVigil(t, instanceConf(p.b, tc.version, 100, tc.interval, ""))
			p.watchA.Wait(p.vip, true, 10*time.Second)
			if p.watchB.Has(p.vip) {
				t.Fatal("backup holds the VIP too")
			}
			probe := p.client.StartProbe(p.service, 10*time.Millisecond)
			time.Sleep(10 * tc.d) // steady state under the probe: nothing to await
			killed := p.a.die(t)
			took := p.watchB.Wait(p.vip, true, 10*time.Second).Sub(killed)
			limit := masterDown(100, tc.d) + 50*time.Millisecond
			t.Logf("takeover %v after the master died (limit %v)", took, limit)
			if took > limit {
				t.Errorf("takeover took %v, more than the master-down interval + 50ms (%v)", took, limit)
			}
			time.Sleep(300 * time.Millisecond)
			probe.Stop()
			n, fails := probe.Result()
			t.Logf("probe: %d connects, %d failed", n, len(fails))
			if len(fails) > 0 && fails[len(fails)-1].After(killed.Add(limit+200*time.Millisecond)) {
				t.Errorf("client still failing %v after the takeover", fails[len(fails)-1].Sub(killed))
			}
		})
	}
}

// A planned stop hands over make-before-break: the client loses nothing.
func TestVigilGracefulStopLosesNothing(t *testing.T) {
	p := newPair(t)
	p.a.startVigil(t, instanceConf(p.a, 3, 150, "1", ""))
	p.b.startVigil(t, instanceConf(p.b, 3, 100, "1", ""))
	p.watchA.Wait(p.vip, true, 10*time.Second)
	probe := p.client.StartProbe(p.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	stopped := p.a.kill(t, syscall.SIGTERM)
	took := p.watchB.Wait(p.vip, true, 5*time.Second).Sub(stopped)
	p.watchA.Wait(p.vip, false, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	probe.Stop()
	n, fails := probe.Result()
	skew := 156 * time.Second / 256
	t.Logf("takeover %v after SIGTERM; probe %d connects, %d failed", took, n, len(fails))
	if took > skew+50*time.Millisecond {
		t.Errorf("takeover took %v, more than skew time + 50ms", took)
	}
	if len(fails) != 0 {
		t.Errorf("%d client connects failed during a planned switchover", len(fails))
	}
	if !strings.Contains(p.a.out.String(), "Stopped") {
		t.Errorf("stopping node did not log its stop")
	}
}

// keepalived and Vigil on one VRID, both directions: the migration path.
func TestKeepalivedInterop(t *testing.T) {
	for _, version := range []int{2, 3} {
		t.Run(fmt.Sprintf("keepalived master, vigil backup, v%d", version), func(t *testing.T) {
			p := newPair(t)
			p.a.startKeepalived(t, instanceConf(p.a, version, 150, "1", ""))
			p.watchA.Wait(p.vip, true, 10*time.Second)
			p.b.startVigil(t, instanceConf(p.b, version, 100, "1", ""))
			time.Sleep(4 * time.Second) // longer than a master-down interval: nothing to await
			if p.watchB.Has(p.vip) {
				t.Fatalf("vigil took the VIP from a live keepalived master:\n%s", p.b.out.String())
			}
			killed := p.a.die(t)
			took := p.watchB.Wait(p.vip, true, 10*time.Second).Sub(killed)
			if limit := masterDown(100, time.Second) + 50*time.Millisecond; took > limit {
				t.Errorf("vigil took over %v after keepalived died (limit %v)", took, limit)
			}
		})
		t.Run(fmt.Sprintf("vigil master, keepalived backup, v%d", version), func(t *testing.T) {
			p := newPair(t)
			p.a.startVigil(t, instanceConf(p.a, version, 150, "1", ""))
			p.watchA.Wait(p.vip, true, 10*time.Second)
			p.b.startKeepalived(t, instanceConf(p.b, version, 100, "1", ""))
			time.Sleep(4 * time.Second)
			if p.watchB.Has(p.vip) {
				t.Fatalf("keepalived took the VIP from a live vigil master:\n%s", p.b.out.String())
			}
			stopped := p.a.kill(t, syscall.SIGTERM)
			took := p.watchB.Wait(p.vip, true, 10*time.Second).Sub(stopped)
			if limit := 156*time.Second/256 + 50*time.Millisecond; took > limit {
				t.Errorf("keepalived took over %v after vigil's priority-0 advert (limit %v)", took, limit)
			}
			p.watchA.Wait(p.vip, false, 5*time.Second)
		})
	}
}
