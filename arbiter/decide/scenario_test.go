package decide

import (
	"strings"
	"testing"
	"time"
)

// settled starts two nodes (a: priority 200, b: 100) with every link up
// and runs until a is MASTER with the lease and b a held BACKUP.
func settled(t *testing.T, arbiters int) *sim {
	t.Helper()
	s := newSim(t, testConfig(arbiters), arbiters, 200, 100)
	s.runFor(10 * time.Second)
	a, b := s.nodes[0], s.nodes[1]
	if a.state != Master || b.state != Backup {
		t.Fatalf("start: a %s, b %s\n%s", a.state, b.state, s.dump())
	}
	if arbiters > 0 && !a.in.Status().LeaseValidUntil.After(s.now) {
		t.Fatalf("start: a has no lease\n%s", s.dump())
	}
	if !b.held || !strings.HasPrefix(b.in.Status().Reason, ReasonPeerMaster) {
		t.Fatalf("start: b not held behind a: %+v\n%s", b.in.Status(), s.dump())
	}
	return s
}

func TestSettle(t *testing.T) {
	for _, arbs := range []int{0, 1, 3} {
		s := settled(t, arbs)
		if len(s.nodes[0].fences)+len(s.nodes[1].fences) != 0 {
			t.Errorf("%d arbiters: fences at start: %v %v", arbs, s.nodes[0].fences, s.nodes[1].fences)
		}
	}
}

func (s *sim) setPrio(i, prio int) {
	s.nodes[i].prio = prio
	s.logf(i, "priority %d", prio)
	s.apply(i, s.nodes[i].in.SetLocal(s.now, s.nodes[i].local()))
}

// transitions watches the nodes' states: when each last entered MASTER or
// left it.
type transitions struct {
	firstNotMaster [2]time.Time
	firstMaster    [2]time.Time
	prev           [2]State
	maxHolders     int
}

func (tr *transitions) watch(s *sim) {
	for i, n := range s.nodes {
		if tr.prev[i] == Master && n.state != Master && tr.firstNotMaster[i].IsZero() {
			tr.firstNotMaster[i] = s.now
		}
		if tr.prev[i] != Master && n.state == Master && tr.firstMaster[i].IsZero() {
			tr.firstMaster[i] = s.now
		}
		tr.prev[i] = n.state
	}
	tr.maxHolders = max(tr.maxHolders, len(s.leaseHolders()))
}

func newTransitions(s *sim) *transitions {
	tr := &transitions{}
	for i, n := range s.nodes {
		tr.prev[i] = n.state
	}
	return tr
}

func wantStates(t *testing.T, s *sim, a, b State) {
	t.Helper()
	if s.nodes[0].state != a || s.nodes[1].state != b {
		t.Fatalf("t=%.3f: a %s b %s, want %s %s\n%s", s.now.Sub(t0).Seconds(), s.nodes[0].state, s.nodes[1].state, a, b, s.dump())
	}
}

func wantReason(t *testing.T, s *sim, i int, prefix string) {
	t.Helper()
	st := s.nodes[i].in.Status()
	if prefix == "" {
		if st.Held {
			t.Fatalf("%s held: %q\n%s", s.nodes[i].name, st.Reason, s.dump())
		}
		return
	}
	if !st.Held || !strings.HasPrefix(st.Reason, prefix) {
		t.Fatalf("%s: held %v reason %q, want %q...\n%s", s.nodes[i].name, st.Held, st.Reason, prefix, s.dump())
	}
}

func noFences(t *testing.T, s *sim) {
	t.Helper()
	for _, n := range s.nodes {
		if len(n.fences) > 0 {
			t.Fatalf("%s fenced: %q\n%s", n.name, n.fences, s.dump())
		}
	}
}

