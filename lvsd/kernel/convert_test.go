package kernel

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// TestNewWithoutIPVS is the host's half of "detect and report": this
// machine's kernel has no IPVS, and New must say so with ErrNoIPVS
// instead of handing out a backend that reads an empty table.
func TestNewWithoutIPVS(t *testing.T) {
	if _, err := os.Stat(procIPVS); err == nil {
		t.Skipf("%s exists: this kernel has IPVS, the VM tests cover it", procIPVS)
	}
	b, err := New()
	if err == nil {
		b.Close()
		t.Fatal("New succeeded on a kernel without IPVS")
	}
	if !errors.Is(err, ipvs.ErrNoIPVS) {
		t.Fatalf("New = %v, want an error wrapping ipvs.ErrNoIPVS", err)
	}
	t.Logf("New: %v", err)
}

// TestNewMissingProcFile checks the first gate alone, on any kernel.
func TestNewMissingProcFile(t *testing.T) {
	_, err := newBackend(options{procPath: "/nonexistent/proc/net/ip_vs"})
	if !errors.Is(err, ipvs.ErrNoIPVS) {
		t.Fatalf("newBackend = %v, want an error wrapping ipvs.ErrNoIPVS", err)
	}
}

func TestConvertServiceRoundTrip(t *testing.T) {
	for _, s := range []ipvs.Service{
		{ServiceKey: ipvs.ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.1"), Port: 80, Family: "inet"}, Sched: "wlc", Netmask: 0xffffffff},
		{ServiceKey: ipvs.ServiceKey{Protocol: "UDP", Addr: netip.MustParseAddr("198.18.0.2"), Port: 53, Family: "inet"}, Sched: "sh",
			Flags: ipvs.FlagPersistent | ipvs.FlagSched1 | ipvs.FlagSched2, Timeout: 300, Netmask: 0xffffff00},
		{ServiceKey: ipvs.ServiceKey{Protocol: "SCTP", Addr: netip.MustParseAddr("2001:db8::1"), Port: 3868, Family: "inet6"}, Sched: "mh", Netmask: 64},
		{ServiceKey: ipvs.ServiceKey{FWMark: 7, Family: "inet"}, Sched: "rr", Netmask: 0xffff0000},
		{ServiceKey: ipvs.ServiceKey{FWMark: 8, Family: "inet6"}, Sched: "rr", Netmask: 128},
	} {
		m, err := serviceToMoby(s)
		if err != nil {
			t.Fatalf("serviceToMoby(%v): %v", s.ServiceKey, err)
		}
		m.Flags |= ipvs.FlagHashed // as the kernel reports it
		got, err := serviceFromMoby(m)
		if err != nil {
			t.Fatalf("serviceFromMoby(%v): %v", s.ServiceKey, err)
		}
		if got != s {
			t.Errorf("round trip:\n got  %+v\n want %+v", got, s)
		}
	}
}

// TestNetmaskWireOrder pins the byte order moby puts on the wire: the
// kernel reads an IPv4 netmask as __be32, moby writes host order.
func TestNetmaskWireOrder(t *testing.T) {
	m, err := serviceToMoby(ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.1"), Port: 80}, Sched: "rr", Netmask: 0xffffff00})
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], m.Netmask) // what nl.Uint32Attr sends
	if b != [4]byte{255, 255, 255, 0} {
		t.Fatalf("netmask attribute bytes %v, want 255.255.255.0 in network order", b)
	}
	if netmaskFromMoby(syscall.AF_INET, m.Netmask) != 0xffffff00 {
		t.Fatalf("netmask does not round-trip: %#x", m.Netmask)
	}
}

func TestConvertDestRoundTrip(t *testing.T) {
	for _, d := range []ipvs.Destination{
		{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr("198.18.1.1"), Port: 8080}, Weight: 1, Method: "NAT"},
		{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr("198.18.1.2"), Port: 80}, Weight: 0, Method: "DR", UThreshold: 100, LThreshold: 10},
		{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr("198.18.1.3")}, Weight: MaxWeight, Method: "TUN"},
	} {
		m, err := destToMoby(syscall.AF_INET, d)
		if err != nil {
			t.Fatalf("destToMoby(%v): %v", d.DestKey, err)
		}
		m.ActiveConnections, m.InactiveConnections, m.Stats.Connections, m.Stats.CPS = 3, 4, 5, 6
		got, err := destFromMoby(m)
		if err != nil {
			t.Fatal(err)
		}
		want := ipvs.DestState{Destination: d, ActiveConns: 3, InactiveConns: 4, Stats: ipvs.Stats{Conns: 5, CPS: 6}}
		if got != want {
			t.Errorf("round trip:\n got  %+v\n want %+v", got, want)
		}
	}
	if got := methodFromMoby(mipvs.ConnectionFlagLocalNode); got != "LOCAL" {
		t.Errorf("local node method read as %q", got)
	}
}

// TestConvertRefuses lists what the backend must refuse with a message
// rather than send: bad input and what moby v1.1.0 cannot express.
func TestConvertRefuses(t *testing.T) {
	v4 := ipvs.ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.1"), Port: 80}
	for _, c := range []struct {
		name string
		svc  ipvs.Service
		want string
	}{
		{"no address", ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "TCP", Port: 80}, Sched: "rr"}, "neither an address"},
		{"bad protocol", ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "ICMP", Addr: v4.Addr}, Sched: "rr"}, "unknown protocol"},
		{"family mismatch", ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "TCP", Addr: v4.Addr, Family: "inet6"}, Sched: "rr"}, "does not match"},
		{"bad fwmark family", ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: 1, Family: "ipx"}, Sched: "rr"}, "unknown address family"},
		{"no scheduler", ipvs.Service{ServiceKey: v4}, "no scheduler"},
		{"pe", ipvs.Service{ServiceKey: v4, Sched: "rr", PEName: "sip"}, "moby/ipvs v1.1.0"},
		{"v6 netmask", ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: 1, Family: "inet6"}, Sched: "rr", Netmask: 0xffffff00}, "prefix length"},
	} {
		if _, err := serviceToMoby(c.svc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: serviceToMoby = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		d    ipvs.Destination
		want string
	}{
		{"no address", ipvs.Destination{Weight: 1, Method: "NAT"}, "no address"},
		{"other family", ipvs.Destination{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr("2001:db8::2")}, Method: "TUN"}, "moby/ipvs v1.1.0"},
		{"negative weight", ipvs.Destination{DestKey: ipvs.DestKey{Addr: v4.Addr}, Weight: -1, Method: "NAT"}, "out of range"},
		{"weight over 16 bits", ipvs.Destination{DestKey: ipvs.DestKey{Addr: v4.Addr}, Weight: MaxWeight + 1, Method: "NAT"}, "16 bits"},
		{"no method", ipvs.Destination{DestKey: ipvs.DestKey{Addr: v4.Addr}, Weight: 1}, "forwarding method"},
		{"local", ipvs.Destination{DestKey: ipvs.DestKey{Addr: v4.Addr}, Weight: 1, Method: "LOCAL"}, "forwarding method"},
	} {
		if _, err := destToMoby(syscall.AF_INET, c.d); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: destToMoby = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{syscall.EEXIST, false},
		{syscall.ESRCH, false},
		{syscall.EINVAL, false},
		{ipvs.ErrNoIPVS, false},
		{syscall.ENOENT, true},
		{syscall.EBADF, true},
		{syscall.ENOBUFS, true},
		{errors.New("Socket got closed on receive"), true},
	} {
		if got := transient(c.err); got != c.want {
			t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
