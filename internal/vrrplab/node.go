// Package vrrplab runs VRRP daemons (Vigil or keepalived) inside the
// namespaces of an internal/lab lab and measures them: when they stop, what
// CPU and memory their processes use, and what a client on the LAN sees
// (gratuitous ARPs, adverts). The scale test, the benchmarks against
// keepalived and `make demo` share it, so all three measure the same way.
//
// Like internal/lab it takes a lab.TB, so tests, benchmarks and the demo's
// own reporter can drive it.
package vrrplab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// Daemon names the VRRP implementation a node runs.
type Daemon string

// The implementations the lab runs side by side: Vigil's VRRP engine
// alone, Vigil under its supervisor (vigil run), and keepalived.
const (
	Vigil      Daemon = "vigil"
	VigilRun   Daemon = "vigil-run"
	Keepalived Daemon = "keepalived"
)

// SkipUnlessKeepalived skips unless the keepalived binary is installed.
func SkipUnlessKeepalived(tb lab.TB) {
	tb.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		tb.Skip("keepalived not installed (make test installs Debian's package)")
	}
}

// KeepalivedVersion is the first line of `keepalived --version`, or "" when
// it is not installed.
func KeepalivedVersion() string {
	out, err := exec.Command("keepalived", "--version").CombinedOutput()
	if err != nil && len(out) == 0 {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// Node is one VRRP speaker in a lab namespace.
type Node struct {
	tb     lab.TB
	NS     *lab.NS
	Daemon Daemon
	// Bin is the vigil binary (Daemon Vigil); keepalived is found in PATH.
	Bin string
	dir string

	cmd    *exec.Cmd
	out    *output
	exited chan struct{}
}

// output keeps what a daemon prints, safe to read while it writes, and
// lets a caller wait for a line to appear.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.changed)
	o.changed = make(chan struct{})
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// NewNode prepares a node in ns; nothing runs until Start. Its working
// directory (configuration, pid files) is removed when tb ends.
func NewNode(tb lab.TB, ns *lab.NS, d Daemon, vigilBin string) *Node {
	tb.Helper()
	dir, err := os.MkdirTemp("", "vigil-lab-"+ns.Role+"-")
	if err != nil {
		tb.Fatalf("vrrplab: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return &Node{tb: tb, NS: ns, Daemon: d, Bin: vigilBin, dir: dir}
}

// Start writes conf and starts the daemon in the foreground, in its own
// process group (killed with the lab at the latest).
func (n *Node) Start(conf string) {
	n.tb.Helper()
	if n.Running() {
		n.tb.Fatalf("vrrplab %s: start while %s still runs", n.NS.Role, n.Daemon)
	}
	path := filepath.Join(n.dir, "keepalived.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		n.tb.Fatalf("vrrplab %s: %v", n.NS.Role, err)
	}
	n.out = newOutput()
	switch n.Daemon {
	case Vigil:
		n.cmd = n.NS.Start(n.out, n.out, n.Bin, "vrrpd", "-f", path, "--log-format", "json")
	case VigilRun:
		n.cmd = n.NS.Start(n.out, n.out, n.Bin, "run", "-f", path, "--run-dir", filepath.Join(n.dir, "run"), "--log-format", "json")
	case Keepalived:
		// A restarted host starts without the pid files of its killed
		// predecessor (keepalived refuses to start while its killed VRRP
		// child is not yet reaped: "daemon is already running").
		for _, f := range []string{"k.pid", "v.pid", "c.pid"} {
			_ = os.Remove(filepath.Join(n.dir, f))
		}
		// -P: the VRRP subsystem only; -n -l -D: foreground, log to the
		// console with detail (as the interop tests run it).
		n.cmd = n.NS.Start(n.out, n.out, "keepalived", "-P", "-n", "-l", "-D", "-f", path,
			"-p", filepath.Join(n.dir, "k.pid"), "-r", filepath.Join(n.dir, "v.pid"), "-c", filepath.Join(n.dir, "c.pid"))
	default:
		n.tb.Fatalf("vrrplab: unknown daemon %q", n.Daemon)
	}
	exited := make(chan struct{})
	n.exited = exited
	cmd := n.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
}

// Running reports whether the daemon was started and has not exited.
func (n *Node) Running() bool {
	if n.exited == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Pid is the daemon's main process (ip netns exec execs into it).
func (n *Node) Pid() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Kill sends sig to the daemon's process group and waits (at most 10 s)
// for it to exit. It returns when the signal was sent.
func (n *Node) Kill(sig syscall.Signal) time.Time {
	n.tb.Helper()
	if n.exited == nil {
		n.tb.Fatalf("vrrplab %s: kill before start", n.NS.Role)
	}
	at := time.Now()
	_ = syscall.Kill(-n.cmd.Process.Pid, sig)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.tb.Fatalf("vrrplab %s: %s did not exit within 10s of %v", n.NS.Role, n.Daemon, sig)
	}
	return at
}

// Die simulates the node's host dying: the daemon is killed (SIGKILL)
// and the node's interfaces go down at once. It returns the kill time.
func (n *Node) Die(ifnames ...string) time.Time {
	n.tb.Helper()
	at := n.Kill(syscall.SIGKILL)
	for _, ifname := range ifnames {
		n.NS.MustRun("ip", "link", "set", ifname, "down")
	}
	return at
}

// Output is what the daemon has printed so far.
func (n *Node) Output() string {
	if n.out == nil {
		return ""
	}
	return n.out.String()
}

// WaitOutput waits until the daemon has printed count lines containing
// substr (e.g. "Entering BACKUP STATE", which Vigil and keepalived both
// log), and reports whether it did within timeout.
func (n *Node) WaitOutput(substr string, count int, timeout time.Duration) bool {
	if n.out == nil {
		return false
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen, scanned := 0, 0 // lines matched, bytes scanned
	for {
		n.out.mu.Lock()
		b := n.out.buf.Bytes()
		for {
			i := bytes.IndexByte(b[scanned:], '\n')
			if i < 0 {
				break
			}
			if bytes.Contains(b[scanned:scanned+i], []byte(substr)) {
				seen++
			}
			scanned += i + 1
		}
		changed := n.out.changed
		n.out.mu.Unlock()
		if seen >= count {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// MAC returns the hardware address of an interface in the node's namespace.
func MAC(tb lab.TB, ns *lab.NS, ifname string) net.HardwareAddr {
	tb.Helper()
	var mac net.HardwareAddr
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		return nil
	}); err != nil {
		tb.Fatalf("vrrplab %s: %v", ns.Role, err)
	}
	return mac
}

// Wire joins a and b with a veth pair named name on both sides (names are
// per namespace, and lab namespaces are per run), each end with its
// address (198.18.0.0/15 only, enforced by the lab). It is a LAN of its
// own: VRIDs on different wires do not meet.
func Wire(tb lab.TB, a, b *lab.NS, name, aCIDR, bCIDR string) {
	tb.Helper()
	a.MustRun("ip", "link", "add", name, "type", "veth", "peer", "name", name, "netns", b.Name)
	a.MustRun("ip", "link", "set", name, "up")
	b.MustRun("ip", "link", "set", name, "up")
	a.AddAddr(name, aCIDR)
	b.AddAddr(name, bCIDR)
}

// Instance is one vrrp_instance of a generated configuration.
type Instance struct {
	Name     string
	State    string // MASTER or BACKUP
	Iface    string
	VRID     int
	Priority int
	Version  int    // 2 or 3
	Interval string // advert_int, e.g. "1" or "0.1"
	Pass     string // PASS authentication (v2 only); "" for none
	VIPs     []string
}

// Config renders a keepalived.conf that both Vigil and keepalived read.
// GarpMasterDelay is vrrp_garp_master_delay in seconds; negative leaves
// the default (5).
func Config(routerID string, garpMasterDelay int, insts []Instance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global_defs {\n    router_id %s\n", routerID)
	if garpMasterDelay >= 0 {
		fmt.Fprintf(&b, "    vrrp_garp_master_delay %d\n", garpMasterDelay)
	}
	b.WriteString("}\n")
	for _, in := range insts {
		fmt.Fprintf(&b, "vrrp_instance %s {\n    state %s\n    interface %s\n    virtual_router_id %d\n    priority %d\n    advert_int %s\n    version %d\n",
			in.Name, in.State, in.Iface, in.VRID, in.Priority, in.Interval, in.Version)
		if in.Pass != "" && in.Version == 2 {
			fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", in.Pass)
		}
		b.WriteString("    virtual_ipaddress {\n")
		for _, v := range in.VIPs {
			fmt.Fprintf(&b, "        %s\n", v)
		}
		b.WriteString("    }\n}\n")
	}
	return b.String()
}

// MasterDown is the Master_Down_Interval of a backup of priority prio:
// 3 intervals plus the skew time, (256-prio)/256 s in VRRPv2 (RFC 3768)
// and (256-prio)/256 intervals in VRRPv3 (RFC 5798).
func MasterDown(version, prio int, interval time.Duration) time.Duration {
	if version == 2 {
		return 3*interval + time.Duration(256-prio)*time.Second/256
	}
	return 3*interval + time.Duration(256-prio)*interval/256
}

// ChildPid returns the pid of a running child (vrrpd, checkd, ...) of a
// VigilRun node, asking its control socket; 0 if none runs.
func (n *Node) ChildPid(name string) int {
	out, err := n.NS.Run(n.Bin, "status", "--run-dir", filepath.Join(n.dir, "run"), "--json")
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

// HoldReason returns why a VigilRun node's arbiter agent holds an
// instance ("" when it does not), from its control socket.
func (n *Node) HoldReason(instance string) string {
	out, err := n.NS.Run(n.Bin, "status", "--run-dir", filepath.Join(n.dir, "run"), "--json")
	if err != nil {
		return ""
	}
	var st struct {
		VRRP struct {
			Instances []struct {
				Name       string `json:"name"`
				Held       bool   `json:"held"`
				HoldReason string `json:"hold_reason"`
			} `json:"instances"`
		} `json:"vrrp"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return ""
	}
	for _, in := range st.VRRP.Instances {
		if in.Name == instance && in.Held {
			return in.HoldReason
		}
	}
	return ""
}