// S1: the VRRP path is cut, gossip and arbiters work: the backup's
// master-down timer fires, but it sees the master alive by gossip and is
// held; the master is untouched. Forever, not just for a while.
func TestS1VRRPCut(t *testing.T) {
	for _, arbs := range []int{0, 1, 3} {
		s := settled(t, arbs)
		s.setLinks(false, true)
		s.runFor(60 * time.Second)
		wantStates(t, s, Master, Backup)
		wantReason(t, s, 0, "")
		wantReason(t, s, 1, ReasonPeerMaster)
		if !s.nodes[1].waiting {
			t.Errorf("%d arbiters: b's master-down timer never fired under the hold", arbs)
		}
		noFences(t, s)
	}
}

// S2: the master is isolated on both networks. It must hold no later than
// its lease's valid-until; the backup gets the lease only after that, and
// at no instant do two un-held nodes believe in a valid lease.
func TestS2MasterIsolated(t *testing.T) {
	for _, arbs := range []int{1, 3} {
		s := settled(t, arbs)
		validUntil := s.nodes[0].in.Status().LeaseValidUntil
		tr := newTransitions(s)
		s.check = tr.watch
		cut := s.now
		s.isolate(0, false)
		s.runFor(30 * time.Second)
		wantStates(t, s, Backup, Master)
		if tr.maxHolders > 1 {
			t.Errorf("%d arbiters: two un-held lease holders at once", arbs)
		}
		if d := tr.firstNotMaster[0]; d.IsZero() || d.After(validUntil) {
			t.Errorf("%d arbiters: a demoted at %v, after its valid-until %v", arbs, d.Sub(t0), validUntil.Sub(t0))
		}
		if m := tr.firstMaster[1]; !m.After(tr.firstNotMaster[0]) {
			t.Errorf("%d arbiters: b MASTER at %v, a demoted at %v", arbs, m.Sub(t0), tr.firstNotMaster[0].Sub(t0))
		}
		// README's timing: a holds by LeaseTTL-margin after its last
		// renewal, b takes over once the arbiter let a's lease expire.
		if d := tr.firstNotMaster[0].Sub(cut); d > s.cfg.LeaseTTL-s.cfg.Margin {
			t.Errorf("%d arbiters: a held %v after the cut", arbs, d)
		}
		if d := tr.firstMaster[1].Sub(cut); d > s.cfg.LeaseTTL+s.cfg.RenewEvery+2*rpcLatency+s.nodes[1].masterDown() {
			t.Errorf("%d arbiters: b took %v to take over", arbs, d)
		}
		if f := s.nodes[0].fences; len(f) != 1 || !strings.HasPrefix(f[0], ReasonLostQuorum) {
			t.Errorf("%d arbiters: a's fences %q", arbs, f)
		}
		wantReason(t, s, 0, ReasonNoLease) // a BACKUP alone without quorum stays held
	}
}

// S3: both nodes reach the arbiters but not each other (VRRP and gossip
// cut): the arbiter keeps the lease with the master; the backup is held
// for as long as the cut lasts.
func TestS3ArbiterSeesBoth(t *testing.T) {
	for _, arbs := range []int{1, 3} {
		s := settled(t, arbs)
		s.setLinks(false, false)
		s.runFor(5 * time.Minute)
		wantStates(t, s, Master, Backup)
		wantReason(t, s, 0, "")
		wantReason(t, s, 1, ReasonLeaseHeld+" nodea")
		noFences(t, s)
	}
}

// S4: the arbiters are down, VRRP and gossip are healthy: renewals fail,
// the peer is alive, nothing changes on either side.
func TestS4ArbiterDown(t *testing.T) {
	for _, arbs := range []int{1, 3} {
		s := settled(t, arbs)
		for i := range s.nodes {
			for j := range s.arbs {
				s.setArbiter(i, j, false)
			}
		}
		s.runFor(60 * time.Second)
		wantStates(t, s, Master, Backup)
		wantReason(t, s, 0, "")
		wantReason(t, s, 1, ReasonPeerMaster)
		if s.nodes[0].in.Status().LeaseValidUntil.After(s.now) {
			t.Errorf("%d arbiters: a still believes in a lease it could not renew", arbs)
		}
		noFences(t, s)
	}
}

