package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// node is one half of the nginx pair: a namespace on the service LAN and
// the gossip net, its nginx, and `vigil run` (the supervisor with its
// vrrpd, checkd running chk_nginx, and its arbiter agent).
type node struct {
	r      *reporter
	name   string // lb-a or lb-b, as in the example
	side   string // a or b: which of the example's files it runs
	ns     *lab.NS
	addr   netip.Addr // on the service LAN
	ifLAN  string
	ifGoss string
	bin    string
	dir    string // keepalived.conf and the run dir
	web    *webServer
	watch  *lab.AddrWatch
	died   time.Time // when its host died; zero while alive

	cmd    *exec.Cmd
	exited <-chan struct{}
	out    lab.Buffer
}

func newNode(r *reporter, s *scratch, e *example, l *lab.Lab, side string, addr netip.Prefix, bin string) *node {
	name := "lb-" + side
	n := &node{r: r, name: name, side: side, ns: l.Namespace(name), addr: addr.Addr(), bin: bin}
	n.ifLAN = l.Connect(n.ns, addr.String())
	n.dir = s.mkdir(r, name)
	n.web = newWebServer(r, s, e, n.ns, name)
	n.watch = n.ns.WatchAddrs()
	return n
}

// join puts the node on the gossip net (the arbiter's second path).
func (n *node) join(g *lab.Lab, addr netip.Prefix) {
	n.ifGoss = g.Connect(n.ns, addr.String())
}

func (n *node) runDir() string { return filepath.Join(n.dir, "run") }

// install writes the example's keepalived.conf and arbiter.conf for the
// node, checks them with `vigil check-config` and returns the first's path.
func (n *node) install(e *example) string {
	arbiter := filepath.Join(n.dir, "arbiter.conf")
	path := filepath.Join(n.dir, "keepalived.conf")
	if err := os.WriteFile(arbiter, []byte(e.arbiterConf(n.r, n.side)), 0o600); err != nil {
		n.r.Fatalf("%s: %v", n.name, err)
	}
	if err := os.WriteFile(path, []byte(e.keepalivedConf(n.r, n, arbiter)), 0o644); err != nil {
		n.r.Fatalf("%s: %v", n.name, err)
	}
	if out, err := exec.Command(n.bin, "check-config", "-f", path).CombinedOutput(); err != nil {
		n.r.Fatalf("%s: vigil check-config -f %s: %v\n%s", n.name, path, err, out)
	}
	return path
}

// startVigil starts `vigil run` on the configuration at path, in the
// foreground.
func (n *node) startVigil(path string) {
	n.cmd = n.ns.StartOutput(&n.out, &n.out, n.bin, "run", "-f", path, "--run-dir", n.runDir(), "--log-format", "json")
	n.exited = lab.Track(n.cmd).Done()
}

// killVigil sends SIGKILL to the supervisor's whole process group (its
// children included) and waits for it.
func (n *node) killVigil() time.Time {
	at := time.Now()
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.exited
	return at
}

// die is the host dying: Vigil and nginx killed, its links down at once.
func (n *node) die() time.Time {
	at := n.killVigil()
	n.died = at
	n.web.kill()
	for _, ifname := range []string{n.ifLAN, n.ifGoss} {
		n.ns.MustRun("ip", "link", "set", ifname, "down")
	}
	return at
}

// nodeStatus is the part of `vigil status --json` the demo reads.
type nodeStatus struct {
	Children []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		PID   int    `json:"pid"`
	} `json:"children"`
	VRRP struct {
		Instances []struct {
			State             string `json:"state"`
			EffectivePriority int    `json:"effective_priority"`
			Held              bool   `json:"held"`
			HoldReason        string `json:"hold_reason"`
		} `json:"instances"`
	} `json:"vrrp"`
	Checks struct {
		Scripts []struct {
			Status string `json:"status"`
		} `json:"scripts"`
	} `json:"checks"`
}

// status asks the node's control socket, as an operator would, with
// `vigil status --json` (a Unix socket: no need to enter the namespace).
func (n *node) status() (nodeStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.bin, "status", "--run-dir", n.runDir(), "--json").Output()
	var st nodeStatus
	if err != nil {
		return st, fmt.Errorf("vigil status %s: %w", n.name, err)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("vigil status %s: %w", n.name, err)
	}
	return st, nil
}

// childPid is the pid of a running child (vrrpd, checkd, ...), 0 if none.
func (st nodeStatus) childPid(name string) int {
	for _, c := range st.Children {
		if c.Name == name && c.State == "running" {
			return c.PID
		}
	}
	return 0
}

// vrrp returns the instance's state, effective priority and hold reason
// ("" when not held); state is "" while vrrpd is down.
func (st nodeStatus) vrrp() (state string, prio int, hold string) {
	if len(st.VRRP.Instances) == 0 {
		return "", 0, ""
	}
	in := st.VRRP.Instances[0]
	if in.Held {
		hold = in.HoldReason
	}
	return in.State, in.EffectivePriority, hold
}

// check is chk_nginx's status in keepalived's words (GOOD, BAD, INIT).
func (st nodeStatus) check() string {
	if len(st.Checks.Scripts) == 0 {
		return "?"
	}
	return st.Checks.Scripts[0].Status
}

// waitVIP waits until the node holds (or lost) the address and returns
// when the kernel said so; false after timeout.
func (n *node) waitVIP(vip netip.Addr, present bool, timeout time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if n.watch.Has(vip) == present {
			ev := n.watch.Events(vip)
			if len(ev) == 0 {
				return time.Now(), true
			}
			return ev[len(ev)-1].At, true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
