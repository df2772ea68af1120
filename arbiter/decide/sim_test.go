package decide

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/arbiter/lease"
)

// The simulation: two nodes, each a decide.Instance driven the way the
// agent drives it (heartbeats every hbInterval on the gossip link, Tick at
// Output.Next and never earlier than needed, holds applied to a small VRRP
// model), and 1..n arbiters, each a lease.Table behind a link with latency.
// It is event-driven: time jumps to the next thing due, so a Next that is
// late shows up as a late hold, exactly.

const (
	hbInterval  = 200 * time.Millisecond
	advertInt   = time.Second
	rpcLatency  = 5 * time.Millisecond
	rpcTimeout  = 500 * time.Millisecond
	simInstance = "VI_1"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func testConfig(arbiters int) Config {
	return Config{
		Arbiters:      arbiters,
		RequireQuorum: arbiters > 0,
		PeerTimeout:   time.Second,
		LeaseTTL:      3 * time.Second,
		RenewEvery:    time.Second,
		Margin:        200 * time.Millisecond,
	}
}

type simNode struct {
	name    string
	in      *Instance
	prio    int
	addr    netip.Addr
	preempt bool

	// VRRP model.
	state        State
	held         bool
	waiting      bool
	epoch        uint64
	masterDownAt time.Time
	nextAdvert   time.Time
	masterSince  time.Time
	// sawPeer: it entered MASTER while it still saw the other alive on
	// the gossip path (possibly a stale view).
	sawPeer bool
	heard   Peer // the other's last heartbeat that arrived

	// Agent.
	wake   time.Time
	nextHB time.Time
	fences []string
	garps  int
	log    []string
}

func (n *simNode) masterDown() time.Duration {
	return 3*advertInt + time.Duration(256-n.prio)*advertInt/256
}

func (n *simNode) local() Local {
	return Local{State: n.state, Priority: n.prio, Preempt: n.preempt, Addr: n.addr, Epoch: n.epoch, Waiting: n.waiting}
}

type rpcKind int

const (
	rpcRequest rpcKind = iota // reaches the arbiter
	rpcReply                  // reaches the node
	rpcGiveUp                 // the node gives up
	rpcRelease
)

type rpc struct {
	at      time.Time
	kind    rpcKind
	node    int
	arb     int
	sent    time.Time
	granted bool
	holder  string
	ttl     time.Duration
}

type sim struct {
	t      *testing.T
	now    time.Time
	cfg    Config
	nodes  []*simNode
	arbs   []*lease.Table
	vrrpUp bool
	gossUp bool
	arbUp  [][]bool // [node][arbiter]
	rpcs   []rpc
	// cutSince is when both node-to-node links went down (zero: one is up).
	cutSince time.Time
	// check runs after every instant; nil: the safety invariant only.
	check func(s *sim)
	trace bool
	// lat is the one-way latency to the arbiters.
	// eager makes a BACKUP whose master-down timer fired under a hold
	// take over as soon as the hold lifts (vrrpd instead re-arms the
	// timer and waits for it to fire again).
	eager bool
	lat   time.Duration
}

func newSim(t *testing.T, cfg Config, arbiters int, prios ...int) *sim {
	s := &sim{t: t, now: t0, cfg: cfg, vrrpUp: true, gossUp: true, lat: rpcLatency}
	for i := 0; i < arbiters; i++ {
		s.arbs = append(s.arbs, lease.New(cfg.LeaseTTL))
	}
	for i, p := range prios {
		n := &simNode{
			name:    fmt.Sprintf("node%c", 'a'+i),
			in:      New(simInstance, cfg),
			prio:    p,
			addr:    netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i)}),
			preempt: true,
			state:   Backup,
		}
		n.masterDownAt = s.now.Add(n.masterDown())
		n.nextHB = s.now.Add(time.Duration(i) * hbInterval / 3) // not in lock step
		s.nodes = append(s.nodes, n)
		up := make([]bool, arbiters)
		for j := range up {
			up[j] = true
		}
		s.arbUp = append(s.arbUp, up)
	}
	for i := range s.nodes {
		s.apply(i, s.nodes[i].in.SetLocal(s.now, s.nodes[i].local()))
	}
	return s
}

func (s *sim) logf(i int, format string, args ...any) {
	msg := fmt.Sprintf("%7.3f %s: %s", s.now.Sub(t0).Seconds(), s.nodes[i].name, fmt.Sprintf(format, args...))
	s.nodes[i].log = append(s.nodes[i].log, msg)
	if s.trace {
		s.t.Log(msg)
	}
}

