package checkd

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-ha/vigil/checkd/tracker"
)

// LatencyBounds are the upper bounds of the probe latency histogram that
// Runner.Status reports (Prometheus' "le" buckets, in seconds). They are
// fixed so that a probe only increments a counter.
var LatencyBounds = [...]time.Duration{
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// probeStats counts one checker's probes: a fixed array of per-bucket
// counts (the last one is +Inf), updated under Runner.mu without
// allocating.
type probeStats struct {
	buckets  [len(LatencyBounds) + 1]uint64
	count    uint64
	failures uint64
	sum      time.Duration
}

func (p *probeStats) observe(d time.Duration, ok bool) {
	i := 0
	for i < len(LatencyBounds) && d > LatencyBounds[i] {
		i++
	}
	p.buckets[i]++
	p.count++
	p.sum += d
	if !ok {
		p.failures++
	}
}

// CheckerStatus is one real-server checker as `vigil status` and the
// metrics see it.
type CheckerStatus struct {
	ID            string         `json:"id"`
	VirtualServer string         `json:"vs"`
	RealServer    netip.AddrPort `json:"rs"`
	Type          string         `json:"type"`
	Up            bool           `json:"up"`
	// HasRun is false until the checker reached its first verdict.
	HasRun    bool `json:"has_run"`
	Suspended bool `json:"suspended,omitempty"`
	// Probes and Failures count completed probes since checkd started.
	Probes   uint64 `json:"probes"`
	Failures uint64 `json:"failures"`
	// LatencySum is the probes' total duration in seconds; LatencyBuckets
	// are cumulative counts of probes at or under each of
	// RunnerStatus.LatencyBounds (Probes is the +Inf bucket).
	LatencySum     float64  `json:"latency_sum_seconds"`
	LatencyBuckets []uint64 `json:"latency_buckets"`
}

// RunnerStatus is the real-server checkers' part of checkd's status.
type RunnerStatus struct {
	// LatencyBounds are the histogram's upper bounds in seconds.
	LatencyBounds []float64       `json:"latency_bounds_seconds"`
	Checkers      []CheckerStatus `json:"checkers"`
}

// Status reports each checker's verdict and probe counters, sorted by ID.
// Unlike State it does not touch the snapshot's change flag.
func (r *Runner) Status() RunnerStatus {
	st := RunnerStatus{LatencyBounds: make([]float64, len(LatencyBounds)), Checkers: []CheckerStatus{}}
	for i, b := range LatencyBounds {
		st.LatencyBounds[i] = b.Seconds()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mm.Lock()
	defer r.mm.Unlock()
	for id, rc := range r.checkers {
		c := CheckerStatus{ID: id, VirtualServer: rc.VirtualServer, RealServer: rc.RealServer, Type: rc.Type,
			Up: rc.m.Up(), HasRun: rc.m.HasRun(), Suspended: rc.srv.suspended,
			Probes: rc.probes.count, Failures: rc.probes.failures, LatencySum: rc.probes.sum.Seconds(),
			LatencyBuckets: make([]uint64, len(LatencyBounds))}
		var cum uint64
		for i := range LatencyBounds {
			cum += rc.probes.buckets[i]
			c.LatencyBuckets[i] = cum
		}
		st.Checkers = append(st.Checkers, c)
	}
	slices.SortFunc(st.Checkers, func(a, b CheckerStatus) int { return cmp.Compare(a.ID, b.ID) })
	return st
}

// Status is checkd's answer to the parent's status request: the
// vrrp_scripts and the real-server checkers.
type Status struct {
	Scripts []tracker.ScriptStatus `json:"scripts,omitempty"`
	RunnerStatus
}
