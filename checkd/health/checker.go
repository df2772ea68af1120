// Package health is keepalived's health-check logic as deterministic state
// machines: probe outcomes and the time go in, decisions come out (the
// state, whether it changed, when to probe next). There are no sockets,
// clocks, goroutines or random sources inside, so every timing rule of
// keepalived.conf(5) is a table test with a fake clock. The probes live in
// checkd/probe, the timers in checkd/sched.
//
// Two machines:
//   - Checker: a real_server checker (TCP_CHECK, HTTP_GET, SSL_GET,
//     SMTP_CHECK, DNS_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK, FILE_CHECK):
//     UP or DOWN, retry / delay_before_retry / delay_loop / warmup / alpha /
//     omega, and MISC_CHECK's misc_dynamic weight.
//   - Script: a vrrp_script: rise / fall counting and init_fail.
package health

import (
	"fmt"
	"time"
)

// Probe is the outcome of one probe.
type Probe struct {
	// Start is when the probe began, End when its outcome was known.
	// Checkers that schedule from the start (MISC_CHECK, vrrp_script) use
	// Start; the others schedule from End. Zero Start means End.
	Start, End time.Time
	OK         bool
	// Weight is the weight the probe asks for (MISC_CHECK misc_dynamic:
	// exit status minus 2); nil means the real server's configured weight.
	Weight *int
}

func (p Probe) start() time.Time {
	if p.Start.IsZero() {
		return p.End
	}
	return p.Start
}

// CheckerConfig holds a real_server checker's timing, as config.Checker
// resolves it (keepalived's defaults already applied).
type CheckerConfig struct {
	// DelayLoop is the interval between checks.
	DelayLoop time.Duration
	// Retry is how many further attempts follow a failure of a live
	// server before it is declared down; DelayBeforeRetry separates them.
	Retry            int
	DelayBeforeRetry time.Duration
	// Warmup is the maximum random delay before the first check (0: none).
	Warmup time.Duration
	// Alpha starts the checker DOWN until its first success.
	Alpha bool
	// Omega reports the checker DOWN when checking stops (daemon shutdown),
	// so notify_down scripts and quorum_down run (the virtual server's
	// omega).
	Omega bool
	// FromStart measures the next check from the start of the previous one
	// instead of its end: keepalived times MISC_CHECK scripts from their
	// launch (misc_check_child_thread: last_ran + delay).
	FromStart bool
}

// Decision is what a machine decided after an event.
type Decision struct {
	// Next is when the next probe is due.
	Next time.Time
	// Up is the state after the event.
	Up bool
	// Changed reports a transition to announce: the state changed, or this
	// is the first verdict (Initial), which keepalived announces even when
	// it confirms the starting state.
	Changed bool
	Initial bool
	// Retrying means the probe failed but retries remain: the failure was
	// counted (Attempt of Retry) and the next probe comes after
	// delay_before_retry.
	Retrying bool
	Attempt  int
	// WeightChanged reports a new dynamic weight (MISC_CHECK misc_dynamic);
	// Weight is the weight now asked for, nil for the configured weight.
	WeightChanged bool
	Weight        *int
}

// Checker is one real_server checker. Its zero value is not usable; call
// NewChecker.
type Checker struct {
	cfg     CheckerConfig
	up      bool
	hasRun  bool // a verdict has been reached (keepalived's has_run)
	retries int  // failures counted against Retry (keepalived's retry_it)
	weight  *int // dynamic weight last reported
	next    time.Time
}

// NewChecker returns a checker in its starting state: UP, or DOWN with
// alpha ("On daemon startup assume that all RSs are down and healthchecks
// failed").
func NewChecker(cfg CheckerConfig) *Checker {
	return &Checker{cfg: cfg, up: !cfg.Alpha}
}

// Config returns the checker's configuration.
func (c *Checker) Config() CheckerConfig { return c.cfg }

// Up is the current state.
func (c *Checker) Up() bool { return c.up }

// HasRun reports whether a first verdict was reached.
func (c *Checker) HasRun() bool { return c.hasRun }

// Next is when the next probe is due (zero before Start).
func (c *Checker) Next() time.Time { return c.next }

// Start schedules the first probe: "Optional random delay to start the
// initial check for maximum N seconds ... Enabled by default, with the
// maximum at delay_loop. Specify 0 to disable". u is a uniform random
// number in [0, 1) from the caller, so the machine stays deterministic.
func (c *Checker) Start(now time.Time, u float64) time.Time {
	c.next = now.Add(scale(c.cfg.Warmup, u))
	return c.next
}

