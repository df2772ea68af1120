package decide

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var (
	addr1 = netip.MustParseAddr("198.18.0.1")
	addr2 = netip.MustParseAddr("198.18.0.2")
)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// ev is one input to a single machine and what the output must show.
type ev struct {
	in   func(*Instance) Output
	want string // describe(out), "" for nothing at all (Next ignored)
}

// reasonIs checks Status().Reason instead of an output: hold reasons can
// change without a new Hold output.
func reasonIs(r string) ev { return ev{want: r} }

// describe renders an Output without Next, for comparisons.
func describe(o Output) string {
	var parts []string
	if o.Hold != nil {
		if o.Hold.On {
			parts = append(parts, "hold("+o.Hold.Reason+")")
		} else {
			parts = append(parts, "unhold")
		}
	}
	if o.Fence != "" {
		parts = append(parts, "fence")
	}
	if o.Request {
		parts = append(parts, "request")
	}
	if o.Release {
		parts = append(parts, "release")
	}
	if o.GARP {
		parts = append(parts, "garp")
	}
	return strings.Join(parts, " ")
}

func local(ms int, st State, prio int) func(*Instance) Output {
	return func(in *Instance) Output {
		return in.SetLocal(at(ms), Local{State: st, Priority: prio, Preempt: true, Addr: addr1})
	}
}

func peer(ms int, node string, st State, prio int, addr netip.Addr) func(*Instance) Output {
	return func(in *Instance) Output {
		return in.PeerHeartbeat(at(ms), Peer{Node: node, Seen: at(ms), State: st, Priority: prio, Preempt: true, Addr: addr})
	}
}

func grant(ms int, arb string, sentMS int, ok bool, holder string) func(*Instance) Output {
	return func(in *Instance) Output {
		return in.LeaseReply(at(ms), Grant{Arbiter: arb, Sent: at(sentMS), Granted: ok, Holder: holder, TTL: 3 * time.Second})
	}
}

func tick(ms int) func(*Instance) Output {
	return func(in *Instance) Output { return in.Tick(at(ms)) }
}

func unreachable(ms int, arb string) func(*Instance) Output {
	return func(in *Instance) Output { return in.LeaseUnreachable(at(ms), arb) }
}

