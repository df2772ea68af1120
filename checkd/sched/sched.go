// Package sched runs thousands of health checks: one timer heap and one
// clock timer for all of them (no goroutine sleeping per check), a bound on
// the probes in flight, and each check's own state machine (checkd/health)
// deciding when it runs next. Spreading comes from the machines: a
// checker's first probe falls uniformly within its warmup (by default its
// delay_loop), and each later one a delay after the previous, so checks
// configured alike stay spread over their interval instead of firing
// together.
//
// Results are delivered, in completion order, to one callback called from
// the scheduler's goroutine: every probe's outcome and the machine's
// decision (state changes are the decisions with Changed set).
package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
)

// Machine decides when a check runs and what its outcomes mean:
// *health.Checker and *health.Script both are.
type Machine interface {
	// Next is when the next probe is due; zero means now.
	Next() time.Time
	Observe(health.Probe) health.Decision
}

// Check is one scheduled health check.
type Check struct {
	// ID names the check in events; unique within a scheduler.
	ID string
	// Probe performs one check. It must honour ctx: the scheduler cancels
	// it after Timeout and at shutdown, and waits for it to return.
	Probe func(ctx context.Context) probe.Result
	// Start, when set, is used instead of Probe: it begins a probe
	// without a goroutine of its own and calls done exactly once with the
	// outcome (perhaps before it returns); cancel abandons the probe, done
	// still being called. Timeout does not apply: Start enforces its own.
	// TCP_CHECK uses it (probe.StartTCP), like keepalived's event loop.
	Start func(done func(probe.Result)) (cancel func())
	// Machine must be started (its first Next set) before Add.
	Machine Machine
	// Timeout bounds one probe (0: only the probe's own timeouts).
	Timeout time.Duration
}

// Event is one completed probe.
type Event struct {
	ID         string
	Start, End time.Time
	Result     probe.Result
	Decision   health.Decision
}

// Clock is the scheduler's time source; tests use a fake one.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the one timer the scheduler keeps armed.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// DefaultConcurrency bounds the probes in flight when Options say nothing.
const DefaultConcurrency = 512

// Options configure a scheduler.
type Options struct {
	// Concurrency is the most probes in flight at once; due checks beyond
	// it wait, first due first served.
	Concurrency int
	// Clock defaults to the real clock.
	Clock Clock
	// OnEvent receives every completed probe, from the scheduler's
	// goroutine, one at a time. It may call Add and Remove.
	OnEvent func(Event)
}

// Stats are counters for status output and tests.
type Stats struct {
	Checks      int    // checks scheduled
	InFlight    int    // probes running now
	Waiting     int    // due, waiting for a free slot
	MaxInFlight int    // most probes ever in flight at once
	Probes      uint64 // probes completed
	Late        uint64 // probes that started after waiting for a slot
}

// Scheduler runs checks. Add and Remove may be called at any time, before
// or while Run runs, from any goroutine.
type Scheduler struct {
	opts  Options
	clock Clock

	mu      sync.Mutex
	entries map[string]*entry
	timers  timerHeap
	ready   []*entry // due, waiting for a slot
	seq     uint64
	pass    uint64 // launchDue passes
	stats   Stats
	waiters []chan struct{}
	running bool

	wake chan struct{}
	done chan completion
}

type entry struct {
	Check
	gen     uint64 // bumped on every (re)schedule; stale heap items are skipped
	removed bool
	cancel  func() // of the probe in flight, nil when none
	readyAt uint64 // the pass of launchDue that found it due
}

type completion struct {
	e          *entry
	start, end time.Time
	res        probe.Result
}

// New returns a scheduler; nothing runs until Run.
func New(o Options) *Scheduler {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return &Scheduler{
		opts:    o,
		clock:   o.Clock,
		entries: map[string]*entry{},
		wake:    make(chan struct{}, 1),
		done:    make(chan completion, o.Concurrency),
	}
}

// Add schedules a check at its machine's Next.
func (s *Scheduler) Add(c Check) error {
	switch {
	case c.ID == "":
		return errors.New("sched: check without an ID")
	case (c.Probe == nil && c.Start == nil) || c.Machine == nil:
		return fmt.Errorf("sched: check %s lacks a probe or a machine", c.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.entries[c.ID]; dup {
		return fmt.Errorf("sched: check %s added twice", c.ID)
	}
	e := &entry{Check: c}
	s.entries[c.ID] = e
	s.stats.Checks++
	s.push(e, c.Machine.Next())
	s.poke()
	return nil
}

// Remove stops scheduling a check and reports whether it was there. A
// probe of it still running is cancelled and its outcome dropped. Once
// Remove returns the scheduler no longer touches the check's machine.
func (s *Scheduler) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return false
	}
	delete(s.entries, id)
	e.removed = true
	e.gen++
	if e.cancel != nil {
		e.cancel()
	}
	s.stats.Checks--
	s.poke()
	return true
}

// Each calls f for every check, with the scheduler's state locked: a
// consistent moment to snapshot the machines (f must not call Add or
// Remove).
func (s *Scheduler) Each(f func(Check)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		f(e.Check)
	}
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Waiting = len(s.ready)
	return st
}

