package core_test

import (
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sdSocket is a fake systemd notify socket: every datagram received.
func sdSocket(t *testing.T) (string, <-chan string) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	out := make(chan string, 1024)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(out)
				return
			}
			out <- string(buf[:n])
		}
	}()
	return path, out
}

// await returns the first datagram containing want, and those before it.
func await(t *testing.T, msgs <-chan string, want string, within time.Duration) (string, []string) {
	t.Helper()
	var before []string
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %q", want)
			}
			for _, line := range strings.Split(m, "\n") {
				if line == want {
					return m, before
				}
			}
			before = append(before, m)
		case <-deadline:
			t.Fatalf("no %q within %s; got %q", want, within, before)
		}
	}
}

// A real `vigil run` under a fake NOTIFY_SOCKET: READY=1 once vrrpd is
// ready (STATUS says so), WATCHDOG=1 at half WATCHDOG_USEC, RELOADING=1
// then READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM.
func TestSystemdNotify(t *testing.T) {
	sock, msgs := sdSocket(t)
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000")
	c := newCluster(t)
	start := time.Now()
	c.a.start(conf(c.a, 150, c.vip.String()))

	ready, before := await(t, msgs, "READY=1", 10*time.Second)
	t.Logf("READY=1 after %s: %q (before: %q)", time.Since(start).Round(time.Millisecond), ready, before)
	for _, m := range append(before, ready) {
		if strings.Contains(m, "STOPPING=1") {
			t.Fatalf("STOPPING before READY: %q", m)
		}
	}
	if !strings.Contains(ready, "STATUS=vrrpd running (1 instances") {
		t.Errorf("READY=1 without a STATUS naming vrrpd running: %q", ready)
	}

	// Half of 400 ms: a few pets within a second.
	t0 := time.Now()
	for range 3 {
		await(t, msgs, "WATCHDOG=1", 2*time.Second)
	}
	if d := time.Since(t0); d > 1500*time.Millisecond {
		t.Errorf("3 WATCHDOG=1 took %s; want about every 200ms", d)
	}

	if err := syscall.Kill(c.a.cmd.Process.Pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reloading, _ := await(t, msgs, "RELOADING=1", 5*time.Second)
	if !strings.Contains(reloading, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", reloading)
	}
	await(t, msgs, "READY=1", 5*time.Second)

	c.a.kill(syscall.SIGTERM)
	stopping, _ := await(t, msgs, "STOPPING=1", 5*time.Second)
	t.Logf("stop: %q", stopping)
}
