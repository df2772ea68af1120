package checkd

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/sched"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/ipc"
)

// notifyQueue bounds the notify_up/notify_down scripts waiting to run.
const notifyQueue = 1024

// notifyDrainBound is how long a stopping runner waits for queued notify
// scripts (omega's notify_down among them).
const notifyDrainBound = 10 * time.Second

// RunnerState is what a restarted checkd resumes the real-server checks
// from: each checker's verdict and retry count, and the FILE_CHECK weight
// adjustments, so no real server changes state because checkd restarted.
type RunnerState struct {
	Taken    time.Time                      `json:"taken"`
	Checkers map[string]health.CheckerState `json:"checkers,omitempty"`
	Deltas   map[string]int64               `json:"deltas,omitempty"`
}

// Runner runs a Plan's real-server checkers under one scheduler, folds
// their verdicts per real server (health.Server) and reports every change
// of a server as an ipc.Backend for lvsd. It runs notify_up and
// notify_down in order, one at a time, and with omega reports the servers
// down when it stops.
type Runner struct {
	log  *zap.Logger
	emit func(ipc.Backend)
	// alerts sends smtp_alert e-mails (nil: none configured).
	alerts *smtpalert.Sender

	notes     chan script.Cmd
	notesDone chan struct{}
	kick      chan struct{}

	// mm guards the machines, which the scheduler drives under its own
	// lock; it is always taken last.
	mm sync.Mutex

	mu       sync.Mutex
	checkers map[string]*runChecker
	servers  []*runServer
	dirty    bool
	stopped  bool
	sched    *sched.Scheduler
	pending  []pendingChange
}

type runChecker struct {
	Checker
	m     *health.Checker
	srv   *runServer
	delta *int64
	// mailedUp is the checker's state as the e-mails know it: its
	// starting state (alpha: down) or the resumed one, then the last one
	// mailed. keepalived mails a checker's change from it, so a first
	// verdict that only confirms it sends nothing.
	mailedUp bool
	// probes counts completed probes and their latency (under Runner.mu).
	probes probeStats
}

type runServer struct {
	RealServer
	suspended bool // ha_suspend: the virtual address is not here
	h         *health.Server
	ran       map[string]bool // checker ID -> has reached a verdict
	last      ipc.Backend
	sent      bool
}

// NewRunner prepares the plan's checkers; restore (may be nil) resumes a
// previous checkd's verdicts. emit is called by Flush for every change of
// a real server, and once per server at start.
func NewRunner(plan *Plan, log *zap.Logger, restore *RunnerState, emit func(ipc.Backend)) *Runner {
	r := &Runner{log: log, emit: emit, notes: make(chan script.Cmd, notifyQueue), kick: make(chan struct{}, 1), checkers: map[string]*runChecker{}}
	if plan.Mail != nil {
		r.alerts = smtpalert.New(*plan.Mail, log)
	}
	now := time.Now()
	byID := map[string]Checker{}
	for _, c := range plan.Checkers {
		byID[c.ID] = c
	}
	for _, rs := range plan.RealServers {
		srv := &runServer{RealServer: rs, ran: map[string]bool{}}
		ups := map[string]bool{}
		var restored []*runChecker
		for _, id := range rs.Checkers {
			c, ok := byID[id]
			if !ok {
				continue
			}
			rc := &runChecker{Checker: c, m: health.NewChecker(c.Health), srv: srv}
			st, have := CheckerState{}, false
			if restore != nil {
				st, have = restore.Checkers[id]
			}
			if have {
				// A snapshot taken between probes holds past due times:
				// spread those over a delay_loop instead of firing every
				// check at once after a crash.
				if st.Next.Before(now) {
					st.Next = now.Add(time.Duration(rand.Float64() * float64(c.Health.DelayLoop)))
				}
				rc.m.Restore(st, now)
				if d, ok := restore.Deltas[id]; ok {
					rc.delta = &d
				}
				restored = append(restored, rc)
			} else {
				rc.m.Start(now, rand.Float64())
			}
			ups[id] = rc.m.Up()
			rc.mailedUp = rc.m.Up()
			srv.ran[id] = rc.m.HasRun()
			r.checkers[id] = rc
		}
		srv.h = health.NewServer(rs.Weight, ups)
		for _, rc := range restored {
			st := rc.m.State()
			srv.h.Update(rc.ID, health.Decision{Up: st.Up, WeightChanged: st.Weight != nil, Weight: st.Weight}, rc.delta)
		}
		r.servers = append(r.servers, srv)
	}
	return r
}

// CheckerState aliases health.CheckerState for snapshot readers.
type CheckerState = health.CheckerState

