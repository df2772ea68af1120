package health

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func sec(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// at renders a time as seconds after t0.
func at(t time.Time) string { return fmt.Sprintf("%g", t.Sub(t0).Seconds()) }

// brief renders a decision compactly: U/D, ! changed, i initial, rN retry
// attempt N, wN / w- weight change, then @ the next probe time.
func brief(d Decision) string {
	s := "D"
	if d.Up {
		s = "U"
	}
	if d.Changed {
		s += "!"
	}
	if d.Initial {
		s += "i"
	}
	if d.Retrying {
		s += fmt.Sprintf("r%d", d.Attempt)
	}
	if d.WeightChanged {
		if d.Weight == nil {
			s += "w-"
		} else {
			s += fmt.Sprintf("w%d", *d.Weight)
		}
	}
	return s + "@" + at(d.Next)
}

// run probes a checker whenever it is due, each probe taking latency, with
// the outcomes given as + (success) and - (failure).
func run(c *Checker, start time.Time, latency time.Duration, outcomes string) string {
	var out []string
	next := start
	for _, o := range outcomes {
		d := c.Observe(Probe{Start: next, End: next.Add(latency), OK: o == '+'})
		out = append(out, brief(d))
		next = d.Next
	}
	return strings.Join(out, " ")
}

func TestCheckerRetry(t *testing.T) {
	base := CheckerConfig{DelayLoop: sec(5), DelayBeforeRetry: sec(1), Retry: 1}
	with := func(f func(*CheckerConfig)) CheckerConfig { c := base; f(&c); return c }
	tests := []struct {
		name     string
		cfg      CheckerConfig
		outcomes string
		want     string
	}{
		// "Retry count to make additional checks if check of an alive
		// server fails. Default: 1"
		{"one retry before down", base, "+--", "U!i@5 Ur1@6 D!@11"},
		{"retry 0: the first failure is final", with(func(c *CheckerConfig) { c.Retry = 0 }), "+-", "U!i@5 D!@10"},
		{"retry 3: four failures in a row", with(func(c *CheckerConfig) { c.Retry = 3 }), "+----", "U!i@5 Ur1@6 Ur2@7 Ur3@8 D!@13"},
		// A success between failures resets the count: flapping never
		// reaches DOWN while fewer than retry+1 failures are consecutive.
		{"flapping below the threshold stays up", base, "+-+-+-+", "U!i@5 Ur1@6 U@11 Ur1@12 U@17 Ur1@18 U@23"},
		{"flapping at the threshold goes down and up", base, "+--+--+", "U!i@5 Ur1@6 D!@11 U!@16 Ur1@17 D!@22 U!@27"},
		// A server already down is probed every delay_loop, without retries.
		{"down server: no retries", with(func(c *CheckerConfig) { c.Retry = 2 }), "+------", "U!i@5 Ur1@6 Ur2@7 D!@12 D@17 D@22 D@27"},
		// "delay_before_retry ... 3 seconds for HTTP_GET and SSL_GET"
		{"delay_before_retry is honoured", with(func(c *CheckerConfig) { c.DelayBeforeRetry = sec(3) }), "+--", "U!i@5 Ur1@8 D!@13"},
		// The first verdict is announced even when it confirms the start.
		{"first failure without alpha is announced", with(func(c *CheckerConfig) { c.Retry = 0 }), "-+", "D!i@5 U!@10"},
		{"first failure retries too", base, "--", "Ur1@1 D!i@6"},
		{"a retried first failure then success is the first verdict", base, "-+", "Ur1@1 U!i@6"},
		// "On daemon startup assume that all RSs are down and healthchecks
		// failed" (alpha).
		{"alpha: up after the first success", with(func(c *CheckerConfig) { c.Alpha = true }), "+", "U!i@5"},
		{"alpha: a failing server stays down", with(func(c *CheckerConfig) { c.Alpha = true }), "---+", "Dr1@1 D!i@6 D@11 U!@16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker(tt.cfg)
			c.Start(t0, 0)
			if got := run(c, t0, 0, tt.outcomes); got != tt.want {
				t.Errorf("outcomes %s\n got %s\nwant %s", tt.outcomes, got, tt.want)
			}
		})
	}
}

