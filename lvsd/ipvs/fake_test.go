package ipvs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

var (
	tcpKey = ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.1"), Port: 80}
	tcpSvc = Service{ServiceKey: tcpKey, Sched: "wlc", Netmask: 0xffffffff}
	v6Svc  = Service{ServiceKey: ServiceKey{Protocol: "UDP", Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}, Sched: "rr", Netmask: 128}
	fwmSvc = Service{ServiceKey: ServiceKey{FWMark: 7}, Sched: "sh", Netmask: 0xffffffff}
	dest1  = Destination{DestKey: DestKey{Addr: netip.MustParseAddr("198.18.1.1"), Port: 80}, Weight: 1, Method: "NAT"}
)

func TestFakeRules(t *testing.T) {
	ctx := context.Background()
	type step struct {
		op   Op
		want error // nil: success
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"add twice is EEXIST", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: AddService, Service: tcpSvc}, syscall.EEXIST},
		}},
		{"mapped address is the same service", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: AddService, Service: Service{ServiceKey: ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("::ffff:198.18.0.1"), Port: 80}, Sched: "rr"}}, syscall.EEXIST},
		}},
		{"update missing service is ESRCH", []step{{Op{Kind: UpdateService, Service: tcpSvc}, syscall.ESRCH}}},
		{"delete missing service is ESRCH", []step{{Op{Kind: DelService, Service: tcpSvc}, syscall.ESRCH}}},
		{"dest to missing service is ESRCH", []step{{Op{Kind: AddDest, Service: tcpSvc, Dest: dest1}, syscall.ESRCH}}},
		{"dest twice is EEXIST", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: AddDest, Service: tcpSvc, Dest: dest1}, nil},
			{Op{Kind: AddDest, Service: tcpSvc, Dest: dest1}, syscall.EEXIST},
		}},
		{"update missing dest is ENOENT", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: UpdateDest, Service: tcpSvc, Dest: dest1}, syscall.ENOENT},
			{Op{Kind: DelDest, Service: tcpSvc, Dest: dest1}, syscall.ENOENT},
		}},
		{"delete service deletes its dests", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: AddDest, Service: tcpSvc, Dest: dest1}, nil},
			{Op{Kind: DelService, Service: tcpSvc}, nil},
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: DelDest, Service: tcpSvc, Dest: dest1}, syscall.ENOENT},
		}},
		{"unknown scheduler is ENOENT", []step{{Op{Kind: AddService, Service: Service{ServiceKey: tcpKey, Sched: "nope"}}, syscall.ENOENT}}},
		{"unknown persistence engine is ENOENT", []step{{Op{Kind: AddService, Service: Service{ServiceKey: tcpKey, Sched: "rr", PEName: "http"}}, syscall.ENOENT}}},
		{"ipv6 netmask 0 is EINVAL", []step{{Op{Kind: AddService, Service: Service{ServiceKey: v6Svc.ServiceKey, Sched: "rr"}}, syscall.EINVAL}}},
		{"bad protocol", []step{{Op{Kind: AddService, Service: Service{ServiceKey: ServiceKey{Protocol: "ICMP", Addr: tcpKey.Addr}, Sched: "rr"}}, syscall.EPROTONOSUPPORT}}},
		{"thresholds reversed is ERANGE", []step{
			{Op{Kind: AddService, Service: tcpSvc}, nil},
			{Op{Kind: AddDest, Service: tcpSvc, Dest: Destination{DestKey: dest1.DestKey, Method: "DR", LThreshold: 5}}, syscall.ERANGE},
			{Op{Kind: AddDest, Service: tcpSvc, Dest: Destination{DestKey: dest1.DestKey, Method: "DR", Weight: -1}}, syscall.ERANGE},
		}},
		{"mixed family only through a tunnel", []step{
			{Op{Kind: AddService, Service: v6Svc}, nil},
			{Op{Kind: AddDest, Service: v6Svc, Dest: dest1}, syscall.EAFNOSUPPORT},
			{Op{Kind: AddDest, Service: v6Svc, Dest: Destination{DestKey: dest1.DestKey, Method: "TUN"}}, nil},
		}},
		{"fwmark service", []step{
			{Op{Kind: AddService, Service: fwmSvc}, nil},
			{Op{Kind: AddService, Service: Service{ServiceKey: ServiceKey{FWMark: 7, Family: "inet6"}, Sched: "rr", Netmask: 64}}, nil},
			{Op{Kind: AddService, Service: Service{ServiceKey: ServiceKey{FWMark: 7, Family: "inet", Protocol: "UDP"}, Sched: "rr"}}, syscall.EEXIST},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake()
			for i, s := range tt.steps {
				err := f.Apply(ctx, s.op)
				if s.want == nil && err != nil || s.want != nil && !errors.Is(err, s.want) {
					t.Fatalf("step %d %s: err %v, want %v", i, s.op, err, s.want)
				}
			}
		})
	}
}

