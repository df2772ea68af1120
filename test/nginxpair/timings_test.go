package nginxpair_test

import (
	"testing"
	"time"

	"github.com/vigil-ha/vigil/config"
)

// timings are the figures the bounds are computed from, read from the
// nodes' rendered configurations (the example's values), so a change of
// the example changes the bounds with it.
type timings struct {
	Interval   time.Duration // vrrp_script chk_nginx
	Fall, Rise int
	Weight     int
	PrioA      int // vrrp_instance VI_WEB
	PrioB      int
	AdvertInt  time.Duration
	LeaseTTL   time.Duration // arbiter { }
}

// readTimings loads both nodes' keepalived.conf with Vigil's own parser.
func readTimings(t *testing.T, a, b string) timings {
	t.Helper()
	load := func(path string) *config.Config {
		c, diags := config.Load(path, config.Options{})
		if diags.HasErrors() {
			t.Fatalf("%s: %v", path, diags)
		}
		if len(c.Scripts) != 1 || len(c.Instances) != 1 || c.Arbiter == nil {
			t.Fatalf("%s: want one vrrp_script, one vrrp_instance and an arbiter block", path)
		}
		return c
	}
	ca, cb := load(a), load(b)
	s, ia := ca.Scripts[0], ca.Instances[0]
	return timings{Interval: s.Interval.D(), Fall: s.Fall, Rise: s.Rise, Weight: s.Weight,
		PrioA: ia.Priority, PrioB: cb.Instances[0].Priority, AdvertInt: ia.AdvertInt.D(), LeaseTTL: ca.Arbiter.LeaseTTL.D()}
}

// masterDown is VRRP's master-down interval of a backup with priority
// prio: three adverts plus the skew time, (256-prio)/256 of one.
func (tm timings) masterDown(prio int) time.Duration {
	return 3*tm.AdvertInt + time.Duration(256-prio)*tm.AdvertInt/256
}

// detect is the longest a stopped nginx goes unnoticed: the first failing
// run comes within one interval of the stop, the fall-th one (fall-1)
// intervals later.
func (tm timings) detect() time.Duration { return time.Duration(tm.Fall) * tm.Interval }

// restore is the same for a restarted nginx and rise.
func (tm timings) restore() time.Duration { return time.Duration(tm.Rise) * tm.Interval }
