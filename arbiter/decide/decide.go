package decide

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Defaults New uses for zero durations, so that a half-filled Config never
// makes the machine spin (Next == now) or divide nothing by zero.
const (
	DefaultPeerTimeout = time.Second
	DefaultLeaseTTL    = 3 * time.Second
)

// Validate reports a Config the rules cannot keep their promises with: the
// lease must outlive the margin and be renewed before it runs out.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Arbiters < 0 {
		errs = append(errs, fmt.Errorf("arbiters %d < 0", c.Arbiters))
	}
	if c.Margin < 0 {
		errs = append(errs, fmt.Errorf("margin %v < 0", c.Margin))
	}
	if c.Arbiters > 0 && c.RenewEvery+c.Margin >= c.LeaseTTL {
		errs = append(errs, fmt.Errorf("renew_every %v + margin %v must be below lease_ttl %v", c.RenewEvery, c.Margin, c.LeaseTTL))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("arbiter config: %w", err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.PeerTimeout <= 0 {
		c.PeerTimeout = DefaultPeerTimeout
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.RenewEvery <= 0 {
		c.RenewEvery = c.LeaseTTL / 3
	}
	if c.Margin < 0 {
		c.Margin = 0
	}
	if c.Arbiters < 0 {
		c.Arbiters = 0
	}
	return c
}

// quorum reports whether the lease/quorum rules apply. Without arbiters
// RequireQuorum is ignored: two voters can never form a majority alone, so
// honouring it would either never fail over after a crash or drop the VIP
// on both sides; a keepalived user without an arbiter gets plain VRRP (with
// the gossip rules S1 and dual master on top).
func (c Config) quorum() bool { return c.RequireQuorum && c.Arbiters > 0 }

// Status is an instance's arbiter view, for vigil status.
type Status struct {
	Key  string
	Held bool
	// Reason is why the instance is held (empty when not held).
	Reason string
	// Mode is "lease" with arbiters, "gossip-only" without.
	Mode string
	// RequireQuorum is the effective setting (false without arbiters).
	RequireQuorum bool
	// LeaseValidUntil is when this node stops believing in its lease
	// (zero: no valid lease).
	LeaseValidUntil time.Time
	// Grants counts arbiters whose grant is still valid, of Arbiters.
	Grants   int
	Arbiters int
	// Requesting is true while the node asks for or renews the lease.
	Requesting bool
	// PeersAlive lists the peers whose heartbeat is fresh, sorted.
	PeersAlive []string
	// Waiting mirrors Local.Waiting: vrrpd would be MASTER but for the
	// hold.
	Waiting bool
}

// arbiterRecord is what the latest reply of one arbiter says.
type arbiterRecord struct {
	sent        time.Time // Sent of the latest reply applied
	validUntil  time.Time // grant: Sent + TTL - Margin
	deniedBy    string    // refusal: the holder the arbiter named
	deniedUntil time.Time // a refusal is current until Sent + TTL
	unreachable bool      // the latest request timed out
}

// Instance is the decide machine of one VRRP instance. It is not safe for
// concurrent use; the agent serialises calls and passes the time in.
type Instance struct {
	key string
	cfg Config

	local    Local
	hasLocal bool
	peers    map[string]Peer

	started   time.Time // first input: the startup grace and silence wait count from it
	hasTime   bool
	now       time.Time
	lastHeard time.Time // latest heartbeat from any peer (or started)

	arbiters    map[string]*arbiterRecord
	requesting  bool
	lastRequest time.Time
	releasedAt  time.Time // replies to requests sent before it are stale
	retryAt     time.Time // an early request: a refusal said when the lease runs out

	held   bool
	reason string
	lostTo string          // dual-master winner we stay held behind (hysteresis)
	garped map[string]bool // winners' GARP done, per conflicting peer
}

// New returns the machine for the instance key (its lease name at the
// arbiters) with the given timings; zero durations get defaults (see
// Config.Validate for the combinations that make no sense).
func New(key string, cfg Config) *Instance {
	return &Instance{
		key:      key,
		cfg:      cfg.withDefaults(),
		peers:    map[string]Peer{},
		arbiters: map[string]*arbiterRecord{},
		garped:   map[string]bool{},
	}
}

// SetLocal records this node's vrrpd view of the instance.
func (in *Instance) SetLocal(now time.Time, l Local) Output {
	in.observe(now)
	becameMaster := l.State == Master && (!in.hasLocal || in.local.State != Master)
	in.local, in.hasLocal = l, true
	return in.step(becameMaster)
}

// PeerHeartbeat records a peer's direct heartbeat about the instance. A
// heartbeat older than the one held for the node is ignored (reordered).
func (in *Instance) PeerHeartbeat(now time.Time, p Peer) Output {
	in.observe(now)
	if p.Node != "" {
		if p.Seen.IsZero() || p.Seen.After(now) {
			p.Seen = now
		}
		if old, ok := in.peers[p.Node]; !ok || !p.Seen.Before(old.Seen) {
			in.peers[p.Node] = p
			if p.Seen.After(in.lastHeard) {
				in.lastHeard = p.Seen
			}
		}
	}
	return in.step(false)
}

// LeaseReply applies one arbiter's answer. Replies to requests sent at or
// before the last release (the arbiter may have applied the release after
// the request), older than the arbiter's latest applied reply, from
// the future, or from more distinct arbiters than configured are ignored:
// each could make the node believe in a lease the arbiter no longer keeps.
func (in *Instance) LeaseReply(now time.Time, g Grant) Output {
	in.observe(now)
	if r := in.record(g.Arbiter); r != nil && !g.Sent.After(now) && (in.releasedAt.IsZero() || g.Sent.After(in.releasedAt)) && !g.Sent.Before(r.sent) {
		ttl := g.TTL
		if ttl <= 0 {
			ttl = in.cfg.LeaseTTL
		}
		r.sent = g.Sent
		r.unreachable = false
		if g.Granted {
			r.validUntil = g.Sent.Add(ttl - in.cfg.Margin)
			r.deniedBy, r.deniedUntil = "", time.Time{}
		} else {
			// The arbiter gave our lease (if any) away or never had it:
			// believing in an earlier grant from it would be wrong.
			r.validUntil = time.Time{}
			r.deniedBy = g.Holder
			r.deniedUntil = g.Sent.Add(in.cfg.LeaseTTL)
			if g.TTL > 0 && in.requesting {
				// Ask again the moment the holder's lease runs out at
				// that arbiter (the remaining time counts from its
				// reply, which precedes now), not a renewal period later.
				if at := now.Add(g.TTL); in.retryAt.IsZero() || at.Before(in.retryAt) {
					in.retryAt = at
				}
			}
		}
	}
	return in.step(false)
}

// LeaseUnreachable records that a request to arbiter timed out. An earlier
// grant stays valid until its own expiry: the arbiter keeps it that long.
func (in *Instance) LeaseUnreachable(now time.Time, arbiter string) Output {
	in.observe(now)
	if r := in.record(arbiter); r != nil {
		r.unreachable = true
	}
	return in.step(false)
}

// Tick re-evaluates the rules at now; the agent calls it at Output.Next at
// the latest (earlier is harmless).
func (in *Instance) Tick(now time.Time) Output {
	in.observe(now)
	return in.step(false)
}

// Status reports the state as of the latest input.
func (in *Instance) Status() Status {
	s := Status{
		Key:           in.key,
		Held:          in.held,
		Reason:        in.reason,
		Mode:          "gossip-only",
		RequireQuorum: in.cfg.quorum(),
		Arbiters:      in.cfg.Arbiters,
		Requesting:    in.requesting,
		PeersAlive:    []string{},
		Waiting:       in.local.Waiting,
	}
	if in.cfg.Arbiters > 0 {
		s.Mode = "lease"
	}
	for _, p := range in.alivePeers() {
		s.PeersAlive = append(s.PeersAlive, p.Node)
	}
	s.LeaseValidUntil, s.Grants = in.lease()
	return s
}

// record returns the arbiter's record, creating it unless that would make
// more arbiters than configured (nil then).
func (in *Instance) record(name string) *arbiterRecord {
	if r, ok := in.arbiters[name]; ok {
		return r
	}
	if name == "" || len(in.arbiters) >= in.cfg.Arbiters {
		return nil
	}
	r := &arbiterRecord{}
	in.arbiters[name] = r
	return r
}

// observe advances the machine's clock; time never runs backwards for it.
func (in *Instance) observe(now time.Time) {
	if !in.hasTime {
		in.hasTime = true
		in.started = now
		in.lastHeard = now
		in.now = now
		return
	}
	if now.After(in.now) {
		in.now = now
	}
}

func (in *Instance) alive(p Peer) bool { return in.now.Sub(p.Seen) < in.cfg.PeerTimeout }

// alivePeers lists the peers with a fresh heartbeat, by node name.
func (in *Instance) alivePeers() []Peer {
	var out []Peer
	for _, p := range in.peers {
		if in.alive(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// lease returns until when the lease is valid (zero: not valid) and how
// many arbiters' grants are valid now. It needs a majority of the
// configured arbiters valid at once, so it is valid until the
// majority-th latest expiry.
func (in *Instance) lease() (time.Time, int) {
	if in.cfg.Arbiters == 0 {
		return time.Time{}, 0
	}
	var ends []time.Time
	for _, r := range in.arbiters {
		if r.validUntil.After(in.now) {
			ends = append(ends, r.validUntil)
		}
	}
	n := len(ends)
	need := in.cfg.Arbiters/2 + 1
	if n < need {
		return time.Time{}, n
	}
	slices.SortFunc(ends, func(a, b time.Time) int { return b.Compare(a) })
	return ends[need-1], n
}

// deniedBy returns a holder an arbiter currently names, if any.
func (in *Instance) deniedBy() string {
	names := make([]string, 0, len(in.arbiters))
	for n := range in.arbiters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if r := in.arbiters[n]; r.deniedBy != "" && r.deniedUntil.After(in.now) {
			return r.deniedBy
		}
	}
	return ""
}

// majorityUnreachable reports that so many arbiters timed out that no
// majority can answer.
func (in *Instance) majorityUnreachable() bool {
	down := 0
	for _, r := range in.arbiters {
		if r.unreachable {
			down++
		}
	}
	return in.cfg.Arbiters-down < in.cfg.Arbiters/2+1
}

// outranks is the dual-master and preemption order, the same on every
// node: higher effective priority, then the higher primary address. A
// full tie (a misconfiguration) outranks nobody, so neither side fences
// the other and the pair behaves as plain VRRP would.
func outranks(prioA int, addrA netip.Addr, prioB int, addrB netip.Addr) bool {
	if prioA != prioB {
		return prioA > prioB
	}
	return addrA.Compare(addrB) > 0
}
