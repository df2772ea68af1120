package announce

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"

	"github.com/vigil-ha/vigil/internal/lab"
)

// ---------------------------------------------------------------------
// Frame layout (no root needed)

func TestGARPFrameBytes(t *testing.T) {
	mac := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x07}
	got, err := GARPFrame(mac, netip.MustParseAddr("198.18.0.100"))
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // Ethernet destination: broadcast
		0x00, 0x00, 0x5e, 0x00, 0x01, 0x07, // source: mac
		0x08, 0x06, // ARP
		0x00, 0x01, 0x08, 0x00, 6, 4, // Ethernet, IPv4, lengths
		0x00, 0x01, // request
		0x00, 0x00, 0x5e, 0x00, 0x01, 0x07, 198, 18, 0, 100, // sender
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 198, 18, 0, 100, // target
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("GARP frame\n got % x\nwant % x", got, want)
	}
	for _, b := range got[len(want):] {
		if b != 0 {
			t.Fatalf("padding not zero: % x", got)
		}
	}
	if _, err := GARPFrame(mac, netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Fatal("GARPFrame of an IPv6 address: want an error")
	}
	if _, err := GARPFrame(nil, netip.MustParseAddr("198.18.0.1")); err == nil {
		t.Fatal("GARPFrame without a MAC: want an error")
	}
}

func TestNAFrameBytes(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x42}
	ip := netip.MustParseAddr("2001:db8::100")
	for _, router := range []bool{false, true} {
		f, err := NAFrame(mac, ip, router)
		if err != nil {
			t.Fatal(err)
		}
		na := checkNA(t, f, mac, ip)
		if na.Router != router {
			t.Fatalf("Router = %v, want %v", na.Router, router)
		}
	}
	for _, bad := range []string{"198.18.0.1", "::ffff:198.18.0.1", "ff02::1", "::"} {
		if _, err := NAFrame(mac, netip.MustParseAddr(bad), false); err == nil {
			t.Fatalf("NAFrame(%s): want an error", bad)
		}
	}
}

// checkNA asserts every field of an unsolicited NA frame and returns it.
func checkNA(t *testing.T, frame []byte, mac net.HardwareAddr, ip netip.Addr) *ndp.NeighborAdvertisement {
	t.Helper()
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil {
		t.Fatal(err)
	}
	if f.EtherType != ethernet.EtherTypeIPv6 || !bytes.Equal(f.Destination, allNodesMAC) || !bytes.Equal(f.Source, mac) {
		t.Fatalf("NA Ethernet header: type %v dst %s src %s, want IPv6 %s %s", f.EtherType, f.Destination, f.Source, allNodesMAC, mac)
	}
	p := f.Payload
	if len(p) < 40 || p[0]>>4 != 6 || p[6] != 58 || p[7] != 255 {
		t.Fatalf("NA IPv6 header: % x", p[:min(40, len(p))])
	}
	plen := int(binary.BigEndian.Uint16(p[4:6]))
	if 40+plen > len(p) {
		t.Fatalf("NA payload length %d beyond the frame (%d)", plen, len(p)-40)
	}
	src, _ := netip.AddrFromSlice(p[8:24])
	dst, _ := netip.AddrFromSlice(p[24:40])
	if src != ip || dst != allNodes {
		t.Fatalf("NA addresses %s -> %s, want %s -> ff02::1", src, dst, ip)
	}
	icmp := p[40 : 40+plen]
	if sum := icmp6Sum(src, dst, icmp); sum != 0xffff {
		t.Fatalf("NA ICMPv6 checksum does not verify (sum %#04x)", sum)
	}
	m, err := ndp.ParseMessage(icmp)
	if err != nil {
		t.Fatal(err)
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok {
		t.Fatalf("ICMPv6 message is %T, want a neighbour advertisement", m)
	}
	if !na.Override || na.Solicited || na.TargetAddress != ip {
		t.Fatalf("NA: override %v solicited %v target %s; want override, unsolicited, %s", na.Override, na.Solicited, na.TargetAddress, ip)
	}
	var tlla net.HardwareAddr
	for _, o := range na.Options {
		if l, ok := o.(*ndp.LinkLayerAddress); ok && l.Direction == ndp.Target {
			tlla = l.Addr
		}
	}
	if !bytes.Equal(tlla, mac) {
		t.Fatalf("NA target link-layer address option %s, want %s", tlla, mac)
	}
	return na
}

// icmp6Sum is the one's complement sum over the pseudo-header and the
// message; 0xffff means the checksum in the message is right.
func icmp6Sum(src, dst netip.Addr, msg []byte) uint16 {
	var b []byte
	s, d := src.As16(), dst.As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, 0, 0, 0, 58)
	b = append(b, msg...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// ---------------------------------------------------------------------
// On the wire, in a lab

type pair struct {
	node, client       *lab.NS
	nodeDev, clientDev string
	frames             chan []byte
}

// newPair builds node and client on one lab switch and starts capturing
// every frame the client's interface receives.
func newPair(t *testing.T) *pair {
	t.Helper()
	l := lab.New(t)
	p := &pair{node: l.Namespace("node"), client: l.Namespace("client")}
	p.nodeDev = l.Connect(p.node, "198.18.0.1/24", "2001:db8::1/64")
	p.clientDev = l.Connect(p.client, "198.18.0.2/24", "2001:db8::2/64")
	var c *packet.Conn
	err := p.client.Do(func() error {
		ifi, err := net.InterfaceByName(p.clientDev)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, 0x0003 /* ETH_P_ALL */, nil)
		return err
	})
	if err != nil {
		t.Fatalf("capture socket in the client namespace: %v", err)
	}
	p.frames = make(chan []byte, 1024)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			select {
			case p.frames <- append([]byte(nil), buf[:n]...):
			default: // a test that stopped reading
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-stopped })
	return p
}

