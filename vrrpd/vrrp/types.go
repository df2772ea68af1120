// Package vrrp is the VRRP protocol (RFC 3768 v2, RFC 5798 v3) for one
// virtual router instance, as a deterministic state machine: events and the
// current time go in, actions come out. It holds no sockets, clocks or
// goroutines, so every timing rule of the RFC is a table test with a fake
// clock and whole elections among simulated routers run in microseconds.
// The driver in vrrpd performs the actions and feeds the events.
package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is an instance's VRRP state. Stopped is Vigil's: an instance that
// was shut down and no longer takes part (RFC "Initialize" after Shutdown).
type State uint8

const (
	Init State = iota
	Backup
	Master
	Fault
	Stopped
)

var stateNames = [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOPPED"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// Config is what the state machine needs of a vrrp_instance.
type Config struct {
	VRID     uint8
	Version  uint8 // 2 or 3
	Priority uint8 // base priority; 255 is the address owner
	// Interval is this router's advertisement interval. VRRPv2 carries
	// whole seconds; VRRPv3 centiseconds.
	Interval time.Duration
	// Preempt lets a higher-priority backup take over from a master
	// (false for keepalived's nopreempt).
	Preempt bool
	// PreemptDelay postpones preemption at start-up and when a lower
	// priority master is seen (keepalived's preempt_delay).
	PreemptDelay time.Duration
	// StartMaster is keepalived's "state MASTER": an address owner
	// (priority 255) becomes master at once; others still wait.
	StartMaster bool
	// Primary is this router's primary address on the interface: the
	// source of its adverts, compared on a priority tie.
	Primary netip.Addr
	// DownAdverts is how many master intervals a backup waits before
	// declaring the master down (keepalived's down_timer_adverts; 0 means
	// the RFC's 3).
	DownAdverts int
	// LowerPrioNoAdvert keeps a master from answering a lower priority
	// advert at once (RFC behaviour; keepalived answers by default).
	LowerPrioNoAdvert bool

	// GARP schedule on becoming master: a burst now, another after
	// GARPDelay (0: none), then one every GARPRefresh (0: none).
	GARPDelay   time.Duration
	GARPRefresh time.Duration

	// Tracks are the tracked objects whose state changes the priority or
	// puts the instance in FAULT.
	Tracks []Track
}

// TrackKind says what a tracked object is, for naming.
type TrackKind uint8

const (
	TrackScript TrackKind = iota
	TrackInterface
	TrackFile
	TrackProcess
	TrackBFD
)

var trackKindNames = [...]string{"script", "interface", "file", "process", "bfd"}

func (k TrackKind) String() string {
	if int(k) < len(trackKindNames) {
		return trackKindNames[k]
	}
	return fmt.Sprintf("TrackKind(%d)", k)
}

// Track is one tracked object with keepalived's weight semantics: for
// up/down objects a positive weight is added while up, a negative one
// subtracted while down, 0 means FAULT while down; Reverse swaps the
// direction (and with weight 0, FAULT while up). For track files the value
// read is multiplied by the weight.
type Track struct {
	Kind    TrackKind
	Name    string
	Weight  int
	Reverse bool
	// InitDown starts the object as down until its first result arrives
	// (vrrp_script init_fail; interfaces start from their real state).
	InitDown bool
}

// Event is something that happened to the instance.
type Event interface{ event() }

// Start begins the election (RFC Startup event).
type Start struct{}

// Stop shuts the instance down. A master announces priority 0 and keeps
// its addresses until another router's advert shows it has taken over, or
// until the bound (make-before-break), so a planned stop loses no packet.
type Stop struct{}

// Handoff is a planned switchover: a master hands over make-before-break
// (as Stop does) but stays in the election as a held BACKUP, so it does not
// preempt straight back; Undo releases the hold.
type Handoff struct{ Undo bool }

func (Handoff) event() {}

// Timeout is delivered at or after Deadline(); the instance works out which
// of its timers expired.
type Timeout struct{}

// Advert is a received advertisement that passed the packet checks.
type Advert struct {
	Src      netip.Addr
	Priority uint8
	Interval time.Duration // the sender's advertisement interval
}

// TrackUpdate reports the state of a tracked up/down object.
type TrackUpdate struct {
	Kind TrackKind
	Name string
	Up   bool
}

// TrackValue reports the number read from a track_file.
type TrackValue struct {
	Name  string
	Value int64
}

// Link reports the instance's own interface going up or down (unless
// dont_track_primary): down means FAULT.
type Link struct{ Up bool }

// Hold is the arbiter's word (and later any other outside authority): while
// held, the instance must not be master: a master demotes, a backup does not
// take over when its master-down timer fires.
type Hold struct {
	On     bool
	Reason string
}

// Resume restarts the machine in the state a previous incarnation of the
// daemon left (hitless restart): a master resumes at once, adopting its
// addresses (already on the interface) and advertising immediately, without
// GARP or notify, because nothing moved. MasterInterval restores what a
// VRRPv3 backup had learned. Delivered instead of Start.
type Resume struct {
	State          State
	MasterInterval time.Duration
}

func (Resume) event() {}

// Group carries a decision of the instance's vrrp_sync_group, whose
// members move together: To Master makes a backup master, To Backup makes
// a master yield (and clears a fault the group imposed), To Fault puts the
// member in FAULT while another member is faulty.
type Group struct {
	To     State
	Reason string
}

func (Group) event()       {}
func (Start) event()       {}
func (Stop) event()        {}
func (Timeout) event()     {}
func (Advert) event()      {}
func (TrackUpdate) event() {}
func (TrackValue) event()  {}
func (Link) event()        {}
func (Hold) event()        {}

// Action is something the driver must do, in the order given.
type Action interface{ action() }

// SendAdvert sends one advertisement with the given priority.
type SendAdvert struct{ Priority uint8 }

// AddVIPs installs the virtual addresses (and routes, rules). Adopting
// addresses that are already present is the driver's job.
type AddVIPs struct{}

// RemoveVIPs removes the virtual addresses (and routes, rules).
type RemoveVIPs struct{}

// SendGARP announces the virtual addresses (gratuitous ARP, unsolicited
// neighbour advertisements) so caches point at this router.
type SendGARP struct{ Reason string }

// StateChanged reports a transition, for logs, notify scripts and peers.
// Resumed marks the transition of a Resume: the state did not really
// change, so notify scripts do not run again.
type StateChanged struct {
	From, To State
	Reason   string
	Resumed  bool
}

func (SendAdvert) action()   {}
func (AddVIPs) action()      {}
func (RemoveVIPs) action()   {}
func (SendGARP) action()     {}
func (StateChanged) action() {}