// Idle waits until no check is due, waiting or running: every probe due
// by now has completed and been delivered. Tests with a fake clock use it
// after moving the clock.
func (s *Scheduler) Idle(ctx context.Context) error {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters = append(s.waiters, ch)
	s.poke()
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run runs the checks until ctx is cancelled, then cancels the probes in
// flight, waits for them and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("sched: Run called twice")
	}
	s.running = true
	s.mu.Unlock()

	probeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := s.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var events []Event
	for {
		s.mu.Lock()
		now := s.clock.Now()
		s.launchDue(probeCtx, now)
		next, armed := s.nextDue()
		s.notifyIdle(now)
		s.mu.Unlock()

		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		if armed {
			timer.Reset(max(next.Sub(now), 0))
		}
		select {
		case <-ctx.Done():
			s.drain()
			return nil
		case <-timer.C():
		case <-s.wake:
		case c := <-s.done:
			events = s.complete(ctx, c, events[:0])
			// Take every completion already waiting before launching more.
			for more := true; more; {
				select {
				case c := <-s.done:
					events = s.complete(ctx, c, events)
				default:
					more = false
				}
			}
			if s.opts.OnEvent != nil {
				for _, ev := range events {
					s.opts.OnEvent(ev)
				}
			}
		}
	}
}

// poke wakes the loop (mu held or not).
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// push schedules e at t.
func (s *Scheduler) push(e *entry, t time.Time) {
	e.gen++
	s.seq++
	s.timers.push(timerItem{at: t, seq: s.seq, e: e, gen: e.gen})
}

// launchDue moves due checks to the ready queue and starts as many as the
// concurrency allows.
func (s *Scheduler) launchDue(ctx context.Context, now time.Time) {
	s.pass++
	for s.timers.Len() > 0 {
		top := s.timers[0]
		if top.gen != top.e.gen || top.e.removed {
			s.timers.pop()
			continue
		}
		if top.at.After(now) {
			break
		}
		s.timers.pop()
		top.e.readyAt = s.pass
		s.ready = append(s.ready, top.e)
	}
	for len(s.ready) > 0 && s.stats.InFlight < s.opts.Concurrency {
		e := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		if e.removed {
			continue
		}
		if len(s.ready) == 0 {
			s.ready = nil // let the backing array go
		}
		s.start(ctx, e, now)
	}
}

func (s *Scheduler) start(ctx context.Context, e *entry, now time.Time) {
	s.stats.InFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.stats.InFlight)
	if e.readyAt != s.pass {
		s.stats.Late++ // it waited for a slot
	}
	c := e.Check
	if c.Start != nil {
		e.cancel = c.Start(func(res probe.Result) {
			s.done <- completion{e: e, start: now, end: s.clock.Now(), res: res}
		})
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	if c.Timeout > 0 {
		pctx, cancel = context.WithTimeout(ctx, c.Timeout)
	}
	e.cancel = cancel
	go func() {
		defer cancel()
		res := c.Probe(pctx)
		s.done <- completion{e: e, start: now, end: s.clock.Now(), res: res}
	}()
}

// complete applies a probe's outcome to its machine and schedules the
// next probe; the event is appended for delivery outside the lock. A probe
// cut short by shutdown is dropped: it says nothing about the server.
func (s *Scheduler) complete(ctx context.Context, c completion, events []Event) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.InFlight--
	c.e.cancel = nil
	if c.e.removed || ctx.Err() != nil {
		return events
	}
	s.stats.Probes++
	d := c.e.Machine.Observe(health.Probe{Start: c.start, End: c.end, OK: c.res.OK, Weight: c.res.Weight})
	s.push(c.e, d.Next)
	return append(events, Event{ID: c.e.ID, Start: c.start, End: c.end, Result: c.res, Decision: d})
}

// nextDue is the earliest pending due time.
func (s *Scheduler) nextDue() (time.Time, bool) {
	for s.timers.Len() > 0 {
		top := s.timers[0]
		if top.gen == top.e.gen && !top.e.removed {
			return top.at, true
		}
		s.timers.pop()
	}
	return time.Time{}, false
}

func (s *Scheduler) notifyIdle(now time.Time) {
	if len(s.waiters) == 0 || s.stats.InFlight > 0 || len(s.ready) > 0 {
		return
	}
	if next, ok := s.nextDue(); ok && !next.After(now) {
		return
	}
	for _, w := range s.waiters {
		close(w)
	}
	s.waiters = nil
}

// drain waits for the probes in flight after their context was cancelled.
func (s *Scheduler) drain() {
	s.mu.Lock()
	n := s.stats.InFlight
	var cancels []func()
	for _, e := range s.entries {
		if e.cancel != nil {
			cancels = append(cancels, e.cancel)
		}
	}
	s.mu.Unlock()
	// Probes started without a context (Check.Start) are cancelled here;
	// the others saw their context end.
	for _, cancel := range cancels {
		cancel()
	}
	for range n {
		c := <-s.done
		s.mu.Lock()
		s.stats.InFlight--
		c.e.cancel = nil
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.running = false
	for _, w := range s.waiters {
		close(w)
	}
	s.waiters = nil
	s.mu.Unlock()
}

type timerItem struct {
	at  time.Time
	seq uint64
	e   *entry
	gen uint64
}

// timerHeap is a binary min-heap by (at, seq), written out rather than
// through container/heap, whose interface boxing cost an allocation per
// push and pop: two per probe.
type timerHeap []timerItem

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}

func (h *timerHeap) push(it timerItem) {
	*h = append(*h, it)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

// pop removes the least item.
func (h *timerHeap) pop() {
	a := *h
	n := len(a) - 1
	a[0] = a[n]
	a[n] = timerItem{}
	a = a[:n]
	*h = a
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