// waitFrame returns the first captured frame match accepts, or fails the
// test after timeout naming what it waited for.
func (p *pair) waitFrame(t *testing.T, what string, timeout time.Duration, match func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		select {
		case f := <-p.frames:
			seen++
			if match(f) {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s reached the client within %v (%d other frames seen)", what, timeout, seen)
			return nil
		}
	}
}

// tryFrame is waitFrame that reports a timeout instead of failing.
func (p *pair) tryFrame(timeout time.Duration, match func([]byte) bool) ([]byte, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case f := <-p.frames:
			if match(f) {
				return f, true
			}
		case <-deadline:
			return nil, false
		}
	}
}

func isARPFor(ip netip.Addr) func([]byte) bool {
	return func(b []byte) bool {
		var f ethernet.Frame
		if f.UnmarshalBinary(b) != nil || f.EtherType != ethernet.EtherTypeARP {
			return false
		}
		var a arp.Packet
		return a.UnmarshalBinary(f.Payload) == nil && a.SenderIP == ip
	}
}

func isNAFor(ip netip.Addr) func([]byte) bool {
	return func(b []byte) bool {
		var f ethernet.Frame
		if f.UnmarshalBinary(b) != nil || f.EtherType != ethernet.EtherTypeIPv6 || len(f.Payload) < 64 {
			return false
		}
		p := f.Payload
		target, _ := netip.AddrFromSlice(p[48:64])
		return p[6] == 58 && p[40] == 136 && target == ip
	}
}

func checkGARP(t *testing.T, frame []byte, mac net.HardwareAddr, ip netip.Addr) {
	t.Helper()
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Destination, ethernet.Broadcast) || !bytes.Equal(f.Source, mac) {
		t.Fatalf("GARP for %s: Ethernet %s -> %s, want %s -> broadcast", ip, f.Source, f.Destination, mac)
	}
	var a arp.Packet
	if err := a.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if a.Operation != arp.OperationRequest || a.SenderIP != ip || a.TargetIP != ip ||
		!bytes.Equal(a.SenderHardwareAddr, mac) || !bytes.Equal(a.TargetHardwareAddr, ethernet.Broadcast) {
		t.Fatalf("GARP for %s: op %v sender %s/%s target %s/%s; want request sender %s/%s target broadcast/%s",
			ip, a.Operation, a.SenderHardwareAddr, a.SenderIP, a.TargetHardwareAddr, a.TargetIP, mac, ip, ip)
	}
}