// apply carries out an Output the way the agent does.
func (s *sim) apply(i int, o Output) {
	n := s.nodes[i]
	n.wake = o.Next
	if o.Fence != "" {
		n.fences = append(n.fences, o.Fence)
		s.logf(i, "fence %q", o.Fence)
	}
	if o.GARP {
		n.garps++
		s.logf(i, "garp")
	}
	if o.Request {
		for j := range s.arbs {
			if s.arbUp[i][j] {
				s.rpcs = append(s.rpcs, rpc{at: s.now.Add(s.lat), kind: rpcRequest, node: i, arb: j, sent: s.now})
			} else {
				s.rpcs = append(s.rpcs, rpc{at: s.now.Add(rpcTimeout), kind: rpcGiveUp, node: i, arb: j, sent: s.now})
			}
		}
	}
	if o.Release {
		s.logf(i, "release")
		for j := range s.arbs {
			if s.arbUp[i][j] {
				s.rpcs = append(s.rpcs, rpc{at: s.now.Add(s.lat), kind: rpcRelease, node: i, arb: j})
			}
		}
	}
	if o.Hold != nil {
		s.logf(i, "hold %v %q", o.Hold.On, o.Hold.Reason)
		n.held = o.Hold.On
		if !n.held && n.waiting && s.eager && n.state == Backup {
			// The worst case for safety: the master-down timer has
			// expired under the hold, and this VRRP takes over the
			// moment the hold lifts.
			s.toState(i, Master, "hold lifted, master down timer expired")
		}
		if !n.held {
			n.waiting = false
		}
		if n.held && n.state == Master {
			s.toState(i, Backup, "held")
		}
	}
}

// toState moves node i's VRRP model and tells its decide machine.
func (s *sim) toState(i int, st State, why string) {
	n := s.nodes[i]
	if n.state == st {
		return
	}
	s.logf(i, "%s -> %s (%s)", n.state, st, why)
	n.state = st
	switch st {
	case Master:
		n.masterSince = s.now
		n.sawPeer = s.now.Sub(n.heard.Seen) < s.cfg.PeerTimeout
		n.epoch++
		n.waiting = false
		n.nextAdvert = s.now
	case Backup:
		n.masterDownAt = s.now.Add(n.masterDown())
	}
	s.apply(i, n.in.SetLocal(s.now, n.local()))
}

func due(t, now time.Time) bool { return !t.IsZero() && !t.After(now) }

// instant processes everything due at s.now, repeatedly, since one action
// can make another due at the same instant.
func (s *sim) instant() {
	for progress := true; progress; {
		progress = false
		for i, n := range s.nodes {
			if due(n.wake, s.now) {
				progress = true
				s.apply(i, n.in.Tick(s.now))
			}
			if due(n.nextHB, s.now) {
				progress = true
				n.nextHB = s.now.Add(hbInterval)
				if s.gossUp {
					for k, m := range s.nodes {
						if k != i {
							p := Peer{Node: n.name, Seen: s.now, State: n.state, Priority: n.prio, Preempt: n.preempt, Addr: n.addr, Epoch: n.epoch, Held: n.held}
							m.heard = p
							s.apply(k, m.in.PeerHeartbeat(s.now, p))
						}
					}
				}
			}
			if n.state == Master && due(n.nextAdvert, s.now) {
				progress = true
				n.nextAdvert = s.now.Add(advertInt)
				if s.vrrpUp {
					s.advert(i)
				}
			}
			if n.state == Backup && due(n.masterDownAt, s.now) {
				progress = true
				if n.held {
					n.masterDownAt = s.now.Add(n.masterDown())
					if !n.waiting {
						n.waiting = true
						s.apply(i, n.in.SetLocal(s.now, n.local()))
					}
				} else {
					s.toState(i, Master, "master down timer expired")
				}
			}
		}
		var later []rpc
		var now []rpc
		for _, r := range s.rpcs {
			if due(r.at, s.now) {
				now = append(now, r)
			} else {
				later = append(later, r)
			}
		}
		s.rpcs = later
		for _, r := range now {
			progress = true
			s.deliver(r)
		}
	}
}

func (s *sim) deliver(r rpc) {
	n := s.nodes[r.node]
	name := fmt.Sprintf("arb%d", r.arb)
	switch r.kind {
	case rpcRequest:
		g, h, ttl := s.arbs[r.arb].Request(s.now, simInstance, n.name)
		if s.arbUp[r.node][r.arb] {
			s.rpcs = append(s.rpcs, rpc{at: s.now.Add(s.lat), kind: rpcReply, node: r.node, arb: r.arb, sent: r.sent, granted: g, holder: h, ttl: ttl})
		} else {
			s.rpcs = append(s.rpcs, rpc{at: r.sent.Add(rpcTimeout), kind: rpcGiveUp, node: r.node, arb: r.arb, sent: r.sent})
		}
	case rpcReply:
		s.apply(r.node, n.in.LeaseReply(s.now, Grant{Arbiter: name, Sent: r.sent, Granted: r.granted, Holder: r.holder, TTL: r.ttl}))
	case rpcGiveUp:
		s.apply(r.node, n.in.LeaseUnreachable(s.now, name))
	case rpcRelease:
		s.arbs[r.arb].Release(s.now, simInstance, n.name)
	}
}

