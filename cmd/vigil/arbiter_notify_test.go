package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback port free for both TCP and UDP (memberlist
// binds both).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free loopback port for TCP and UDP")
	return 0
}

// `vigil arbiter` under a fake NOTIFY_SOCKET (vigil-arbiter.service is
// Type=notify): READY=1 with a STATUS once it serves, WATCHDOG=1 at half
// WATCHDOG_USEC, STOPPING=1 on SIGTERM, then a clean exit. Loopback only.
func TestArbiterSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "400000")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("notify test secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"vigil", "arbiter", "--bind", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--peer", "127.0.0.1:" + strconv.Itoa(freePort(t)),
		"--secret-file", secret, "--name", "arb-test", "--state", filepath.Join(dir, "state.json"), "--log-format", "json"}
	var out, errb bytes.Buffer
	exited := make(chan int, 1)
	go func() { exited <- run(args, &out, &errb) }()

	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	// exitCode is set once run returned; a datagram sent just before the
	// exit may still be queued, so the socket is read for a moment more.
	exitCode := -1
	await := func(want string) string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		var afterExit <-chan time.Time
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatalf("notify socket closed waiting for %q", want)
				}
				if strings.Contains(m, want) {
					return m
				}
			case exitCode = <-exited:
				exited, afterExit = nil, time.After(time.Second)
			case <-afterExit:
				t.Fatalf("vigil arbiter exited (%d) without sending %q: %s", exitCode, want, errb.String())
			case <-deadline:
				t.Fatalf("no %q within 10 s; stderr: %s", want, errb.String())
			}
		}
	}
	if m := await("READY=1"); !strings.Contains(m, "STATUS=arbiter arb-test of cluster vigil") {
		t.Errorf("READY=1 without a STATUS naming the arbiter: %q", m)
	}
	await("WATCHDOG=1")
	await("WATCHDOG=1")
	// The arbiter's own signal handler is registered by now (READY=1
	// comes after it), so SIGTERM reaches it rather than the test.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await("STOPPING=1")
	if exitCode < 0 {
		select {
		case exitCode = <-exited:
		case <-time.After(10 * time.Second):
			t.Fatal("vigil arbiter did not exit within 10 s of SIGTERM")
		}
	}
	if exitCode != 0 {
		t.Errorf("vigil arbiter exited %d after SIGTERM; stderr: %s", exitCode, errb.String())
	}
}
