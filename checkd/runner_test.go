package checkd

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
)

// fakePlan is two real servers with one checker each, whose probes
// report what the test sets.
type fakePlan struct {
	up   [2]atomic.Bool
	plan *Plan
}

func newFakePlan(t *testing.T, omega bool, notifyLog string) *fakePlan {
	f := &fakePlan{plan: &Plan{}}
	for i := range 2 {
		f.up[i].Store(true)
		addr := netip.AddrPortFrom(netip.MustParseAddr("198.18.0.10"), uint16(8000+i))
		id := "vs/" + addr.String() + "/TCP_CHECK[0]"
		f.plan.Checkers = append(f.plan.Checkers, Checker{ID: id, VirtualServer: "vs", RealServer: addr, Type: "TCP_CHECK",
			Health: health.CheckerConfig{DelayLoop: 20 * time.Millisecond, DelayBeforeRetry: 10 * time.Millisecond, Omega: omega},
			Probe: func(context.Context) probe.Result {
				return probe.Result{OK: f.up[i].Load()}
			}})
		rs := RealServer{VirtualServer: "vs", Addr: addr, Weight: 5, Checkers: []string{id}, Alpha: map[string]bool{id: false}}
		if notifyLog != "" {
			for _, word := range []string{"up", "down"} {
				cmd := &script.Cmd{Args: []string{"/bin/sh", "-c", "echo " + word + " " + addr.String() + " >> " + notifyLog}, Timeout: 5 * time.Second}
				if word == "up" {
					rs.NotifyUp = cmd
				} else {
					rs.NotifyDown = cmd
				}
			}
		}
		f.plan.RealServers = append(f.plan.RealServers, rs)
	}
	return f
}

// recorder keeps the Backends a runner emits.
type recorder struct {
	mu  sync.Mutex
	got []ipc.Backend
}

func (r *recorder) emit(b ipc.Backend) { r.mu.Lock(); r.got = append(r.got, b); r.mu.Unlock() }

func (r *recorder) all() []ipc.Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ipc.Backend(nil), r.got...)
}

// wait flushes the runner until cond holds on what was emitted.
func (r *recorder) wait(t *testing.T, run *Runner, what string, cond func([]ipc.Backend) bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		run.Flush()
		if cond(r.all()) {
			return
		}
		select {
		case <-run.Changed():
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s: not seen within 5s; emitted %+v", what, r.all())
		}
	}
}

func last(bs []ipc.Backend, port uint16) (ipc.Backend, bool) {
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].Server.Port() == port {
			return bs[i], true
		}
	}
	return ipc.Backend{}, false
}

