package sched

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// fakeClock moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	t.arm(d)
	return t
}

// arm sets the timer (c.mu held), firing at once when already due.
func (t *fakeTimer) arm(d time.Duration) {
	t.at, t.active = t.c.now.Add(d), true
	t.fire()
}

func (t *fakeTimer) fire() {
	if t.active && !t.at.After(t.c.now) {
		t.active = false
		select {
		case t.ch <- t.c.now:
		default:
		}
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		t.fire()
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.arm(d)
	return was
}

// harness runs a scheduler on a fake clock and records its events.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	s      *Scheduler
	mu     sync.Mutex
	events []Event
}

func newHarness(t *testing.T, concurrency int) *harness {
	h := &harness{t: t, clock: newFakeClock()}
	h.s = New(Options{Concurrency: concurrency, Clock: h.clock, OnEvent: func(e Event) {
		h.mu.Lock()
		h.events = append(h.events, e)
		h.mu.Unlock()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// step moves the clock by d, in increments of at most tick, and waits
// (bounded) for every probe due to be delivered after each increment.
func (h *harness) step(d, tick time.Duration) {
	h.t.Helper()
	for d > 0 {
		inc := min(d, tick)
		h.clock.Advance(inc)
		d -= inc
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := h.s.Idle(ctx)
		cancel()
		if err != nil {
			h.t.Fatalf("scheduler not idle at +%v: %v (%+v)", h.clock.Now().Sub(t0), err, h.s.Stats())
		}
	}
}

func (h *harness) idle() {
	h.t.Helper()
	h.step(0, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Idle(ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) snapshot() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}

func okProbe(context.Context) probe.Result { return probe.Result{OK: true} }

// scripted returns a probe following outcomes (+/-), then succeeding.
func scripted(outcomes string) func(context.Context) probe.Result {
	var i atomic.Int64
	return func(context.Context) probe.Result {
		n := int(i.Add(1)) - 1
		return probe.Result{OK: n >= len(outcomes) || outcomes[n] == '+'}
	}
}

// Checks alike are spread over their interval by warmup and keep their
// cadence: with warmup = delay_loop = 1 s and first probes at i/100 of
// it, each 10 ms slice sees exactly one probe, every second.
func TestSpreadAndCadence(t *testing.T) {
	h := newHarness(t, 0)
	const n = 100
	cfg := health.CheckerConfig{DelayLoop: time.Second, Warmup: time.Second, Retry: 1, DelayBeforeRetry: 100 * time.Millisecond}
	for i := range n {
		m := health.NewChecker(cfg)
		m.Start(t0, float64(i)/n)
		if err := h.s.Add(Check{ID: fmt.Sprint(i), Probe: okProbe, Machine: m}); err != nil {
			t.Fatal(err)
		}
	}
	h.idle()
	h.step(3*time.Second-time.Millisecond, 10*time.Millisecond)
	starts := map[string][]time.Duration{}
	buckets := map[int64]int{}
	for _, e := range h.snapshot() {
		off := e.Start.Sub(t0)
		starts[e.ID] = append(starts[e.ID], off)
		buckets[int64(off/(10*time.Millisecond))]++
	}
	for i := range n {
		id := fmt.Sprint(i)
		first := time.Duration(i) * 10 * time.Millisecond
		want := fmt.Sprint([]time.Duration{first, first + time.Second, first + 2*time.Second})
		if got := fmt.Sprint(starts[id]); got != want {
			t.Errorf("check %s probed at %s, want %s", id, got, want)
		}
	}
	for b, c := range buckets {
		if c != 1 {
			t.Errorf("%d probes in the 10 ms slice at +%v", c, time.Duration(b)*10*time.Millisecond)
		}
	}
}

// The scheduler feeds the machine each outcome at the time it completed:
// retry, delay_before_retry and delay_loop hold as keepalived.conf says.
func TestMachineTiming(t *testing.T) {
	h := newHarness(t, 0)
	m := health.NewChecker(health.CheckerConfig{DelayLoop: time.Second, Retry: 1, DelayBeforeRetry: 300 * time.Millisecond})
	m.Start(t0, 0)
	if err := h.s.Add(Check{ID: "rs", Probe: scripted("+--+"), Machine: m}); err != nil {
		t.Fatal(err)
	}
	h.idle()
	h.step(3*time.Second, 50*time.Millisecond)
	var got []string
	for _, e := range h.snapshot() {
		got = append(got, fmt.Sprintf("%v:%s", e.Start.Sub(t0), e.Decision))
	}
	want := "0s:UP (changed) (initial) 1s:UP retry 1 1.3s:DOWN (changed) 2.3s:UP (changed)"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

// At most Concurrency probes run at once; the rest wait, first due first
// served, and all complete.
func TestConcurrencyBound(t *testing.T) {
	h := newHarness(t, 4)
	release := make(chan struct{})
	var running, peak atomic.Int64
	blocking := func(ctx context.Context) probe.Result {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer running.Add(-1)
		select {
		case <-release:
			return probe.Result{OK: true}
		case <-ctx.Done():
			return probe.Result{Detail: "cancelled"}
		}
	}
	for i := range 20 {
		m := health.NewChecker(health.CheckerConfig{DelayLoop: time.Hour})
		m.Start(t0, 0)
		if err := h.s.Add(Check{ID: fmt.Sprint(i), Probe: blocking, Machine: m}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for st := h.s.Stats(); st.InFlight < 4 || st.Waiting < 16; st = h.s.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("probes did not start: %+v", h.s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	if st := h.s.Stats(); st.InFlight != 4 || st.Waiting != 16 {
		t.Errorf("stats while full: %+v", st)
	}
	close(release)
	h.idle()
	st := h.s.Stats()
	if st.Probes != 20 || st.MaxInFlight != 4 || peak.Load() != 4 || st.Late != 16 {
		t.Errorf("stats %+v, peak %d", st, peak.Load())
	}
	var order []string
	for _, e := range h.snapshot() {
		order = append(order, e.ID)
	}
	if len(order) != 20 {
		t.Errorf("%d events", len(order))
	}
}

// A probe that outlives Check.Timeout is cancelled and counts as failed.
func TestProbeTimeout(t *testing.T) {
	events := make(chan Event, 10)
	s := New(Options{OnEvent: func(e Event) { events <- e }})
	m := health.NewChecker(health.CheckerConfig{DelayLoop: time.Hour})
	m.Start(time.Now(), 0)
	hang := func(ctx context.Context) probe.Result {
		<-ctx.Done()
		return probe.Result{Detail: "cancelled: " + ctx.Err().Error()}
	}
	if err := s.Add(Check{ID: "slow", Probe: hang, Machine: m, Timeout: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	select {
	case e := <-events:
		if e.Result.OK || e.Decision.Up || !strings.Contains(e.Result.Detail, "deadline") {
			t.Errorf("event %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}

func TestAddRemove(t *testing.T) {
	h := newHarness(t, 0)
	m := func() Machine {
		c := health.NewChecker(health.CheckerConfig{DelayLoop: time.Second})
		c.Start(t0, 0)
		return c
	}
	if err := h.s.Add(Check{ID: "a", Probe: okProbe, Machine: m()}); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Add(Check{ID: "a", Probe: okProbe, Machine: m()}); err == nil {
		t.Error("duplicate ID accepted")
	}
	if err := h.s.Add(Check{ID: "", Probe: okProbe, Machine: m()}); err == nil {
		t.Error("empty ID accepted")
	}
	if err := h.s.Add(Check{ID: "b"}); err == nil {
		t.Error("check without probe accepted")
	}
	h.idle()
	if !h.s.Remove("a") || h.s.Remove("a") || h.s.Remove("zz") {
		t.Error("Remove results wrong")
	}
	h.step(5*time.Second, time.Second)
	if n := len(h.snapshot()); n != 1 {
		t.Errorf("%d events; a removed check kept running", n)
	}
	if st := h.s.Stats(); st.Checks != 0 {
		t.Errorf("stats %+v", st)
	}
	// Removed while its probe runs: the probe is cancelled and its outcome
	// dropped.
	started, release := make(chan struct{}), make(chan struct{})
	cancelled := make(chan struct{})
	slow := func(ctx context.Context) probe.Result {
		close(started)
		<-ctx.Done()
		close(cancelled)
		<-release
		return probe.Result{OK: true}
	}
	if err := h.s.Add(Check{ID: "c", Probe: slow, Machine: m()}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(0)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("probe of c did not start")
	}
	h.s.Remove("c")
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the probe of a removed check was not cancelled")
	}
	close(release)
	h.idle()
	for _, e := range h.snapshot() {
		if e.ID == "c" {
			t.Errorf("event of a removed check: %+v", e)
		}
	}
	var ids []string
	h.s.Each(func(c Check) { ids = append(ids, c.ID) })
	if len(ids) != 0 {
		t.Errorf("Each lists %v", ids)
	}
}

// Cancelling Run cancels the probes in flight and returns once they have.
func TestRunStops(t *testing.T) {
	s := New(Options{})
	started := make(chan struct{})
	var once sync.Once
	for i := range 3 {
		m := health.NewChecker(health.CheckerConfig{DelayLoop: time.Second})
		m.Start(time.Now(), 0)
		s.Add(Check{ID: fmt.Sprint(i), Machine: m, Probe: func(ctx context.Context) probe.Result {
			once.Do(func() { close(started) })
			<-ctx.Done()
			return probe.Result{}
		}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("no probe started")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if st := s.Stats(); st.InFlight != 0 || st.Probes != 0 {
		t.Errorf("stats after stop %+v (probes cut short by shutdown must not count)", st)
	}
}

// Probes started without a goroutine (Check.Start) are cancelled at
// shutdown too, and Run waits for their completions.
func TestRunStopsStartedProbes(t *testing.T) {
	s := New(Options{})
	started := make(chan struct{}, 3)
	var cancelled sync.WaitGroup
	cancelled.Add(3)
	for i := range 3 {
		m := health.NewChecker(health.CheckerConfig{DelayLoop: time.Second})
		m.Start(time.Now(), 0)
		s.Add(Check{ID: fmt.Sprint(i), Machine: m, Start: func(done func(probe.Result)) func() {
			started <- struct{}{}
			var once sync.Once
			return func() { once.Do(func() { cancelled.Done(); done(probe.Result{Detail: "cancelled"}) }) }
		}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for range 3 {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the probes did not start")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return: the started probes were not cancelled")
	}
	cancelled.Wait()
	if st := s.Stats(); st.InFlight != 0 || st.Probes != 0 {
		t.Errorf("stats after stop %+v", st)
	}
}

// The timer heap hands items back in (at, seq) order.
func TestTimerHeapOrder(t *testing.T) {
	var h timerHeap
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		h.push(timerItem{at: t0.Add(time.Duration(rng.IntN(50)) * time.Millisecond), seq: uint64(i)})
	}
	last := timerItem{at: t0.Add(-time.Hour)}
	for h.Len() > 0 {
		it := h[0]
		h.pop()
		if it.at.Before(last.at) || (it.at.Equal(last.at) && it.seq < last.seq) {
			t.Fatalf("popped %v/%d after %v/%d", it.at, it.seq, last.at, last.seq)
		}
		last = it
	}
}