// S5: after S2 the isolated node comes back: one owner at every instant
// (lease-wise), and the higher priority preempts back.
func TestS5Heal(t *testing.T) {
	for _, arbs := range []int{1, 3} {
		s := settled(t, arbs)
		s.isolate(0, false)
		s.runFor(30 * time.Second)
		wantStates(t, s, Backup, Master)
		tr := newTransitions(s)
		s.check = tr.watch
		s.isolate(0, true)
		s.runFor(30 * time.Second)
		wantStates(t, s, Master, Backup)
		if tr.maxHolders > 1 {
			t.Errorf("%d arbiters: two un-held lease holders at once", arbs)
		}
		if !s.nodes[0].in.Status().LeaseValidUntil.After(s.now) {
			t.Errorf("%d arbiters: a has no lease after the heal\n%s", arbs, s.dump())
		}
		wantReason(t, s, 0, "")
		wantReason(t, s, 1, ReasonPeerMaster)
		if s.nodes[1].in.Status().Requesting {
			t.Errorf("%d arbiters: b still renews as BACKUP", arbs)
		}
	}
}

// S6: three arbiters, one of them down for everybody: two still make a
// majority, so S2 and S3 come out the same.
func TestS6OneArbiterDown(t *testing.T) {
	t.Run("S2", func(t *testing.T) {
		s := settled(t, 3)
		s.setArbiter(0, 2, false)
		s.setArbiter(1, 2, false)
		tr := newTransitions(s)
		s.check = tr.watch
		s.runFor(10 * time.Second)
		wantStates(t, s, Master, Backup)
		s.isolate(0, false)
		s.runFor(30 * time.Second)
		wantStates(t, s, Backup, Master)
		if tr.maxHolders > 1 {
			t.Error("two un-held lease holders at once")
		}
		if st := s.nodes[1].in.Status(); st.Grants != 2 {
			t.Errorf("b's grants %d, want 2", st.Grants)
		}
	})
	t.Run("S3", func(t *testing.T) {
		s := settled(t, 3)
		s.setArbiter(0, 1, false)
		s.setArbiter(1, 1, false)
		s.setLinks(false, false)
		s.runFor(2 * time.Minute)
		wantStates(t, s, Master, Backup)
		wantReason(t, s, 1, ReasonLeaseHeld+" nodea")
		noFences(t, s)
	})
	t.Run("split arbiters", func(t *testing.T) {
		// a reaches arbiters 0 and 1, b reaches 1 and 2: a keeps its
		// majority, b can never get one.
		s := settled(t, 3)
		s.setArbiter(0, 2, false)
		s.setArbiter(1, 0, false)
		s.setLinks(false, false)
		s.runFor(2 * time.Minute)
		wantStates(t, s, Master, Backup)
		noFences(t, s)
	})
}

// Preemption over VRRP with gossip alive: when the backup comes to
// outrank the master (here the master's tracked priority drops), the
// backup is not held, so plain VRRP preemption runs (no deadlock); the old
// master ends up held behind it and the lease follows.
func TestPreemptWithGossip(t *testing.T) {
	for _, arbs := range []int{0, 1, 3} {
		s := settled(t, arbs)
		s.setPrio(0, 50)
		s.runFor(20 * time.Second)
		wantStates(t, s, Backup, Master)
		wantReason(t, s, 0, ReasonPeerMaster)
		wantReason(t, s, 1, "")
		if arbs > 0 && !s.nodes[1].in.Status().LeaseValidUntil.After(s.now) {
			t.Errorf("%d arbiters: b has no lease\n%s", arbs, s.dump())
		}
	}
}

