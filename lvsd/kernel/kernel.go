// Package kernel is lvsd's ipvs.Backend for the Linux kernel, over
// github.com/moby/ipvs v1.1.0 (generic netlink). Writes in bulk take a
// faster path, ApplyBatch (batch.go): the same requests, pipelined over
// the package's own generic netlink socket; reads and Apply stay on moby.
//
// It exists to put three things between lvsd and moby/ipvs that the
// library does not do itself:
//
//   - Refuse a kernel without IPVS. moby's New only logs then, NewService
//     returns nil and dumps come back empty (the requests go to generic
//     netlink family 0, which the kernel treats as a control message and
//     acknowledges), so a reconciler would believe an empty table. New
//     checks /proc/net/ip_vs and resolves the IPVS family itself, and
//     returns an error wrapping ipvs.ErrNoIPVS.
//   - Recover a broken handle. moby resolves the IPVS family id once per
//     process (sync.Once) into a package variable: a first resolution that
//     failed leaves it 0 for good, and a reloaded ip_vs module registers
//     under a new id (generic netlink allocates ids cyclically), after
//     which every request gets ENOENT. Reopening the socket fixes neither.
//     This backend resolves the id itself whenever it opens a handle and
//     writes it into moby's variable (see family.go); on a netlink or
//     socket error it closes the handle, reopens it and retries the
//     operation once.
//   - Bound every call. moby retries a receive timeout forever; each call
//     here runs under a deadline, and closing the socket ends it.
//
// Model fields moby/ipvs v1.1.0 cannot express are refused with an error
// rather than written half-way: a persistence engine (not parsed back),
// weights above MaxWeight (read as 16 bits), a destination of the other
// address family than its service (no family attribute sent), and tunnel
// types other than IPIP (GUE, GRE: no attributes; the model has no field
// for them either). Connection and packet counters are the kernel's 32-bit
// ones.
package kernel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// procIPVS is the file the kernel creates when IPVS is loaded.
const procIPVS = "/proc/net/ip_vs"

// DefaultOpTimeout bounds one netlink request (a whole dump counts as one).
// The kernel answers in microseconds to milliseconds; the bound is for a
// lost reply, which moby/ipvs would otherwise wait for forever.
const DefaultOpTimeout = 10 * time.Second

// modprobeTimeout bounds the attempt to load ip_vs when it is missing.
const modprobeTimeout = 10 * time.Second

// mobyMu serialises all use of moby/ipvs in the process: its family id is
// a package variable this package rewrites (family.go), so no request may
// be in flight while it changes.
var mobyMu sync.Mutex

// Backend is the kernel's IPVS table. Its methods are safe for concurrent
// use; calls are serialised.
type Backend struct {
	procPath  string
	opTimeout time.Duration

	// Guarded by mobyMu.
	h       *mipvs.Handle // nil after Close or after a failed call
	nl      *nlConn       // ApplyBatch's socket (batch.go); nil until used
	family  int           // the IPVS generic netlink id resolved at the last open
	closed  bool
	reopens int // handles recreated after errors (for tests and logs)
}

var _ ipvs.Backend = (*Backend)(nil)

// options are the seams the host test uses to check the detection
// without depending on the host's kernel.
type options struct {
	procPath string
	modprobe bool
}

// New opens the kernel's IPVS table in the caller's network namespace. On
// a kernel without IPVS (no /proc/net/ip_vs even after trying modprobe
// ip_vs, or no IPVS generic netlink family) it returns an error wrapping
// ipvs.ErrNoIPVS.
func New() (*Backend, error) {
	return newBackend(options{procPath: procIPVS, modprobe: true})
}

func newBackend(o options) (*Backend, error) {
	if _, err := os.Stat(o.procPath); err != nil && o.modprobe {
		// As keepalived does; moby would try too, but only after it has
		// resolved (and failed) its family once and for all.
		loadIPVS()
	}
	b := &Backend{procPath: o.procPath, opTimeout: DefaultOpTimeout}
	mobyMu.Lock()
	defer mobyMu.Unlock()
	if err := b.open(); err != nil {
		return nil, fmt.Errorf("lvsd: open the kernel's IPVS table: %w", err)
	}
	return b, nil
}

// loadIPVS runs modprobe ip_vs, bounded; failure is left to the checks
// that follow.
func loadIPVS() {
	path, err := exec.LookPath("modprobe")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), modprobeTimeout)
	defer cancel()
	_ = exec.CommandContext(ctx, path, "ip_vs").Run()
}

// open checks for IPVS, resolves its family id, fixes moby's copy of it
// and opens a handle, then proves the handle reaches IPVS with a request
// that must return data. mobyMu must be held.
func (b *Backend) open() error {
	if _, err := os.Stat(b.procPath); err != nil {
		return fmt.Errorf("%w: %v", ipvs.ErrNoIPVS, err)
	}
	fam, err := resolveFamily()
	if err != nil {
		return err
	}
	// moby's New runs its one-time setup (modprobe, family lookup) on the
	// first call; the family is corrected after it.
	h, err := mipvs.New("")
	if err != nil {
		return fmt.Errorf("open a generic netlink socket: %w", err)
	}
	setMobyFamily(fam)
	b.family = fam
	if err := probe(h); err != nil {
		h.Close()
		return err
	}
	b.h = h
	return nil
}

