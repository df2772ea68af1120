package core_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/internal/lab"
)

// logConf is one node with every child: a vrrp_script tracked without a
// weight (FAULT on failure), a virtual server with one real server up and
// one down (checkd, lvsd).
func logConf(n *node, vrid int, vip, addr, flag string) string {
	c := strings.Replace(conf(n, 100, vip), "virtual_router_id 51", fmt.Sprintf("virtual_router_id %d", vrid), 1)
	c = strings.Replace(c, "    virtual_ipaddress {", "    track_script {\n        chk\n    }\n    virtual_ipaddress {", 1)
	rs := func(port int) string {
		return fmt.Sprintf("    real_server %s %d {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n", addr, port)
	}
	return fmt.Sprintf("vrrp_script chk {\n    script \"/bin/test -e %s\"\n    interval 1\n    fall 1\n    rise 1\n}\n", flag) + c +
		fmt.Sprintf("virtual_server %s 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n", vip) + rs(8080) + rs(8081) + "}\n"
}

// waitLog waits until out, from byte from on, contains each of want.
func waitLog(t *testing.T, role string, out func() string, from int, within time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, w := range want {
		for !strings.Contains(out()[from:], w) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %q in the log within %v:\n%s", role, w, within, out())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// childNames are the loggers' first names: the supervisor and its children.
var childNames = []string{"core", "vrrpd", "checkd", "lvsd"}

// TestRunLogs runs two nodes: A with --log-format json, B with stderr on a
// terminal and no flag. Every line of every process names its child (JSON
// "logger", the console's third column), a terminal gets console lines
// from the children too, and keepalived's phrases are there for existing
// log alerting: state entries, VRRP_Script and checker verdicts.
func TestRunLogs(t *testing.T) {
	c := newCluster(t)
	flag := filepath.Join(c.a.dir, "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// B's stderr and stdout are a terminal.
	ptmx, pts := openPTY(t)
	var tty lab.Buffer
	go func() { _, _ = io.Copy(&tty, ptmx) }()
	if err := os.WriteFile(c.b.conf, []byte(logConf(c.b, 52, "198.18.2.60", "198.18.2.2", flag)), 0o644); err != nil {
		t.Fatal(err)
	}
	c.b.cmd = c.b.ns.Start(pts, pts, vigilBin, "run", "-f", c.b.conf, "--run-dir", c.b.runDir)
	c.a.start(logConf(c.a, 51, "198.18.2.50", "198.18.2.1", flag))

	// Up, MASTER, checkers decided; then the script fails (FAULT) and
	// recovers (BACKUP, then MASTER again).
	waitLog(t, "a", c.a.out.String, 0, 15*time.Second, "(VI_1) Entering MASTER STATE",
		"TCP_CHECK on service 198.18.2.1:8080 succeeded.", "TCP_CHECK on service 198.18.2.1:8081 failed.")
	mark := len(c.a.out.String())
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	waitLog(t, "a", c.a.out.String, mark, 10*time.Second, "VRRP_Script(chk) failed", "(VI_1) Entering FAULT STATE")
	mark = len(c.a.out.String())
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLog(t, "a", c.a.out.String, mark, 10*time.Second, "VRRP_Script(chk) succeeded", "(VI_1) Entering BACKUP STATE")
	waitLog(t, "b", tty.String, 0, 5*time.Second, "(VI_1) Entering MASTER STATE", "TCP_CHECK on service 198.18.2.2:8081 failed.")

	// vigil status on the live node: the summary, the checks, the IPVS
	// error; --watch redraws until SIGINT and exits 0.
	out, err := c.a.vigil("status")
	for _, want := range []string{"1 instance (1 ", "checks up", "1/2 real servers up", "CHECK ", "chk ", "vrrp_script",
		"198.18.2.1:8081", "IPVS: IPVS unavailable", "CHILD "} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("vigil status (%v) lacks %q:\n%s", err, want, out)
		}
	}
	var watch lab.Buffer
	w := c.a.ns.Start(&watch, &watch, vigilBin, "status", "--run-dir", c.a.runDir, "--watch", "0.2")
	time.Sleep(1500 * time.Millisecond)
	_ = w.Process.Signal(syscall.SIGINT)
	werr := make(chan error, 1)
	go func() { werr <- w.Wait() }()
	select {
	case err := <-werr:
		if n := strings.Count(watch.String(), "\n--- "); err != nil || n < 2 || strings.Contains(watch.String(), "\x1b") {
			t.Errorf("vigil status --watch 0.2 for 1.5 s then SIGINT: %v, %d separated snapshots (want >= 2, no ANSI on a pipe):\n%s", err, n, watch.String())
		}
	case <-time.After(5 * time.Second):
		t.Errorf("vigil status --watch did not end on SIGINT")
	}

	c.a.kill(syscall.SIGTERM)
	c.b.kill(syscall.SIGTERM)

	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(c.a.out.String()), "\n") {
		var m struct {
			Logger string `json:"logger"`
			Msg    string `json:"msg"`
			TS     string `json:"ts"`
			Level  string `json:"level"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.TS == "" || m.Level == "" || m.Msg == "" {
			t.Errorf("a: not a JSON log line (%v): %q", err, line)
			continue
		}
		if !checkLogger(t, "a", m.Logger, line) {
			continue
		}
		seen[strings.SplitN(m.Logger, ".", 2)[0]]++
	}
	for _, name := range childNames {
		if seen[name] == 0 {
			t.Errorf("a: no JSON line from %s (lines per logger: %v)", name, seen)
		}
	}

	seen = map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(tty.String(), "\r\n", "\n")), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 4 || strings.HasPrefix(line, "{") {
			t.Errorf("b: not a console log line: %q", line)
			continue
		}
		if !checkLogger(t, "b", f[2], line) {
			continue
		}
		seen[strings.SplitN(f[2], ".", 2)[0]]++
	}
	for _, name := range childNames {
		if seen[name] == 0 {
			t.Errorf("b: no console line from %s on the terminal (lines per logger: %v)", name, seen)
		}
	}
	if t.Failed() {
		t.Logf("b's terminal:\n%s", tty.String())
	}
}

func checkLogger(t *testing.T, role, logger, line string) bool {
	t.Helper()
	first := strings.SplitN(logger, ".", 2)[0]
	for _, n := range childNames {
		if first == n {
			return true
		}
	}
	t.Errorf("%s: line without a child's name (logger %q): %q", role, logger, line)
	return false
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptmx, pts
}
