// Package lab builds throwaway network labs for tests: network namespaces
// joined by veth pairs to a bridge that lives in a namespace of its own,
// so nothing a test does touches the host's namespace. Every name carries a
// per-run prefix; everything is removed when the test ends, also on
// failure, and leftovers of crashed runs are swept at the next start.
//
// Tests must only assign addresses from 198.18.0.0/15 (RFC 2544
// benchmarking space) and link-local ranges inside the lab.
package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// namePrefix marks everything a lab creates; the run's pid follows so a
// later run can tell leftovers of dead runs from labs still in use.
const namePrefix = "vgt"

// Benchmark is the only address range tests may use (RFC 2544).
var Benchmark = netip.MustParsePrefix("198.18.0.0/15")

// TB is what a lab needs of its owner: testing.TB satisfies it, and so
// does the demo's own reporter, so the same lab runs tests and `make demo`.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	Skip(args ...any)
}

// Lab is one test's set of namespaces around one switch.
type Lab struct {
	tb     TB
	id     string // short per-run id, used in interface names
	prefix string // namespace name prefix: vgt-<pid>-<id>-
	sw     *NS
	mu     sync.Mutex
	nss    []*NS
	nlinks int
	procs  []*exec.Cmd
}

// NS is one network namespace of a lab.
type NS struct {
	lab  *Lab
	Name string // full namespace name (for ip netns exec)
	Role string // the test's name for it, e.g. "node1"
}

// Skip skips the test unless it runs as root with the ip tool, the
// precondition of every namespace test.
func Skip(tb TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to create network namespaces (run make test as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs the ip tool (iproute2); make test installs it")
	}
}

// New creates a lab with its switch namespace; it is torn down when the
// test ends.
func New(tb TB) *Lab {
	tb.Helper()
	Skip(tb)
	sweepStale()
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("lab: random id: %v", err)
	}
	id := hex.EncodeToString(b[:])
	l := &Lab{tb: tb, id: id, prefix: fmt.Sprintf("%s-%d-%s-", namePrefix, os.Getpid(), id)}
	tb.Cleanup(l.teardown)
	l.sw = l.Namespace("sw")
	l.sw.MustRun("ip", "link", "add", "br0", "type", "bridge")
	// Forward at once (no STP listening delay) and let multicast flood.
	l.sw.MustRun("ip", "link", "set", "br0", "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
	l.sw.MustRun("ip", "link", "set", "br0", "up")
	return l
}

// Namespace creates a namespace with its loopback up.
func (l *Lab) Namespace(role string) *NS {
	l.tb.Helper()
	ns := &NS{lab: l, Name: l.prefix + role, Role: role}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		l.tb.Fatalf("lab: ip netns add %s: %v: %s", ns.Name, err, out)
	}
	l.mu.Lock()
	l.nss = append(l.nss, ns)
	l.mu.Unlock()
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

// Connect joins ns to the lab's switch with a veth pair and returns the
// interface name inside ns. The name is unique per run (vgXXXXXXnN) and at
// most 15 bytes, the kernel's limit. addrs (CIDR, 198.18.0.0/15 only) are
// assigned to it.
func (l *Lab) Connect(ns *NS, addrs ...string) string {
	l.tb.Helper()
	l.mu.Lock()
	l.nlinks++
	n := l.nlinks
	l.mu.Unlock()
	inside := fmt.Sprintf("vg%s%d", l.id, n)   // e.g. vg1a2b3c1
	outside := fmt.Sprintf("vg%sp%d", l.id, n) // its switch port
	ns.MustRun("ip", "link", "add", inside, "type", "veth", "peer", "name", outside, "netns", l.sw.Name)
	l.sw.MustRun("ip", "link", "set", outside, "master", "br0", "up")
	ns.MustRun("ip", "link", "set", inside, "up")
	for _, a := range addrs {
		ns.AddAddr(inside, a)
	}
	return inside
}

// AddAddr assigns an address, refusing anything outside the ranges tests
// may use.
func (ns *NS) AddAddr(ifname, cidr string) {
	ns.lab.tb.Helper()
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		ns.lab.tb.Fatalf("lab: bad address %q: %v", cidr, err)
	}
	if p.Addr().Is4() && !Benchmark.Contains(p.Addr()) {
		ns.lab.tb.Fatalf("lab: %s is outside 198.18.0.0/15; tests may not use it", cidr)
	}
	args := []string{"addr", "add", cidr, "dev", ifname}
	if p.Addr().Is6() {
		args = append([]string{"-6"}, append(args, "nodad")...)
	}
	ns.MustRun("ip", args...)
}

// Run runs a command inside the namespace and returns its combined output.
func (ns *NS) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (ns *NS) MustRun(name string, args ...string) string {
	ns.lab.tb.Helper()
	out, err := ns.Run(name, args...)
	if err != nil {
		ns.lab.tb.Fatalf("lab %s: %s %s: %v\n%s", ns.Role, name, strings.Join(args, " "), err, out)
	}
	return out
}

// Start starts a long-running command inside the namespace, in its own
// process group; it is killed (the whole group) when the test ends. Give it
// a Buffer (below), not a bytes.Buffer, when the test reads the output
// while the command runs.
func (ns *NS) Start(stdout, stderr io.Writer, name string, args ...string) *exec.Cmd {
	ns.lab.tb.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if stdout != nil {
		cmd.Stdout = stdout
	}
	if stderr != nil {
		cmd.Stderr = stderr
	}
	if err := cmd.Start(); err != nil {
		ns.lab.tb.Fatalf("lab %s: start %s: %v", ns.Role, name, err)
	}
	ns.lab.mu.Lock()
	ns.lab.procs = append(ns.lab.procs, cmd)
	ns.lab.mu.Unlock()
	return cmd
}

// Do runs f with the calling goroutine's thread inside the namespace.
// Sockets and netlink handles opened in f stay bound to the namespace
// after Do returns.
func (ns *NS) Do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return fmt.Errorf("lab: current netns: %w", err)
	}
	defer orig.Close()
	target, err := netns.GetFromName(ns.Name)
	if err != nil {
		return fmt.Errorf("lab: netns %s: %w", ns.Name, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return fmt.Errorf("lab: enter %s: %w", ns.Name, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			panic(fmt.Sprintf("lab: cannot return to the original namespace: %v", err))
		}
	}()
	return f()
}

// Handle opens a namespace handle, for netlink.NewHandleAt and the like;
// the caller closes it.
func (ns *NS) Handle() (netns.NsHandle, error) { return netns.GetFromName(ns.Name) }

func (l *Lab) teardown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.procs {
		if p.Process != nil {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			_, _ = p.Process.Wait()
		}
	}
	for i := len(l.nss) - 1; i >= 0; i-- {
		deleteNamespace(l.nss[i].Name)
	}
}

// deleteNamespace kills whatever still runs inside it, then deletes it
// (veths inside go with it).
func deleteNamespace(name string) {
	if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			// Never the test binary itself: ip netns pids goes by each
			// process's main thread, and that thread may be inside the
			// namespace for a moment (NS.Do from a goroutine that runs
			// on it), which would look like a process of the lab.
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
}

// sweepStale removes namespaces left by lab runs whose process is gone
// (a test binary killed before its cleanup ran).
func sweepStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix+"-") {
			continue
		}
		parts := strings.SplitN(name, "-", 4)
		if len(parts) < 4 {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", parts[1])); err == nil {
			continue // that run is still alive
		}
		deleteNamespace(name)
	}
}