// probe asks for the IPVS timeouts. With a wrong family id the kernel may
// acknowledge a request without answering it, and moby's GetConfig then
// indexes an empty reply and panics: either way the handle is not usable.
func probe(h *mipvs.Handle) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("IPVS did not answer over generic netlink (moby/ipvs: %v)", r)
		}
	}()
	if _, err := h.GetConfig(); err != nil {
		return fmt.Errorf("IPVS did not answer over generic netlink: %w", err)
	}
	return nil
}

// errClosed is returned by calls after Close.
var errClosed = errors.New("the IPVS backend is closed")

// Close releases the netlink socket. Later calls fail.
func (b *Backend) Close() error {
	mobyMu.Lock()
	defer mobyMu.Unlock()
	b.closed = true
	b.drop()
	b.dropConn()
	return nil
}

// drop closes the current handle, if any; the next call opens a new one.
func (b *Backend) drop() {
	if b.h != nil {
		b.h.Close()
		b.h = nil
	}
}

// transient reports whether err may be the handle's fault rather than the
// kernel's answer to the request: anything but the errnos IPVS uses to
// refuse a request. ENOENT is ambiguous: generic netlink answers it for an
// unknown family id (after a module reload), IPVS for a missing
// destination or scheduler; do tells them apart by looking the id up.
func transient(err error) bool {
	if errors.Is(err, ipvs.ErrNoIPVS) || errors.Is(err, errClosed) {
		return false
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		switch en {
		case syscall.EEXIST, syscall.ESRCH, syscall.EINVAL, syscall.EPERM, syscall.EACCES,
			syscall.EBUSY, syscall.EOPNOTSUPP, syscall.ERANGE, syscall.E2BIG, syscall.ENOMEM:
			return false
		}
	}
	return true
}

// staleFamily reports whether an ENOENT came from generic netlink (our
// family id is no longer IPVS's) rather than from IPVS itself.
func (b *Backend) staleFamily() bool {
	fam, err := resolveFamily()
	return err != nil || fam != b.family
}

// do runs fn on the handle, opening one if needed; after a transient
// error it reopens the handle and runs fn once more. It reports whether it
// retried, since a retried add or delete may find its own first attempt
// already applied. mobyMu must be held.
func (b *Backend) do(ctx context.Context, fn func(*mipvs.Handle) error) (retried bool, err error) {
	if b.closed {
		return false, errClosed
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if b.h == nil {
		if err := b.open(); err != nil {
			return false, err
		}
	}
	// A process-wide variable: another Backend's open may have rewritten
	// it, or the first resolution may have failed before ours.
	if mobyFamily() != b.family {
		setMobyFamily(b.family)
	}
	err = b.call(ctx, fn)
	if err == nil || !transient(err) || ctx.Err() != nil {
		return false, err
	}
	if errors.Is(err, syscall.ENOENT) && !b.staleFamily() {
		return false, err // IPVS's own answer
	}
	first := err
	b.drop()
	if err := b.open(); err != nil {
		return true, fmt.Errorf("%w (reopening the IPVS handle after: %v)", err, first)
	}
	b.reopens++
	if err := b.call(ctx, fn); err != nil {
		return true, fmt.Errorf("%w (on retry with a new handle after: %v)", err, first)
	}
	return true, nil
}

// call runs fn under the backend's per-request deadline and ctx. moby's
// calls cannot be cancelled, so a watchdog closes the socket instead,
// which ends the blocked receive at once; the handle is then dropped and
// the next call reopens. fn runs on the caller's goroutine: a watchdog
// timer costs less per request than a goroutine and a channel, which
// matters when a table of 11,000 entries is applied one request at a
// time. A panic in moby (it indexes replies without checking) becomes an
// error.
func (b *Backend) call(ctx context.Context, fn func(*mipvs.Handle) error) (err error) {
	h := b.h
	var fired atomic.Bool
	kill := func() {
		if fired.CompareAndSwap(false, true) {
			h.Close()
		}
	}
	timer := time.AfterFunc(b.opTimeout, kill)
	stop := context.AfterFunc(ctx, kill)
	defer func() {
		timer.Stop()
		stop()
		if r := recover(); r != nil {
			err = fmt.Errorf("moby/ipvs panicked: %v", r)
		}
		// Disarm: a watchdog that has not closed the socket by now never
		// will (its timer goroutine may still be about to run).
		if !fired.CompareAndSwap(false, true) {
			b.h = nil // closed by the watchdog
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			err = fmt.Errorf("netlink request abandoned after %v: %w (%v)", b.opTimeout, cause, err)
		}
	}()
	return fn(h)
}

// Read returns every service with its destinations and counters, services
// in key order and destinations in address order.
func (b *Backend) Read(ctx context.Context) ([]ipvs.ServiceState, error) {
	mobyMu.Lock()
	defer mobyMu.Unlock()
	var ms []*mipvs.Service
	if _, err := b.do(ctx, func(h *mipvs.Handle) error {
		var err error
		ms, err = h.GetServices()
		return err
	}); err != nil {
		return nil, fmt.Errorf("lvsd: list IPVS services: %w", err)
	}
	out := make([]ipvs.ServiceState, 0, len(ms))
	for _, m := range ms {
		svc, err := serviceFromMoby(m)
		if err != nil {
			return nil, fmt.Errorf("lvsd: list IPVS services: %w", err)
		}
		var md []*mipvs.Destination
		_, err = b.do(ctx, func(h *mipvs.Handle) error {
			var err error
			md, err = h.GetDestinations(m)
			return err
		})
		if errors.Is(err, syscall.ESRCH) {
			continue // deleted by someone else since the service dump
		}
		if err != nil {
			return nil, fmt.Errorf("lvsd: list destinations of %s: %w", svc.ServiceKey, err)
		}
		st := ipvs.ServiceState{Service: svc, Stats: statsFromMoby(m.Stats), Dests: make([]ipvs.DestState, 0, len(md))}
		for _, d := range md {
			ds, err := destFromMoby(d)
			if err != nil {
				return nil, fmt.Errorf("lvsd: list destinations of %s: %w", svc.ServiceKey, err)
			}
			st.Dests = append(st.Dests, ds)
		}
		slices.SortFunc(st.Dests, func(a, b ipvs.DestState) int { return compareDest(a.DestKey, b.DestKey) })
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ipvs.ServiceState) int { return compareService(a.ServiceKey, b.ServiceKey) })
	return out, nil
}

