package vrrpd

import (
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// notifyTimeout bounds a notify script; keepalived has no limit, but a hung
// script must not pile up processes forever.
const notifyTimeout = 30 * time.Second

// notifier runs notify scripts asynchronously, in order per instance, so
// a slow script never blocks the engine and never sees its transitions
// reordered.
type notifier struct {
	log    *zap.Logger
	gate   *script.Gate
	queues map[string]chan []script.Cmd
	wg     sync.WaitGroup // one per queue runner
}

func newNotifier(log *zap.Logger, gate *script.Gate) *notifier {
	return &notifier{log: log, gate: gate, queues: map[string]chan []script.Cmd{}}
}

// stateScripts are an instance's or a group's state-specific scripts.
type stateScripts struct {
	master, backup, fault, stop, generic *config.Notify
}

// transition queues keepalived's scripts for an instance's state change:
// the state-specific one, then the generic "notify" with its four
// arguments (INSTANCE name state priority).
func (n *notifier) transition(c *config.VRRPInstance, to vrrp.State, prio uint8, reason string) {
	n.queue(c.Name, "INSTANCE", c.Name, stateScripts{c.NotifyMaster, c.NotifyBackup, c.NotifyFault, c.NotifyStop, c.Notify}, to, prio, reason)
}

// groupTransition queues a vrrp_sync_group's scripts, with "GROUP name
// state priority" for the generic one.
func (n *notifier) groupTransition(g *config.SyncGroup, to vrrp.State, prio uint8) {
	n.queue("group "+g.Name, "GROUP", g.Name, stateScripts{g.NotifyMaster, g.NotifyBackup, g.NotifyFault, g.NotifyStop, g.Notify}, to, prio, "")
}

// queue runs the scripts for a transition. reason (why the state changed,
// e.g. "held: dual master: b outranks") reaches the scripts as
// $VIGIL_REASON, since keepalived's argument list is fixed.
func (n *notifier) queue(owner, kind, name string, sc stateScripts, to vrrp.State, prio uint8, reason string) {
	var specific *config.Notify
	word := ""
	switch to {
	case vrrp.Master:
		specific, word = sc.master, "MASTER"
	case vrrp.Backup:
		specific, word = sc.backup, "BACKUP"
	case vrrp.Fault:
		specific, word = sc.fault, "FAULT"
	case vrrp.Stopped:
		specific, word = sc.stop, "STOP"
	default:
		return
	}
	var cmds []script.Cmd
	if specific != nil {
		cmds = append(cmds, n.cmd(specific, nil))
	}
	if sc.generic != nil {
		cmds = append(cmds, n.cmd(sc.generic, []string{kind, name, word, strconv.Itoa(int(prio))}))
	}
	if reason != "" {
		env := append(os.Environ(), "VIGIL_REASON="+reason)
		for i := range cmds {
			cmds[i].Env = env
		}
	}
	n.enqueue(owner, word, cmds)
}

// enqueue hands scripts to the owner's serial queue.
func (n *notifier) enqueue(owner, word string, cmds []script.Cmd) {
	kept := cmds[:0]
	for _, c := range cmds {
		if len(c.Args) > 0 && n.gate.Allowed(c.Args[0], owner+" notify") {
			kept = append(kept, c)
		}
	}
	cmds = kept
	if len(cmds) == 0 {
		return
	}
	q, ok := n.queues[owner]
	if !ok {
		q = make(chan []script.Cmd, 16)
		n.queues[owner] = q
		n.wg.Add(1)
		go n.run(owner, q)
	}
	select {
	case q <- cmds:
	default:
		n.log.Warn("notify queue full; scripts skipped", zap.String("owner", owner), zap.String("state", word))
	}
}

func (n *notifier) cmd(s *config.Notify, extra []string) script.Cmd {
	user, group := n.gate.RunAs(s.User, s.Group)
	args := append(append([]string{}, s.Args...), extra...)
	return script.Cmd{Args: args, Timeout: notifyTimeout, User: user, Group: group}
}

func (n *notifier) run(name string, q chan []script.Cmd) {
	defer n.wg.Done()
	for cmds := range q {
		for _, c := range cmds {
			r := script.Run(context.Background(), c)
			if !r.OK() {
				n.log.Warn("notify script failed", zap.String("instance", name), zap.Strings("command", c.Args),
					zap.Stringer("result", r), zap.ByteString("output", r.Output))
			}
		}
	}
}

// notifyDrainBound is how long a stopping engine waits for queued notify
// scripts (keepalived's default shutdown_script_timeout).
const notifyDrainBound = 10 * time.Second

// drain closes every queue and waits, up to bound, for the scripts still
// queued: a stopping engine's last transitions (notify_stop, "notify
// INSTANCE name STOP prio") are queued just before Run returns, and
// keepalived runs them. Call on the engine goroutine after the last
// transition.
func (n *notifier) drain(bound time.Duration) {
	for owner, q := range n.queues {
		close(q)
		delete(n.queues, owner)
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
		n.log.Warn("notify scripts still running at exit; not waiting for them", zap.Duration("waited", bound))
	}
}
