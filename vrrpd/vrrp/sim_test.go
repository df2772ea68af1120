package vrrp

import (
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// simRouter is one router of the simulated LAN.
type simRouter struct {
	in      *Instance
	addr    netip.Addr
	alive   bool
	holds   bool        // holds the VIP
	lastGrp time.Time   // last GARP sent
	added   []time.Time // when it added the VIP
}

type simPacket struct {
	at       time.Time
	seq      int
	from, to int
	adv      Advert
}

// sim is a deterministic discrete-event network of VRRP routers: adverts
// take `delay` to arrive, may be lost at random, and links may be cut.
type sim struct {
	t       *testing.T
	now     time.Time
	routers []*simRouter
	queue   []simPacket
	seq     int
	delay   time.Duration
	loss    float64
	rng     *rand.Rand
	cut     map[[2]int]bool
	// dual counts simulated time with more than one router holding the
	// VIP; gap counts time with none while some router is alive.
	dual, gap time.Duration
}

func newSim(t *testing.T, seed int64, prios ...uint8) *sim {
	s := &sim{t: t, now: t0, delay: ms(1), rng: rand.New(rand.NewSource(seed)), cut: map[[2]int]bool{}}
	for i, p := range prios {
		addr := netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)})
		in := mustNew(t, Config{VRID: 7, Version: 3, Priority: p, Interval: time.Second, Preempt: true, Primary: addr, StartMaster: p == 255})
		s.routers = append(s.routers, &simRouter{in: in, addr: addr, alive: true})
	}
	return s
}

func (s *sim) apply(i int, acts []Action) {
	r := s.routers[i]
	for _, a := range acts {
		switch x := a.(type) {
		case SendAdvert:
			for j := range s.routers {
				if j == i || s.cut[[2]int{i, j}] || s.rng.Float64() < s.loss {
					continue
				}
				s.seq++
				s.queue = append(s.queue, simPacket{at: s.now.Add(s.delay), seq: s.seq, from: i, to: j,
					adv: Advert{Src: r.addr, Priority: x.Priority, Interval: r.in.cfg.Interval}})
			}
		case AddVIPs:
			r.holds = true
			r.added = append(r.added, s.now)
		case RemoveVIPs:
			r.holds = false
		case SendGARP:
			r.lastGrp = s.now
		}
	}
}

func (s *sim) step(i int, ev Event) { s.apply(i, s.routers[i].in.Step(s.now, ev)) }

func (s *sim) startAll() {
	for i := range s.routers {
		s.step(i, Start{})
	}
}

// kill stops a router dead: no more packets or timers, and its addresses
// vanish with it.
func (s *sim) kill(i int) { s.routers[i].alive, s.routers[i].holds = false, false }

func (s *sim) partition(a, b []int, cut bool) {
	for _, i := range a {
		for _, j := range b {
			s.cut[[2]int{i, j}], s.cut[[2]int{j, i}] = cut, cut
		}
	}
}

// run advances simulated time by d, delivering packets and timers in order.
func (s *sim) run(d time.Duration) {
	end := s.now.Add(d)
	for {
		next, who, isPkt := end, -1, false
		sort.Slice(s.queue, func(a, b int) bool {
			if !s.queue[a].at.Equal(s.queue[b].at) {
				return s.queue[a].at.Before(s.queue[b].at)
			}
			return s.queue[a].seq < s.queue[b].seq
		})
		if len(s.queue) > 0 && s.queue[0].at.Before(next) {
			next, isPkt = s.queue[0].at, true
		}
		for i, r := range s.routers {
			if dl := r.in.Deadline(); r.alive && !dl.IsZero() && dl.Before(next) {
				next, who, isPkt = dl, i, false
			}
		}
		s.account(next.Sub(s.now))
		s.now = next
		switch {
		case isPkt:
			p := s.queue[0]
			s.queue = s.queue[1:]
			if s.routers[p.to].alive {
				s.step(p.to, p.adv)
			}
		case who >= 0:
			s.step(who, Timeout{})
		default:
			return
		}
	}
}

func (s *sim) account(d time.Duration) {
	holders, alive := 0, 0
	for _, r := range s.routers {
		if r.holds {
			holders++
		}
		if r.alive {
			alive++
		}
	}
	if holders > 1 {
		s.dual += d
	}
	if holders == 0 && alive > 0 {
		s.gap += d
	}
}

func (s *sim) masters() []int {
	var out []int
	for i, r := range s.routers {
		if r.alive && r.in.State() == Master {
			out = append(out, i)
		}
	}
	return out
}

func (s *sim) wantSoleMaster(i int) {
	s.t.Helper()
	m := s.masters()
	if len(m) != 1 || m[0] != i {
		s.t.Fatalf("masters %v, want only %d (states %s)", m, i, s.states())
	}
	for j, r := range s.routers {
		if r.holds != (j == i) {
			s.t.Fatalf("router %d holds=%v (states %s)", j, r.holds, s.states())
		}
	}
}

