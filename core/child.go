package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
)

const (
	// standInLimit bounds how long the parent advertises for an absent
	// vrrpd: long enough for every restart backoff, short enough that a
	// node whose VRRP engine cannot run gives up its masters.
	standInLimit = 30 * time.Second
	// stateFresh bounds the age of a run-directory snapshot worth
	// resuming; resumeWindow shortens it to the masters' master-down
	// intervals.
	stateFresh = 10 * time.Second
	// stateTouch is how often the parent touches that snapshot while it
	// runs, which dates its death to within this much.
	stateTouch = 250 * time.Millisecond
	// Crash-loop policy. A child is given up on (its VIPs released,
	// logged as an error) when notReadyLimit incarnations in a row die
	// before becoming ready (vrrpd: before its first snapshot), which is
	// a child that cannot work; or, as a safety net, after more than
	// crashLimit deaths within crashWindow. Deaths of a child that keeps
	// getting back to work (chaos tests, an occasional crash) are
	// absorbed: the stand-in covers each gap.
	notReadyLimit = 5
	crashLimit    = 60
	crashWindow   = 5 * time.Minute
	maxBackoff    = 5 * time.Second
	// Liveness: a child that misses pingFails pings in a row is hung.
	pingEvery   = time.Second
	pingTimeout = 2 * time.Second
	pingFails   = 3
	// stderrTail is how much of a dead child's stderr is logged.
	stderrTail = 4096
	// stopTimeout bounds a graceful stop (vrrpd's make-before-break is
	// about two advert intervals).
	stopTimeout = 10 * time.Second
)

// childState is a child's lifecycle state, for status.
type childState string

const (
	stateStarting childState = "starting"
	stateRunning  childState = "running"
	stateBackoff  childState = "backoff"
	stateGivenUp  childState = "given-up"
	stateStopped  childState = "stopped"
)

// child is one subsystem process and its restarts.
type child struct {
	s    *Supervisor
	name string
	log  *zap.Logger

	mu        sync.Mutex
	state     childState
	cmd       *exec.Cmd
	conn      *ipc.Conn
	pid       int
	since     time.Time
	restarts  int
	crashes   []time.Time
	notReady  int  // incarnations in a row that died before becoming ready
	ready     bool // the current incarnation is ready
	lastExit  string
	tail      *tailBuffer
	restartCh chan string   // restart requests (vigil restart, reload)
	stopCh    chan struct{} // closed by stop
	stopOnce  sync.Once
	stopped   chan struct{} // closed when run returns
}

func newChild(s *Supervisor, name string) *child {
	return &child{s: s, name: name, log: s.log.With(zap.String("child", name)), state: stateStarting,
		restartCh: make(chan string, 1), stopCh: make(chan struct{}), stopped: make(chan struct{})}
}

// run keeps the child alive until stop, restarting it with backoff.
func (c *child) run() {
	defer close(c.stopped)
	var backoff time.Duration
	for {
		reason, err := c.once()
		if reason == "" && c.exitedCleanly() {
			// A child exits 0 unasked only on SIGTERM, and SIGTERM
			// usually went to the whole process group (systemd, a
			// terminal): give our own shutdown a moment to begin
			// rather than restarting a child it would have to stop.
			c.waitForShutdown(time.Second)
		}
		if c.stopping() {
			c.setState(stateStopped)
			return
		}
		if reason != "" {
			// Asked for (restart, reload): immediately, on the hitless path.
			c.log.Info("restarting", zap.String("reason", reason))
			continue
		}
		c.mu.Lock()
		now := time.Now()
		c.crashes = append(c.crashes, now)
		for len(c.crashes) > 0 && now.Sub(c.crashes[0]) > crashWindow {
			c.crashes = c.crashes[1:]
		}
		crashes := len(c.crashes)
		if c.ready {
			c.notReady = 0
		} else {
			c.notReady++
		}
		notReady := c.notReady
		tail := c.tail.String()
		c.mu.Unlock()
		c.log.Error("child died", zap.Error(err), zap.Int("crashes_in_window", crashes),
			zap.Int("died_before_ready_in_a_row", notReady), zap.String("stderr_tail", tail))
		if notReady >= notReadyLimit || crashes > crashLimit {
			c.giveUp(crashes, notReady)
			select {
			case r := <-c.restartCh:
				c.log.Info("revived", zap.String("reason", r))
				c.mu.Lock()
				c.crashes, c.notReady = nil, 0
				c.mu.Unlock()
				continue
			case <-c.stopCh:
				c.setState(stateStopped)
				return
			}
		}
		// Backoff is for a child that cannot start: one that was working
		// when it died comes back at once. While vrrpd is away its masters
		// keep advertising through us, so no backoff lets the peer take
		// over.
		backoff = 0
		if notReady > 0 {
			backoff = min(100*time.Millisecond<<(notReady-1), maxBackoff)
		}
		c.standIn()
		c.setState(stateBackoff)
		select {
		case <-time.After(backoff):
		case r := <-c.restartCh:
			c.log.Info("restart requested during backoff", zap.String("reason", r))
		case <-c.stopCh:
			c.setState(stateStopped)
			return
		}
	}
}

