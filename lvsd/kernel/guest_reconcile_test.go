package kernel

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/plan"
)

func opStrings(ops []ipvs.Op) string {
	var sb strings.Builder
	for _, op := range ops {
		fmt.Fprintln(&sb, op)
	}
	return sb.String()
}

func toEntries(ds []plan.Desired) []entry {
	es := make([]entry, 0, len(ds))
	for _, d := range ds {
		es = append(es, entry{svc: d.Service, dests: d.Dests})
	}
	return es
}

// TestGuestReconcile runs plan.Reconcile against the real kernel: it
// builds a desired table from empty, then someone changes the table
// behind lvsd's back with a raw moby handle (deletes a destination,
// changes a weight, adds a service of their own); Reconcile must restore
// exactly what was changed with exactly the expected ops, leave the
// foreign service alone, and a second Reconcile must apply nothing.
func TestGuestReconcile(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	web := ipvs.Service{ServiceKey: tcp("198.18.0.1", 80), Sched: "wrr", Netmask: 0xffffffff}
	dns := ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "UDP", Addr: a4("198.18.0.2"), Port: 53, Family: "inet"}, Sched: "rr", Netmask: 0xffffffff}
	fwm := ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: 5, Family: "inet"}, Sched: "sh", Flags: ipvs.FlagSched1, Netmask: 0xffffffff}
	desired := []plan.Desired{
		{Service: web, Dests: []ipvs.Destination{dest("198.18.1.1", 80, 1, "NAT"), dest("198.18.1.2", 80, 2, "NAT"), dest("198.18.1.3", 80, 3, "NAT")}},
		{Service: dns, Dests: []ipvs.Destination{dest("198.18.2.1", 53, 1, "DR"), dest("198.18.2.2", 53, 1, "DR")}},
		{Service: fwm, Dests: []ipvs.Destination{dest("198.18.3.1", 0, 1, "TUN")}},
	}
	ours := map[ipvs.ServiceKey]bool{}
	for _, d := range desired {
		ours[d.Service.ServiceKey.Canonical()] = true
	}
	owned := func(k ipvs.ServiceKey) bool { return ours[k.Canonical()] }

	ops, err := plan.Reconcile(ctx, b, desired, owned)
	if err != nil {
		t.Fatalf("Reconcile from empty: %v", err)
	}
	if len(ops) != 3+6 {
		t.Fatalf("Reconcile from empty applied %d ops, want 9:\n%s", len(ops), opStrings(ops))
	}
	wantTable(t, ctx, b, toEntries(desired))

	// Someone else edits the table.
	h, err := mipvs.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	raw := &mipvs.Service{AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP, Address: net.ParseIP("198.18.0.1").To4(), Port: 80}
	if err := h.DelDestination(raw, &mipvs.Destination{AddressFamily: syscall.AF_INET, Address: net.ParseIP("198.18.1.2").To4(), Port: 80}); err != nil {
		t.Fatalf("raw delete of a destination: %v", err)
	}
	if err := h.UpdateDestination(raw, &mipvs.Destination{AddressFamily: syscall.AF_INET, Address: net.ParseIP("198.18.1.3").To4(), Port: 80, Weight: 9}); err != nil {
		t.Fatalf("raw weight change: %v", err)
	}
	foreign := &mipvs.Service{AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP, Address: net.ParseIP("198.18.0.200").To4(), Port: 8000, SchedName: "lc", Netmask: 0xffffffff}
	if err := h.NewService(foreign); err != nil {
		t.Fatalf("raw foreign service: %v", err)
	}
	if err := h.NewDestination(foreign, &mipvs.Destination{AddressFamily: syscall.AF_INET, Address: net.ParseIP("198.18.9.1").To4(), Port: 8000, Weight: 4}); err != nil {
		t.Fatalf("raw foreign destination: %v", err)
	}
	foreignEntry := entry{
		svc:   ipvs.Service{ServiceKey: tcp("198.18.0.200", 8000), Sched: "lc", Netmask: 0xffffffff},
		dests: []ipvs.Destination{dest("198.18.9.1", 8000, 4, "NAT")},
	}

	ops, err = plan.Reconcile(ctx, b, desired, owned)
	if err != nil {
		t.Fatalf("Reconcile after the edits: %v", err)
	}
	want := opStrings([]ipvs.Op{
		{Kind: ipvs.AddDest, Service: web, Dest: dest("198.18.1.2", 80, 2, "NAT")},
		{Kind: ipvs.UpdateDest, Service: web, Dest: dest("198.18.1.3", 80, 3, "NAT")},
	})
	if got := opStrings(ops); got != want {
		t.Fatalf("Reconcile after the edits applied:\n%s\nwant exactly:\n%s", got, want)
	}
	wantTable(t, ctx, b, append(toEntries(desired), foreignEntry))

	ops, err = plan.Reconcile(ctx, b, desired, owned)
	if err != nil || len(ops) != 0 {
		t.Fatalf("second Reconcile: %v, applied:\n%s\nwant nothing", err, opStrings(ops))
	}

	// lvsd drops a service it owns: only that one goes.
	ops, err = plan.Reconcile(ctx, b, desired[:2], owned)
	if err != nil {
		t.Fatalf("Reconcile without the fwmark service: %v", err)
	}
	if got, want := opStrings(ops), opStrings([]ipvs.Op{{Kind: ipvs.DelService, Service: fwm}}); got != want {
		t.Fatalf("Reconcile without the fwmark service applied:\n%s\nwant exactly:\n%s", got, want)
	}
	wantTable(t, ctx, b, append(toEntries(desired[:2]), foreignEntry))
}
