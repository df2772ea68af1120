package kernel

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// batchOK fails the test on any op's error.
func batchOK(t *testing.T, errs []error, ops []ipvs.Op) {
	t.Helper()
	if len(errs) != len(ops) {
		t.Fatalf("ApplyBatch returned %d results for %d ops", len(errs), len(ops))
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ApplyBatch op %d (%s): %v", i, ops[i], err)
		}
	}
}

// TestGuestBatch applies the whole guest table (every scheduler, method,
// family, persistence, flags; more ops than one batch) with ApplyBatch and
// reads it back equal; then updates and deletes part of it in one batch,
// and checks that the kernel's refusals come back as Apply reports them
// without reopening anything.
func TestGuestBatch(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	es := guestTable()
	ops := addOps(es)
	if len(ops) <= batchSize {
		t.Fatalf("the guest table is %d ops, not more than one batch (%d)", len(ops), batchSize)
	}
	batchOK(t, b.ApplyBatch(ctx, ops), ops)
	wantTable(t, ctx, b, es)
	if b.reopens != 0 {
		t.Errorf("%d reopens on a healthy socket", b.reopens)
	}

	// Edits in place, a destination and a whole service deleted.
	es[0].dests[0].Weight = 9
	es[0].dests[1].Method = "DR"
	es[1].svc.Sched = "wlc"
	edit := []ipvs.Op{
		{Kind: ipvs.UpdateDest, Service: es[0].svc, Dest: es[0].dests[0]},
		{Kind: ipvs.UpdateDest, Service: es[0].svc, Dest: es[0].dests[1]},
		{Kind: ipvs.UpdateService, Service: es[1].svc},
		{Kind: ipvs.DelDest, Service: es[2].svc, Dest: es[2].dests[1]},
		{Kind: ipvs.DelService, Service: es[3].svc},
	}
	es[2].dests = es[2].dests[:1]
	es = append(es[:3], es[4:]...)
	batchOK(t, b.ApplyBatch(ctx, edit), edit)
	wantTable(t, ctx, b, es)

	// The kernel's refusals, each beside a success, with Apply's errors.
	svc := es[0].svc
	bad := []ipvs.Op{
		{Kind: ipvs.AddService, Service: svc},
		{Kind: ipvs.DelDest, Service: svc, Dest: dest("198.18.200.1", 80, 1, "NAT")},
		{Kind: ipvs.UpdateService, Service: ipvs.Service{ServiceKey: tcp("198.18.200.2", 80), Sched: "rr"}},
		{Kind: ipvs.AddService, Service: ipvs.Service{ServiceKey: tcp("198.18.200.3", 80), Sched: "nosuchsched"}},
		{Kind: ipvs.AddService, Service: ipvs.Service{ServiceKey: tcp("198.18.200.4", 80), Sched: "rr", PEName: "sip"}},
	}
	var mixed []ipvs.Op
	for _, op := range bad {
		mixed = append(mixed, op, ipvs.Op{Kind: ipvs.UpdateDest, Service: svc, Dest: es[0].dests[0]})
	}
	errs := b.ApplyBatch(ctx, mixed)
	for i, op := range mixed {
		if i%2 == 1 {
			if errs[i] != nil {
				t.Errorf("op %d (%s) beside a failure: %v", i, op, errs[i])
			}
			continue
		}
		want := b.Apply(ctx, op)
		if want == nil || errs[i] == nil || errs[i].Error() != want.Error() {
			t.Errorf("op %d (%s): ApplyBatch %v, Apply %v", i, op, errs[i], want)
		}
		var en syscall.Errno
		if errors.As(want, &en) && !errors.Is(errs[i], en) {
			t.Errorf("op %d (%s): ApplyBatch %v does not wrap %v", i, op, errs[i], en)
		}
	}
	if b.reopens != 0 {
		t.Errorf("the kernel's own refusals caused %d reopens", b.reopens)
	}
	wantTable(t, ctx, b, es)
}

