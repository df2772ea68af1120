package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"syscall"
)

// Fake is an in-memory Backend that enforces the kernel's rules
// (net/netfilter/ipvs/ip_vs_ctl.c), so planner, kernel-layer and daemon
// tests fail the way a real table would: adding an existing service is
// EEXIST, editing or deleting a missing one ESRCH, adding a destination
// to a missing service ESRCH, an existing destination EEXIST, editing or
// deleting a missing destination ENOENT, an unknown scheduler or
// persistence engine ENOENT, an IPv6 netmask outside 1..128 EINVAL, a
// negative weight or a lower threshold above the upper one ERANGE, and a
// destination of the other family that is not tunnelled EAFNOSUPPORT.
// Errors wrap the syscall.Errno, so errors.Is works as on the real thing.
//
// Like the kernel, it reports FlagHashed on every service and protocol
// TCP on fwmark services (ip_vs_genl_parse_service sets it), and deleting
// a service deletes its destinations. Read lists services sorted by key.
//
// Tests set counters (SetServiceStats, SetDestStats), inspect the log of
// applied operations (Ops), and inject failures (FailApply, FailRead).
// A Fake is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	svcs    map[ServiceKey]*ServiceState
	ops     []Op
	failOp  func(Op) error
	failRd  error
	closed  bool
	applies int
}

// NewFake returns a Fake holding the given services as if someone had
// already created them (a restarted lvsd, or another tool's services).
// Entries are stored as given, without the rule checks.
func NewFake(initial ...ServiceState) *Fake {
	f := &Fake{svcs: map[ServiceKey]*ServiceState{}}
	for _, s := range initial {
		s.ServiceKey = f.storedKey(s.ServiceKey)
		s.Flags |= FlagHashed
		s.Dests = slices.Clone(s.Dests)
		for i := range s.Dests {
			s.Dests[i].DestKey = s.Dests[i].DestKey.Canonical()
		}
		f.svcs[s.ServiceKey.Canonical()] = &s
	}
	return f
}

// fakeScheds are the schedulers a stock kernel ships (ip_vs_*.ko).
var fakeScheds = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// storedKey is the key as the kernel reports it back.
func (f *Fake) storedKey(k ServiceKey) ServiceKey {
	k = k.Canonical()
	if k.FWMark != 0 {
		k.Protocol = "TCP"
	}
	return k
}

// Read returns a copy of every service, sorted by key, with destinations
// sorted by address.
func (f *Fake) Read(ctx context.Context) ([]ServiceState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(ctx); err != nil {
		return nil, err
	}
	if f.failRd != nil {
		return nil, fmt.Errorf("ipvs fake: read: %w", f.failRd)
	}
	out := make([]ServiceState, 0, len(f.svcs))
	for _, s := range f.svcs {
		c := *s
		c.Dests = slices.Clone(s.Dests)
		slices.SortFunc(c.Dests, func(a, b DestState) int { return CompareDestKeys(a.DestKey, b.DestKey) })
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ServiceState) int {
		return CompareKeys(a.ServiceKey.Canonical(), b.ServiceKey.Canonical())
	})
	return out, nil
}

// Apply performs op under the kernel's rules; a successful op is logged.
func (f *Fake) Apply(ctx context.Context, op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(ctx); err != nil {
		return err
	}
	f.applies++
	if f.failOp != nil {
		if err := f.failOp(op); err != nil {
			return fmt.Errorf("ipvs fake: %s: %w", op, err)
		}
	}
	if err := f.apply(op); err != nil {
		return fmt.Errorf("ipvs fake: %s: %w", op, err)
	}
	f.ops = append(f.ops, op)
	return nil
}

func (f *Fake) usable(ctx context.Context) error {
	if f.closed {
		return fmt.Errorf("ipvs fake: %w", net.ErrClosed)
	}
	return ctx.Err()
}

func (f *Fake) apply(op Op) error {
	key := op.Service.ServiceKey.Canonical()
	s := f.svcs[key]
	switch op.Kind {
	case AddService:
		if s != nil {
			return syscall.EEXIST
		}
		if err := checkService(op.Service); err != nil {
			return err
		}
		svc := op.Service
		svc.ServiceKey = f.storedKey(svc.ServiceKey)
		svc.Flags |= FlagHashed
		f.svcs[key] = &ServiceState{Service: svc}
		return nil
	case UpdateService:
		if s == nil {
			return syscall.ESRCH
		}
		if err := checkService(op.Service); err != nil {
			return err
		}
		s.Sched, s.Flags, s.Timeout = op.Service.Sched, op.Service.Flags|FlagHashed, op.Service.Timeout
		s.Netmask, s.PEName = op.Service.Netmask, op.Service.PEName
		return nil
	case DelService:
		if s == nil {
			return syscall.ESRCH
		}
		delete(f.svcs, key)
		return nil
	case AddDest, UpdateDest, DelDest:
		if s == nil {
			return syscall.ESRCH
		}
		return f.applyDest(s, op)
	}
	return fmt.Errorf("unknown operation %d: %w", op.Kind, syscall.EINVAL)
}

