package core_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
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

// checkd runs the real-server checkers under vigil run: verdicts reach the
// parent (vigil status), notify_up/notify_down run on changes, a restarted
// or killed checkd resumes its verdicts (no notify fires again), and with
// omega a stopping daemon reports its live servers down.
func TestCheckdRealServers(t *testing.T) {
	c := newCluster(t)
	notifyLog := filepath.Join(c.a.dir, "notify.log")
	notify := filepath.Join(c.a.dir, "notify.sh")
	if err := os.WriteFile(notify, []byte("#!/bin/sh\necho \"$*\" >> "+notifyLog+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A server the test switches on and off, in b's namespace.
	var ln net.Listener
	listen := func() {
		t.Helper()
		if err := c.b.ns.Do(func() (err error) { ln, err = net.Listen("tcp", "198.18.2.2:9090"); return err }); err != nil {
			t.Fatal(err)
		}
		go func(l net.Listener) {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.Close()
			}
		}(ln)
	}
	listen()
	t.Cleanup(func() { ln.Close() })
	rs := func(port, weight int) string {
		return fmt.Sprintf(`    real_server 198.18.2.2 %d {
        weight %d
        notify_up "%s up %d"
        notify_down "%s down %d"
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
`, port, weight, notify, port, notify, port)
	}
	c.a.start("virtual_server 198.18.2.50 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    omega\n" +
		rs(8080, 3) + rs(8081, 1) + rs(9090, 2) + "}\n")

	want := func(what string, cond map[int]string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		var got map[int]string
		for time.Now().Before(deadline) {
			got = c.a.realServers()
			ok := true
			for port, h := range cond {
				ok = ok && got[port] == h
			}
			if ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: real servers %v, want %v", what, got, cond)
	}
	notes := func() string {
		b, _ := os.ReadFile(notifyLog)
		return string(b)
	}
	want("start", map[int]string{8080: "up w3", 8081: "down w1", 9090: "up w2"})
	if got := notes(); got != "down 8081\n" {
		t.Fatalf("notify log after start = %q, want the one server found down", got)
	}
	out, err := c.a.vigil("status")
	if err != nil || !strings.Contains(out, "198.18.2.2:8081") || !strings.Contains(out, "TCP_CHECK") {
		t.Fatalf("vigil status lacks the real servers (%v):\n%s", err, out)
	}
	// This kernel has no IPVS: lvsd says so, and checkd works regardless.
	js, _ := c.a.vigil("status", "--json")
	if !strings.Contains(js, `"lvs":{"error":"IPVS unavailable`) {
		t.Errorf("vigil status --json does not report the missing IPVS from lvsd:\n%s", js)
	}

	ln.Close()
	want("9090 stops", map[int]string{9090: "down w2"})
	listen()
	want("9090 is back", map[int]string{9090: "up w2"})
	before := notes()
	if before != "down 8081\ndown 9090\nup 9090\n" {
		t.Fatalf("notify log = %q", before)
	}

	// Restart and kill checkd: the verdicts resume, nothing fires again.
	if out, err := c.a.vigil("restart", "checkd"); err != nil {
		t.Fatalf("vigil restart checkd: %v\n%s", err, out)
	}
	pid := childPid(t, c.a, "checkd")
	time.Sleep(2500 * time.Millisecond) // two delay_loops of the new checkd
	_ = syscall.Kill(pid, syscall.SIGKILL)
	newPid := waitChildPid(t, c.a, "checkd", pid)
	time.Sleep(2500 * time.Millisecond)
	want("after restarts", map[int]string{8080: "up w3", 8081: "down w1", 9090: "up w2"})
	if got := notes(); got != before {
		t.Fatalf("checkd restarts (now pid %d) re-ran notify scripts: log %q, want %q", newPid, got, before)
	}

	// omega: a stopping daemon reports its live servers down.
	c.a.kill(syscall.SIGTERM)
	got := notes()
	for _, line := range []string{"down 8080", "down 9090"} {
		if !strings.Contains(strings.TrimPrefix(got, before), line) {
			t.Errorf("after stop with omega, notify log %q lacks %q", got, line)
		}
	}
}

// realServers reads the real servers' health from vigil status --json, by
// port: "up w3", "down w1".
func (n *node) realServers() map[int]string {
	n.t.Helper()
	out, err := n.vigil("status", "--json")
	if err != nil {
		return nil
	}
	var st struct {
		RealServers []struct {
			Server string `json:"rs"`
			Alive  bool   `json:"alive"`
			Weight int    `json:"weight"`
		} `json:"real_servers"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return nil
	}
	m := map[int]string{}
	for _, b := range st.RealServers {
		ap, err := netip.ParseAddrPort(b.Server)
		if err != nil {
			continue
		}
		h := "down"
		if b.Alive {
			h = "up"
		}
		m[int(ap.Port())] = fmt.Sprintf("%s w%d", h, b.Weight)
	}
	return m
}

// waitChildPid waits until a child runs with a pid other than not.
func waitChildPid(t *testing.T, n *node, name string, not int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, ch := range n.status().Children {
			if ch.Name == name && ch.State == "running" && ch.PID > 0 && ch.PID != not {
				return ch.PID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no new %s within 15s", n.ns.Role, name)
	return 0
}
