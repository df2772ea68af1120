package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// childEnv makes the test binary act as a child process (see TestMain).
const childEnv = "VIGIL_IPC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childReport is what the child answers to a status request.
type childReport struct {
	PID     int    `json:"pid"`
	PeerPID int    `json:"peer_pid"`
	PeerUID int    `json:"peer_uid"`
	Parent  string `json:"parent"`  // the role in the parent's hello
	Restore string `json:"restore"` // what the parent answered to our request
}

// childMain is a miniature vrrpd: it takes the socket inherited as fd 3,
// says hello, sends a snapshot, asks the parent for its last snapshot, and
// answers status requests until told to stop.
func childMain() int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "test child: "+format+"\n", args...)
		return 2
	}
	nc, err := InheritedConn(3)
	if err != nil {
		return fail("%v", err)
	}
	uid, pid, err := PeerCred(nc)
	if err != nil {
		return fail("%v", err)
	}
	c := NewConn(nc, "vrrpd")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parent, err := c.Handshake(ctx)
	if err != nil {
		return fail("handshake: %v", err)
	}
	stop := make(chan struct{})
	report := childReport{PID: os.Getpid(), PeerPID: pid, PeerUID: uid, Parent: parent.Role}
	restored := make(chan string, 1)
	h := HandlerFuncs{
		Event: func(t Type, _ json.RawMessage) {
			if t == TypeStop {
				close(stop)
			}
		},
		Request: func(_ context.Context, t Type, _ json.RawMessage) (any, error) {
			if t != TypeStatus {
				return nil, fmt.Errorf("child does not handle %s", t)
			}
			r := report
			r.Restore = <-restored
			restored <- r.Restore
			return r, nil
		},
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(context.Background(), h) }()
	var last string
	if err := c.Request(ctx, TypeRestore, nil, &last); err != nil {
		return fail("restore: %v", err)
	}
	restored <- last
	if err := c.Notify(TypeSnapshot, map[string]string{"state": "MASTER"}); err != nil {
		return fail("snapshot: %v", err)
	}
	select {
	case <-stop:
	case err := <-serveErr:
		return fail("serve ended before stop: %v", err)
	}
	c.Close()
	return 0
}

func TestSocketpairCloexec(t *testing.T) {
	p, c, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer c.Close()
	for _, f := range []*os.File{p, c} {
		flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("%s is not close-on-exec", f.Name())
		}
		typ, err := unix.GetsockoptInt(int(f.Fd()), unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil || typ != unix.SOCK_STREAM {
			t.Errorf("%s: socket type %d, %v", f.Name(), typ, err)
		}
	}
}

func TestFileConnRefusesNonStream(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "dgram")
		if c, err := FileConn(f); err == nil {
			c.Close()
			t.Error("FileConn accepted a datagram socket")
		}
		f.Close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if c, err := FileConn(r); err == nil {
		c.Close()
		t.Error("FileConn accepted a pipe")
	}
}

// The real thing: the parent makes a socketpair, re-executes this binary
// with the child end as fd 3, and the two talk both ways over it.
func TestChildProcess(t *testing.T) {
	parentEnd, childEnd, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.ExtraFiles = []*os.File{childEnd}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childEnd.Close() // the child has its own copy now
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})

	nc, err := FileConn(parentEnd)
	parentEnd.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(nc, "core")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hello, err := c.Handshake(ctx)
	if err != nil {
		t.Fatalf("handshake: %v; child stderr: %s", err, stderr.String())
	}
	if hello.Role != "vrrpd" || hello.PID != cmd.Process.Pid || hello.Binary != BuildID() {
		t.Fatalf("child's hello %+v; want role vrrpd, pid %d, binary %q", hello, cmd.Process.Pid, BuildID())
	}
	snapshots := make(chan string, 1)
	h := HandlerFuncs{
		Event: func(t Type, body json.RawMessage) {
			if t == TypeSnapshot {
				snapshots <- string(body)
			}
		},
		Request: func(_ context.Context, t Type, _ json.RawMessage) (any, error) {
			if t == TypeRestore {
				return "the last snapshot", nil
			}
			return nil, fmt.Errorf("unexpected %s", t)
		},
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- c.Serve(context.Background(), h) }()

	select {
	case s := <-snapshots:
		if s != `{"state":"MASTER"}` {
			t.Fatalf("snapshot %s", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no snapshot from the child; stderr: %s", stderr.String())
	}
	var rep childReport
	if err := c.Request(ctx, TypeStatus, nil, &rep); err != nil {
		t.Fatal(err)
	}
	want := childReport{PID: cmd.Process.Pid, PeerPID: os.Getpid(), PeerUID: os.Getuid(), Parent: "core", Restore: "the last snapshot"}
	if rep != want {
		t.Fatalf("child reported %+v, want %+v", rep, want)
	}
	if err := c.Notify(TypeStop, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-serveErr:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("Serve: %v, want the child's close", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child did not close")
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("child: %v; stderr: %s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child did not exit")
	}
}

// lockedBuffer is a strings.Builder safe to read while exec copies into it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func sockPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "vigil.sock")
}

func TestListenControlMode(t *testing.T) {
	for _, mask := range []int{0, 0o022, 0o077, 0o277} {
		t.Run(fmt.Sprintf("umask %03o", mask), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)
			path := sockPath(t)
			ln, err := ListenControl(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			st, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode() != os.ModeSocket|0o600 {
				t.Fatalf("socket mode %v, want %v", st.Mode(), os.ModeSocket|0o600)
			}
		})
	}
}

