package core

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
)

// sdPoll is how often the notifier looks at the children (readiness, the
// STATUS= line). Cheap: a few mutexes.
const sdPoll = 100 * time.Millisecond

// sdNotifier speaks systemd's notify protocol (Type=notify) for the
// parent: READY=1 once every child the configuration needs is ready
// (vrrpd: its first snapshot, so the VIPs it holds are its own again),
// RELOADING=1/READY=1 around a reload, STOPPING=1 at shutdown, WATCHDOG=1
// while the run loop answers, and STATUS= with a one-line summary.
//
// Without NOTIFY_SOCKET every method is a no-op and the loop channel is
// nil (never selected). Only the parent notifies: children inherit the
// variable (an upgraded parent needs it after execve) but never use it,
// and systemd's default NotifyAccess=main would ignore them anyway.
type sdNotifier struct {
	s   *Supervisor
	log *zap.Logger
	on  bool
	// loop is received from by the watchdog; the run loop's select sends
	// on it, so a WATCHDOG=1 proves the loop is turning.
	loop chan struct{}
	// watchdog is half of WATCHDOG_USEC (0: no watchdog).
	watchdog time.Duration

	mu       sync.Mutex
	ready    bool   // READY=1 sent (and not withdrawn by a reload)
	stopping bool   // STOPPING=1 sent: nothing more but STATUS
	status   string // last STATUS= sent
}

func newSDNotifier(s *Supervisor) *sdNotifier {
	n := &sdNotifier{s: s, log: s.log.With(zap.String("part", "sd_notify"))}
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return n
	}
	n.on = true
	n.loop = make(chan struct{})
	if d, err := daemon.SdWatchdogEnabled(false); err != nil {
		n.log.Warn("WATCHDOG_USEC unusable; no watchdog", zap.Error(err))
	} else if d > 0 {
		n.watchdog = d / 2
	}
	return n
}

// send writes one datagram; failures are logged, never fatal.
func (n *sdNotifier) send(state string) {
	if !n.on {
		return
	}
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Warn("sd_notify failed", zap.String("state", state), zap.Error(err))
	}
}

// run watches readiness and the status line until ctx ends, and pets the
// watchdog. Start it after the children were started.
func (n *sdNotifier) run(ctx context.Context) {
	if !n.on {
		return
	}
	if n.watchdog > 0 {
		go n.petWatchdog(ctx)
	}
	t := time.NewTicker(sdPoll)
	defer t.Stop()
	for {
		n.tick()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick sends READY=1 when the children first are all ready, and STATUS=
// when the summary changed.
func (n *sdNotifier) tick() {
	ready, summary := n.s.sdSummary()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	var msg []string
	if ready && !n.ready {
		n.ready = true
		msg = append(msg, daemon.SdNotifyReady)
	}
	if summary != n.status {
		n.status = summary
		msg = append(msg, "STATUS="+summary)
	}
	if len(msg) > 0 {
		n.send(strings.Join(msg, "\n"))
	}
}

// petWatchdog sends WATCHDOG=1 every half WATCHDOG_USEC, but only after
// the run loop took a token and the supervisor's lock could be had: a
// wedged parent stops petting, and systemd restarts it (children die with
// it, Pdeathsig; the next parent resumes from the run directory).
func (n *sdNotifier) petWatchdog(ctx context.Context) {
	t := time.NewTicker(n.watchdog)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.loop:
		}
		n.s.mu.Lock()
		//lint:ignore SA2001 taking the lock is the liveness probe
		n.s.mu.Unlock()
		n.send(daemon.SdNotifyWatchdog)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reloading is sent before a reload; reloaded after it (accepted or
// refused: either way the daemon runs a valid configuration again).
func (n *sdNotifier) reloading() {
	if n == nil || !n.on {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	n.send(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec() + "STATUS=reloading " + n.s.opts.ConfigPath)
	n.status = ""
}

func (n *sdNotifier) reloaded(err error) {
	if n == nil || !n.on {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	msg := daemon.SdNotifyReady
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		msg += "\nSTATUS=reload refused, running the previous configuration: " + first
		n.status = ""
	}
	n.send(msg)
}

// stoppingNow is sent as shutdown begins.
func (n *sdNotifier) stoppingNow() {
	if n == nil || !n.on {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopping {
		return
	}
	n.stopping = true
	n.send(daemon.SdNotifyStopping + "\nSTATUS=stopping: handing over and stopping the children")
}

// sdSummary reports whether every child the configuration needs is ready
// (or given up on: waiting longer would not help, and the status says
// so), with a one-line summary for STATUS=.
func (s *Supervisor) sdSummary() (bool, string) {
	s.mu.Lock()
	cfg := s.cfg
	snap := s.vrrpSnap
	children := map[string]*child{}
	for k, v := range s.children {
		children[k] = v
	}
	s.mu.Unlock()
	ready := true
	var parts []string
	for _, name := range s.wanted(cfg) {
		c := children[name]
		if c == nil {
			ready = false
			parts = append(parts, name+" not started")
			continue
		}
		c.mu.Lock()
		st, ok := c.state, c.ready
		c.mu.Unlock()
		switch {
		case st == stateGivenUp:
			parts = append(parts, name+" GIVEN UP")
		case st == stateRunning && !ok:
			ready = false
			parts = append(parts, name+" starting")
		case st != stateRunning:
			ready = false
			parts = append(parts, name+" "+string(st))
		default:
			parts = append(parts, name+" running")
		}
		if name == "vrrpd" && snap != nil {
			parts[len(parts)-1] += fmt.Sprintf(" (%d instances, %d MASTER)", len(snap.Instances), len(snap.Masters()))
		}
	}
	if len(parts) == 0 {
		return true, "running, nothing configured"
	}
	return ready, strings.Join(parts, "; ")
}
