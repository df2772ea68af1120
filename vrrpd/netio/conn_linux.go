package netio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/vrrpd/packet"
)

const (
	hopLimit = packet.TTL // the only TTL / hop limit VRRP accepts
	tos      = 0xc0       // precedence "internetwork control", as keepalived
	// checksumOffset is where the VRRP checksum sits in the message; the
	// IPv6 kernel fills it in and verifies it there.
	checksumOffset = 6
	// ipv6MulticastAll is IPV6_MULTICAST_ALL (Linux 4.20).
	ipv6MulticastAll = 29
	// drainLimit bounds how many packets Listen discards that arrived
	// before the socket options were in place.
	drainLimit = 1024
)

// Packet is one received VRRP packet with what the IP layer said about it.
type Packet struct {
	IfIndex  int        // the interface it arrived on
	Src, Dst netip.Addr // without zone; IfIndex is the link
	TTL      uint8      // IPv4 TTL or IPv6 hop limit, from ancillary data
	Payload  []byte     // the VRRP message (no IP header); valid until the next Recv
}

// Conn is a raw VRRP socket for one address family, shared by all
// instances on all interfaces. Send, Join, Leave and Close may be called
// concurrently with each other and with a Recv; concurrent Recv calls are
// serialized.
type Conn struct {
	family int
	ipc    *net.IPConn
	rc     syscall.RawConn
	p4     *ipv4.PacketConn // family 4
	p6     *ipv6.PacketConn // family 6

	mu     sync.Mutex
	groups map[membership]struct{} // joined (ifindex, group); Recv filters IPv6 by it

	recvMu sync.Mutex
	oob    []byte // control message buffer, guarded by recvMu
}

type membership struct {
	ifindex int
	group   netip.Addr
}

// Listen opens the raw VRRP socket of family 4 (IPv4) or 6 (IPv6), with
// TTL / hop limit 255, TOS / traffic class 0xc0, multicast loopback off and
// reception of the interface, destination and TTL of every packet. It
// joins no group.
func Listen(family int) (*Conn, error) {
	var network, laddr string
	switch family {
	case 4:
		network, laddr = "ip4:"+strconv.Itoa(packet.Protocol), "0.0.0.0"
	case 6:
		network, laddr = "ip6:"+strconv.Itoa(packet.Protocol), "::"
	default:
		return nil, fmt.Errorf("netio: listen: address family %d is neither 4 nor 6", family)
	}
	pc, err := net.ListenPacket(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("netio: listen %s: %w", network, err)
	}
	ipc := pc.(*net.IPConn)
	c := &Conn{family: family, ipc: ipc, groups: map[membership]struct{}{}}
	if c.rc, err = ipc.SyscallConn(); err != nil {
		ipc.Close()
		return nil, fmt.Errorf("netio: listen %s: %w", network, err)
	}
	if family == 4 {
		err = c.setup4()
	} else {
		err = c.setup6()
	}
	if err == nil {
		err = c.drain()
	}
	if err != nil {
		ipc.Close()
		return nil, fmt.Errorf("netio: listen %s: %w", network, err)
	}
	return c, nil
}

