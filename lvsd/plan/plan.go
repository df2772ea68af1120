// Package plan turns the IPVS tables lvsd wants into the fewest kernel
// operations, and applies them. It is pure apart from Reconcile, which
// only talks to an ipvs.Backend.
//
// # Order
//
// Diff emits operations in five phases, each sorted by service key (then
// destination key):
//
//  1. AddService and UpdateService
//  2. AddDest
//  3. UpdateDest
//  4. DelDest
//  5. DelService (owned services no longer desired)
//
// Adds come before deletes so that no service passes through an empty
// destination list while its membership is replaced: when the quorum is
// lost the sorry server is added before the real servers leave, and when
// it is regained the real servers are back before the sorry server goes.
// This is deliberately unlike keepalived, whose update_quorum_state
// removes first (perform_quorum_state(vs, false) then adds the sorry
// server; deletes the sorry server then perform_quorum_state(vs, true)),
// leaving a moment with no destination. Weight updates come after adds
// and before deletes for the same reason: the servers that stay are
// weighted up before the ones that go are removed.
// Whole services go last; deleting one takes its destinations with it
// (ip_vs_del_service), so Diff never emits DelDest for them.
//
// Nothing is ever deleted to be changed: the kernel edits every setting
// in place. ip_vs_edit_service rewrites flags, timeout and netmask and
// rebinds the scheduler and the persistence engine; __ip_vs_update_dest
// rewrites weight, forwarding method and thresholds. What identifies an
// entry (protocol, address, port, fwmark, family) is its key, and a
// different key is a different entry: added, and the old one deleted.
package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// Desired is one service and its destinations as lvsd wants them.
type Desired struct {
	Service ipvs.Service
	Dests   []ipvs.Destination
}

// DuplicateError reports desired entries that repeat a key; Diff keeps
// the first of each and ignores the rest.
type DuplicateError struct {
	Services []ipvs.ServiceKey
	Dests    []string // "service -> dest"
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("plan: duplicate desired entries ignored (first kept): services %v, destinations %v", e.Services, e.Dests)
}

// want is a desired service indexed by canonical keys.
type want struct {
	svc   ipvs.Service
	dests map[ipvs.DestKey]ipvs.Destination
	order []ipvs.DestKey
}

// index canonicalises and deduplicates the desired table.
func index(desired []Desired) (map[ipvs.ServiceKey]*want, error) {
	m := make(map[ipvs.ServiceKey]*want, len(desired))
	var dup DuplicateError
	for _, d := range desired {
		k := d.Service.ServiceKey.Canonical()
		if m[k] != nil {
			dup.Services = append(dup.Services, k)
			continue
		}
		w := &want{svc: d.Service, dests: make(map[ipvs.DestKey]ipvs.Destination, len(d.Dests))}
		w.svc.ServiceKey = k
		for _, dst := range d.Dests {
			dk := dst.DestKey.Canonical()
			if _, ok := w.dests[dk]; ok {
				dup.Dests = append(dup.Dests, k.String()+" -> "+dk.String())
				continue
			}
			dst.DestKey = dk
			w.dests[dk] = dst
			w.order = append(w.order, dk)
		}
		slices.SortFunc(w.order, ipvs.CompareDestKeys)
		m[k] = w
	}
	if dup.Services != nil || dup.Dests != nil {
		return m, &dup
	}
	return m, nil
}

// Check reports duplicate keys in desired (a *DuplicateError), which Diff
// silently resolves by keeping the first.
func Check(desired []Desired) error {
	_, err := index(desired)
	return err
}