func (f *Fake) applyDest(s *ServiceState, op Op) error {
	dk := op.Dest.DestKey.Canonical()
	i := slices.IndexFunc(s.Dests, func(d DestState) bool { return d.DestKey == dk })
	if op.Kind == DelDest {
		if i < 0 {
			return syscall.ENOENT
		}
		s.Dests = slices.Delete(s.Dests, i, i+1)
		return nil
	}
	if err := checkDest(s.Service, op.Dest); err != nil {
		return err
	}
	d := op.Dest
	d.DestKey = dk
	switch {
	case op.Kind == AddDest && i >= 0:
		return syscall.EEXIST
	case op.Kind == AddDest:
		s.Dests = append(s.Dests, DestState{Destination: d})
	case i < 0:
		return syscall.ENOENT
	default:
		s.Dests[i].Destination = d
	}
	return nil
}

func checkService(s Service) error {
	if s.FWMark == 0 {
		switch s.Protocol {
		case "TCP", "UDP", "SCTP":
		default:
			return syscall.EPROTONOSUPPORT
		}
		if !s.Addr.IsValid() {
			return syscall.EINVAL
		}
	}
	if !slices.Contains(fakeScheds, s.Sched) {
		return syscall.ENOENT
	}
	if s.PEName != "" && s.PEName != "sip" {
		return syscall.ENOENT
	}
	if s.Canonical().Family == "inet6" && (s.Netmask < 1 || s.Netmask > 128) {
		return syscall.EINVAL
	}
	return nil
}

func checkDest(s Service, d Destination) error {
	if !d.Addr.IsValid() {
		return syscall.EINVAL
	}
	if d.Weight < 0 {
		return syscall.ERANGE
	}
	if d.LThreshold > d.UThreshold {
		return syscall.ERANGE
	}
	switch d.Method {
	case "NAT", "DR", "TUN":
	default:
		return syscall.EINVAL
	}
	if d.Addr.Unmap().Is6() != (s.Canonical().Family == "inet6") && d.Method != "TUN" {
		return syscall.EAFNOSUPPORT
	}
	return nil
}

// Close makes every later call fail with net.ErrClosed.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// Ops returns the operations applied successfully, in order.
func (f *Fake) Ops() []Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ops)
}

// ResetOps clears the operation log (and the attempt count).
func (f *Fake) ResetOps() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops, f.applies = nil, 0
}

// Attempts counts Apply calls since the last ResetOps, failed ones
// included.
func (f *Fake) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applies
}

// FailApply makes Apply fail with fn's error whenever fn returns one
// (before the rules are checked); nil removes the hook.
func (f *Fake) FailApply(fn func(Op) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOp = fn
}

// FailRead makes Read fail with err (nil: read normally again).
func (f *Fake) FailRead(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRd = err
}

// ErrFakeNoService is returned by the counter setters for an entry the
// fake does not hold.
var ErrFakeNoService = errors.New("ipvs fake: no such service or destination")

// SetServiceStats sets a service's counters, as traffic would.
func (f *Fake) SetServiceStats(k ServiceKey, st Stats) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.svcs[k.Canonical()]
	if s == nil {
		return fmt.Errorf("set stats of %s: %w", k, ErrFakeNoService)
	}
	s.Stats = st
	return nil
}

// SetDestStats sets a destination's connection counts and counters.
func (f *Fake) SetDestStats(k ServiceKey, d DestKey, active, inactive int, st Stats) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.svcs[k.Canonical()]
	if s == nil {
		return fmt.Errorf("set stats of %s: %w", k, ErrFakeNoService)
	}
	d = d.Canonical()
	for i := range s.Dests {
		if s.Dests[i].DestKey == d {
			s.Dests[i].ActiveConns, s.Dests[i].InactiveConns, s.Dests[i].Stats = active, inactive, st
			return nil
		}
	}
	return fmt.Errorf("set stats of %s -> %s: %w", k, d, ErrFakeNoService)
}