func (c *Conn) setup4() error {
	p := ipv4.NewPacketConn(c.ipc)
	c.p4 = p
	c.oob = ipv4.NewControlMessage(ipv4.FlagTTL | ipv4.FlagDst | ipv4.FlagInterface)
	steps := []struct {
		what string
		f    func() error
	}{
		{"set TTL 255", func() error { return p.SetTTL(hopLimit) }},
		{"set multicast TTL 255", func() error { return p.SetMulticastTTL(hopLimit) }},
		{"set TOS 0xc0", func() error { return p.SetTOS(tos) }},
		{"turn multicast loopback off", func() error { return p.SetMulticastLoopback(false) }},
		{"turn IP_MULTICAST_ALL off", func() error {
			return c.setsockopt(unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
		}},
		{"request IP_PKTINFO and IP_RECVTTL", func() error {
			return p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
		}},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func (c *Conn) setup6() error {
	p := ipv6.NewPacketConn(c.ipc)
	c.p6 = p
	c.oob = ipv6.NewControlMessage(ipv6.FlagHopLimit | ipv6.FlagDst | ipv6.FlagInterface)
	steps := []struct {
		what string
		f    func() error
	}{
		{"set IPV6_CHECKSUM offset 6", func() error { return p.SetChecksum(true, checksumOffset) }},
		{"set hop limit 255", func() error { return p.SetHopLimit(hopLimit) }},
		{"set multicast hop limit 255", func() error { return p.SetMulticastHopLimit(hopLimit) }},
		{"set traffic class 0xc0", func() error { return p.SetTrafficClass(tos) }},
		{"turn multicast loopback off", func() error { return p.SetMulticastLoopback(false) }},
		{"turn IPV6_MULTICAST_ALL off", func() error {
			err := c.setsockopt(unix.IPPROTO_IPV6, ipv6MulticastAll, 0)
			if errors.Is(err, unix.ENOPROTOOPT) {
				return nil // older kernel; Recv filters by membership anyway
			}
			return err
		}},
		{"request IPV6_RECVPKTINFO and IPV6_RECVHOPLIMIT", func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
		}},
	}
	for _, s := range steps {
		if err := s.f(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	return nil
}

func (c *Conn) setsockopt(level, opt, value int) error {
	var serr error
	if err := c.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), level, opt, value)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt", serr)
}

// drain discards what the socket queued before its options were set: such
// packets lack the control messages (a TTL of 0 would read as a forged
// packet) and may belong to groups other sockets joined.
func (c *Conn) drain() error {
	buf := make([]byte, 1<<16)
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		for range drainLimit {
			_, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if rerr != nil {
				break
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if rerr != nil && rerr != unix.EAGAIN && rerr != unix.EINTR {
		return os.NewSyscallError("recvfrom", rerr)
	}
	return nil
}

// Join makes the socket a member of the multicast group on the interface,
// so Recv returns the group's packets arriving there.
func (c *Conn) Join(ifindex int, group netip.Addr) error {
	if err := c.checkGroup(ifindex, group); err != nil {
		return fmt.Errorf("netio: join %s on ifindex %d: %w", group, ifindex, err)
	}
	group = group.Unmap().WithZone("") // the interface is ifindex
	c.mu.Lock()
	defer c.mu.Unlock()
	ifi, ga := &net.Interface{Index: ifindex}, &net.IPAddr{IP: group.AsSlice()}
	var err error
	if c.family == 4 {
		err = c.p4.JoinGroup(ifi, ga)
	} else {
		err = c.p6.JoinGroup(ifi, ga)
	}
	if err != nil {
		return fmt.Errorf("netio: join %s on ifindex %d: %w", group, ifindex, err)
	}
	c.groups[membership{ifindex, group}] = struct{}{}
	return nil
}

// Leave ends the membership Join started.
func (c *Conn) Leave(ifindex int, group netip.Addr) error {
	if err := c.checkGroup(ifindex, group); err != nil {
		return fmt.Errorf("netio: leave %s on ifindex %d: %w", group, ifindex, err)
	}
	group = group.Unmap().WithZone("") // the interface is ifindex
	c.mu.Lock()
	defer c.mu.Unlock()
	ifi, ga := &net.Interface{Index: ifindex}, &net.IPAddr{IP: group.AsSlice()}
	var err error
	if c.family == 4 {
		err = c.p4.LeaveGroup(ifi, ga)
	} else {
		err = c.p6.LeaveGroup(ifi, ga)
	}
	delete(c.groups, membership{ifindex, group})
	if err != nil {
		return fmt.Errorf("netio: leave %s on ifindex %d: %w", group, ifindex, err)
	}
	return nil
}

func (c *Conn) checkGroup(ifindex int, group netip.Addr) error {
	if ifindex <= 0 {
		return errors.New("no interface index")
	}
	if !c.sameFamily(group) || !group.IsMulticast() {
		return fmt.Errorf("not an IPv%d multicast group", c.family)
	}
	return nil
}

func (c *Conn) sameFamily(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && (a.Is4() == (c.family == 4))
}

// Send sends one VRRP message out of the interface, from src (which must
// be an address of this host; the invalid Addr lets the kernel choose) to
// dst, a multicast group or a unicast peer. The kernel builds the IP
// header with TTL / hop limit 255; on IPv6 it also writes the checksum.
func (c *Conn) Send(ifindex int, src, dst netip.Addr, payload []byte) error {
	if ifindex <= 0 {
		return fmt.Errorf("netio: send to %s from %s: no interface index", dst, src)
	}
	if !c.sameFamily(dst) || (src.IsValid() && !c.sameFamily(src)) {
		return fmt.Errorf("netio: send to %s from %s on ifindex %d: not IPv%d addresses", dst, src, ifindex, c.family)
	}
	src, dst = src.Unmap(), dst.Unmap()
	// No zone on dst: x/net would resolve a zone name through the
	// interfaces of the calling thread's namespace. The interface travels
	// in the PKTINFO control message instead, which scopes link-local
	// destinations too.
	to := &net.IPAddr{IP: dst.AsSlice()}
	var srcIP net.IP
	if src.IsValid() {
		srcIP = src.WithZone("").AsSlice()
	}
	var n int
	var err error
	if c.family == 4 {
		n, err = c.p4.WriteTo(payload, &ipv4.ControlMessage{IfIndex: ifindex, Src: srcIP}, to)
	} else {
		n, err = c.p6.WriteTo(payload, &ipv6.ControlMessage{IfIndex: ifindex, Src: srcIP}, to)
	}
	if err == nil && n != len(payload) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(payload))
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			err = net.ErrClosed
		}
		return fmt.Errorf("netio: send to %s from %s on ifindex %d: %w", dst, src, ifindex, err)
	}
	return nil
}

// Recv blocks until a packet arrives and returns it, its payload in buf.
// buf should hold the largest packet expected plus, on IPv4, its IP header
// (up to 60 bytes); a longer packet is cut short (the codec reports it as
// truncated). Malformed packets are returned as they are, for the caller
// to decode and count. Multicast arrives only for groups this Conn joined
// on the arrival interface (IPv4: the kernel filters; IPv6: Recv skips
// the rest). After Close, Recv returns net.ErrClosed; after any other
// error the socket is still usable and Recv may be called again.
func (c *Conn) Recv(buf []byte) (Packet, error) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	for {
		p, ok, err := c.recvOne(buf)
		if err != nil {
			return Packet{}, err
		}
		if ok {
			return p, nil
		}
	}
}

