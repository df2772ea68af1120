package core_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The baseline for TestKillVRRPDIsHitless: the same ten kills of the VRRP
// child, against keepalived. keepalived's VRRP child removes every VIP
// when it starts, so each kill moves the VIP; the figures go to
// docs/benchmarks.md. The test asserts only that the kills happened (what
// keepalived does is the measurement).
func TestKeepalivedVRRPChildKillBaseline(t *testing.T) {
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed (make test installs Debian's package)")
	}
	c := newCluster(t)
	startKA := func(n *node, prio int) string {
		if err := os.WriteFile(n.conf, []byte(conf(n, prio, "198.18.2.50")), 0o644); err != nil {
			t.Fatal(err)
		}
		vpid := filepath.Join(n.dir, "vrrp.pid")
		n.cmd = n.ns.Start(&n.out, &n.out, "keepalived", "-n", "-l", "-D", "-P", "-f", n.conf,
			"-p", filepath.Join(n.dir, "k.pid"), "-r", vpid, "-c", filepath.Join(n.dir, "c.pid"))
		return vpid
	}
	vpidA := startKA(c.a, 150)
	startKA(c.b, 100)
	c.a.watch.Wait(c.vip, true, 15*time.Second)
	// keepalived does not rewrite its -r pid file on a respawn: find the
	// VRRP child as the parent's child process.
	parentPid := func() int {
		data, _ := os.ReadFile(filepath.Join(c.a.dir, "k.pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		return pid
	}
	readPid := func(_ string, not int) int {
		deadline := time.Now().Add(40 * time.Second)
		for {
			if pp := parentPid(); pp > 0 {
				for _, pid := range childrenOf(pp) {
					if pid != not {
						return pid
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("keepalived VRRP child did not (re)appear: parent %d children %v cmd pid %d", parentPid(), childrenOf(parentPid()), c.a.cmd.Process.Pid)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pid := readPid(vpidA, 0)
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	// keepalived delays each respawn twice as long as the last (0, 1, 2,
	// 4, 8 s ...), so five kills are what fits a test run.
	const kills = 5
	for i := 0; i < kills; i++ {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
		pid = readPid(vpidA, pid)
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(4 * time.Second)
	probe.Stop()
	n, fails := probe.Result()
	removals, takeovers := 0, 0
	for _, ev := range c.a.watch.Events(c.vip) {
		if !ev.Added {
			removals++
		}
	}
	for _, ev := range c.b.watch.Events(c.vip) {
		if ev.Added {
			takeovers++
		}
	}
	t.Logf("BASELINE keepalived %d x kill -9 of the VRRP child: probe %d connects, %d failed; VIP removed from the master %d times; backup took the VIP %d times",
		kills, n, len(fails), removals, takeovers)
}

// childrenOf lists the live child processes of ppid from /proc.
func childrenOf(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name (which may contain spaces).
		rest := string(data)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) > 1 && f[0] != "Z" {
			if p, _ := strconv.Atoi(f[1]); p == ppid {
				out = append(out, pid)
			}
		}
	}
	return out
}
