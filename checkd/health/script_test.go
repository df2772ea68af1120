package health

import (
	"strings"
	"testing"
)

// runScript runs a script whenever due, each run taking latency seconds.
func runScript(s *Script, latency float64, outcomes string) string {
	var out []string
	next := s.Start(t0)
	for _, o := range outcomes {
		d := s.Observe(Probe{Start: next, End: next.Add(sec(latency)), OK: o == '+'})
		out = append(out, brief(d))
		next = d.Next
	}
	return strings.Join(out, " ")
}

func TestScriptRiseFall(t *testing.T) {
	cfg := func(rise, fall int, initFail bool) ScriptConfig {
		return ScriptConfig{Interval: sec(1), Rise: rise, Fall: fall, InitFail: initFail}
	}
	tests := []struct {
		name     string
		cfg      ScriptConfig
		outcomes string
		want     string
	}{
		// The first result decides at once (result starts at rise-1, "one
		// success is enough", and the first failure is announced too).
		{"first success decides", cfg(3, 3, false), "+", "U!i@1"},
		{"first failure decides whatever fall says", cfg(3, 3, false), "-", "D!i@1"},
		// "<fall> consecutive failures of the script. After that, <rise>
		// consecutive successes will cause VRRP instances to leave the
		// fault state"
		{"fall 3: the third failure in a row", cfg(2, 3, false), "+---", "U!i@1 U@2 U@3 D!@4"},
		{"a success resets the fall count", cfg(2, 3, false), "+--+---", "U!i@1 U@2 U@3 U@4 U@5 U@6 D!@7"},
		{"rise 2: the second success in a row", cfg(2, 3, false), "-++", "D!i@1 D@2 U!@3"},
		{"a failure resets the rise count", cfg(2, 3, false), "-+-++", "D!i@1 D@2 D@3 D@4 U!@5"},
		{"rise 1 fall 1 follows every result", cfg(1, 1, false), "+-+-", "U!i@1 D!@2 U!@3 D!@4"},
		// init_fail: "assume script initially is in failed state"; rise
		// successes are needed and no failure is announced (it was failed).
		{"init_fail needs rise successes", cfg(3, 2, true), "+++", "D@1 D@2 U!@3"},
		{"init_fail with failures stays failed silently", cfg(2, 2, true), "-+-++", "D@1 D@2 D@3 D@4 U!@5"},
		{"init_fail rise 1", cfg(1, 1, true), "+", "U!i@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScript(tt.cfg)
			if got := runScript(s, 0.1, tt.outcomes); got != tt.want {
				t.Errorf("outcomes %s\n got %s\nwant %s", tt.outcomes, got, tt.want)
			}
		})
	}
}

func TestScriptStatus(t *testing.T) {
	s := NewScript(ScriptConfig{Interval: sec(1), Rise: 2, Fall: 2})
	if s.Status() != ScriptInit || !s.Up() {
		t.Fatalf("start: %v", s.Status())
	}
	f := NewScript(ScriptConfig{Interval: sec(1), InitFail: true})
	if f.Status() != ScriptInitFailed || f.Up() || f.Config().Rise != 1 || f.Config().Fall != 1 {
		t.Fatalf("init_fail start: %v %+v", f.Status(), f.Config())
	}
	runScript(s, 0, "-")
	if s.Status() != ScriptBad || s.Status().String() != "BAD" {
		t.Errorf("after a failure: %v", s.Status())
	}
}

// "seconds between script invocations": runs are timed from their start;
// a run that overruns its interval skips the slots it covered.
func TestScriptInterval(t *testing.T) {
	tests := []struct {
		latency float64
		want    string
	}{
		{0.1, "U!i@1 U@2 U@3"},
		{1, "U!i@1 U@2 U@3"},
		{2.5, "U!i@3 U@6 U@9"},
	}
	for _, tt := range tests {
		s := NewScript(ScriptConfig{Interval: sec(1), Rise: 1, Fall: 1})
		if got := runScript(s, tt.latency, "+++"); got != tt.want {
			t.Errorf("latency %gs: got %s want %s", tt.latency, got, tt.want)
		}
	}
}

func TestScriptRestore(t *testing.T) {
	cfg := ScriptConfig{Interval: sec(1), Rise: 2, Fall: 3}
	a := NewScript(cfg)
	runScript(a, 0, "+-") // good, one failure counted
	st := a.State()

	b := NewScript(cfg)
	b.Restore(st, t0.Add(sec(2)))
	if !b.Up() || b.Status() != ScriptGood {
		t.Fatalf("restored: %v", b.Status())
	}
	next := b.Next()
	var got []string
	for range 2 {
		d := b.Observe(Probe{Start: next, End: next, OK: false})
		got = append(got, brief(d))
		next = d.Next
	}
	if s := strings.Join(got, " "); s != "U@3 D!@4" {
		t.Errorf("after restore: %s", s)
	}

	// Reconfigured with a larger rise: a good script stays good.
	c := NewScript(ScriptConfig{Interval: sec(1), Rise: 5, Fall: 1})
	c.Restore(ScriptState{Result: 2, Good: true}, t0)
	if c.Status() != ScriptGood {
		t.Errorf("good script turned %v by a larger rise", c.Status())
	}
	c.Restore(ScriptState{Result: 4, Good: false}, t0)
	if c.Status() != ScriptBad {
		t.Errorf("bad script turned %v", c.Status())
	}
}