func TestRules(t *testing.T) {
	noQuorum := testConfig(1)
	noQuorum.RequireQuorum = false
	gossipOnly := testConfig(0)
	gossipOnly.RequireQuorum = true // ignored without arbiters
	cases := []struct {
		name string
		cfg  Config
		evs  []ev
	}{
		{"dual master: peer outranks by priority", testConfig(0), []ev{
			{local(0, Master, 100), ""},
			{peer(10, "p", Master, 200, addr2), "hold(dual master: p outranks) fence"},
			{local(20, Backup, 100), ""},                   // demoted: still held, no new hold
			{peer(200, "p", Master, 200, addr2), ""},       // the winner serves: stay held
			{peer(400, "p", Backup, 200, addr2), "unhold"}, // it stopped: VRRP elects
		}},
		{"dual master: we outrank by priority, GARP once per conflict", testConfig(0), []ev{
			{local(0, Master, 200), ""},
			{peer(10, "p", Master, 100, addr2), "garp"},
			{peer(200, "p", Master, 100, addr2), ""},
			{peer(400, "p", Backup, 100, addr2), ""},
			{peer(600, "p", Master, 100, addr2), "garp"},
		}},
		{"dual master: equal priority, the peer's higher address wins", testConfig(0), []ev{
			{local(0, Master, 100), ""},
			{peer(10, "p", Master, 100, addr2), "hold(dual master: p outranks) fence"},
		}},
		{"dual master: equal priority, our higher address wins", testConfig(0), []ev{
			{func(in *Instance) Output {
				return in.SetLocal(at(0), Local{State: Master, Priority: 100, Preempt: true, Addr: addr2})
			}, ""},
			{peer(10, "p", Master, 100, addr1), "garp"},
		}},
		{"dual master: full tie fences nobody", testConfig(0), []ev{
			{local(0, Master, 100), ""},
			{peer(10, "p", Master, 100, addr1), ""},
		}},
		{"a held MASTER peer is demoting and claims nothing", testConfig(0), []ev{
			{local(0, Backup, 100), ""},
			{func(in *Instance) Output {
				return in.PeerHeartbeat(at(10), Peer{Node: "p", Seen: at(10), State: Master, Priority: 200, Addr: addr2, Held: true})
			}, ""},
		}},
		{"backup held behind a live master, released when it falls silent (gossip only)", testConfig(0), []ev{
			{local(0, Backup, 100), ""},
			{peer(10, "p", Master, 200, addr2), "hold(peer MASTER alive on the gossip path (p))"},
			{tick(1009), ""},
			{tick(1010), "unhold"},
		}},
		{"backup that outranks and preempts is not held", testConfig(1), []ev{
			{local(0, Backup, 200), "hold(no quorum: waiting for the lease) request"},
			{peer(10, "p", Master, 100, addr2), "unhold release"},
		}},
		{"without arbiters require_quorum is ignored: plain VRRP", gossipOnly, []ev{
			{local(0, Backup, 100), ""},
			{tick(5000), ""},
			{local(5000, Master, 100), ""},
			{tick(60000), ""},
		}},
		{"no quorum required: a lone backup waits for the arbiters' answer, then plain VRRP", noQuorum, []ev{
			{local(0, Backup, 100), "hold(waiting for the lease) request"},
			{unreachable(500, "arb0"), "unhold"},
			{local(4000, Master, 100), "request"},
			{unreachable(4500, "arb0"), ""},
			{grant(4990, "arb0", 4000, false, "q"), "hold(lease held by q, no peer alive) fence"},
		}},
		{"lease: takeover after the grant and the silence wait", testConfig(1), []ev{
			{local(0, Backup, 100), "hold(no quorum: waiting for the lease) request"},
			{peer(100, "p", Master, 200, addr2), "release"}, // still held, now behind p
			{tick(1100), "request"}, // p fell silent
			reasonIs(ReasonNoLease),
			{grant(1110, "arb0", 1100, true, ""), ""},
			reasonIs(ReasonPeerSilence),
			{tick(2099), ""},
			{tick(2100), "unhold request"},
		}},
		{"lease: master fenced at valid-until when alone", testConfig(1), []ev{
			{local(0, Backup, 100), "hold(no quorum: waiting for the lease) request"},
			{grant(10, "arb0", 0, true, ""), ""}, // the silence wait counts from the start
			{tick(2000), "unhold request"},
			{grant(2010, "arb0", 2000, true, ""), ""},
			{local(3000, Master, 100), "request"},
			{unreachable(3500, "arb0"), ""},
			{tick(4799), "request"},
			{tick(4800), "hold(lost quorum: no peer alive and no valid lease) fence"},
		}},
		{"lease: a late reply to a request sent before the release is ignored", testConfig(1), []ev{
			{local(0, Backup, 100), "hold(no quorum: waiting for the lease) request"},
			{peer(10, "p", Backup, 200, addr2), ""},
			{peer(20, "p", Master, 200, addr2), "release"},
			{grant(30, "arb0", 0, true, ""), ""},
			{tick(2000), "request"},
			{tick(2999), ""}, // still no valid lease: the late grant did not count
		}},
		{"lease: replies from the future or from too many arbiters are ignored", testConfig(1), []ev{
			{local(0, Backup, 100), "hold(no quorum: waiting for the lease) request"},
			{grant(10, "arb0", 20, true, ""), ""},
			{grant(10, "arb0", 0, true, ""), ""}, // valid, but the silence wait runs
			{grant(15, "arbX", 0, true, ""), ""},
			{grant(20, "arb0", 0, false, "q"), ""}, // the refusal replaces the grant
			reasonIs(ReasonLeaseHeld + " q"),
			{tick(2000), "request"}, // no lease: no unhold after the wait
		}},
		{"preemption: the new master asks again as soon as the refused-for holder steps down", testConfig(1), []ev{
			{local(0, Backup, 100), "hold(no quorum: waiting for the lease) request"},
			{peer(10, "p", Master, 90, addr2), "unhold release"}, // we outrank p and preempt: VRRP's call
			{peer(2900, "p", Master, 90, addr2), ""},
			{local(3000, Master, 100), "request garp"},      // master-down fired: MASTER, lease wanted
			{grant(3010, "arb0", 3000, false, "p"), ""},     // p still holds it; p alive covers us
			{peer(3050, "p", Backup, 90, addr2), "request"}, // p stepped down and released: ask now
			{grant(3060, "arb0", 3050, true, ""), ""},
			{peer(3100, "p", Backup, 90, addr2), ""}, // granted: no more early requests
		}},
		{"vrrpd reports MASTER under a hold: the hold is repeated", testConfig(0), []ev{
			{local(0, Backup, 100), ""},
			{peer(10, "p", Master, 200, addr2), "hold(peer MASTER alive on the gossip path (p))"},
			{local(20, Master, 100), "hold(dual master: p outranks) fence"},
		}},
		{"startup grace: a MASTER found at start is not fenced before a peer timeout", testConfig(1), []ev{
			{local(0, Master, 100), "request"},
			{tick(999), ""},
			{tick(1000), "hold(lost quorum: no peer alive and no valid lease) fence request"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := New("VI_1", c.cfg)
			for i, e := range c.evs {
				if e.in == nil {
					if got := in.Status().Reason; got != e.want {
						t.Fatalf("event %d: reason %q, want %q", i, got, e.want)
					}
					continue
				}
				if got := describe(e.in(in)); got != e.want {
					t.Fatalf("event %d: got %q, want %q (status %+v)", i, got, e.want, in.Status())
				}
			}
		})
	}
}

// The lease is valid until the majority-th latest expiry of the valid
// grants: with three arbiters, the second latest.
func TestMajorityValidUntil(t *testing.T) {
	in := New("VI_1", testConfig(3))
	in.SetLocal(at(0), Local{State: Master, Priority: 100, Addr: addr1})
	in.LeaseReply(at(10), Grant{Arbiter: "a0", Sent: at(0), Granted: true, TTL: 3 * time.Second})
	if st := in.Status(); !st.LeaseValidUntil.IsZero() || st.Grants != 1 {
		t.Fatalf("one grant of three: %+v", st)
	}
	in.LeaseReply(at(510), Grant{Arbiter: "a1", Sent: at(500), Granted: true, TTL: 3 * time.Second})
	in.LeaseReply(at(910), Grant{Arbiter: "a2", Sent: at(900), Granted: true, TTL: 3 * time.Second})
	if st := in.Status(); !st.LeaseValidUntil.Equal(at(3300)) || st.Grants != 3 {
		t.Fatalf("three grants: valid until %v, grants %d", st.LeaseValidUntil.Sub(t0), st.Grants)
	}
	in.LeaseUnreachable(at(1000), "a2") // a timeout does not shorten a grant
	if st := in.Status(); !st.LeaseValidUntil.Equal(at(3300)) {
		t.Fatalf("after a timeout: valid until %v", st.LeaseValidUntil.Sub(t0))
	}
	in.LeaseReply(at(1010), Grant{Arbiter: "a1", Sent: at(1000), Granted: false, Holder: "q", TTL: time.Second})
	if st := in.Status(); !st.LeaseValidUntil.Equal(at(2800)) || st.Grants != 2 {
		t.Fatalf("after a refusal: valid until %v, grants %d", st.LeaseValidUntil.Sub(t0), st.Grants)
	}
	// Next wakes the agent no later than the valid-until.
	if o := in.Tick(at(1020)); o.Next.IsZero() || o.Next.After(at(2800)) {
		t.Fatalf("Next %v after the valid-until", o.Next.Sub(t0))
	}
	if o := in.Tick(at(2800)); o.Hold == nil || !o.Hold.On || !strings.HasPrefix(o.Fence, ReasonLeaseHeld+" q") {
		t.Fatalf("at the valid-until: %+v", o)
	}
}

func TestStatus(t *testing.T) {
	in := New("VI_1", testConfig(0))
	in.SetLocal(at(0), Local{State: Backup, Priority: 100, Addr: addr1, Waiting: true})
	in.PeerHeartbeat(at(10), Peer{Node: "p", Seen: at(10), State: Master, Priority: 200, Addr: addr2})
	st := in.Status()
	if st.Key != "VI_1" || !st.Held || st.Mode != "gossip-only" || st.RequireQuorum || len(st.PeersAlive) != 1 || st.PeersAlive[0] != "p" || !st.Waiting {
		t.Fatalf("status %+v", st)
	}
	q := testConfig(1)
	if st := New("x", q).Status(); st.Mode != "lease" || !st.RequireQuorum || st.Arbiters != 1 {
		t.Fatalf("lease status %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := testConfig(3).Validate(); err != nil {
		t.Fatal(err)
	}
	c := testConfig(1)
	c.RenewEvery = 3 * time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "renew_every") {
		t.Fatalf("renew_every = lease_ttl: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config (defaults, no arbiters): %v", err)
	}
	// Garbage in: no panic, no busy loop.
	in := New("x", Config{Arbiters: 1, RequireQuorum: true})
	o := in.SetLocal(at(0), Local{State: Backup})
	if !o.Next.After(at(0)) {
		t.Fatalf("Next %v with a zero config", o.Next)
	}
}