// Run probes until ctx ends, then stops every checker (omega). The
// caller then takes the last State, calls Flush, and Close.
func (r *Runner) Run(ctx context.Context) {
	r.notesDone = make(chan struct{})
	go func() { defer close(r.notesDone); r.runNotes() }()

	s := sched.New(sched.Options{OnEvent: r.onEvent})
	r.mu.Lock()
	r.sched = s
	for _, srv := range r.servers {
		r.report(srv, srv.h.Update("", health.Decision{}, nil))
	}
	ids := make([]string, 0, len(r.checkers))
	for id := range r.checkers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if rc := r.checkers[id]; !rc.srv.suspended {
			r.add(rc)
		}
	}
	r.mu.Unlock()
	_ = s.Run(ctx)

	r.mu.Lock()
	r.stopped = true
	for _, id := range ids {
		rc := r.checkers[id]
		r.mm.Lock()
		d := rc.m.Stop()
		r.mm.Unlock()
		if d.Changed {
			r.log.Info("checker stopped with omega: reporting it down", zap.String("checker", id))
			was := rc.srv.last.Alive
			r.report(rc.srv, rc.srv.h.Update(id, d, nil))
			if was && !rc.srv.last.Alive && rc.srv.SMTPAlert {
				// keepalived mails the server's removal at an omega
				// shutdown, not each checker's.
				r.alerts.RealServerShutdown(rc.VirtualServer, rc.RealServer.String())
			}
		}
	}
	r.mu.Unlock()
}

// add schedules a checker. Called with r.mu held.
func (r *Runner) add(rc *runChecker) {
	if err := r.sched.Add(sched.Check{ID: rc.ID, Probe: rc.Probe, Start: rc.Start, Machine: lockedMachine{rc.m, &r.mm}, Timeout: rc.Timeout}); err != nil {
		r.log.Error("checker not scheduled", zap.String("checker", rc.ID), zap.Error(err))
	}
}

// SetHeld tells the runner which addresses this host holds now: the
// checkers of an ha_suspend virtual server run only while its address is
// here ("suspend healthchecker's activity when the VS's IP is not
// present"); a suspended server keeps its last verdict. It may be called
// before Run.
func (r *Runner) SetHeld(held map[netip.Addr]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	now := time.Now()
	for _, srv := range r.servers {
		if !srv.SuspendAddr.IsValid() || srv.suspended == !held[srv.SuspendAddr] {
			continue
		}
		srv.suspended = !srv.suspended
		word := "Resuming"
		if srv.suspended {
			word = "Suspending"
		}
		r.log.Info(word+" checkers of real server (ha_suspend)", zap.String("virtual_server", srv.VirtualServer),
			zap.String("real_server", srv.Addr.String()), zap.String("address", srv.SuspendAddr.String()))
		if r.sched == nil {
			continue // Run schedules what is not suspended
		}
		for _, id := range srv.Checkers {
			rc := r.checkers[id]
			if rc == nil {
				continue
			}
			if srv.suspended {
				r.sched.Remove(id)
				continue
			}
			r.mm.Lock()
			rc.m.Start(now, rand.Float64())
			r.mm.Unlock()
			r.add(rc)
		}
	}
}

// Changed is signalled when changes wait for Flush. The caller first
// saves State (so a checkd killed right after cannot forget what it
// reported), then calls Flush.
func (r *Runner) Changed() <-chan struct{} { return r.kick }

// Flush emits the real-server changes found since the last call and
// queues their notify scripts.
func (r *Runner) Flush() {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	for _, p := range pending {
		r.emit(p.b)
		if p.cmd == nil {
			continue
		}
		select {
		case r.notes <- *p.cmd:
		default:
			r.log.Warn("notify queue full; script skipped", zap.String("real_server", p.b.Server.String()), zap.Strings("command", p.cmd.Args))
		}
	}
}

// Close waits, a bounded time, for the queued notify scripts (omega's
// notify_down among them). Call it once, after Run returned and the last
// Flush.
func (r *Runner) Close() {
	close(r.notes)
	defer r.alerts.Close(2 * time.Second)
	if r.notesDone == nil {
		return
	}
	select {
	case <-r.notesDone:
	case <-time.After(notifyDrainBound):
		r.log.Warn("notify scripts still running at exit; not waiting for them", zap.Duration("waited", notifyDrainBound))
	}
}