// Diff returns the minimal ordered ops turning actual into desired (see
// the package comment for the order). Services in actual that are not
// desired are deleted only when owned(key) is true, with the canonical
// key: services someone else created are left alone, never flushed. A nil
// owned owns nothing. Duplicate desired keys keep the first (see Check).
func Diff(desired []Desired, actual []ipvs.ServiceState, owned func(ipvs.ServiceKey) bool) []ipvs.Op {
	want, _ := index(desired)
	have := make(map[ipvs.ServiceKey]*ipvs.ServiceState, len(actual))
	for i := range actual {
		k := actual[i].ServiceKey.Canonical()
		if have[k] == nil {
			have[k] = &actual[i]
		}
	}
	var svcOps, adds, updates, dels, svcDels []ipvs.Op
	for _, k := range sortedKeys(want) {
		w := want[k]
		h := have[k]
		if h == nil {
			svcOps = append(svcOps, ipvs.Op{Kind: ipvs.AddService, Service: w.svc})
			for _, dk := range w.order {
				adds = append(adds, ipvs.Op{Kind: ipvs.AddDest, Service: w.svc, Dest: w.dests[dk]})
			}
			continue
		}
		if !ipvs.SameSettings(w.svc, h.Service) {
			svcOps = append(svcOps, ipvs.Op{Kind: ipvs.UpdateService, Service: w.svc})
		}
		cur := make(map[ipvs.DestKey]ipvs.Destination, len(h.Dests))
		for _, d := range h.Dests {
			cur[d.DestKey.Canonical()] = d.Destination
		}
		for _, dk := range w.order {
			wd := w.dests[dk]
			hd, ok := cur[dk]
			switch {
			case !ok:
				adds = append(adds, ipvs.Op{Kind: ipvs.AddDest, Service: w.svc, Dest: wd})
			case !ipvs.SameDest(wd, hd):
				updates = append(updates, ipvs.Op{Kind: ipvs.UpdateDest, Service: w.svc, Dest: wd})
			}
		}
		gone := make([]ipvs.Destination, 0)
		for dk, hd := range cur {
			if _, ok := w.dests[dk]; !ok {
				hd.DestKey = dk
				gone = append(gone, hd)
			}
		}
		slices.SortFunc(gone, func(a, b ipvs.Destination) int { return ipvs.CompareDestKeys(a.DestKey, b.DestKey) })
		for _, d := range gone {
			dels = append(dels, ipvs.Op{Kind: ipvs.DelDest, Service: w.svc, Dest: d})
		}
	}
	for _, k := range sortedKeys(have) {
		if want[k] == nil && owned != nil && owned(k) {
			s := have[k].Service
			s.ServiceKey = k
			svcDels = append(svcDels, ipvs.Op{Kind: ipvs.DelService, Service: s})
		}
	}
	return slices.Concat(svcOps, adds, updates, dels, svcDels)
}

func sortedKeys[V any](m map[ipvs.ServiceKey]V) []ipvs.ServiceKey {
	keys := make([]ipvs.ServiceKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, ipvs.CompareKeys)
	return keys
}

// Reconcile reads b, diffs against desired, and applies the ops in order.
// It returns the ops that succeeded. One failed op does not stop the
// others (their errors are joined, each naming its op), so a partly
// broken table converges on the next call; a cancelled ctx stops it.
// Duplicate desired keys are reported in the error too.
func Reconcile(ctx context.Context, b ipvs.Backend, desired []Desired, owned func(ipvs.ServiceKey) bool) ([]ipvs.Op, error) {
	actual, err := b.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: read IPVS tables: %w", err)
	}
	return ApplyDiff(ctx, b, desired, actual, owned)
}

// ApplyDiff is Reconcile against a known actual state instead of a fresh
// read: a daemon that applied the last plan itself knows the tables, and
// reading 1,000 services back (one dump each) costs far more than the one
// weight change it then makes. A periodic Reconcile still catches changes
// made behind its back.
//
// A backend that implements ipvs.BatchApplier gets all the ops in one
// ApplyBatch call (same order, same one-error-per-op outcome); others get
// one Apply per op.
func ApplyDiff(ctx context.Context, b ipvs.Backend, desired []Desired, actual []ipvs.ServiceState, owned func(ipvs.ServiceKey) bool) ([]ipvs.Op, error) {
	errs := []error{Check(desired)}
	ops := Diff(desired, actual, owned)
	applied := make([]ipvs.Op, 0, len(ops))
	if ba, ok := b.(ipvs.BatchApplier); ok && len(ops) > 0 {
		results := ba.ApplyBatch(ctx, ops)
		for i, op := range ops {
			var err error
			if i < len(results) {
				err = results[i]
			} else {
				err = fmt.Errorf("the backend returned no result (%d results for %d ops)", len(results), len(ops))
			}
			if err == nil {
				applied = append(applied, op)
				continue
			}
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				errs = append(errs, fmt.Errorf("plan: stopped before %s: %w", op, err))
				break
			}
			errs = append(errs, fmt.Errorf("plan: %s: %w", op, err))
		}
		return applied, errors.Join(errs...)
	}
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("plan: stopped before %s: %w", op, err))
			break
		}
		if err := b.Apply(ctx, op); err != nil {
			errs = append(errs, fmt.Errorf("plan: %s: %w", op, err))
			continue
		}
		applied = append(applied, op)
	}
	return applied, errors.Join(errs...)
}