// Preemption with the VRRP path cut: the dual-master rule settles it.
func TestPreemptVRRPCut(t *testing.T) {
	for _, arbs := range []int{0, 1, 3} {
		s := settled(t, arbs)
		s.setLinks(false, true)
		s.setPrio(0, 50)
		s.runFor(20 * time.Second)
		wantStates(t, s, Backup, Master)
		wantReason(t, s, 0, ReasonDualMaster+": nodeb outranks")
		if f := s.nodes[0].fences; len(f) != 1 || f[0] != ReasonDualMaster+": nodeb outranks" {
			t.Errorf("%d arbiters: a's fences %q", arbs, f)
		}
		if g := s.nodes[1].garps; g != 1 {
			t.Errorf("%d arbiters: b GARPed %d times, want 1", arbs, g)
		}
	}
}

// nopreempt: a backup that outranks the master but does not preempt stays
// held while the master is alive, whatever the VRRP path does.
func TestNoPreempt(t *testing.T) {
	for _, vrrp := range []bool{true, false} {
		s := settled(t, 1)
		s.nodes[1].preempt = false
		s.setLinks(vrrp, true)
		s.setPrio(1, 250)
		s.runFor(30 * time.Second)
		wantStates(t, s, Master, Backup)
		wantReason(t, s, 1, ReasonPeerMaster)
		noFences(t, s)
	}
}

// Dual master after a full cut without arbiters (plain VRRP makes both
// MASTER), healed on the gossip path only: the lower one is fenced, the
// winner GARPs once, and the loser stays held while the winner serves.
func TestDualMasterHeal(t *testing.T) {
	s := settled(t, 0)
	s.setLinks(false, false)
	s.runFor(10 * time.Second)
	wantStates(t, s, Master, Master)
	s.setLinks(false, true)
	s.runFor(30 * time.Second)
	wantStates(t, s, Master, Backup)
	wantReason(t, s, 1, ReasonDualMaster+": nodea outranks")
	if g := s.nodes[0].garps; g != 1 {
		t.Errorf("a GARPed %d times, want 1", g)
	}
	if f := s.nodes[1].fences; len(f) != 1 {
		t.Errorf("b's fences %q", f)
	}
}

// With quorum required and the arbiters out of reach, two nodes that see
// each other still elect a master (S4 at an election): at startup, and
// when the master goes FAULT.
func TestElectionArbitersDown(t *testing.T) {
	s := newSim(t, testConfig(1), 1, 200, 100)
	s.setArbiter(0, 0, false)
	s.setArbiter(1, 0, false)
	s.runFor(10 * time.Second)
	wantStates(t, s, Master, Backup)
	s.toState(0, Fault, "interface down")
	s.runFor(10 * time.Second)
	wantStates(t, s, Fault, Master)
	noFences(t, s)
}

// Two backups electing over a cut VRRP path with the arbiters reachable:
// only the lease holder takes over (no dual master from the election); if
// that is the lower priority, the higher one then preempts it, a dual
// master the gossip path settles.
func TestElectionVRRPCut(t *testing.T) {
	for _, prios := range [][]int{{200, 100}, {100, 200}} {
		s := newSim(t, testConfig(1), 1, prios...)
		s.setLinks(false, true)
		s.check = func(s *sim) {
			if m := s.masters(); len(m) > 1 {
				late := s.nodes[m[0]]
				if s.nodes[m[1]].masterSince.After(late.masterSince) {
					late = s.nodes[m[1]]
				}
				if late.heard.State != Master {
					t.Fatalf("t=%.3f: dual master from an election\n%s", s.now.Sub(t0).Seconds(), s.dump())
				}
			}
		}
		s.runFor(30 * time.Second)
		top := 0
		if prios[1] > prios[0] {
			top = 1
		}
		if m := s.masters(); len(m) != 1 || m[0] != top {
			t.Fatalf("%v: masters %v\n%s", prios, m, s.dump())
		}
	}
}
