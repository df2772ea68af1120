package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// ownerPriority is the priority of the router that owns the addresses.
const ownerPriority = 255

// Instance is one VRRP virtual router on one host.
type Instance struct {
	cfg   Config
	state State

	// Tracking: the state of each tracked object, and what it adds up to.
	tracks   []trackState
	linkDown bool
	held     bool // vigil handoff: stay BACKUP until undone
	// arbHeld is the arbiter agent's hold (Hold); arbReason its reason.
	arbHeld   bool
	arbReason string
	// waiting: held as BACKUP, the master-down timer expired; a released
	// hold then takes over at once instead of after another interval.
	waiting bool
	prio    uint8 // effective priority
	faulty  bool  // own tracking (or link) says FAULT
	// groupFault is FAULT imposed by another member of the sync group.
	groupFault bool

	// masterInterval is Master_Adver_Interval: in v3 learned from the
	// master's adverts, and the base of skew time and master-down interval.
	masterInterval time.Duration
	// master is the current master as seen from here (zero if unknown).
	master     netip.Addr
	masterPrio uint8

	// Timers; a zero time is not armed.
	advertAt     time.Time // master: next advert
	masterDownAt time.Time // backup: take over unless an advert comes
	garpAt       time.Time // master: delayed second GARP burst
	refreshAt    time.Time // master: periodic GARP refresh
	finalGARPAt  time.Time // master: GARP after a rival master yielded
	releaseAt    time.Time // stopping master: give up the VIPs by then
	preemptFrom  time.Time // backup: earliest time to preempt a lower master

	releasing bool       // handing over, VIPs still held until the successor speaks
	releaseTo State      // Stopped (Stop) or Backup (Handoff)
	successor netip.Addr // handing over: the successor heard (VIPs go at releaseAt)
	out       []Action
}

type trackState struct {
	Track
	up    bool
	value int64
}

// New checks the configuration and returns an instance in Init.
func New(cfg Config) (*Instance, error) {
	switch {
	case cfg.VRID == 0:
		return nil, errors.New("vrrp: VRID 0")
	case cfg.Version != 2 && cfg.Version != 3:
		return nil, fmt.Errorf("vrrp: version %d", cfg.Version)
	case cfg.Priority == 0:
		return nil, errors.New("vrrp: priority 0 is reserved for stopping")
	case cfg.Interval <= 0:
		return nil, errors.New("vrrp: advert interval must be positive")
	case cfg.Version == 2 && cfg.Interval%time.Second != 0:
		return nil, fmt.Errorf("vrrp: VRRPv2 interval %v is not whole seconds", cfg.Interval)
	}
	in := &Instance{cfg: cfg, state: Init, masterInterval: cfg.Interval}
	for _, t := range cfg.Tracks {
		in.tracks = append(in.tracks, trackState{Track: t, up: !t.InitDown})
	}
	in.recompute()
	return in, nil
}

// State is the current state.
func (in *Instance) State() State { return in.state }

// Priority is the effective priority: base plus tracking weights.
func (in *Instance) Priority() uint8 { return in.prio }

// Master is the master as last seen from here, and its priority.
func (in *Instance) Master() (netip.Addr, uint8) { return in.master, in.masterPrio }

// MasterInterval is Master_Adver_Interval, learned from the master in v3.
func (in *Instance) MasterInterval() time.Duration { return in.masterInterval }

