package core_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkd runs the track scripts under vigil run: a failing script moves
// the VIP (checkd -> parent -> vrrpd), and restarting or killing checkd
// causes no transition anywhere (its counters are resumed).
func TestCheckdTrackingAndHitlessRestart(t *testing.T) {
	c := newCluster(t)
	flag := filepath.Join(c.a.dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	withScript := func(n *node, prio int) string {
		return fmt.Sprintf(`vrrp_script chk {
    script "/bin/test -e %s"
    interval 1
    fall 1
    rise 1
}
`, flag) + strings.Replace(conf(n, prio, "198.18.2.50"), "    virtual_ipaddress {",
			"    track_script {\n        chk weight -60\n    }\n    virtual_ipaddress {", 1)
	}
	c.a.start(withScript(c.a, 150))
	c.b.start(conf(c.b, 100, "198.18.2.50"))
	c.a.watch.Wait(c.vip, true, 15*time.Second)
	st := c.a.status()
	names := []string{}
	for _, ch := range st.Children {
		names = append(names, ch.Name)
	}
	if strings.Join(names, ",") != "vrrpd,checkd" && strings.Join(names, ",") != "checkd,vrrpd" {
		t.Fatalf("children %v, want vrrpd and checkd", names)
	}

	// The script fails: A's priority drops to 90 < 100 and B takes over.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	c.b.watch.Wait(c.vip, true, 10*time.Second)
	c.a.watch.Wait(c.vip, false, 10*time.Second)
	// It recovers: A preempts again.
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.a.watch.Wait(c.vip, true, 15*time.Second)
	time.Sleep(2 * time.Second) // settle: B released, adverts flowing

	transitions := func() int {
		return strings.Count(c.a.out.String(), "STATE") + strings.Count(c.b.out.String(), "Entering")
	}
	before := transitions()
	restartsFrom := time.Now()
	probe := c.client.StartProbe(c.service, 10*time.Millisecond)
	for i := 0; i < 3; i++ {
		if out, err := c.a.vigil("restart", "checkd"); err != nil {
			t.Fatalf("vigil restart checkd: %v\n%s", err, out)
		}
		time.Sleep(1500 * time.Millisecond)
		pid := childPid(t, c.a, "checkd")
		_ = syscall.Kill(pid, syscall.SIGKILL)
		time.Sleep(1500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("3 x restart + 3 x kill -9 checkd: probe %d connects, %d failed", n, len(fails))
	if len(fails) != 0 {
		t.Errorf("%d connects failed: %v", len(fails), probe.Reasons())
	}
	for _, w := range []*node{c.a, c.b} {
		for _, ev := range w.watch.Events(c.vip) {
			if ev.At.After(restartsFrom) {
				t.Errorf("%s: the VIP moved during checkd restarts (added=%v at %v)", w.ns.Role, ev.Added, ev.At.Format("15:04:05.000"))
			}
		}
	}
	if after := transitions(); after != before {
		t.Errorf("checkd restarts caused %d state transitions", after-before)
	}
}

// childPid returns the pid of a running child of a node's daemon.
func childPid(t *testing.T, n *node, name string) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, ch := range n.status().Children {
			if ch.Name == name && ch.State == "running" && ch.PID > 0 {
				return ch.PID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not running", n.ns.Role, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
