package decide

import (
	"fmt"
	"time"
)

// Fence reasons and hold reasons, as they appear in Output.Fence,
// Hold.Reason and Status.Reason (the node names are appended).
const (
	ReasonPeerMaster  = "peer MASTER alive on the gossip path"
	ReasonDualMaster  = "dual master"
	ReasonLeaseHeld   = "lease held by"
	ReasonLostQuorum  = "lost quorum"
	ReasonNoLease     = "no quorum: waiting for the lease"
	ReasonWaitLease   = "waiting for the lease"
	ReasonPeerSilence = "waiting for the silent peer to fence itself"
)

// step applies the rules at in.now after an input and says what changed.
func (in *Instance) step(becameMaster bool) Output {
	var out Output
	alive := in.alivePeers()

	// Lease requests and releases come first: the hold rules below read
	// the lease state, and a release clears it.
	if in.needLease(alive) {
		if !in.requesting || !in.now.Before(in.lastRequest.Add(in.cfg.RenewEvery)) || (!in.retryAt.IsZero() && !in.now.Before(in.retryAt)) || in.holderSteppedDown(alive) {
			out.Request = true
			in.requesting = true
			in.lastRequest = in.now
			in.retryAt = time.Time{}
		}
	} else if in.requesting {
		out.Release = true
		in.requesting = false
		in.retryAt = time.Time{}
		in.releasedAt = in.now
		for _, r := range in.arbiters {
			r.validUntil = time.Time{}
		}
	}

	out.GARP = in.dualMaster(alive)
	hold, reason := in.holdRule(alive)
	switch {
	case hold != in.held:
		out.Hold = &Hold{On: hold, Reason: reason}
	case hold && in.local.State == Master && (becameMaster || reason != in.reason):
		// vrrpd reports MASTER although held (the report raced the hold,
		// or a new cause arose): say it again, idempotently.
		out.Hold = &Hold{On: true, Reason: reason}
	}
	if out.Hold != nil && hold && in.local.State == Master {
		out.Fence = reason
	}
	in.held, in.reason = hold, reason
	if !hold {
		in.reason = ""
	}
	out.Next = in.next(alive)
	return out
}

// holderSteppedDown reports that the holder a refusal named has since
// said, in a heartbeat newer than our last request, that it is no longer
// MASTER (or is held): it gives its lease back as it steps down, so ask
// again now rather than a renewal period or a lease later. This shortens
// a preemption's handover (the new master serves without a lease until
// it is granted, covered only by seeing the old master alive) from up to
// a second to about a heartbeat. At most one request per such heartbeat.
func (in *Instance) holderSteppedDown(alive []Peer) bool {
	h := in.deniedBy()
	if h == "" {
		return false
	}
	for _, p := range alive {
		if p.Node == h && (p.State != Master || p.Held) && p.Seen.After(in.lastRequest) {
			return true
		}
	}
	return false
}

// needLease: a MASTER keeps renewing; a BACKUP asks when no peer is alive,
// because it may have to take over. Nobody else keeps a lease.
func (in *Instance) needLease(alive []Peer) bool {
	if in.cfg.Arbiters == 0 || !in.hasLocal {
		return false
	}
	switch in.local.State {
	case Master:
		return true
	case Backup:
		if in.cfg.quorum() {
			// Any takeover needs the lease, also the VRRP election
			// between backups (a cut VRRP path would elect both).
			return len(masterPeers(alive)) == 0
		}
		return len(alive) == 0
	}
	return false
}

// masterPeers are the alive peers that are MASTER and not held (a held
// MASTER is demoting and no longer claims the instance).
func masterPeers(alive []Peer) []Peer {
	var out []Peer
	for _, p := range alive {
		if p.State == Master && !p.Held {
			out = append(out, p)
		}
	}
	return out
}

// dualMaster runs the dual-master rule when this node is MASTER: it
// records the peer it lost to (kept until that peer is no longer alive as
// MASTER: hysteresis, the loser does not come back while the winner
// serves) and reports whether to GARP, once per conflict with a peer.
func (in *Instance) dualMaster(alive []Peer) bool {
	masters := masterPeers(alive)
	conflict := map[string]bool{}
	garp := false
	if in.hasLocal && in.local.State == Master {
		for _, p := range masters {
			conflict[p.Node] = true
			if outranks(p.Priority, p.Addr, in.local.Priority, in.local.Addr) {
				if in.lostTo == "" {
					in.lostTo = p.Node
				}
			} else if !outranks(in.local.Priority, in.local.Addr, p.Priority, p.Addr) {
				continue // full tie: nobody fences, nobody re-announces
			} else if !in.garped[p.Node] {
				in.garped[p.Node] = true
				garp = true
			}
		}
	}
	for n := range in.garped {
		if !conflict[n] {
			delete(in.garped, n)
		}
	}
	if in.lostTo != "" {
		still := false
		for _, p := range masters {
			// Until the winner stops serving, or this node comes to
			// outrank it and preempts (the BACKUP rule's exception: a
			// tracked priority changed; holding on would block VRRP's
			// own preemption for good).
			if p.Node == in.lostTo && !(in.local.Preempt && outranks(in.local.Priority, in.local.Addr, p.Priority, p.Addr)) {
				still = true
			}
		}
		if !still {
			in.lostTo = ""
		}
	}
	return garp
}