// Deadline is when the next timer expires; zero when none is armed. The
// driver delivers Timeout at or after it.
func (in *Instance) Deadline() time.Time {
	var d time.Time
	for _, t := range []time.Time{in.advertAt, in.masterDownAt, in.garpAt, in.refreshAt, in.finalGARPAt, in.releaseAt} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// SkewTime is RFC 5798's Skew_Time for the current priority: in v3 scaled
// by the master's interval, in v2 (256-priority)/256 seconds.
func (in *Instance) SkewTime() time.Duration {
	p := time.Duration(256 - int(in.prio))
	if in.cfg.Version == 2 {
		return p * time.Second / 256
	}
	return p * in.masterInterval / 256
}

// MasterDownInterval is 3 × Master_Adver_Interval + Skew_Time (3 being
// down_timer_adverts, when configured).
func (in *Instance) MasterDownInterval() time.Duration {
	n := in.cfg.DownAdverts
	if n <= 0 {
		n = 3
	}
	return time.Duration(n)*in.masterInterval + in.SkewTime()
}

// Step applies one event at time now and returns the actions to perform.
func (in *Instance) Step(now time.Time, ev Event) []Action {
	in.out = in.out[:0]
	switch e := ev.(type) {
	case Start:
		in.start(now)
	case Resume:
		in.resume(now, e)
	case Stop:
		in.stop(now)
	case Timeout:
		in.timeout(now)
	case Advert:
		in.advert(now, e)
	case TrackUpdate:
		in.trackUpdate(now, e)
	case TrackValue:
		in.trackValue(now, e)
	case Link:
		in.linkDown = !e.Up
		in.reevaluate(now, "interface "+upDown(e.Up))
	case Hold:
		in.hold(now, e)
	case Handoff:
		in.handoff(now, e)
	case Group:
		in.group(now, e)
	}
	return in.out
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func (in *Instance) emit(a ...Action) { in.out = append(in.out, a...) }

func (in *Instance) setState(to State, reason string) {
	if to == in.state {
		return
	}
	in.emit(StateChanged{From: in.state, To: to, Reason: reason})
	in.state = to
	in.waiting = false
}

// start runs RFC 5798 §6.4.1.
func (in *Instance) start(now time.Time) {
	if in.state != Init {
		return
	}
	if in.faulty || in.groupFault {
		in.setState(Fault, "tracked object down at start")
		return
	}
	if in.cfg.StartMaster && in.prio == ownerPriority && !in.blocked() {
		in.becomeMaster(now, "address owner")
		return
	}
	in.becomeBackup(now, "start")
	if in.cfg.PreemptDelay > 0 {
		// Follow any master, even a lower one, for preempt_delay; with no
		// master at all the first timeout is that much later.
		in.preemptFrom = now.Add(in.cfg.PreemptDelay)
		in.masterDownAt = in.masterDownAt.Add(in.cfg.PreemptDelay)
	}
}

// resume restores a previous incarnation's state (see Resume).
func (in *Instance) resume(now time.Time, r Resume) {
	if in.state != Init {
		return
	}
	if r.MasterInterval > 0 && in.cfg.Version == 3 {
		in.masterInterval = r.MasterInterval
	}
	if r.State != Master || in.faulty || in.groupFault || in.blocked() {
		in.start(now)
		return
	}
	in.emit(StateChanged{From: in.state, To: Master, Reason: "resumed after restart", Resumed: true})
	in.state = Master
	in.master, in.masterPrio = in.cfg.Primary, in.prio
	// One gratuitous ARP: it names the MAC the caches already hold when
	// nothing moved, and wins them back when a backup took over while
	// this daemon was away (the advert below makes that backup yield).
	in.emit(AddVIPs{}, SendGARP{Reason: "resumed after restart"}, SendAdvert{Priority: in.prio})
	in.advertAt = now.Add(in.cfg.Interval)
	if in.cfg.GARPRefresh > 0 {
		in.refreshAt = now.Add(in.cfg.GARPRefresh)
	}
}

func (in *Instance) becomeMaster(now time.Time, reason string) {
	in.clearTimers()
	in.setState(Master, reason)
	in.master, in.masterPrio = in.cfg.Primary, in.prio
	// The GARP goes before the first advert: a master handing over
	// make-before-break lets its VIPs go when it hears this advert, and
	// by then the clients' ARP caches must already name this node.
	in.emit(AddVIPs{}, SendGARP{Reason: "became master"}, SendAdvert{Priority: in.prio})
	in.advertAt = now.Add(in.cfg.Interval)
	if in.cfg.GARPDelay > 0 {
		in.garpAt = now.Add(in.cfg.GARPDelay)
	}
	if in.cfg.GARPRefresh > 0 {
		in.refreshAt = now.Add(in.cfg.GARPRefresh)
	}
}

func (in *Instance) becomeBackup(now time.Time, reason string) {
	wasMaster := in.state == Master
	in.clearTimers()
	in.setState(Backup, reason)
	if wasMaster {
		in.emit(RemoveVIPs{})
	}
	in.masterDownAt = now.Add(in.MasterDownInterval())
}

func (in *Instance) becomeFault(now time.Time, reason string) {
	if in.state == Master {
		// Tell the backups at once instead of letting them time out.
		in.emit(SendAdvert{Priority: 0}, RemoveVIPs{})
	}
	in.clearTimers()
	in.master, in.masterPrio = netip.Addr{}, 0
	in.setState(Fault, reason)
}

func (in *Instance) clearTimers() {
	in.advertAt, in.masterDownAt, in.garpAt, in.refreshAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	in.finalGARPAt, in.releaseAt, in.preemptFrom = time.Time{}, time.Time{}, time.Time{}
}

// stop runs the Shutdown event of RFC 5798 §6.4.2/§6.4.3, make-before-break
// for a master.
func (in *Instance) stop(now time.Time) {
	in.releaseTo = Stopped
	switch in.state {
	case Master:
		in.beginRelease(now)
	case Stopped:
	default:
		in.clearTimers()
		in.setState(Stopped, "stop")
	}
}

// handoff hands a master's role over make-before-break and holds the
// instance as BACKUP (see Handoff).
func (in *Instance) handoff(now time.Time, h Handoff) {
	if h.Undo {
		in.held = false
		return
	}
	in.held = true
	if in.state == Master && !in.releasing {
		in.releaseTo = Backup
		in.beginRelease(now)
	}
}

// HandoverLinger is how long a handing-over master keeps its addresses
// after its successor's first advert: a few milliseconds of both holding
// them (the clients' caches already name the successor) so that nothing
// sent to the old MAC just before is dropped.
const HandoverLinger = 30 * time.Millisecond

// beginRelease starts a make-before-break hand-over from MASTER.
func (in *Instance) beginRelease(now time.Time) {
	in.clearTimers()
	in.releasing, in.successor = true, netip.Addr{}
	in.emit(SendAdvert{Priority: 0})
	// A backup takes over within its skew time (at most one interval) of
	// our priority-0 advert; allow one more interval for its advert.
	in.releaseAt = now.Add(2 * in.cfg.Interval)
	in.advertAt = now.Add(in.cfg.Interval)
}

func (in *Instance) release(now time.Time, reason string) {
	in.clearTimers()
	in.releasing, in.successor = false, netip.Addr{}
	in.emit(RemoveVIPs{})
	if in.releaseTo == Backup {
		in.setState(Backup, reason)
		in.masterDownAt = now.Add(in.MasterDownInterval())
		return
	}
	in.setState(Stopped, reason)
}

func (in *Instance) timeout(now time.Time) {
	if in.releasing {
		if due(in.releaseAt, now) {
			if in.successor.IsValid() {
				in.release(now, "hand-over: successor "+in.successor.String()+" is advertising")
			} else {
				in.release(now, "hand-over: no successor heard")
			}
			return
		}
		if due(in.advertAt, now) {
			in.emit(SendAdvert{Priority: 0})
			in.advertAt = now.Add(in.cfg.Interval)
		}
		return
	}
	switch in.state {
	case Backup:
		if due(in.masterDownAt, now) {
			if in.blocked() {
				in.waiting = true
				in.masterDownAt = now.Add(in.MasterDownInterval())
				return
			}
			in.becomeMaster(now, "master down timer expired")
		}
	case Master:
		if due(in.advertAt, now) {
			in.emit(SendAdvert{Priority: in.prio})
			in.advertAt = in.advertAt.Add(in.cfg.Interval)
			if !in.advertAt.After(now) { // we fell behind: do not burst
				in.advertAt = now.Add(in.cfg.Interval)
			}
		}
		if due(in.garpAt, now) {
			in.garpAt = time.Time{}
			in.emit(SendGARP{Reason: "garp_master_delay"})
		}
		if due(in.refreshAt, now) {
			in.refreshAt = now.Add(in.cfg.GARPRefresh)
			in.emit(SendGARP{Reason: "garp_master_refresh"})
		}
		if due(in.finalGARPAt, now) {
			in.finalGARPAt = time.Time{}
			in.emit(SendGARP{Reason: "rival master yielded"})
		}
	}
}

func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// advert runs the "ADVERTISEMENT received" rules of RFC 5798 §6.4.2/§6.4.3.
func (in *Instance) advert(now time.Time, a Advert) {
	if in.releasing {
		if a.Priority > 0 && a.Src != in.cfg.Primary && !in.successor.IsValid() {
			// The successor has its VIPs and sent its gratuitous ARP
			// just before this advert. Keep ours HandoverLinger longer,
			// for packets clients sent to our MAC before that ARP reached
			// them (they would be dropped here: a failed connect).
			in.successor = a.Src
			in.master, in.masterPrio = a.Src, a.Priority
			in.advertAt = time.Time{}
			in.releaseAt = now.Add(HandoverLinger)
		}
		return
	}
	switch in.state {
	case Backup:
		in.advertAsBackup(now, a)
	case Master:
		in.advertAsMaster(now, a)
	}
}

func (in *Instance) advertAsBackup(now time.Time, a Advert) {
	if a.Priority == 0 {
		// The master is stopping: take over after our skew time, so the
		// highest-priority backup wins.
		in.masterDownAt = now.Add(in.SkewTime())
		in.master, in.masterPrio = netip.Addr{}, 0
		return
	}
	if in.cfg.Preempt && a.Priority < in.prio {
		if in.cfg.PreemptDelay == 0 {
			return // discard: our master-down timer will make us master
		}
		if in.preemptFrom.IsZero() {
			in.preemptFrom = now.Add(in.cfg.PreemptDelay)
		}
		if !now.Before(in.preemptFrom) {
			return
		}
		// Still within preempt_delay: follow the lower master for now.
	} else {
		in.preemptFrom = time.Time{}
	}
	if in.cfg.Version == 3 && a.Interval > 0 {
		in.masterInterval = a.Interval
	}
	in.master, in.masterPrio = a.Src, a.Priority
	in.masterDownAt = now.Add(in.MasterDownInterval())
	in.waiting = false
}

func (in *Instance) advertAsMaster(now time.Time, a Advert) {
	if a.Priority == 0 {
		// Another router is stopping: make sure backups hear from us.
		in.emit(SendAdvert{Priority: in.prio})
		in.advertAt = now.Add(in.cfg.Interval)
		return
	}
	if a.Priority > in.prio || (a.Priority == in.prio && a.Src.Compare(in.cfg.Primary) > 0) {
		if in.cfg.Version == 3 && a.Interval > 0 {
			in.masterInterval = a.Interval
		}
		in.becomeBackup(now, fmt.Sprintf("higher priority master %s (%d)", a.Src, a.Priority))
		in.master, in.masterPrio = a.Src, a.Priority
		// Yield notice: we held the addresses until now, so caches may
		// point at us. One advert at our (lower) priority, sent after the
		// addresses are gone, shows the winner it had a rival and makes
		// it announce them again; without it a winner whose advert
		// arrived first never learns it must repair ARP caches. Backups
		// that preempt discard it; others reset a timer.
		in.emit(SendAdvert{Priority: in.prio})
		return
	}
	// A rival master of lower priority: it will yield on our advert. Answer
	// at once (keepalived's default) and announce our addresses, and once
	// it has gone quiet announce them again, so the last word in every ARP
	// cache is ours.
	if !in.cfg.LowerPrioNoAdvert {
		in.emit(SendAdvert{Priority: in.prio})
		in.advertAt = now.Add(in.cfg.Interval)
	}
	if in.finalGARPAt.IsZero() {
		in.emit(SendGARP{Reason: fmt.Sprintf("rival master %s (%d)", a.Src, a.Priority)})
	}
	quiet := max(in.cfg.Interval, a.Interval)
	in.finalGARPAt = now.Add(quiet + quiet/2)
}

func (in *Instance) trackUpdate(now time.Time, e TrackUpdate) {
	for i := range in.tracks {
		t := &in.tracks[i]
		if t.Kind == e.Kind && t.Name == e.Name && t.Kind != TrackFile {
			t.up = e.Up
		}
	}
	in.reevaluate(now, fmt.Sprintf("%s %s %s", e.Kind, e.Name, upDown(e.Up)))
}

func (in *Instance) trackValue(now time.Time, e TrackValue) {
	for i := range in.tracks {
		t := &in.tracks[i]
		if t.Kind == TrackFile && t.Name == e.Name {
			t.value = e.Value
		}
	}
	in.reevaluate(now, fmt.Sprintf("track file %s = %d", e.Name, e.Value))
}

// recompute derives the effective priority and fault condition from the
// tracked objects, with keepalived's rules.
func (in *Instance) recompute() {
	base := int64(in.cfg.Priority)
	sum := int64(0)
	faulty := in.linkDown
	for _, t := range in.tracks {
		w := int64(t.Weight)
		if t.Reverse {
			w = -w
		}
		if t.Kind == TrackFile {
			if t.Weight == 0 {
				if (t.value != 0) != t.Reverse {
					faulty = true
				}
				continue
			}
			r := t.value * w
			if r < -253 {
				faulty = true
				continue
			}
			sum += r
			continue
		}
		up := t.up
		if t.Weight == 0 {
			if up == t.Reverse {
				faulty = true
			}
			continue
		}
		// A positive (configured) weight counts while up, a negative one
		// while down; reverse flips the sign of the adjustment.
		if (t.Weight > 0 && up) || (t.Weight < 0 && !up) {
			sum += w
		}
	}
	in.faulty = faulty
	if in.cfg.Priority == ownerPriority {
		in.prio = ownerPriority // weights never move the address owner
		return
	}
	in.prio = uint8(min(max(base+sum, 1), 254))
}

// reevaluate applies a change of priority or fault condition.
func (in *Instance) reevaluate(now time.Time, reason string) {
	oldPrio := in.prio
	in.recompute()
	fault := in.faulty || in.groupFault
	switch {
	case in.state == Init || in.state == Stopped || in.releasing:
	case fault && in.state != Fault:
		in.becomeFault(now, reason)
	case !fault && in.state == Fault:
		in.becomeBackup(now, "recovered: "+reason)
	case in.state == Master && in.prio != oldPrio:
		// Tell the backups now rather than at the next interval, so a
		// priority drop hands over quickly.
		in.emit(SendAdvert{Priority: in.prio})
		in.advertAt = now.Add(in.cfg.Interval)
		in.masterPrio = in.prio
	}
	// A backup that now outranks its master needs nothing here: with
	// preempt it discards the master's adverts from now on and takes over
	// when its master-down timer expires (RFC 5798 §6.4.2).
}

func (in *Instance) group(now time.Time, g Group) {
	reason := "sync group: " + g.Reason
	switch g.To {
	case Master:
		if in.state == Backup && !in.blocked() && !in.releasing {
			in.becomeMaster(now, reason)
		}
	case Backup:
		if in.groupFault {
			in.groupFault = false
			in.reevaluate(now, reason)
			return
		}
		if in.state == Master && !in.releasing {
			in.becomeBackup(now, reason)
		}
	case Fault:
		if !in.groupFault {
			in.groupFault = true
			in.reevaluate(now, reason)
		}
	}
}

func (in *Instance) hold(now time.Time, h Hold) {
	in.arbHeld, in.arbReason = h.On, h.Reason
	if h.On && in.state == Master && !in.releasing {
		in.becomeBackup(now, "held: "+h.Reason)
		return
	}
	if !h.On && in.state == Backup && in.waiting && !in.blocked() && !in.releasing {
		// The master-down timer expired while held: nobody has
		// advertised since, so take over now rather than one more
		// master-down interval later.
		why := "hold released after master down"
		if h.Reason != "" {
			why += ": " + h.Reason
		}
		in.becomeMaster(now, why)
	}
}

// blocked reports whether something outside VRRP keeps the instance from
// being MASTER: vigil handoff, or the arbiter agent.
func (in *Instance) blocked() bool { return in.held || in.arbHeld }

// Held reports the arbiter agent's hold and its reason.
func (in *Instance) Held() (bool, string) { return in.arbHeld, in.arbReason }

// Stepping reports an instance on its way out of MASTER or kept out of it
// by the operator: a make-before-break release in progress (stop,
// handoff), or vigil handoff's hold. The arbiter agent then no longer
// counts it as a candidate, so the peer can take the lease and the VIP.
func (in *Instance) Stepping() bool { return in.releasing || in.held }

// Waiting reports a held BACKUP whose master-down timer expired: it would
// be MASTER but for the hold.
func (in *Instance) Waiting() bool { return in.waiting && in.state == Backup }
