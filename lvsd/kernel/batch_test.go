package kernel

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	_ "unsafe" // for go:linkname

	mipvs "github.com/moby/ipvs"
	"github.com/vishvananda/netlink/nl"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// moby/ipvs v1.1.0's own request builders (netlink_linux.go), linked so
// that the fast path's bytes are compared with moby's, not with a copy.

//go:linkname mobyNewGenlRequest github.com/moby/ipvs.newGenlRequest
func mobyNewGenlRequest(familyID int, cmd uint8) *nl.NetlinkRequest

//go:linkname mobyFillService github.com/moby/ipvs.fillService
func mobyFillService(s *mipvs.Service) nl.NetlinkRequestData

//go:linkname mobyFillDestination github.com/moby/ipvs.fillDestination
func mobyFillDestination(d *mipvs.Destination) nl.NetlinkRequestData

// mobyRequest is the request moby's doCmd sends for (s, d, cmd).
func mobyRequest(family int, seq uint32, cmd uint8, s *mipvs.Service, d *mipvs.Destination) []byte {
	req := mobyNewGenlRequest(family, cmd)
	req.Seq = seq
	req.AddData(mobyFillService(s))
	if d != nil {
		req.AddData(mobyFillDestination(d))
	}
	return req.Serialize()
}

// TestRequestBytesMatchMoby encodes every kind of op on every entry of the
// guest table (all schedulers, methods, fwmark and IPv6 services,
// persistence, flags, thresholds) and compares the bytes with moby's.
func TestRequestBytesMatchMoby(t *testing.T) {
	const family, seq = 0x2a, 0x01020304
	var ops []ipvs.Op
	for _, e := range guestTable() {
		ops = append(ops, ipvs.Op{Kind: ipvs.AddService, Service: e.svc}, ipvs.Op{Kind: ipvs.UpdateService, Service: e.svc})
		for _, d := range e.dests {
			ops = append(ops,
				ipvs.Op{Kind: ipvs.AddDest, Service: e.svc, Dest: d},
				ipvs.Op{Kind: ipvs.UpdateDest, Service: e.svc, Dest: d},
				ipvs.Op{Kind: ipvs.DelDest, Service: e.svc, Dest: d})
		}
		ops = append(ops, ipvs.Op{Kind: ipvs.DelService, Service: e.svc})
	}
	for _, op := range ops {
		r, err := toRequest(op)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		got := appendRequest(nil, family, seq, r.cmd, r.svc, r.dst)
		want := mobyRequest(family, seq, r.cmd, r.svc, r.dst)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s (cmd %d):\n got  % x\n want % x", op, r.cmd, got, want)
		}
	}
	// What the model refuses but the encoder must still get right: a
	// persistence engine, an odd-length scheduler name, a mapped address.
	s := &mipvs.Service{AddressFamily: syscall.AF_INET, Protocol: protoUDP, Address: net.ParseIP("198.18.0.1"),
		Port: 5060, SchedName: "lblcr", PEName: "sip", Flags: 1, Timeout: 30, Netmask: 0xffffffff}
	d := &mipvs.Destination{Address: net.ParseIP("198.18.1.1"), Port: 5060, Weight: 70000, ConnectionFlags: 0x13}
	for _, cmd := range []uint8{ipvsCmdNewService, ipvsCmdNewDest} {
		dd := d
		if cmd == ipvsCmdNewService {
			dd = nil
		}
		if got, want := appendRequest(nil, family, seq, cmd, s, dd), mobyRequest(family, seq, cmd, s, dd); !bytes.Equal(got, want) {
			t.Fatalf("cmd %d:\n got  % x\n want % x", cmd, got, want)
		}
	}
}

// TestRequestsConcatenate checks that requests appended one after another
// stay each aligned and self-delimiting, as netlink_rcv_skb walks them.
func TestRequestsConcatenate(t *testing.T) {
	var buf []byte
	var lens []int
	for i, e := range guestTable() {
		r, err := toRequest(ipvs.Op{Kind: ipvs.AddDest, Service: e.svc, Dest: e.dests[0]})
		if err != nil {
			t.Fatal(err)
		}
		before := len(buf)
		buf = appendRequest(buf, 0x2a, uint32(i), r.cmd, r.svc, r.dst)
		lens = append(lens, len(buf)-before)
	}
	for i, l := range lens {
		if l%4 != 0 || int(native.Uint32(buf)) != l || native.Uint32(buf[8:]) != uint32(i) {
			t.Fatalf("request %d: length %d, header says %d, seq %d", i, l, native.Uint32(buf), native.Uint32(buf[8:]))
		}
		buf = buf[l:]
	}
}
