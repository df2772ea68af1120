package decide

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRandomPartitions drives two nodes and 1 or 3 arbiters through random
// cuts and heals of the VRRP, gossip and arbiter links (and random
// priority changes) over simulated time. Safety, checked at every
// instant: with quorum required, never two MASTERs once they have not
// seen each other for a peer timeout (sim.verify), and never two un-held
// nodes believing in a valid lease. Liveness: once everything heals, one
// MASTER with the lease, the other a held BACKUP, the higher priority
// master when it preempts.
func TestRandomPartitions(t *testing.T) {
	trials := 400
	if testing.Short() {
		trials = 50
	}
	for trial := range trials {
		seed := uint64(trial)
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomTrial(t, seed) })
		if t.Failed() {
			return
		}
	}
}

func randomTrial(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	arbs := []int{1, 3}[r.IntN(2)]
	cfg := testConfig(arbs)
	prios := []int{50 + r.IntN(200), 50 + r.IntN(200)}
	s := newSim(t, cfg, arbs, prios...)
	s.eager = r.IntN(2) == 0
	s.lat = time.Duration(1+r.IntN(150)) * time.Millisecond
	for _, n := range s.nodes {
		n.preempt = r.IntN(4) != 0
	}
	s.check = func(s *sim) {
		if h := s.leaseHolders(); len(h) > 1 {
			s.t.Errorf("t=%.3f: un-held lease holders %v\n%s", s.now.Sub(t0).Seconds(), h, s.dump())
		}
	}
	s.runFor(time.Duration(r.IntN(10000)) * time.Millisecond)
	for step := 0; step < 30 && !t.Failed(); step++ {
		switch k := r.IntN(10); {
		case k < 2:
			s.setLinks(!s.vrrpUp, s.gossUp)
		case k < 4:
			s.setLinks(s.vrrpUp, !s.gossUp)
		case k < 7:
			i, j := r.IntN(2), r.IntN(arbs)
			s.setArbiter(i, j, !s.arbUp[i][j])
		case k < 8:
			s.isolate(r.IntN(2), r.IntN(2) == 0)
		case k < 9:
			s.setPrio(r.IntN(2), 50+r.IntN(200))
		default:
			s.setLinks(false, false)
		}
		s.runFor(time.Duration(r.IntN(8000)) * time.Millisecond)
	}
	if t.Failed() {
		return
	}
	// Heal everything.
	for i := range s.nodes {
		s.isolate(i, true)
	}
	s.runFor(40 * time.Second)
	m := s.masters()
	if len(m) != 1 {
		t.Fatalf("after heal: masters %v\n%s", m, s.dump())
	}
	w, l := s.nodes[m[0]], s.nodes[1-m[0]]
	if w.held || !w.in.Status().LeaseValidUntil.After(s.now) {
		t.Fatalf("after heal: master %s held %v, status %+v\n%s", w.name, w.held, w.in.Status(), s.dump())
	}
	if !l.held || l.in.Status().Requesting {
		t.Fatalf("after heal: backup %s held %v, status %+v\n%s", l.name, l.held, l.in.Status(), s.dump())
	}
	if l.preempt && outranks(l.prio, l.addr, w.prio, w.addr) {
		t.Fatalf("after heal: %s (%d) outranks and preempts but %s (%d) is master\n%s", l.name, l.prio, w.name, w.prio, s.dump())
	}
}