func (s *sim) states() string {
	out := ""
	for i, r := range s.routers {
		out += fmt.Sprintf(" %d:%v/%d", i, r.in.State(), r.in.Priority())
	}
	return out
}

func TestElectionThreeRouters(t *testing.T) {
	s := newSim(t, 1, 100, 150, 200)
	s.startAll()
	// The highest priority router's master-down timer expires first.
	s.run(3*time.Second + 230*time.Millisecond)
	s.wantSoleMaster(2)
	if s.dual != 0 {
		t.Errorf("VIP held twice for %v during the election", s.dual)
	}
}

func TestFailoverOnMasterDeath(t *testing.T) {
	s := newSim(t, 2, 100, 150, 200)
	s.startAll()
	s.run(5 * time.Second)
	s.wantSoleMaster(2)
	s.kill(2)
	killedAt := s.now
	s.run(10 * time.Second)
	s.wantSoleMaster(1)
	r := s.routers[1]
	took := r.added[len(r.added)-1].Sub(killedAt)
	// Master_Down_Interval for priority 150 at 1 s: 3 s + 414 ms; the
	// last advert left up to one interval before the death.
	if took > 3414*time.Millisecond+s.delay || took < 2414*time.Millisecond {
		t.Errorf("takeover %v after the master died, want within the master-down interval", took)
	}
}

func TestGracefulStopHasNoGap(t *testing.T) {
	s := newSim(t, 3, 100, 150, 200)
	s.startAll()
	s.run(5 * time.Second)
	s.gap, s.dual = 0, 0
	s.step(2, Stop{})
	s.run(5 * time.Second)
	s.wantSoleMaster(1)
	if s.gap != 0 {
		t.Errorf("no router held the VIP for %v during a planned stop", s.gap)
	}
	if s.routers[2].in.State() != Stopped {
		t.Errorf("stopped router is %v", s.routers[2].in.State())
	}
	// Overlap is bounded by the successor's skew time plus one delivery.
	if s.dual > 420*time.Millisecond {
		t.Errorf("make-before-break overlap %v is longer than the successor's skew time", s.dual)
	}
}

func TestHealedPartitionEndsWithWinnersGARP(t *testing.T) {
	// Heal at 20 phases of the advert cycle, so either side's advert may
	// cross the healed link first.
	for k := 0; k < 20; k++ {
		t.Run(fmt.Sprintf("phase %dms", k*50), func(t *testing.T) {
			s := newSim(t, int64(100+k), 100, 200)
			s.startAll()
			s.run(5 * time.Second)
			s.wantSoleMaster(1)
			s.partition([]int{0}, []int{1}, true)
			s.run(10*time.Second + time.Duration(k)*50*time.Millisecond)
			if len(s.masters()) != 2 {
				t.Fatalf("a cut link should make both master, got %v", s.masters())
			}
			s.partition([]int{0}, []int{1}, false)
			healed := s.now
			s.run(10 * time.Second)
			s.wantSoleMaster(1)
			loser, winner := s.routers[0], s.routers[1]
			if !winner.lastGrp.After(healed) {
				t.Fatalf("winner sent no GARP after the partition healed")
			}
			if !loser.lastGrp.Before(winner.lastGrp) {
				t.Errorf("last GARP was the loser's (%v) not the winner's (%v)", loser.lastGrp.Sub(t0), winner.lastGrp.Sub(t0))
			}
		})
	}
}

// A lossy network may cause flaps, but once loss stops the highest
// priority router is the only master and the only holder.
func TestLossyNetworkConverges(t *testing.T) {
	for seed := int64(10); seed < 20; seed++ {
		s := newSim(t, seed, 50, 100, 150, 200, 250)
		s.loss = 0.2
		s.startAll()
		s.run(120 * time.Second)
		s.loss = 0
		s.run(10 * time.Second)
		s.wantSoleMaster(4)
	}
}

func TestOwnerTakesOverAtOnce(t *testing.T) {
	s := newSim(t, 5, 100, 255)
	s.startAll()
	s.run(ms(10))
	s.wantSoleMaster(1)
}

// A planned handoff: the master hands over make-before-break, stays a held
// BACKUP (no preempting straight back), and preempts again after Undo.
func TestHandoff(t *testing.T) {
	s := newSim(t, 6, 100, 200)
	s.startAll()
	s.run(5 * time.Second)
	s.wantSoleMaster(1)
	s.gap = 0
	s.step(1, Handoff{})
	s.run(30 * time.Second)
	s.wantSoleMaster(0)
	if s.gap != 0 {
		t.Errorf("nobody held the VIP for %v during the handoff", s.gap)
	}
	if st := s.routers[1].in.State(); st != Backup {
		t.Errorf("handed-off router is %v, want BACKUP", st)
	}
	s.step(1, Handoff{Undo: true})
	s.run(10 * time.Second)
	s.wantSoleMaster(1)
}