// waitNeigh polls the client's neighbour table until ip maps to mac.
func (p *pair) waitNeigh(t *testing.T, family, ip string, mac net.HardwareAddr) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		out = p.client.MustRun("ip", family, "neigh", "show", ip, "dev", p.clientDev)
		if strings.Contains(out, "lladdr "+mac.String()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("client neighbour entry for %s not updated to %s within 3s: %q", ip, mac, out)
}

// send runs f with a Sender inside the node namespace (where its sockets
// open) and returns the interface's index and MAC.
func (p *pair) send(t *testing.T, s *Sender, dev string, f func(idx int, mac net.HardwareAddr) error) (int, net.HardwareAddr) {
	t.Helper()
	var idx int
	var mac net.HardwareAddr
	err := p.node.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		idx, mac = ifi.Index, ifi.HardwareAddr
		return f(idx, mac)
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx, mac
}

const staleMAC = "02:00:00:00:00:01"

func TestGARPOnTheWire(t *testing.T) {
	p := newPair(t)
	vips := []netip.Addr{netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.101")}
	p.node.MustRun("ip", "addr", "add", "198.18.0.100/32", "dev", p.nodeDev)
	p.client.MustRun("ip", "neigh", "replace", "198.18.0.100", "lladdr", staleMAC, "dev", p.clientDev, "nud", "stale")

	s := NewSender()
	t.Cleanup(func() { s.Close() })
	start := time.Now()
	idx, mac := p.send(t, s, p.nodeDev, func(idx int, _ net.HardwareAddr) error { return s.GARP(idx, nil, vips) })
	t.Logf("first GARP of %d addresses (opens the socket): %v", len(vips), time.Since(start))
	for _, ip := range vips {
		checkGARP(t, p.waitFrame(t, "gratuitous ARP for "+ip.String(), 3*time.Second, isARPFor(ip)), mac, ip)
	}
	p.waitNeigh(t, "-4", "198.18.0.100", mac)

	// The socket stays open: later sends need not be in the namespace.
	p.client.MustRun("ip", "neigh", "replace", "198.18.0.100", "lladdr", staleMAC, "dev", p.clientDev, "nud", "stale")
	start = time.Now()
	if err := s.GARP(idx, mac, vips[:1]); err != nil {
		t.Fatal(err)
	}
	t.Logf("GARP on an open socket: %v", time.Since(start))
	checkGARP(t, p.waitFrame(t, "second gratuitous ARP", 3*time.Second, isARPFor(vips[0])), mac, vips[0])
	p.waitNeigh(t, "-4", "198.18.0.100", mac)

	// A bad address is reported by name and does not stop the others.
	err := s.GARP(idx, mac, []netip.Addr{netip.MustParseAddr("2001:db8::5"), vips[1]})
	if err == nil || !strings.Contains(err.Error(), "2001:db8::5") {
		t.Fatalf("GARP of an IPv6 address: err = %v, want one naming it", err)
	}
	checkGARP(t, p.waitFrame(t, "gratuitous ARP after a bad address", 3*time.Second, isARPFor(vips[1])), mac, vips[1])

	// A failed send (interface down) drops the socket; it is reopened
	// once the interface is back.
	p.node.MustRun("ip", "link", "set", p.nodeDev, "down")
	if err := s.GARP(idx, mac, vips[:1]); err == nil {
		t.Fatal("GARP on a down interface: want an error")
	}
	p.node.MustRun("ip", "link", "set", p.nodeDev, "up")
	// The lab switch's port may drop frames for a moment after the link
	// comes back, so send until one gets through.
	deadline := time.Now().Add(3 * time.Second)
	for {
		p.send(t, s, p.nodeDev, func(idx int, mac net.HardwareAddr) error { return s.GARP(idx, mac, vips[:1]) })
		if f, ok := p.tryFrame(200*time.Millisecond, isARPFor(vips[0])); ok {
			checkGARP(t, f, mac, vips[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no gratuitous ARP reached the client within 3s of the interface coming back")
		}
	}
}

func TestNAOnTheWire(t *testing.T) {
	p := newPair(t)
	vip := netip.MustParseAddr("2001:db8::100")
	p.node.MustRun("ip", "-6", "addr", "add", "2001:db8::100/128", "dev", p.nodeDev, "nodad")
	p.client.MustRun("ip", "-6", "neigh", "replace", "2001:db8::100", "lladdr", staleMAC, "dev", p.clientDev, "nud", "stale")

	s := NewSender()
	t.Cleanup(func() { s.Close() })
	_, mac := p.send(t, s, p.nodeDev, func(idx int, _ net.HardwareAddr) error { return s.NA(idx, nil, []netip.Addr{vip}) })
	na := checkNA(t, p.waitFrame(t, "neighbour advertisement for "+vip.String(), 3*time.Second, isNAFor(vip)), mac, vip)
	if na.Router {
		t.Fatal("Router flag set on a host that does not forward IPv6")
	}
	// The client's kernel accepted it (checksum, hop limit, ...) and
	// moved its entry over.
	p.waitNeigh(t, "-6", "2001:db8::100", mac)

	// With forwarding on, the Router flag follows.
	p.node.MustRun("sysctl", "-qw", "net.ipv6.conf."+p.nodeDev+".forwarding=1")
	p.send(t, s, p.nodeDev, func(idx int, mac net.HardwareAddr) error { return s.NA(idx, mac, []netip.Addr{vip}) })
	na = checkNA(t, p.waitFrame(t, "neighbour advertisement with forwarding on", 3*time.Second, isNAFor(vip)), mac, vip)
	if !na.Router {
		t.Fatal("Router flag clear on an interface that forwards IPv6")
	}

	if err := s.NA(1, mac, []netip.Addr{netip.MustParseAddr("198.18.0.1")}); err == nil || !strings.Contains(err.Error(), "198.18.0.1") {
		t.Fatalf("NA of an IPv4 address: err = %v, want one naming it", err)
	}
}

// TestFromVMAC sends from a VMAC interface that has no IPv4 address and no
// IPv6 link-local address (the case mdlayher/arp and mdlayher/ndp's own
// sockets cannot serve): the frames carry the VMAC.
func TestFromVMAC(t *testing.T) {
	p := newPair(t)
	vmac4 := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x01, 0x09}
	vmac6 := net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, 0x02, 0x09}
	p.node.MustRun("ip", "link", "add", "link", p.nodeDev, "name", "vrrp.9", "address", vmac4.String(), "type", "macvlan", "mode", "private")
	p.node.MustRun("ip", "link", "set", "vrrp.9", "addrgenmode", "none")
	p.node.MustRun("ip", "link", "set", "vrrp.9", "up")
	if out := p.node.MustRun("ip", "-o", "addr", "show", "dev", "vrrp.9"); strings.TrimSpace(out) != "" {
		t.Fatalf("the VMAC should have no address at all:\n%s", out)
	}
	v4 := netip.MustParseAddr("198.18.0.109")
	v6 := netip.MustParseAddr("2001:db8::109")
	p.client.MustRun("ip", "neigh", "replace", v4.String(), "lladdr", staleMAC, "dev", p.clientDev, "nud", "stale")
	p.client.MustRun("ip", "-6", "neigh", "replace", v6.String(), "lladdr", staleMAC, "dev", p.clientDev, "nud", "stale")

	s := NewSender()
	t.Cleanup(func() { s.Close() })
	_, own := p.send(t, s, "vrrp.9", func(idx int, _ net.HardwareAddr) error {
		if err := s.GARP(idx, nil, []netip.Addr{v4}); err != nil {
			return err
		}
		return s.NA(idx, vmac6, []netip.Addr{v6})
	})
	if !bytes.Equal(own, vmac4) {
		t.Fatalf("VMAC interface has MAC %s, want %s", own, vmac4)
	}
	checkGARP(t, p.waitFrame(t, "gratuitous ARP from the VMAC", 3*time.Second, isARPFor(v4)), vmac4, v4)
	checkNA(t, p.waitFrame(t, "neighbour advertisement from the VMAC", 3*time.Second, isNAFor(v6)), vmac6, v6)
	p.waitNeigh(t, "-4", v4.String(), vmac4)
	p.waitNeigh(t, "-6", v6.String(), vmac6)
}