// holdRule is README.md's rule list: whether the instance must be held
// now, and why.
func (in *Instance) holdRule(alive []Peer) (bool, string) {
	if !in.hasLocal {
		return false, ""
	}
	if in.lostTo != "" {
		return true, fmt.Sprintf("%s: %s outranks", ReasonDualMaster, in.lostTo)
	}
	if in.local.State == Master {
		return in.masterRule(alive)
	}
	return in.backupRule(alive)
}

func (in *Instance) masterRule(alive []Peer) (bool, string) {
	if len(alive) > 0 || in.cfg.Arbiters == 0 {
		return false, "" // S4, or gossip-only: the peer's word is enough
	}
	if until, _ := in.lease(); !until.IsZero() {
		return false, ""
	}
	if in.now.Before(in.started.Add(in.cfg.PeerTimeout)) {
		// Startup grace: a MASTER found when the agent (re)starts gets
		// one peer timeout to hear its peers and the arbiters' replies
		// before it is fenced, so an agent restart does not drop a VIP.
		// It comes before a refusal too: at a cold start of both nodes
		// the backup may be granted the lease before the master's first
		// heartbeat reaches it; the backup gives it back once it sees the
		// master, well within the grace.
		return false, ""
	}
	if h := in.deniedBy(); h != "" {
		return true, fmt.Sprintf("%s %s, no peer alive", ReasonLeaseHeld, h)
	}
	if !in.cfg.quorum() {
		return false, ""
	}
	return true, ReasonLostQuorum + ": no peer alive and no valid lease"
}

func (in *Instance) backupRule(alive []Peer) (bool, string) {
	if masters := masterPeers(alive); len(masters) > 0 {
		top := masters[0]
		for _, p := range masters[1:] {
			if outranks(p.Priority, p.Addr, top.Priority, top.Addr) {
				top = p
			}
		}
		if in.local.Preempt && outranks(in.local.Priority, in.local.Addr, top.Priority, top.Addr) {
			return false, "" // plain VRRP preemption; dual master settles a cut VRRP path
		}
		return true, fmt.Sprintf("%s (%s)", ReasonPeerMaster, top.Node)
	}
	if (len(alive) > 0 && !in.cfg.quorum()) || in.cfg.Arbiters == 0 {
		return false, "" // VRRP elects; or plain VRRP without arbiters
	}
	// With quorum required an election between backups asks for the
	// lease and waits for the answer: on a cut VRRP path both would win
	// it, and a peer seen alive may have been cut off since.
	if until, _ := in.lease(); !until.IsZero() {
		if in.cfg.quorum() && len(alive) == 0 && in.now.Before(in.silenceEnd()) {
			return true, ReasonPeerSilence
		}
		return false, ""
	}
	if h := in.deniedBy(); h != "" {
		return true, fmt.Sprintf("%s %s", ReasonLeaseHeld, h)
	}
	if in.majorityUnreachable() {
		if len(alive) > 0 {
			// Peers alive, none MASTER, and the arbiters out of reach:
			// this node and its peers are a quorum of their own (S4 at
			// an election: the master went FAULT, or both started);
			// VRRP elects rather than leaving the VIP nowhere.
			return false, ""
		}
		if !in.cfg.quorum() {
			return false, "" // no quorum required and none to be had: plain VRRP
		}
	}
	if in.cfg.quorum() && len(alive) == 0 {
		return true, ReasonNoLease
	}
	return true, ReasonWaitLease
}

// silenceEnd is when a peer that fell silent has certainly fenced itself:
// a MASTER without a valid lease holds one PeerTimeout after it last heard
// us, which (heartbeats being far more frequent than PeerTimeout on a
// symmetric path) is less than one PeerTimeout after we last heard it.
func (in *Instance) silenceEnd() time.Time {
	return in.lastHeard.Add(2 * in.cfg.PeerTimeout)
}

// next is the latest time the rules must be evaluated again: a renewal, a
// lease or refusal running out, a peer falling silent, the silence wait or
// the startup grace ending. Only future times count.
func (in *Instance) next(alive []Peer) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(in.now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if in.requesting {
		consider(in.lastRequest.Add(in.cfg.RenewEvery))
		consider(in.retryAt)
	}
	if until, _ := in.lease(); !until.IsZero() {
		consider(until)
	}
	for _, r := range in.arbiters {
		consider(r.validUntil)
		consider(r.deniedUntil)
	}
	for _, p := range alive {
		consider(p.Seen.Add(in.cfg.PeerTimeout))
	}
	if in.cfg.quorum() {
		consider(in.silenceEnd())
		consider(in.started.Add(in.cfg.PeerTimeout))
	}
	return next
}
