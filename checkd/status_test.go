package checkd

import (
	"testing"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
)

// A probe lands in the first bucket whose bound it does not exceed; the
// reported buckets are cumulative.
func TestProbeStatsBuckets(t *testing.T) {
	var p probeStats
	p.observe(500*time.Microsecond, true) // le 0.001
	p.observe(time.Millisecond, true)     // le 0.001 (bounds are inclusive)
	p.observe(7*time.Millisecond, false)  // le 0.01
	p.observe(time.Minute, false)         // +Inf
	if p.count != 4 || p.failures != 2 || p.buckets[0] != 2 || p.buckets[3] != 1 || p.buckets[len(LatencyBounds)] != 1 {
		t.Fatalf("%+v", p)
	}
	if n := testing.AllocsPerRun(100, func() { p.observe(time.Millisecond, true) }); n != 0 {
		t.Errorf("observe allocates %v times", n)
	}
	r := &Runner{checkers: map[string]*runChecker{"x": {Checker: Checker{ID: "x", Type: "TCP_CHECK"},
		m: health.NewChecker(health.CheckerConfig{}), srv: &runServer{}, probes: p}}}
	st := r.Status()
	c := st.Checkers[0]
	if len(st.LatencyBounds) != len(LatencyBounds) || c.Probes != 105 || c.LatencyBuckets[0] != 103 || c.LatencyBuckets[1] != 103 ||
		c.LatencyBuckets[3] != 104 || c.LatencyBuckets[len(LatencyBounds)-1] != 104 {
		t.Errorf("%+v", st)
	}
}