// recvOne reads one packet; ok is false when it is to be skipped.
func (c *Conn) recvOne(buf []byte) (p Packet, ok bool, err error) {
	var n, oobn int
	var from unix.Sockaddr
	var rerr error
	err = c.rc.Read(func(fd uintptr) bool {
		n, oobn, _, from, rerr = unix.Recvmsg(int(fd), buf, c.oob, 0)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err == nil && rerr != nil {
		err = os.NewSyscallError("recvmsg", rerr)
	}
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return p, false, net.ErrClosed
		}
		return p, false, fmt.Errorf("netio: recv: %w", err)
	}
	switch sa := from.(type) {
	case *unix.SockaddrInet4:
		p.Src = netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		p.Src = netip.AddrFrom16(sa.Addr) // no zone: IfIndex carries the link
	}
	if c.family == 4 {
		var cm ipv4.ControlMessage
		if oobn > 0 {
			if err := cm.Parse(c.oob[:oobn]); err != nil {
				return p, false, fmt.Errorf("netio: recv: control message: %w", err)
			}
		}
		p.IfIndex, p.TTL = cm.IfIndex, uint8(cm.TTL)
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			p.Dst = d.Unmap()
		}
		// The kernel hands an IPv4 raw socket the whole datagram; the IHL
		// says where VRRP starts. It never delivers a short header, but a
		// tiny buf could cut one.
		p.Payload = buf[:0]
		if n > 0 {
			if ihl := int(buf[0]&0x0f) * 4; ihl >= 20 && ihl <= n {
				p.Payload = buf[ihl:n]
			} else {
				p.Payload = buf[n:n]
			}
		}
	} else {
		var cm ipv6.ControlMessage
		if oobn > 0 {
			if err := cm.Parse(c.oob[:oobn]); err != nil {
				return p, false, fmt.Errorf("netio: recv: control message: %w", err)
			}
		}
		p.IfIndex, p.TTL = cm.IfIndex, uint8(cm.HopLimit)
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			p.Dst = d
		}
		p.Payload = buf[:n]
	}
	// The kernel filters IPv4 multicast by this socket's memberships
	// (IP_MULTICAST_ALL off) but not IPv6: a raw IPv6 socket bound to ::
	// gets every group any socket joined, on every interface.
	if c.family == 6 && p.Dst.IsMulticast() {
		c.mu.Lock()
		_, joined := c.groups[membership{p.IfIndex, p.Dst}]
		c.mu.Unlock()
		if !joined {
			return p, false, nil
		}
	}
	return p, true, nil
}

// Close closes the socket; a blocked Recv returns net.ErrClosed.
func (c *Conn) Close() error {
	if err := c.ipc.Close(); err != nil {
		return fmt.Errorf("netio: close: %w", err)
	}
	return nil
}