// onEvent is the scheduler's callback: one completed probe.
func (r *Runner) onEvent(ev sched.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc := r.checkers[ev.ID]
	if rc == nil || r.stopped {
		return
	}
	rc.probes.observe(ev.End.Sub(ev.Start), ev.Result.OK)
	d := ev.Decision
	deltaChanged := false
	if nd := ev.Result.WeightDelta; nd != nil && (rc.delta == nil || *rc.delta != *nd) {
		v := *nd
		rc.delta, deltaChanged = &v, true
	}
	if d.Retrying {
		r.log.Info("check failed; retrying", zap.String("checker", rc.ID), zap.String("real_server", rc.RealServer.String()),
			zap.Int("attempt", d.Attempt), zap.String("detail", ev.Result.Detail))
		r.dirty = true
	}
	if !d.Changed && !d.WeightChanged && !deltaChanged {
		return
	}
	r.dirty = true
	if d.Changed {
		// keepalived's phrases, so existing log alerting still matches.
		msg := rc.Type + " on service " + rc.RealServer.String() + " failed."
		if d.Up {
			msg = rc.Type + " on service " + rc.RealServer.String() + " succeeded."
		}
		r.log.Info(msg, zap.String("checker", rc.ID), zap.String("virtual_server", rc.VirtualServer),
			zap.Bool("initial", d.Initial), zap.String("detail", ev.Result.Detail))
		rc.srv.ran[rc.ID] = true
	}
	sd := rc.srv.h.Update(rc.ID, d, rc.delta)
	if d.Changed && d.Up != rc.mailedUp {
		rc.mailedUp = d.Up
		if rc.srv.SMTPAlert {
			r.alerts.Checker(rc.VirtualServer, rc.RealServer.String(), rc.Type, d.Up, ev.Result.Detail, alertDetail(rc.ID, sd))
		}
	}
	r.report(rc.srv, sd)
}

// report emits a server's state when it differs from what was last sent,
// and queues its notify script on an alive transition. Called with r.mu.
func (r *Runner) report(srv *runServer, sd health.ServerDecision) {
	b := ipc.Backend{VirtualServer: srv.VirtualServer, Server: srv.Addr, Alive: sd.Alive, Weight: sd.Weight, Failed: sd.Failed, Decided: srv.decided()}
	if srv.sent && b.Alive == srv.last.Alive && b.Weight == srv.last.Weight && b.Decided == srv.last.Decided && slices.Equal(b.Failed, srv.last.Failed) {
		return
	}
	wasAlive := srv.last.Alive
	first := !srv.sent
	srv.last, srv.sent = b, true
	r.dirty = true
	p := pendingChange{b: b}
	defer func() {
		r.pending = append(r.pending, p)
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}()
	if first || b.Alive == wasAlive {
		return
	}
	word, cmd := "DOWN", srv.NotifyDown
	if b.Alive {
		word, cmd = "UP", srv.NotifyUp
	}
	r.log.Info("Real server "+word, zap.String("virtual_server", srv.VirtualServer), zap.String("real_server", srv.Addr.String()),
		zap.Int("weight", b.Weight), zap.Strings("failed", b.Failed))
	p.cmd = cmd
}

// pendingChange is a real server's new state and the notify script it
// calls for, held until Flush.
type pendingChange struct {
	b   ipc.Backend
	cmd *script.Cmd
}

func (s *runServer) decided() bool {
	for _, id := range s.Checkers {
		if !s.ran[id] {
			return false
		}
	}
	return true
}

func (r *Runner) runNotes() {
	for cmd := range r.notes {
		res := script.Run(context.Background(), cmd)
		if !res.OK() {
			r.log.Warn("notify script failed", zap.Strings("command", cmd.Args), zap.String("result", res.String()),
				zap.ByteString("output", res.Output))
		}
	}
}

// State returns the checkers' state for a snapshot, and whether it changed
// in a way that matters since the last call (verdicts, retry counts,
// weights; not mere due times, which a restore spreads anyway).
func (r *Runner) State() (RunnerState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := r.dirty
	r.dirty = false
	st := RunnerState{Taken: time.Now(), Checkers: make(map[string]health.CheckerState, len(r.checkers))}
	r.mm.Lock()
	defer r.mm.Unlock()
	for id, rc := range r.checkers {
		st.Checkers[id] = rc.m.State()
		if rc.delta != nil {
			if st.Deltas == nil {
				st.Deltas = map[string]int64{}
			}
			st.Deltas[id] = *rc.delta
		}
	}
	return st, changed
}

// Backends returns every real server's current state.
func (r *Runner) Backends() []ipc.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ipc.Backend, 0, len(r.servers))
	for _, srv := range r.servers {
		out = append(out, srv.last)
	}
	return out
}

// lockedMachine lets State read checkers the scheduler is driving.
type lockedMachine struct {
	m  *health.Checker
	mu *sync.Mutex
}

func (l lockedMachine) Next() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Next()
}

func (l lockedMachine) Observe(p health.Probe) health.Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Observe(p)
}
