// Package announce sends the frames a new VRRP master uses to move its
// virtual addresses' neighbour entries over to itself: gratuitous ARP for
// IPv4 and unsolicited neighbour advertisements for IPv6.
//
// Both are built whole (Ethernet header included) and sent through a raw
// AF_PACKET socket (github.com/mdlayher/packet), exactly as keepalived
// does, so they work on any interface that is up: one without an IPv4
// address, or a VMAC without an IPv6 link-local address, and whatever the
// interface's own MAC (the Ethernet source is the mac given).
package announce

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"
)

// allNodes is ff02::1, the destination of an unsolicited NA, and
// allNodesMAC its Ethernet mapping (RFC 2464 section 7).
var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}
)

// Sender sends gratuitous ARPs and unsolicited NAs. It opens its sockets
// lazily, one per interface and protocol, in the network namespace of the
// calling thread at the first send on that interface, and keeps them
// until Close. The interface's name and MAC are looked up then too. A
// send that fails drops the interface's sockets and what was looked up;
// the next send starts afresh. Its methods are serialised, but it is meant for one
// goroutine.
type Sender struct {
	mu  sync.Mutex
	ifs map[int]*iface
}

type iface struct {
	name string
	hw   net.HardwareAddr
	arp  *packet.Conn
	nd   *packet.Conn
}

// NewSender returns a Sender with no socket open yet.
func NewSender() *Sender { return &Sender{ifs: map[int]*iface{}} }