// advert delivers node i's VRRP advertisement to the others.
func (s *sim) advert(i int) {
	from := s.nodes[i]
	for k, to := range s.nodes {
		if k == i {
			continue
		}
		switch to.state {
		case Master:
			if outranks(from.prio, from.addr, to.prio, to.addr) {
				s.toState(k, Backup, "higher priority advert")
			} else if from.state == Master {
				s.toState(i, Backup, "answered by a higher priority master")
				return
			}
		case Backup:
			if to.preempt && !to.held && outranks(to.prio, to.addr, from.prio, from.addr) {
				continue // preempt: let the master-down timer fire
			}
			to.masterDownAt = s.now.Add(to.masterDown())
		}
	}
}

func (s *sim) nextEvent() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, n := range s.nodes {
		consider(n.wake)
		consider(n.nextHB)
		if n.state == Master {
			consider(n.nextAdvert)
		}
		if n.state == Backup {
			consider(n.masterDownAt)
		}
	}
	for _, r := range s.rpcs {
		consider(r.at)
	}
	return next
}

// run advances the simulation to end, checking after every instant.
func (s *sim) run(end time.Time) {
	s.t.Helper()
	for {
		next := s.nextEvent()
		if next.IsZero() || next.After(end) {
			s.now = end
			s.instant()
			s.verify()
			return
		}
		if next.After(s.now) {
			s.now = next
		}
		s.instant()
		s.verify()
		if s.t.Failed() {
			return
		}
	}
}

func (s *sim) runFor(d time.Duration) { s.t.Helper(); s.run(s.now.Add(d)) }

// setLinks changes the node-to-node links and keeps cutSince.
func (s *sim) setLinks(vrrp, gossip bool) {
	s.vrrpUp, s.gossUp = vrrp, gossip
	if !vrrp && !gossip {
		if s.cutSince.IsZero() {
			s.cutSince = s.now
		}
	} else {
		s.cutSince = time.Time{}
	}
}

func (s *sim) setArbiter(node, arb int, up bool) { s.arbUp[node][arb] = up }

func (s *sim) isolate(node int, up bool) {
	s.setLinks(up, up)
	for j := range s.arbs {
		s.arbUp[node][j] = up
	}
}

// masters are the nodes whose VRRP model is MASTER (which, holds being
// applied at once, means un-held MASTER).
func (s *sim) masters() []int {
	var out []int
	for i, n := range s.nodes {
		if n.state == Master {
			out = append(out, i)
		}
	}
	return out
}

// verify is the safety invariant: with quorum required, two nodes that
// cannot see each other (neither VRRP nor gossip) are never both MASTER,
// except that a decision taken on a view that is stale since the cut (a
// dual master that existed at the cut, a preemption or election by a
// node that still saw the other alive) may take one peer timeout to settle:
// the side without a lease holds exactly one peer timeout after it last
// heard the other. A node that no longer saw the other becoming MASTER
// while the other is MASTER is a violation at once.
func (s *sim) verify() {
	s.t.Helper()
	if s.cfg.quorum() && !s.cutSince.IsZero() {
		if m := s.masters(); len(m) > 1 {
			late := s.now.Sub(s.cutSince) >= s.cfg.PeerTimeout
			for _, i := range m {
				if n := s.nodes[i]; !n.masterSince.Before(s.cutSince) && !n.sawPeer {
					late = true
				}
			}
			if late {
				s.t.Errorf("t=%.3f: %d masters %v after the cut\n%s", s.now.Sub(t0).Seconds(), len(m), s.now.Sub(s.cutSince), s.dump())
			}
		}
	}
	if s.check != nil {
		s.check(s)
	}
}

func (s *sim) dump() string {
	var b strings.Builder
	for _, n := range s.nodes {
		fmt.Fprintf(&b, "%s: %s held=%v %+v\n", n.name, n.state, n.held, n.in.Status())
		from := max(0, len(n.log)-40)
		for _, l := range n.log[from:] {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// leaseHolders lists the nodes that are not held and believe in a valid
// lease at s.now: the nodes that could be MASTER on the arbiters' word.
func (s *sim) leaseHolders() []int {
	var out []int
	for i, n := range s.nodes {
		if st := n.in.Status(); !n.held && st.LeaseValidUntil.After(s.now) {
			out = append(out, i)
		}
	}
	return out
}
