// Package decide is the node side of Vigil's split-brain protection as a
// deterministic state machine, one per VRRP instance: what this node's
// vrrpd reports, the peers' direct heartbeats on the gossip path and the
// arbiters' lease replies go in with the time; out come "hold this
// instance (it must not be MASTER)" or "release the hold", lease requests
// and releases to send, a GARP after winning a dual-master conflict, and
// the fence reason after losing one. No sockets, no clock, no goroutines:
// every rule is a table test with a fake clock (see README.md in arbiter/
// for the rules and why).
package decide

import (
	"net/netip"
	"time"
)

// State is an instance's VRRP state as vrrpd reports it.
type State string

// VRRP states (vrrpd's InstanceStatus.State strings).
const (
	Init   State = "INIT"
	Backup State = "BACKUP"
	Master State = "MASTER"
	Fault  State = "FAULT"
)

// Local is this node's view of the instance, from vrrpd.
type Local struct {
	State State
	// Priority is the effective priority (after tracking).
	Priority int
	// Preempt is false with nopreempt (a backup never takes over from a
	// live master of lower priority).
	Preempt bool
	// Addr is the primary address on the VRRP interface, the VRRP tie-break.
	Addr netip.Addr
	// Epoch counts this node's MASTER entries for the instance.
	Epoch uint64
	// Waiting is true while vrrpd is held as BACKUP and its master-down
	// timer has expired: it would be MASTER but for the hold.
	Waiting bool
}

// Peer is the latest direct heartbeat of another node about the instance.
type Peer struct {
	Node string
	// Seen is the local time the heartbeat arrived; a peer is alive while
	// Seen is within Config.PeerTimeout.
	Seen     time.Time
	State    State
	Priority int
	Preempt  bool
	Addr     netip.Addr
	Epoch    uint64
	// Held reports that the peer's agent holds its instance.
	Held bool
}

// Config are the timings and policy, from the arbiter { } block.
type Config struct {
	// Arbiters is the number of configured arbiters (0: gossip only);
	// a lease needs grants from a majority of them.
	Arbiters int
	// RequireQuorum makes a node that reaches neither a peer nor a
	// majority of arbiters release the instance before its lease could be
	// granted elsewhere, and keeps a node without quorum from taking over.
	RequireQuorum bool
	// PeerTimeout is how long after its last heartbeat a peer counts as
	// alive (it must be well below the VRRP master-down interval).
	PeerTimeout time.Duration
	// LeaseTTL is the lease length the arbiters grant; a grant is valid
	// locally until the request's send time + LeaseTTL - Margin.
	LeaseTTL time.Duration
	// RenewEvery is how often a holder renews.
	RenewEvery time.Duration
	// Margin is released before the lease's local expiry, for scheduling
	// slack and clock-rate differences.
	Margin time.Duration
}

// Grant is one arbiter's reply to a lease request.
type Grant struct {
	Arbiter string
	// Sent is when this node sent the request the reply answers (the
	// agent matches replies to requests by ID); the lease is valid from
	// the holder's point of view until Sent + TTL.
	Sent    time.Time
	Granted bool
	// Holder is the node the arbiter's lease belongs to (when not granted).
	Holder string
	// TTL is the lease length when granted (0: Config.LeaseTTL); when
	// refused, how long the holder's lease still runs at the arbiter
	// (0: unknown), so that the request is repeated the moment it expires.
	TTL time.Duration
}

// Output is what the agent must do after an input. Zero means nothing.
type Output struct {
	// Hold, when non-nil, changes the hold on the instance.
	Hold *Hold
	// Request asks for (or renews) the lease at every arbiter now.
	Request bool
	// Release gives the lease back at every arbiter now.
	Release bool
	// GARP asks vrrpd to re-announce the VIPs (winner of a dual master).
	GARP bool
	// Fence is set when this node was demoted by a dual-master or quorum
	// decision: the reason, for notify_fence and the notify scripts.
	Fence string
	// Next is when Tick must be called at the latest (zero: no deadline).
	Next time.Time
}

// Hold is a change of the hold vrrpd applies (vrrp.Hold).
type Hold struct {
	On     bool
	Reason string
}