// GARP sends one gratuitous ARP per IPv4 address on the interface, in
// keepalived's form: an ARP request whose sender and target IP are both
// the address, sender hardware address mac, target hardware address
// ff:ff:ff:ff:ff:ff, from Ethernet source mac to the broadcast address.
// A nil mac means the interface's own. Every address is tried; the error
// names each one that failed.
func (s *Sender) GARP(ifindex int, mac net.HardwareAddr, ips []netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc, err := s.iface(ifindex)
	if err != nil {
		return fmt.Errorf("announce: gratuitous ARP on ifindex %d: %w", ifindex, err)
	}
	if mac == nil {
		mac = ifc.hw
	}
	var errs []error
	for _, ip := range ips {
		if err := s.garp(ifindex, ifc, mac, ip); err != nil {
			errs = append(errs, fmt.Errorf("announce: gratuitous ARP for %s on %s: %w", ip, ifc.name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Sender) garp(ifindex int, ifc *iface, mac net.HardwareAddr, ip netip.Addr) error {
	frame, err := GARPFrame(mac, ip)
	if err != nil {
		return err
	}
	if ifc.arp == nil {
		if ifc.arp, err = listen(ifindex, ethernet.EtherTypeARP); err != nil {
			return err
		}
	}
	if _, err := ifc.arp.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast}); err != nil {
		s.drop(ifindex)
		return err
	}
	return nil
}

// NA sends one unsolicited neighbour advertisement per IPv6 address on
// the interface, in keepalived's form: from the address itself to
// ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255, Override set,
// Solicited clear, Router set when the interface forwards IPv6, with a
// target link-layer address option of mac. A nil mac means the
// interface's own. Every address is tried; the error names each one that
// failed.
func (s *Sender) NA(ifindex int, mac net.HardwareAddr, ips []netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ifc, err := s.iface(ifindex)
	if err != nil {
		return fmt.Errorf("announce: neighbour advertisement on ifindex %d: %w", ifindex, err)
	}
	if mac == nil {
		mac = ifc.hw
	}
	router := forwarding(ifc.name)
	var errs []error
	for _, ip := range ips {
		if err := s.na(ifindex, ifc, mac, ip, router); err != nil {
			errs = append(errs, fmt.Errorf("announce: neighbour advertisement for %s on %s: %w", ip, ifc.name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Sender) na(ifindex int, ifc *iface, mac net.HardwareAddr, ip netip.Addr, router bool) error {
	frame, err := NAFrame(mac, ip, router)
	if err != nil {
		return err
	}
	if ifc.nd == nil {
		if ifc.nd, err = listen(ifindex, ethernet.EtherTypeIPv6); err != nil {
			return err
		}
	}
	if _, err := ifc.nd.WriteTo(frame, &packet.Addr{HardwareAddr: allNodesMAC}); err != nil {
		s.drop(ifindex)
		return err
	}
	return nil
}

// Close closes every socket. The Sender may be used again afterwards; it
// reopens what it needs.
func (s *Sender) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for idx, ifc := range s.ifs {
		for _, c := range []*packet.Conn{ifc.arp, ifc.nd} {
			if c != nil {
				if err := c.Close(); err != nil {
					errs = append(errs, fmt.Errorf("announce: close socket of %s: %w", ifc.name, err))
				}
			}
		}
		delete(s.ifs, idx)
	}
	return errors.Join(errs...)
}

// drop closes an interface's sockets and forgets it, so that the next
// send looks it up (name, MAC) and opens its sockets afresh.
func (s *Sender) drop(ifindex int) {
	if ifc, ok := s.ifs[ifindex]; ok {
		for _, c := range []*packet.Conn{ifc.arp, ifc.nd} {
			if c != nil {
				_ = c.Close()
			}
		}
		delete(s.ifs, ifindex)
	}
}

// iface looks the interface up (in the calling thread's namespace) the
// first time it is used.
func (s *Sender) iface(ifindex int) (*iface, error) {
	if ifc, ok := s.ifs[ifindex]; ok {
		return ifc, nil
	}
	ni, err := net.InterfaceByIndex(ifindex)
	if err != nil {
		return nil, err
	}
	ifc := &iface{name: ni.Name, hw: ni.HardwareAddr}
	s.ifs[ifindex] = ifc
	return ifc, nil
}

// dropAll is a socket filter that accepts no frame: these sockets only
// send, and must not queue the traffic of their protocol.
var dropAll = func() []bpf.RawInstruction {
	raw, err := bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}})
	if err != nil {
		panic(err)
	}
	return raw
}()

func listen(ifindex int, proto ethernet.EtherType) (*packet.Conn, error) {
	c, err := packet.Listen(&net.Interface{Index: ifindex}, packet.Raw, int(proto), &packet.Config{Filter: dropAll})
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	return c, nil
}

// forwarding reads whether IPv6 forwarding is on for the interface, which
// sets the Router flag of its advertisements (as keepalived and the kernel
// do: a router that advertises itself as a host loses its default-router
// role at the hosts).
func forwarding(name string) bool {
	for _, p := range []string{name, "all"} {
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + p + "/forwarding")
		if err == nil {
			return strings.TrimSpace(string(b)) != "0"
		}
	}
	return false
}

// GARPFrame builds the gratuitous ARP Ethernet frame for ip (see GARP).
func GARPFrame(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	ip = ip.Unmap()
	if !ip.Is4() {
		return nil, errors.New("not an IPv4 address")
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("invalid Ethernet address %q", mac)
	}
	p, err := arp.NewPacket(arp.OperationRequest, mac, ip, ethernet.Broadcast, ip)
	if err != nil {
		return nil, err
	}
	payload, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := &ethernet.Frame{Destination: ethernet.Broadcast, Source: mac, EtherType: ethernet.EtherTypeARP, Payload: payload}
	return f.MarshalBinary()
}

// NAFrame builds the unsolicited neighbour advertisement Ethernet frame
// for ip (see NA), ICMPv6 checksum included.
func NAFrame(mac net.HardwareAddr, ip netip.Addr, router bool) ([]byte, error) {
	if !ip.Is6() || ip.Is4In6() || ip.IsMulticast() || ip.IsUnspecified() {
		return nil, errors.New("not an IPv6 unicast address")
	}
	ip = ip.WithZone("")
	if len(mac) != 6 {
		return nil, fmt.Errorf("invalid Ethernet address %q", mac)
	}
	msg := &ndp.NeighborAdvertisement{
		Router:        router,
		Override:      true,
		TargetAddress: ip,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(msg, ip, allNodes)
	if err != nil {
		return nil, err
	}
	pkt := make([]byte, 40+len(icmp))
	pkt[0] = 6 << 4               // version 6, traffic class and flow label 0
	pkt[4] = byte(len(icmp) >> 8) // payload length, big-endian
	pkt[5] = byte(len(icmp))
	pkt[6] = 58  // next header: ICMPv6
	pkt[7] = 255 // hop limit, required by RFC 4861
	src, dst := ip.As16(), allNodes.As16()
	copy(pkt[8:24], src[:])
	copy(pkt[24:40], dst[:])
	copy(pkt[40:], icmp)
	f := &ethernet.Frame{Destination: allNodesMAC, Source: mac, EtherType: ethernet.EtherTypeIPv6, Payload: pkt}
	return f.MarshalBinary()
}