func (c *child) stopping() bool {
	select {
	case <-c.stopCh:
		return true
	default:
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.stopping
}

// exitedCleanly reports whether the last incarnation exited with status 0.
func (c *child) exitedCleanly() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastExit == "exit code 0"
}

// waitForShutdown waits up to d for the supervisor to start stopping.
func (c *child) waitForShutdown(d time.Duration) {
	deadline := time.Now().Add(d)
	for !c.stopping() && time.Now().Before(deadline) {
		select {
		case <-c.stopCh:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// standIn makes the parent advertise for vrrpd's masters while it is away.
func (c *child) standIn() {
	if c.name != "vrrpd" {
		return
	}
	if snap := c.s.vrrpRestore(); snap != nil && len(snap.Masters()) > 0 {
		c.s.standIn.Start(snap, standInLimit)
	}
}

// giveUp ends a crash loop in a defined way: the VIPs are released
// (priority-0 adverts, addresses removed) so the peer takes over, rather
// than leaving a silent zombie master. `vigil restart` revives the child.
func (c *child) giveUp(crashes, notReady int) {
	c.setState(stateGivenUp)
	c.log.Error("giving up on child after repeated crashes; `vigil restart "+c.name+"` revives it",
		zap.Int("crashes_in_window", crashes), zap.Duration("window", crashWindow),
		zap.Int("died_before_ready_in_a_row", notReady))
	if c.name == "vrrpd" {
		c.s.releaseVRRP("vrrpd given up")
	}
}

func (c *child) markReady() {
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
}

func (c *child) setState(st childState) {
	c.mu.Lock()
	c.state = st
	c.mu.Unlock()
}

// once runs one incarnation of the child. It returns a non-empty reason
// when the child was restarted on purpose, else the error it died of.
func (c *child) once() (restartReason string, err error) {
	parentEnd, childEnd, err := ipc.Socketpair()
	if err != nil {
		return "", fmt.Errorf("core: socketpair: %w", err)
	}
	// The format is decided here, once: the child's stderr is a pipe to
	// us, so left to itself it would always pick JSON.
	args := []string{"vigil", c.name, "--child", "--log-format", string(logging.Resolve(logging.Format(c.s.opts.LogFormat)))}
	if c.s.opts.Debug {
		args = append(args, "--debug")
	}
	cmd := &exec.Cmd{Path: c.s.opts.Binary, Args: args, Env: append(os.Environ(), "VIGIL_IPC_FD=3"),
		ExtraFiles: []*os.File{childEnd}, Stdout: os.Stderr}
	tail := newTailBuffer(stderrTail)
	cmd.Stderr = io.MultiWriter(os.Stderr, tail)
	// The child dies with us: a re-executed or restarted parent starts
	// fresh children that resume from the run directory's snapshot.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		parentEnd.Close()
		childEnd.Close()
		return "", fmt.Errorf("core: start %s: %w", c.name, err)
	}
	childEnd.Close()
	nc, err := ipc.FileConn(parentEnd)
	parentEnd.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", err
	}
	conn := ipc.NewConn(nc, "core")
	c.mu.Lock()
	c.cmd, c.conn, c.pid, c.since, c.tail = cmd, conn, cmd.Process.Pid, time.Now(), tail
	c.restarts++
	c.ready = false
	c.mu.Unlock()
	c.log.Info("Starting "+c.name+" child process", zap.Int("pid", cmd.Process.Pid))

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	_, herr := conn.Handshake(hctx)
	hcancel()
	served := make(chan struct{})
	if herr == nil {
		c.setState(stateRunning)
		if c.name != "vrrpd" {
			c.markReady() // vrrpd is ready at its first snapshot
		}
		go func() { _ = conn.Serve(ctx, c.handler()); close(served) }()
		go c.watchLiveness(ctx, conn, cmd)
	} else {
		c.log.Error("handshake with child failed", zap.Error(herr))
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		close(served)
	}
	// drain lets Serve deliver what the child sent before it died (its
	// last snapshot above all), bounded.
	drain := func() {
		select {
		case <-served:
		case <-time.After(time.Second):
		}
		conn.Close()
	}

	select {
	case err := <-exited:
		drain()
		c.recordExit(cmd, err)
		return "", fmt.Errorf("%s exited: %s", c.name, describeExit(cmd, err))
	case reason := <-c.restartCh:
		// Hitless path: the old child is killed like a crash (it must not
		// release anything); the new one resumes from the snapshot, and
		// we stand in for the moment between.
		c.standIn()
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		err := <-exited
		drain()
		c.recordExit(cmd, err)
		return reason, nil
	case <-c.stopCh:
		// stop has asked the child to end gracefully; wait for it, and
		// kill it if it does not end in time.
		select {
		case err := <-exited:
			c.recordExit(cmd, err)
		case <-time.After(stopTimeout):
			c.log.Error("child did not stop in time; killing it")
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			c.recordExit(cmd, <-exited)
		}
		drain()
		return "", nil
	}
}

func (c *child) recordExit(cmd *exec.Cmd, err error) {
	c.mu.Lock()
	c.lastExit = describeExit(cmd, err)
	c.conn = nil
	c.mu.Unlock()
}

// describeExit says how a process ended: exit code or signal.
func describeExit(cmd *exec.Cmd, err error) string {
	if cmd.ProcessState == nil {
		if err != nil {
			return err.Error()
		}
		return "unknown"
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Signaled():
			return "killed by " + unix.SignalName(ws.Signal())
		case ws.Exited():
			return fmt.Sprintf("exit code %d", ws.ExitStatus())
		}
	}
	return cmd.ProcessState.String()
}