// The mode is right from the moment the file exists, not fixed afterwards.
func TestBindPrivateMode(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := sockPath(t)
	fd, err := bindPrivate(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("freshly bound socket has mode %v", st.Mode())
	}
}

func TestControlRoundTripAndPeerCred(t *testing.T) {
	path := sockPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			close(accepted)
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cli, err := DialControl(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv := <-accepted
	if srv == nil {
		t.FailNow()
	}
	defer srv.Close()
	uid, pid, err := PeerCred(srv)
	if err != nil {
		t.Fatal(err)
	}
	if uid != os.Getuid() || pid != os.Getpid() {
		t.Fatalf("PeerCred = uid %d pid %d, want %d %d", uid, pid, os.Getuid(), os.Getpid())
	}
	if _, ok := srv.(*net.UnixConn); !ok {
		t.Fatalf("accepted a %T, want *net.UnixConn", srv)
	}
	// A CLI command over the same protocol.
	core, vigil := NewConn(srv, "core"), NewConn(cli, "cli")
	handshakeBoth(t, core, vigil)
	serve(t, core, HandlerFuncs{Request: func(_ context.Context, t Type, body json.RawMessage) (any, error) {
		return "ok: " + string(body), nil
	}})
	serve(t, vigil, HandlerFuncs{})
	var out string
	if err := vigil.Request(ctx, TypeCommand, "status", &out); err != nil || out != `ok: "status"` {
		t.Fatalf("command: %q, %v", out, err)
	}

	if _, _, err := PeerCred(&fakeConn{}); err == nil {
		t.Fatal("PeerCred of a non-socket succeeded")
	}
}

type fakeConn struct{ net.Conn }

func TestListenControlReplacesStaleSocket(t *testing.T) {
	path := sockPath(t)
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a daemon that died: the file stays, nobody listens
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer ln.Close()
	c, err := DialControl(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestListenControlRefusesLiveSocket(t *testing.T) {
	path := sockPath(t)
	first, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := ListenControl(path)
	if err == nil {
		second.Close()
		t.Fatal("a second listener took over a live socket")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("error %q does not say the socket is in use", err)
	}
	// The first still works.
	go func() {
		if c, err := first.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := DialControl(context.Background(), path)
	if err != nil {
		t.Fatalf("first listener broken: %v", err)
	}
	c.Close()
}

func TestListenControlRefusesNonSocket(t *testing.T) {
	path := sockPath(t)
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ln, err := ListenControl(path); err == nil {
		ln.Close()
		t.Fatal("replaced a regular file")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("error %q", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Fatalf("regular file damaged: %q, %v", b, err)
	}
}

func TestListenControlCloseRemovesSocket(t *testing.T) {
	path := sockPath(t)
	ln, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind: %v", err)
	}
	// But not someone else's socket that took the path meanwhile.
	ln1, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	ln2, err := ListenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	ln1.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("closing the old listener removed the new socket: %v", err)
	}
}

func TestDialControlMissing(t *testing.T) {
	_, err := DialControl(context.Background(), sockPath(t))
	if err == nil || !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("got %v", err)
	}
}

func TestBuildID(t *testing.T) {
	id := BuildID()
	if id == "" || id == "unknown" {
		t.Fatalf("BuildID() = %q", id)
	}
	if BuildID() != id {
		t.Fatal("BuildID not stable")
	}
	out, err := exec.Command("go", "tool", "buildid", os.Args[0]).Output()
	if err != nil {
		t.Skipf("go tool buildid: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != id {
		t.Fatalf("BuildID() = %q, go tool buildid says %q", id, got)
	}
}