// The next probe is measured from the end of the previous one (keepalived
// registers its timer in the epilog), except for MISC_CHECK, whose timer
// runs from the script's launch.
func TestCheckerTiming(t *testing.T) {
	tests := []struct {
		name      string
		fromStart bool
		latency   time.Duration
		outcomes  string
		want      string
	}{
		{"network checkers: from the end", false, sec(2), "+--", "U!i@7 Ur1@10 D!@17"},
		{"MISC_CHECK: from the start", true, sec(2), "+--", "U!i@5 Ur1@7 D!@12"},
		{"MISC_CHECK: quick scripts keep the cadence", true, sec(0.5), "+--+", "U!i@5 Ur1@6 D!@11 U!@16"},
		{"MISC_CHECK overrunning delay_loop runs again at once", true, sec(7), "++", "U!i@7 U@14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker(CheckerConfig{DelayLoop: sec(5), DelayBeforeRetry: sec(1), Retry: 1, FromStart: tt.fromStart})
			c.Start(t0, 0)
			if got := run(c, t0, tt.latency, tt.outcomes); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// "Optional random delay to start the initial check for maximum N seconds.
// ... Enabled by default, with the maximum at delay_loop. Specify 0 to
// disable"
func TestCheckerWarmup(t *testing.T) {
	tests := []struct {
		warmup time.Duration
		u      float64
		want   time.Duration
	}{
		{sec(60), 0, 0},
		{sec(60), 0.5, sec(30)},
		{sec(60), 0.25, sec(15)},
		{sec(60), 1, sec(60) - sec(60)/1000000},
		{0, 0.9, 0},
		{sec(60), -1, 0},
	}
	for _, tt := range tests {
		c := NewChecker(CheckerConfig{DelayLoop: sec(60), Warmup: tt.warmup})
		got := c.Start(t0, tt.u).Sub(t0)
		if got < tt.want-time.Microsecond || got > tt.want+time.Microsecond {
			t.Errorf("warmup %v, u %g: first probe at +%v, want +%v", tt.warmup, tt.u, got, tt.want)
		}
		if got >= tt.warmup && tt.warmup > 0 {
			t.Errorf("first probe at +%v is not within warmup %v", got, tt.warmup)
		}
	}
}

// MISC_CHECK: "exit status 0: svc check success, weight unchanged. exit
// status 1: svc check failed. exit status 2-255: svc check success, then
// the RS weight is increased by (exit status - 2 - rs configured weight)"
func TestMiscExit(t *testing.T) {
	w := func(n int) string { return fmt.Sprint(n) }
	tests := []struct {
		exited  bool
		status  int
		dynamic bool
		ok      bool
		weight  string // "" = configured
	}{
		{true, 0, false, true, ""},
		{true, 1, false, false, ""},
		{true, 2, false, false, ""},
		{true, 255, false, false, ""},
		{true, 0, true, true, ""},
		{true, 1, true, false, ""},
		{true, 2, true, true, w(0)},
		{true, 3, true, true, w(1)},
		{true, 10, true, true, w(8)},
		{true, 255, true, true, w(253)},
		{false, -1, true, false, ""}, // killed at misc_timeout
		{false, -1, false, false, ""},
	}
	for _, tt := range tests {
		ok, weight := MiscExit(tt.exited, tt.status, tt.dynamic)
		got := ""
		if weight != nil {
			got = fmt.Sprint(*weight)
		}
		if ok != tt.ok || got != tt.weight {
			t.Errorf("exited %v status %d dynamic %v: ok %v weight %q, want %v %q", tt.exited, tt.status, tt.dynamic, ok, got, tt.ok, tt.weight)
		}
	}
}

// misc_dynamic through the machine: the weight is reported when the exit
// status asks for a different one, not on every run, and afresh after the
// server was down (keepalived compares with last_exit_code).
func TestCheckerDynamicWeight(t *testing.T) {
	c := NewChecker(CheckerConfig{DelayLoop: sec(5), DelayBeforeRetry: sec(1), Retry: 0, FromStart: true})
	c.Start(t0, 0)
	next := t0
	var got []string
	for _, status := range []int{0, 10, 10, 12, 1, 12, 0} {
		ok, w := MiscExit(true, status, true)
		d := c.Observe(Probe{Start: next, End: next.Add(sec(0.1)), OK: ok, Weight: w})
		got = append(got, brief(d))
		next = d.Next
	}
	want := "U!i@5 Uw8@10 U@15 Uw10@20 D!w-@25 U!w10@30 Uw-@35"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("got %s\nwant %s", s, want)
	}
}

// omega: "On daemon shutdown consider quorum and RS down notifiers for
// execution, where appropriate."
func TestCheckerStop(t *testing.T) {
	tests := []struct {
		name         string
		omega, alpha bool
		changed, up  bool
	}{
		{"omega on a live server runs notify_down", true, false, true, false},
		{"without omega nothing is announced", false, false, false, true},
		{"omega on a server already down", true, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker(CheckerConfig{DelayLoop: sec(5), Omega: tt.omega, Alpha: tt.alpha})
			c.Start(t0, 0)
			d := c.Stop()
			if d.Changed != tt.changed || d.Up != tt.up || !c.Next().IsZero() {
				t.Errorf("got %s next %v", d, c.Next())
			}
		})
	}
}

// A restarted checkd resumes a checker where it was: a failure in progress
// still counts, and a server known down does not flap up.
func TestCheckerRestore(t *testing.T) {
	cfg := CheckerConfig{DelayLoop: sec(5), DelayBeforeRetry: sec(1), Retry: 2}
	a := NewChecker(cfg)
	a.Start(t0, 0)
	run(a, t0, 0, "+-") // up, one failure counted, next at 6
	st := a.State()

	b := NewChecker(cfg)
	b.Restore(st, t0.Add(sec(5.5)))
	if !b.Up() || !b.HasRun() || !b.Next().Equal(t0.Add(sec(6))) {
		t.Fatalf("restored %+v, next %s", b.State(), at(b.Next()))
	}
	if got := run(b, b.Next(), 0, "--"); got != "Ur2@7 D!@12" {
		t.Errorf("after restore: %s", got)
	}

	// A snapshot whose next probe is long past runs at once; one far in
	// the future is pulled in to one delay_loop.
	c := NewChecker(cfg)
	c.Restore(CheckerState{Up: true, HasRun: true, Next: t0}, t0.Add(sec(100)))
	if !c.Next().Equal(t0.Add(sec(100))) {
		t.Errorf("stale next: %s", at(c.Next()))
	}
	c.Restore(CheckerState{Up: true, HasRun: true, Next: t0.Add(sec(1000)), Retries: 9}, t0)
	if !c.Next().Equal(t0.Add(sec(5))) || c.State().Retries != 2 {
		t.Errorf("far next %s, retries %d", at(c.Next()), c.State().Retries)
	}
}

// FILE_CHECK: "The value, once multiplied by the weight, will be added to
// the real server's IPVS weight. If the result is <= than -2147483648 then
// the checker will be in the FAULT state." With weight 0 "a non-zero value
// in the file will be treated as a failure status".
func TestFileWeight(t *testing.T) {
	tests := []struct {
		value   int64
		weight  int
		reverse bool
		ok      bool
		delta   int64
	}{
		{0, 0, false, true, 0},
		{3, 0, false, false, 0},
		{-1, 0, false, false, 0},
		{5, 2, false, true, 10},
		{5, 2, true, true, -10},
		{-5, 1, false, true, -5},
		{-2147483648, 1, false, false, -2147483648},
		{-2147483647, 1, false, true, -2147483647},
		{1 << 40, -(1 << 30), false, false, minWeight},
		{1 << 40, 1 << 30, false, true, -minWeight},
	}
	for _, tt := range tests {
		ok, delta := FileWeight(tt.value, tt.weight, tt.reverse)
		if ok != tt.ok || delta != tt.delta {
			t.Errorf("value %d weight %d reverse %v: ok %v delta %d, want %v %d", tt.value, tt.weight, tt.reverse, ok, delta, tt.ok, tt.delta)
		}
	}
}