// Observe applies one probe outcome.
//
// keepalived's rules (check_tcp.c tcp_epilog, check_dns.c dns_final,
// check_misc.c misc_check_child_thread): a success resets the retry count
// and brings a down (or not yet decided) checker UP. A failure of a live
// or undecided checker is retried Retry times, each after
// delay_before_retry ("Retry count to make additional checks if check of
// an alive server fails"); the failure after the last retry brings it
// DOWN. A checker already DOWN is simply probed again after delay_loop.
func (c *Checker) Observe(p Probe) Decision {
	d := Decision{}
	base := p.End
	if c.cfg.FromStart {
		base = p.start()
	}
	delay := c.cfg.DelayLoop
	first := !c.hasRun

	if p.OK {
		c.retries = 0
		if !c.up || first {
			c.up = true
			d.Changed = true
		}
		if !sameWeight(c.weight, p.Weight) {
			c.weight = copyWeight(p.Weight)
			d.WeightChanged = true
		}
		c.hasRun = true
	} else if c.up || first {
		if c.retries < c.cfg.Retry {
			c.retries++
			d.Retrying = true
			delay = c.cfg.DelayBeforeRetry
			// keepalived marks the checker as run on the first failed
			// attempt, so a later first success is still announced.
		} else {
			c.retries = 0
			c.up = false
			d.Changed = true
			c.hasRun = true
			// As keepalived remembers the failing exit status: a server
			// coming back reports its dynamic weight afresh.
			if c.weight != nil {
				c.weight = nil
				d.WeightChanged = true
			}
		}
	}
	d.Initial = d.Changed && first
	d.Up, d.Attempt, d.Weight = c.up, c.retries, copyWeight(c.weight)
	c.next = base.Add(delay)
	if c.next.Before(p.End) {
		// A script that ran longer than its interval runs again at once.
		c.next = p.End
	}
	d.Next = c.next
	return d
}

// Stop ends checking (daemon shutdown or the checker's removal). With
// omega a live checker reports DOWN, so its notify_down script runs ("On
// daemon shutdown consider quorum and RS down notifiers for execution");
// without it nothing is announced.
func (c *Checker) Stop() Decision {
	d := Decision{Up: c.up}
	if c.cfg.Omega && c.up {
		c.up = false
		d.Up, d.Changed = false, true
	}
	c.next = time.Time{}
	return d
}

// CheckerState is a checker's state for a hitless restart of checkd.
type CheckerState struct {
	Up      bool      `json:"up"`
	HasRun  bool      `json:"has_run"`
	Retries int       `json:"retries,omitempty"`
	Weight  *int      `json:"weight,omitempty"`
	Next    time.Time `json:"next,omitzero"`
}

// State returns the checker's state for a snapshot.
func (c *Checker) State() CheckerState {
	return CheckerState{Up: c.up, HasRun: c.hasRun, Retries: c.retries, Weight: copyWeight(c.weight), Next: c.next}
}

// Restore resumes from a snapshot taken by State: the verdict, retry count
// and dynamic weight carry over, so a restarted checkd neither flaps a
// real server nor forgets a failure in progress. The next probe keeps its
// time, but no later than one delay_loop from now.
func (c *Checker) Restore(s CheckerState, now time.Time) {
	c.up, c.hasRun, c.retries, c.weight = s.Up, s.HasRun, s.Retries, copyWeight(s.Weight)
	if c.retries > c.cfg.Retry {
		c.retries = c.cfg.Retry
	}
	c.next = s.Next
	if c.next.IsZero() || c.next.Before(now) {
		c.next = now
	}
	if limit := now.Add(c.cfg.DelayLoop); c.next.After(limit) {
		c.next = limit
	}
}

// MiscExit maps a MISC_CHECK exit status to a probe outcome
// (check_misc.c misc_check_child_thread): 0 is success with the configured
// weight, anything else failure; with misc_dynamic, 2 to 255 are success
// with weight status-2 (keepalived.conf(5): "the effect is to set the RS
// weight to two less than the exit status"; its example "an exit status
// of 10 will set the RS weight to 10" contradicts the code, which sets 8).
// A script killed at its timeout or by a signal (exited false) fails.
func MiscExit(exited bool, status int, dynamic bool) (ok bool, weight *int) {
	switch {
	case !exited:
		return false, nil
	case status == 0:
		return true, nil
	case dynamic && status >= 2 && status <= 255:
		w := status - 2
		return true, &w
	}
	return false, nil
}

// FileWeight maps the number read from a FILE_CHECK's track_file to a
// probe outcome (check_file.c, track_file.c): with weight 0, any non-zero
// value is a failure; otherwise the value times the weight (negated with
// reverse) is added to the real server's weight, and a result at or below
// -2147483648 (IPVS_WEIGHT_FAULT) is a failure.
func FileWeight(value int64, weight int, reverse bool) (ok bool, delta int64) {
	if weight == 0 {
		return value == 0, 0
	}
	m := int64(weight)
	if reverse {
		m = -m
	}
	delta = value * m
	// Saturate instead of overflowing for absurd file contents.
	if value != 0 && delta/value != m {
		if (value < 0) != (m < 0) {
			delta = minWeight
		} else {
			delta = -minWeight
		}
	}
	return delta > minWeight, delta
}

// minWeight is IPVS_WEIGHT_FAULT: -2147483648.
const minWeight = -1 << 31

func scale(d time.Duration, u float64) time.Duration {
	if d <= 0 || u <= 0 {
		return 0
	}
	if u >= 1 {
		u = 0.999999
	}
	return time.Duration(float64(d) * u)
}

func sameWeight(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func copyWeight(w *int) *int {
	if w == nil {
		return nil
	}
	v := *w
	return &v
}

// String renders a decision for logs and test failures.
func (d Decision) String() string {
	s := "DOWN"
	if d.Up {
		s = "UP"
	}
	if d.Changed {
		s += " (changed)"
	}
	if d.Initial {
		s += " (initial)"
	}
	if d.Retrying {
		s += fmt.Sprintf(" retry %d", d.Attempt)
	}
	if d.WeightChanged {
		if d.Weight != nil {
			s += fmt.Sprintf(" weight %d", *d.Weight)
		} else {
			s += " weight configured"
		}
	}
	return s
}