func TestRunnerReportsAndResumes(t *testing.T) {
	dir := t.TempDir()
	notifyLog := filepath.Join(dir, "notify")
	f := newFakePlan(t, true, notifyLog)
	f.up[1].Store(false)
	rec := &recorder{}
	run := NewRunner(f.plan, zap.NewNop(), nil, rec.emit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run.Run(ctx) }()

	rec.wait(t, run, "both decided, 8001 down", func(bs []ipc.Backend) bool {
		a, ok1 := last(bs, 8000)
		b, ok2 := last(bs, 8001)
		return ok1 && ok2 && a.Alive && a.Decided && a.Weight == 5 && !b.Alive && len(b.Failed) == 1
	})
	f.up[1].Store(true)
	rec.wait(t, run, "8001 back", func(bs []ipc.Backend) bool { b, _ := last(bs, 8001); return b.Alive })
	st, changed := run.State()
	if !changed || len(st.Checkers) != 2 {
		t.Fatalf("State() = %+v, changed %v; want 2 checkers, changed", st, changed)
	}
	cancel()
	<-done
	run.Flush()
	run.Close()
	// omega: both live servers reported down at stop, their notify_down run.
	for _, port := range []uint16{8000, 8001} {
		if b, _ := last(rec.all(), port); b.Alive {
			t.Errorf("after stop with omega, %d still reported alive", port)
		}
	}
	log, _ := os.ReadFile(notifyLog)
	if got, want := string(log), "down 198.18.0.10:8001\nup 198.18.0.10:8001\n"; !strings.HasPrefix(got, want) ||
		!strings.Contains(got[len(want):], "down 198.18.0.10:8000") || !strings.Contains(got[len(want):], "down 198.18.0.10:8001") {
		t.Errorf("notify log %q: want %q then both down (omega)", got, want)
	}

	// A new runner resumed from the snapshot taken while running reports
	// the same states first, and runs no notify script.
	if err := os.Remove(notifyLog); err != nil {
		t.Fatal(err)
	}
	rec2 := &recorder{}
	run2 := NewRunner(f.plan, zap.NewNop(), &st, rec2.emit)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { defer close(done2); run2.Run(ctx2) }()
	rec2.wait(t, run2, "resumed states", func(bs []ipc.Backend) bool { return len(bs) >= 2 })
	time.Sleep(100 * time.Millisecond) // several delay_loops: any spurious change would show
	run2.Flush()
	for _, b := range rec2.all() {
		if !b.Alive || !b.Decided {
			t.Errorf("resumed runner emitted %+v; want every server alive and decided from the snapshot", b)
		}
	}
	cancel2()
	<-done2
	if _, err := os.Stat(notifyLog); err == nil {
		t.Errorf("the resumed runner ran notify scripts")
	}
	run2.Close()
}

// Without a snapshot an alpha checker starts down and announces up; a
// restored one keeps its verdict and retry count.
func TestRunnerAlpha(t *testing.T) {
	f := newFakePlan(t, false, "")
	for i := range f.plan.Checkers {
		f.plan.Checkers[i].Health.Alpha = true
		f.plan.RealServers[i].Alpha[f.plan.Checkers[i].ID] = true
	}
	rec := &recorder{}
	run := NewRunner(f.plan, zap.NewNop(), nil, rec.emit)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go run.Run(ctx)
	rec.wait(t, run, "alpha servers first reported down, then up", func(bs []ipc.Backend) bool {
		a, _ := last(bs, 8000)
		return len(bs) >= 4 && !bs[0].Alive && !bs[0].Decided && a.Alive && a.Decided
	})
}

// ha_suspend: the checkers of a server whose virtual address is not here
// do not run; they start when it arrives and stop when it leaves.
func TestRunnerHASuspend(t *testing.T) {
	f := newFakePlan(t, false, "")
	vip := netip.MustParseAddr("198.18.0.1")
	var probes atomic.Int64
	for i := range f.plan.Checkers {
		f.plan.Checkers[i].Health.Warmup = 0
		inner := f.plan.Checkers[i].Probe
		f.plan.Checkers[i].Probe = func(ctx context.Context) probe.Result { probes.Add(1); return inner(ctx) }
		f.plan.RealServers[i].SuspendAddr = vip
	}
	rec := &recorder{}
	run := NewRunner(f.plan, zap.NewNop(), nil, rec.emit)
	run.SetHeld(map[netip.Addr]bool{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); run.Run(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // five delay_loops: no probe may run
	if n := probes.Load(); n != 0 {
		t.Fatalf("%d probes ran while the virtual address was elsewhere", n)
	}
	run.SetHeld(map[netip.Addr]bool{vip: true})
	rec.wait(t, run, "checks run once the address is here", func(bs []ipc.Backend) bool {
		a, _ := last(bs, 8000)
		return a.Decided
	})
	run.SetHeld(map[netip.Addr]bool{})
	time.Sleep(30 * time.Millisecond) // a probe in flight may still end
	n := probes.Load()
	time.Sleep(100 * time.Millisecond)
	if m := probes.Load(); m != n {
		t.Fatalf("%d probes ran after the address left", m-n)
	}
}