// watchLiveness pings the child; a child that stops answering is hung and
// is replaced (killed, then restarted like a crash).
func (c *child) watchLiveness(ctx context.Context, conn *ipc.Conn, cmd *exec.Cmd) {
	missed := 0
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-conn.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := conn.Request(pctx, ipc.TypePing, nil, nil)
		cancel()
		if err == nil {
			missed = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		missed++
		if missed >= pingFails {
			c.log.Error("child does not answer pings; killing it", zap.Int("missed", missed))
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			return
		}
	}
}

// handler serves what a child asks of the parent and keeps its events.
func (c *child) handler() ipc.Handler {
	return ipc.HandlerFuncs{
		Event: func(t ipc.Type, body json.RawMessage) {
			switch t {
			case ipc.TypeSnapshot:
				if c.name == "vrrpd" {
					c.s.setVRRPSnapshot(body)
					// The new vrrpd is advertising: stop standing in.
					c.s.standIn.Stop()
					c.markReady()
				} else {
					c.s.setSnapshot(c.name, body)
				}
			case ipc.TypeInstance:
				if c.name == "vrrpd" {
					c.s.routeInstance(body)
				}
			case ipc.TypeVerdict:
				if c.name == "agent" {
					c.s.routeVerdict(body)
				}
			case ipc.TypeTrack:
				if c.name == "checkd" {
					c.s.routeTrack(body)
				}
			case ipc.TypeBackend:
				if c.name == "checkd" {
					c.s.routeBackend(body)
				}
			}
		},
		Request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
			switch t {
			case ipc.TypePing:
				return struct{}{}, nil
			case ipc.TypeConfig:
				return c.s.config(), nil
			case ipc.TypeRestore:
				if c.name == "vrrpd" {
					return c.s.vrrpRestore(), nil
				}
				if snap := c.s.snapshotFor(c.name); snap != nil {
					return snap, nil
				}
				return nil, nil
			case ipc.TypeTrack:
				return c.s.trackPlan(), nil
			case ipc.TypeBackend:
				return c.s.Backends(), nil
			case ipc.TypeVerdict:
				return c.s.verdictList(), nil
			case ipc.TypeInstance:
				return c.s.instanceList(), nil
			}
			return nil, fmt.Errorf("core: %s asked for %v, which the parent does not serve", c.name, t)
		},
	}
}

// stop ends the child gracefully (it releases what it must) and waits for
// it; a child that does not end within stopTimeout is killed.
func (c *child) stop() {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stopCh) })
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		if err := conn.Request(ctx, ipc.TypeStop, nil, nil); err != nil && !errors.Is(err, ipc.ErrClosed) {
			c.log.Debug("stop request ended", zap.Error(err))
		}
		cancel()
	}
	<-c.stopped
}

// restart replaces the child on the hitless path (vigil restart, reload).
func (c *child) restart(reason string) {
	select {
	case c.restartCh <- reason:
	default: // one is already pending
	}
}

// ChildStatus is a child as `vigil status` shows it.
type ChildStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	PID      int    `json:"pid,omitempty"`
	Uptime   string `json:"uptime,omitempty"`
	Restarts int    `json:"restarts"`
	LastExit string `json:"last_exit,omitempty"`
}

func (c *child) status() ChildStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := ChildStatus{Name: c.name, State: string(c.state), Restarts: max(c.restarts-1, 0), LastExit: c.lastExit}
	if c.state == stateRunning {
		st.PID = c.pid
		st.Uptime = time.Since(c.since).Round(time.Second).String()
	}
	return st
}

// tailBuffer keeps the last n bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// connection returns the child's IPC connection, nil when it has none (or
// c is nil).
func (c *child) connection() *ipc.Conn {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}