// TestGuestBatchPartialFailure puts failures in the middle of batches
// (destinations of a missing service, one of them in the same batch as
// the service add it would need, a chunk boundary crossed) and checks
// that only those ops fail, with ESRCH, and everything else is applied.
func TestGuestBatchPartialFailure(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	var es []entry
	for i := range 150 {
		es = append(es, entry{
			svc:   ipvs.Service{ServiceKey: tcp(fmt.Sprintf("198.18.%d.%d", i/200, i%200+1), 80), Sched: "wrr", Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest(fmt.Sprintf("198.19.%d.%d", i/200, i%200+1), 8080, 1, "NAT")},
		})
	}
	ops := addOps(es)
	missing := ipvs.Service{ServiceKey: tcp("198.18.250.1", 80), Sched: "rr", Netmask: 0xffffffff}
	failAt := map[int]bool{}
	for _, at := range []int{1, 63, 64, 150, len(ops)} {
		ops = append(ops[:at:at], append([]ipvs.Op{{Kind: ipvs.AddDest, Service: missing, Dest: dest("198.19.250.1", 80, 1, "NAT")}}, ops[at:]...)...)
	}
	for i, op := range ops {
		if op.Service.ServiceKey == missing.ServiceKey {
			failAt[i] = true
		}
	}
	errs := b.ApplyBatch(ctx, ops)
	for i, err := range errs {
		switch {
		case failAt[i] && !errors.Is(err, syscall.ESRCH):
			t.Errorf("op %d (%s) = %v, want ESRCH", i, ops[i], err)
		case failAt[i] && !strings.Contains(err.Error(), "lvsd: add destination 198.19.250.1:80 to TCP  198.18.250.1:80: "):
			t.Errorf("op %d: error does not name its op: %v", i, err)
		case !failAt[i] && err != nil:
			t.Errorf("op %d (%s) failed beside the deliberate failures: %v", i, ops[i], err)
		}
	}
	wantTable(t, ctx, b, es)

	// A service whose add fails takes its destinations down with it (ESRCH),
	// and nothing else.
	bad := ipvs.Service{ServiceKey: tcp("198.18.251.1", 80), Sched: "nosuchsched", Netmask: 0xffffffff}
	more := []ipvs.Op{
		{Kind: ipvs.AddService, Service: bad},
		{Kind: ipvs.AddDest, Service: bad, Dest: dest("198.19.251.1", 80, 1, "NAT")},
		{Kind: ipvs.UpdateDest, Service: es[0].svc, Dest: dest("198.19.0.1", 8080, 4, "NAT")},
	}
	es[0].dests[0].Weight = 4
	errs = b.ApplyBatch(ctx, more)
	if !errors.Is(errs[0], syscall.ENOENT) || !errors.Is(errs[1], syscall.ESRCH) || errs[2] != nil {
		t.Errorf("a failed service add and its destination: %v", errs)
	}
	wantTable(t, ctx, b, es)
}

// TestGuestBatchRecover breaks the fast path's socket and its family id
// and checks that the ops not acknowledged are sent once more on a new
// socket, as Apply retries on a new handle.
func TestGuestBatchRecover(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	es := []entry{{
		svc:   ipvs.Service{ServiceKey: tcp("198.18.0.1", 80), Sched: "rr", Netmask: 0xffffffff},
		dests: []ipvs.Destination{dest("198.18.1.1", 80, 1, "NAT")},
	}}
	ops := addOps(es)
	batchOK(t, b.ApplyBatch(ctx, ops), ops)

	// 1. The socket closed behind the backend's back: the send fails.
	mobyMu.Lock()
	unix.Close(b.nl.fd)
	b.nl.fd = -1
	mobyMu.Unlock()
	es[0].dests = append(es[0].dests, dest("198.18.1.2", 80, 1, "NAT"))
	ops = []ipvs.Op{{Kind: ipvs.AddDest, Service: es[0].svc, Dest: es[0].dests[1]}}
	batchOK(t, b.ApplyBatch(ctx, ops), ops)
	if b.reopens != 1 {
		t.Errorf("after a closed socket: %d reopens, want 1", b.reopens)
	}
	wantTable(t, ctx, b, es)

	// 2. A stale family id (ip_vs reloaded): every request gets ENOENT
	// from generic netlink; the id is resolved again and the ops retried.
	fam := b.family
	mobyMu.Lock()
	b.family = 0x3ff0
	mobyMu.Unlock()
	es[0].dests[0].Weight = 7
	es[0].dests = append(es[0].dests, dest("198.18.1.3", 80, 1, "NAT"))
	ops = []ipvs.Op{
		{Kind: ipvs.UpdateDest, Service: es[0].svc, Dest: es[0].dests[0]},
		{Kind: ipvs.AddDest, Service: es[0].svc, Dest: es[0].dests[2]},
	}
	batchOK(t, b.ApplyBatch(ctx, ops), ops)
	if b.reopens != 2 || b.family != fam {
		t.Errorf("after a stale family id: %d reopens (want 2), family %d (want %d)", b.reopens, b.family, fam)
	}
	wantTable(t, ctx, b, es)

	// 3. Closed means closed.
	b.Close()
	if errs := b.ApplyBatch(ctx, ops); !errors.Is(errs[0], errClosed) || !errors.Is(errs[1], errClosed) {
		t.Errorf("ApplyBatch after Close = %v, want errClosed", errs)
	}
}