// Apply performs one operation. Errors name the operation and the entry:
// "lvsd: add service TCP  198.18.0.1:80: file exists".
func (b *Backend) Apply(ctx context.Context, op ipvs.Op) error {
	if err := b.apply(ctx, op); err != nil {
		return fmt.Errorf("lvsd: %s: %w", describe(op), err)
	}
	return nil
}

func describe(op ipvs.Op) string {
	k := op.Service.ServiceKey
	switch op.Kind {
	case ipvs.AddService:
		return fmt.Sprintf("add service %s", k)
	case ipvs.UpdateService:
		return fmt.Sprintf("update service %s", k)
	case ipvs.DelService:
		return fmt.Sprintf("delete service %s", k)
	case ipvs.AddDest:
		return fmt.Sprintf("add destination %s to %s", op.Dest.DestKey, k)
	case ipvs.UpdateDest:
		return fmt.Sprintf("update destination %s of %s", op.Dest.DestKey, k)
	case ipvs.DelDest:
		return fmt.Sprintf("delete destination %s of %s", op.Dest.DestKey, k)
	}
	return fmt.Sprintf("%s %s", op.Kind, k)
}

func (b *Backend) apply(ctx context.Context, op ipvs.Op) error {
	r, err := toRequest(op)
	if err != nil {
		return err
	}
	mobyMu.Lock()
	defer mobyMu.Unlock()
	return b.applyLocked(ctx, op, r.svc, r.dst)
}

// applyLocked performs op, converted to svc and dst, through moby.
// mobyMu must be held.
func (b *Backend) applyLocked(ctx context.Context, op ipvs.Op, svc *mipvs.Service, dst *mipvs.Destination) error {
	var fn func(*mipvs.Handle) error
	switch op.Kind {
	case ipvs.AddService:
		fn = func(h *mipvs.Handle) error { return h.NewService(svc) }
	case ipvs.UpdateService:
		fn = func(h *mipvs.Handle) error { return h.UpdateService(svc) }
	case ipvs.DelService:
		fn = func(h *mipvs.Handle) error { return h.DelService(svc) }
	case ipvs.AddDest:
		fn = func(h *mipvs.Handle) error { return h.NewDestination(svc, dst) }
	case ipvs.UpdateDest:
		fn = func(h *mipvs.Handle) error { return h.UpdateDestination(svc, dst) }
	case ipvs.DelDest:
		fn = func(h *mipvs.Handle) error { return h.DelDestination(svc, dst) }
	}
	retried, err := b.do(ctx, fn)
	if err != nil && retried {
		// The first attempt failed in transport, not in the kernel, so it
		// may have been applied: the retry then finds its own work done.
		switch {
		case (op.Kind == ipvs.AddService || op.Kind == ipvs.AddDest) && errors.Is(err, syscall.EEXIST),
			op.Kind == ipvs.DelService && errors.Is(err, syscall.ESRCH),
			op.Kind == ipvs.DelDest && errors.Is(err, syscall.ENOENT):
			return nil
		}
	}
	return err
}