func TestFakeReadsBackLikeTheKernel(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	for _, op := range []Op{
		{Kind: AddService, Service: fwmSvc},
		{Kind: AddService, Service: tcpSvc},
		{Kind: AddDest, Service: tcpSvc, Dest: Destination{DestKey: DestKey{Addr: netip.MustParseAddr("198.18.1.2"), Port: 80}, Method: "DR"}},
		{Kind: AddDest, Service: tcpSvc, Dest: dest1},
		{Kind: UpdateDest, Service: tcpSvc, Dest: Destination{DestKey: dest1.DestKey, Weight: 9, Method: "NAT"}},
	} {
		if err := f.Apply(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetDestStats(tcpKey, dest1.DestKey, 3, 4, Stats{Conns: 7}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetServiceStats(fwmSvc.ServiceKey, Stats{Conns: 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetServiceStats(v6Svc.ServiceKey, Stats{}); !errors.Is(err, ErrFakeNoService) {
		t.Errorf("stats of a missing service: %v", err)
	}
	got, err := f.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ServiceKey.Canonical() != tcpKey.Canonical() || got[1].FWMark != 7 {
		t.Fatalf("read %+v", got)
	}
	if got[0].Flags&FlagHashed == 0 {
		t.Errorf("services read back are hashed in the kernel")
	}
	if got[1].Protocol != "TCP" || got[1].Family != "inet" || got[1].Stats.Conns != 1 {
		t.Errorf("fwmark service read back as %+v", got[1].ServiceKey)
	}
	d := got[0].Dests
	if len(d) != 2 || d[0].DestKey != dest1.DestKey || d[0].Weight != 9 || d[0].ActiveConns != 3 || d[0].Stats.Conns != 7 {
		t.Errorf("dests %+v", d)
	}
	if n := len(f.Ops()); n != 5 {
		t.Errorf("%d ops logged", n)
	}
}

func TestFakeInjectedErrorsAndClose(t *testing.T) {
	ctx := context.Background()
	f := NewFake(ServiceState{Service: tcpSvc})
	boom := errors.New("boom")
	f.FailApply(func(op Op) error {
		if op.Kind == AddDest {
			return boom
		}
		return nil
	})
	if err := f.Apply(ctx, Op{Kind: AddDest, Service: tcpSvc, Dest: dest1}); !errors.Is(err, boom) {
		t.Errorf("injected: %v", err)
	}
	if err := f.Apply(ctx, Op{Kind: UpdateService, Service: tcpSvc}); err != nil {
		t.Errorf("other ops still work: %v", err)
	}
	if f.Attempts() != 2 || len(f.Ops()) != 1 {
		t.Errorf("attempts %d ops %v", f.Attempts(), f.Ops())
	}
	f.FailRead(syscall.EPERM)
	if _, err := f.Read(ctx); !errors.Is(err, syscall.EPERM) {
		t.Errorf("read: %v", err)
	}
	f.FailRead(nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.Read(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
	_ = f.Close()
	if _, err := f.Read(ctx); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
}
