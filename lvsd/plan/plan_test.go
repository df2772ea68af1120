package plan

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

func svc(proto, addr string, port uint16) ipvs.Service {
	return ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: proto, Addr: netip.MustParseAddr(addr), Port: port}, Sched: "wlc", Netmask: 0xffffffff}
}

func fwm(mark uint32, family string) ipvs.Service {
	nm := uint32(0xffffffff)
	if family == "inet6" {
		nm = 128
	}
	return ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: mark, Family: family}, Sched: "rr", Netmask: nm}
}

func dst(addr string, port uint16, w int, m string) ipvs.Destination {
	return ipvs.Destination{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr(addr), Port: port}, Weight: w, Method: m}
}

func with(s ipvs.Service, f func(*ipvs.Service)) ipvs.Service { f(&s); return s }

func state(d Desired) ipvs.ServiceState {
	s := ipvs.ServiceState{Service: d.Service}
	for _, x := range d.Dests {
		s.Dests = append(s.Dests, ipvs.DestState{Destination: x})
	}
	return s
}

func ownAll(ipvs.ServiceKey) bool { return true }

// opStrings renders ops compactly for comparison.
func opStrings(ops []ipvs.Op) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.String()
	}
	return out
}

var (
	web   = svc("TCP", "198.18.0.1", 80)
	dns6  = svc("UDP", "2001:db8::53", 53)
	mark6 = fwm(6, "inet6")
	mark1 = fwm(1, "")
	rs1   = dst("198.18.1.1", 80, 1, "NAT")
	rs2   = dst("198.18.1.2", 80, 1, "NAT")
	rs3   = dst("198.18.1.3", 80, 1, "NAT")
	full  = []Desired{
		{Service: web, Dests: []ipvs.Destination{rs2, rs1}},
		{Service: with(dns6, func(s *ipvs.Service) { s.Netmask = 128 }), Dests: []ipvs.Destination{dst("2001:db8::1:1", 53, 3, "DR")}},
		{Service: mark1, Dests: []ipvs.Destination{dst("198.18.1.1", 0, 1, "DR")}},
		{Service: mark6, Dests: []ipvs.Destination{dst("2001:db8::1:2", 0, 2, "TUN")}},
	}
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		desired []Desired
		actual  []ipvs.ServiceState
		owned   func(ipvs.ServiceKey) bool
		want    []string
	}{
		{
			name:    "empty to full, in phase order and sorted",
			desired: full,
			want: []string{
				"add-service TCP  198.18.0.1:80 wlc",
				"add-service UDP  [2001:db8::53]:53 wlc",
				"add-service FWM  1 rr",
				"add-service FWM  6 IPv6 rr",
				"add-dest TCP  198.18.0.1:80 -> 198.18.1.1:80 w1 NAT",
				"add-dest TCP  198.18.0.1:80 -> 198.18.1.2:80 w1 NAT",
				"add-dest UDP  [2001:db8::53]:53 -> [2001:db8::1:1]:53 w3 DR",
				"add-dest FWM  1 -> 198.18.1.1:0 w1 DR",
				"add-dest FWM  6 IPv6 -> [2001:db8::1:2]:0 w2 TUN",
			},
		},
		{
			name:    "nothing to do when equal (hashed flag and key spelling ignored)",
			desired: []Desired{{Service: web, Dests: []ipvs.Destination{rs1}}},
			actual: []ipvs.ServiceState{state(Desired{
				Service: with(web, func(s *ipvs.Service) {
					s.Flags |= ipvs.FlagHashed
					s.Family = "inet"
					s.Addr = netip.MustParseAddr("::ffff:198.18.0.1")
				}),
				Dests: []ipvs.Destination{rs1},
			})},
			want: nil,
		},
		{
			name:    "fwmark read back with the kernel's TCP protocol is the same service",
			desired: []Desired{{Service: mark1}},
			actual:  []ipvs.ServiceState{state(Desired{Service: with(mark1, func(s *ipvs.Service) { s.Protocol = "TCP"; s.Family = "inet" })})},
			want:    nil,
		},
		{
			name:    "weight-only change is one update",
			desired: []Desired{{Service: web, Dests: []ipvs.Destination{rs1, dst("198.18.1.2", 80, 5, "NAT")}}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web, Dests: []ipvs.Destination{rs1, rs2}})},
			want:    []string{"update-dest TCP  198.18.0.1:80 -> 198.18.1.2:80 w5 NAT"},
		},
		{
			name:    "method change is an in-place update",
			desired: []Desired{{Service: web, Dests: []ipvs.Destination{dst("198.18.1.1", 80, 1, "DR")}}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web, Dests: []ipvs.Destination{rs1}})},
			want:    []string{"update-dest TCP  198.18.0.1:80 -> 198.18.1.1:80 w1 DR"},
		},
		{
			name:    "settings change (scheduler, persistence engine) is one update-service",
			desired: []Desired{{Service: with(web, func(s *ipvs.Service) { s.Sched = "rr"; s.PEName = "sip" }), Dests: []ipvs.Destination{rs1}}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web, Dests: []ipvs.Destination{rs1}})},
			want:    []string{"update-service TCP  198.18.0.1:80 rr"},
		},
		{
			name:    "replacing a server adds before it deletes",
			desired: []Desired{{Service: web, Dests: []ipvs.Destination{rs3}}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web, Dests: []ipvs.Destination{rs2, rs1}})},
			want: []string{
				"add-dest TCP  198.18.0.1:80 -> 198.18.1.3:80 w1 NAT",
				"del-dest TCP  198.18.0.1:80 -> 198.18.1.1:80 w1 NAT",
				"del-dest TCP  198.18.0.1:80 -> 198.18.1.2:80 w1 NAT",
			},
		},
		{
			name:    "foreign service untouched",
			desired: []Desired{{Service: web}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web}), state(Desired{Service: dns6, Dests: []ipvs.Destination{dst("2001:db8::1", 53, 1, "DR")}})},
			owned:   func(k ipvs.ServiceKey) bool { return k == web.Canonical() },
			want:    nil,
		},
		{
			name:    "nil owned owns nothing",
			desired: nil,
			actual:  []ipvs.ServiceState{state(Desired{Service: web})},
			want:    nil,
		},
		{
			name:    "owned but unconfigured service removed with its dests, last",
			desired: []Desired{{Service: mark6}},
			actual:  []ipvs.ServiceState{state(Desired{Service: web, Dests: []ipvs.Destination{rs1}})},
			owned:   ownAll,
			want:    []string{"add-service FWM  6 IPv6 rr", "del-service TCP  198.18.0.1:80 wlc"},
		},
		{
			name:    "duplicates keep the first",
			desired: []Desired{{Service: web, Dests: []ipvs.Destination{rs1, dst("198.18.1.1", 80, 9, "DR")}}, {Service: with(web, func(s *ipvs.Service) { s.Sched = "rr" })}},
			want:    []string{"add-service TCP  198.18.0.1:80 wlc", "add-dest TCP  198.18.0.1:80 -> 198.18.1.1:80 w1 NAT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := opStrings(Diff(tt.desired, tt.actual, tt.owned))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDuplicatesReported(t *testing.T) {
	err := Check([]Desired{{Service: web}, {Service: with(web, func(s *ipvs.Service) { s.Addr = netip.MustParseAddr("::ffff:198.18.0.1") })}})
	var de *DuplicateError
	if !errors.As(err, &de) || len(de.Services) != 1 {
		t.Fatalf("Check: %v", err)
	}
	if err := Check(full); err != nil {
		t.Errorf("no duplicates: %v", err)
	}
}

// TestReconcileConverges applies plans to the fake kernel: after one
// Reconcile, the next Diff is empty (idempotence), across a sequence of
// desired tables.
func TestReconcileConverges(t *testing.T) {
	ctx := context.Background()
	foreign := ipvs.ServiceState{Service: svc("SCTP", "198.18.0.9", 9)}
	f := ipvs.NewFake(foreign)
	owned := func(k ipvs.ServiceKey) bool { return k != foreign.Canonical() }
	steps := [][]Desired{
		full,
		{{Service: web, Dests: []ipvs.Destination{rs1, dst("198.18.1.2", 80, 0, "NAT")}}},
		{{Service: with(web, func(s *ipvs.Service) { s.Flags = ipvs.FlagPersistent; s.Timeout = 300 }), Dests: []ipvs.Destination{dst("198.18.1.1", 80, 1, "DR")}}},
		{{Service: mark6, Dests: []ipvs.Destination{dst("2001:db8::1:2", 0, 2, "TUN")}}},
		nil,
	}
	for i, d := range steps {
		if _, err := Reconcile(ctx, f, d, owned); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		actual, err := f.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ops := Diff(d, actual, owned); ops != nil {
			t.Fatalf("step %d: not converged, still %v", i, opStrings(ops))
		}
		if !slices.ContainsFunc(actual, func(s ipvs.ServiceState) bool { return s.Canonical() == foreign.Canonical() }) {
			t.Fatalf("step %d: foreign service removed", i)
		}
	}
}

func TestReconcileContinuesPastFailures(t *testing.T) {
	ctx := context.Background()
	f := ipvs.NewFake()
	f.FailApply(func(op ipvs.Op) error {
		if op.Kind == ipvs.AddDest && op.Dest.Addr == rs1.Addr {
			return syscall.ENOMEM
		}
		return nil
	})
	applied, err := Reconcile(ctx, f, full[:1], ownAll)
	if !errors.Is(err, syscall.ENOMEM) || !strings.Contains(err.Error(), "198.18.1.1:80") {
		t.Fatalf("error should name the failed op: %v", err)
	}
	if len(applied) != 2 {
		t.Errorf("applied %v", opStrings(applied))
	}
	f.FailApply(nil)
	applied, err = Reconcile(ctx, f, full[:1], ownAll)
	if err != nil || len(applied) != 1 || applied[0].Kind != ipvs.AddDest {
		t.Errorf("second pass: %v %v", opStrings(applied), err)
	}

	f.FailRead(ipvs.ErrNoIPVS)
	if _, err := Reconcile(ctx, f, full, ownAll); !errors.Is(err, ipvs.ErrNoIPVS) {
		t.Errorf("read failure: %v", err)
	}
	f.FailRead(nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Reconcile(cctx, f, full, ownAll); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// serial hides the fake's ApplyBatch, so ApplyDiff takes its one-Apply-
// per-op path.
type serial struct{ ipvs.Backend }

// TestApplyDiffBatchMatchesSerial checks that the batch path (the fake is
// an ipvs.BatchApplier) and the per-op path apply the same ops and report
// the same errors, a failure in the middle included.
func TestApplyDiffBatchMatchesSerial(t *testing.T) {
	ctx := context.Background()
	run := func(wrap func(*ipvs.Fake) ipvs.Backend) ([]string, string, []ipvs.ServiceState) {
		f := ipvs.NewFake()
		f.FailApply(func(op ipvs.Op) error {
			if op.Kind == ipvs.AddDest && op.Dest.Addr == rs1.Addr {
				return syscall.ENOMEM
			}
			return nil
		})
		applied, err := ApplyDiff(ctx, wrap(f), full, nil, ownAll)
		if err == nil {
			t.Fatal("the injected failure was not reported")
		}
		st, rerr := f.Read(ctx)
		if rerr != nil {
			t.Fatal(rerr)
		}
		return opStrings(applied), err.Error(), st
	}
	if _, ok := ipvs.Backend(ipvs.NewFake()).(ipvs.BatchApplier); !ok {
		t.Fatal("the fake is not an ipvs.BatchApplier")
	}
	ba, be, bs := run(func(f *ipvs.Fake) ipvs.Backend { return f })
	sa, se, ss := run(func(f *ipvs.Fake) ipvs.Backend { return serial{f} })
	if !slices.Equal(ba, sa) || be != se || len(bs) != len(ss) {
		t.Fatalf("batch and serial differ:\nbatch  %v\n       %s\nserial %v\n       %s", ba, be, sa, se)
	}
}

// cancelling is a batch backend whose ctx ends after the first op.
type cancelling struct {
	*ipvs.Fake
	cancel context.CancelFunc
}

func (c cancelling) ApplyBatch(ctx context.Context, ops []ipvs.Op) []error {
	errs := make([]error, len(ops))
	errs[0] = c.Apply(ctx, ops[0])
	c.cancel()
	for i := 1; i < len(ops); i++ {
		errs[i] = ctx.Err()
	}
	return errs
}

func TestApplyDiffBatchStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	applied, err := ApplyDiff(ctx, cancelling{ipvs.NewFake(), cancel}, full, nil, ownAll)
	if len(applied) != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("applied %v, err %v", opStrings(applied), err)
	}
	if n := strings.Count(err.Error(), "stopped before"); n != 1 {
		t.Fatalf("want one \"stopped before\" error, got %d: %v", n, err)
	}
}
