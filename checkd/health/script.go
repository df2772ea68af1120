package health

import "time"

// ScriptConfig holds a vrrp_script's timing and counting, as
// config.VRRPScript resolves it.
type ScriptConfig struct {
	// Interval between runs ("seconds between script invocations").
	Interval time.Duration
	// Rise and Fall: "required number of successes for OK transition",
	// and of failures for the KO transition (0 is taken as 1).
	Rise, Fall int
	// InitFail: "assume script initially is in failed state".
	InitFail bool
}

// ScriptStatus is a vrrp_script's status as keepalived dumps it.
type ScriptStatus uint8

const (
	// ScriptInit: no result yet, and not init_fail. Trackers treat it as
	// good (the priority is not lowered) until the first result, which
	// decides at once whatever rise and fall say.
	ScriptInit ScriptStatus = iota
	// ScriptInitFailed: no result yet, init_fail set; counts as failed and
	// needs rise successes.
	ScriptInitFailed
	ScriptGood
	ScriptBad
)

var scriptStatusNames = [...]string{"INIT", "INIT/FAILED", "GOOD", "BAD"}

func (s ScriptStatus) String() string {
	if int(s) < len(scriptStatusNames) {
		return scriptStatusNames[s]
	}
	return "ScriptStatus(?)"
}

// Up reports whether trackers count the script as succeeding.
func (s ScriptStatus) Up() bool { return s == ScriptInit || s == ScriptGood }

// Script is one vrrp_script. keepalived keeps a single counter, result, in
// 0 .. rise+fall-1: at or above rise the script is good
// (vrrp_scheduler.c vrrp_script_child_thread). A success below rise-1
// counts up; the rise-th consecutive success jumps to the top
// (rise+fall-1). A failure above rise counts down; the failure at rise
// (the fall-th in a row) drops to 0. At start result is rise-1 ("one
// success is enough"), and the first failure is announced too, so the
// first result decides immediately; with init_fail it is 0 ("assume failed
// by config"), so rise successes are needed.
type Script struct {
	cfg    ScriptConfig
	result int
	init   bool // no result yet (SCRIPT_INIT_STATE_INIT or _FAILED)
	next   time.Time
}

// NewScript returns a script in its starting state.
func NewScript(cfg ScriptConfig) *Script {
	if cfg.Rise < 1 {
		cfg.Rise = 1
	}
	if cfg.Fall < 1 {
		cfg.Fall = 1
	}
	s := &Script{cfg: cfg, init: true, result: cfg.Rise - 1}
	if cfg.InitFail {
		s.result = 0
	}
	return s
}

// Config returns the script's configuration (rise and fall at least 1).
func (s *Script) Config() ScriptConfig { return s.cfg }

// Status is the current status.
func (s *Script) Status() ScriptStatus {
	switch {
	case s.init && s.cfg.InitFail:
		return ScriptInitFailed
	case s.init:
		return ScriptInit
	case s.result >= s.cfg.Rise:
		return ScriptGood
	}
	return ScriptBad
}

// Up reports whether trackers count the script as succeeding.
func (s *Script) Up() bool { return s.Status().Up() }

// Next is when the next run is due.
func (s *Script) Next() time.Time { return s.next }

// Start schedules the first run: at once, as keepalived does
// (vrrp_init_script adds an event, not a timer).
func (s *Script) Start(now time.Time) time.Time {
	s.next = now
	return s.next
}

// Observe applies the outcome of one run (exit status 0 is success; a
// failure, a timeout or a signal are all failures).
//
// Runs are timed from their start, every Interval; a run still going when
// the next is due makes keepalived skip that one ("Track script is already
// running, expect idle - skipping run"), so the next run is the first slot
// after this one ended.
func (s *Script) Observe(p Probe) Decision {
	was, wasInit := s.Up(), s.init
	rise, top := s.cfg.Rise, s.cfg.Rise+s.cfg.Fall-1
	announce := false
	if p.OK {
		switch {
		case s.result < rise-1:
			s.result++
		case s.result != top:
			announce = s.result < rise
			s.result = top
		}
	} else {
		if s.result > rise {
			s.result--
		} else {
			announce = s.result == rise || (wasInit && !s.cfg.InitFail)
			s.result = 0
		}
	}
	s.init = false
	d := Decision{Up: s.Up(), Changed: announce, Initial: announce && wasInit}
	if announce && !wasInit && was == d.Up {
		d.Changed = false
	}
	s.next = nextSlot(p.start(), p.End, s.cfg.Interval)
	d.Next = s.next
	return d
}

// ScriptState is a script's state for a hitless restart of checkd.
type ScriptState struct {
	Result int       `json:"result"`
	Good   bool      `json:"good"`
	Init   bool      `json:"init,omitempty"`
	Next   time.Time `json:"next,omitzero"`
}

// State returns the script's state for a snapshot.
func (s *Script) State() ScriptState {
	return ScriptState{Result: s.result, Good: s.result >= s.cfg.Rise, Init: s.init, Next: s.next}
}

// Restore resumes from a snapshot taken by State. When rise or fall
// changed in between, the counter is clamped so the verdict is kept.
func (s *Script) Restore(st ScriptState, now time.Time) {
	rise, top := s.cfg.Rise, s.cfg.Rise+s.cfg.Fall-1
	s.init, s.result = st.Init, st.Result
	switch {
	case s.init:
		s.result = min(max(s.result, 0), rise-1)
	case st.Good:
		s.result = min(max(s.result, rise), top)
	default:
		s.result = min(max(s.result, 0), rise-1)
	}
	s.next = st.Next
	if s.next.IsZero() || s.next.Before(now) {
		s.next = now
	}
	if limit := now.Add(s.cfg.Interval); s.next.After(limit) {
		s.next = limit
	}
}

// nextSlot is the first time start + k*interval (k >= 1) not before end.
func nextSlot(start, end time.Time, interval time.Duration) time.Time {
	if interval <= 0 {
		return end
	}
	next := start.Add(interval)
	if next.Before(end) {
		k := end.Sub(start)/interval + 1
		next = start.Add(k * interval)
	}
	return next
}
