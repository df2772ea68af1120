package netio

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/vrrpd/packet"
)

const (
	// arrive bounds the wait for a packet that must come; it only matters
	// when a test fails.
	arrive = 5 * time.Second
	// absent is how long a test waits to prove that a packet does NOT
	// arrive. Absence has no event to wait for (the kernel never tells a
	// socket that it filtered a packet away), so a bounded wait is the
	// only proof. Every absence check comes after a control socket has
	// already received the same or a later packet; the kernel hands a
	// datagram to all matching raw sockets in one pass, so by then the
	// packet would already be queued. The wait is a generous margin.
	absent = 300 * time.Millisecond
)

// setReadDeadline bounds Recv, so a test can prove that nothing arrives.
func (c *Conn) setReadDeadline(t time.Time) error { return c.ipc.SetReadDeadline(t) }

// node is one lab namespace with one interface on a lab switch.
type node struct {
	ns      *lab.NS
	ifname  string
	ifindex int
	v4      netip.Addr // its 198.18.0.0/15 address
	ll      netip.Addr // its link-local IPv6 address (no zone)
}

// attach connects ns to l's switch with the given addresses (v4 "" for
// none; ll "" for none; both without prefix length).
func attach(t *testing.T, l *lab.Lab, ns *lab.NS, v4, ll string) node {
	t.Helper()
	n := node{ns: ns, ifname: l.Connect(ns)}
	if v4 != "" {
		ns.AddAddr(n.ifname, v4+"/24")
		n.v4 = netip.MustParseAddr(v4)
	}
	if ll != "" {
		ns.AddAddr(n.ifname, ll+"/64") // nodad: usable at once
		n.ll = netip.MustParseAddr(ll)
	}
	if err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(n.ifname)
		if err != nil {
			return err
		}
		n.ifindex = ifi.Index
		return nil
	}); err != nil {
		t.Fatalf("%s: interface index of %s: %v", ns.Role, n.ifname, err)
	}
	return n
}

// listen opens a Conn inside ns; it is closed when the test ends.
func listen(t *testing.T, ns *lab.NS, family int) *Conn {
	t.Helper()
	var c *Conn
	if err := ns.Do(func() (err error) { c, err = Listen(family); return err }); err != nil {
		t.Fatalf("%s: Listen(%d): %v", ns.Role, family, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func join(t *testing.T, c *Conn, n node, group netip.Addr) {
	t.Helper()
	if err := c.Join(n.ifindex, group); err != nil {
		t.Fatalf("%s: %v", n.ns.Role, err)
	}
}

func send(t *testing.T, c *Conn, n node, src, dst netip.Addr, payload []byte) {
	t.Helper()
	if err := c.Send(n.ifindex, src, dst, payload); err != nil {
		t.Fatalf("%s: %v", n.ns.Role, err)
	}
}

// recvWithin returns the next packet, its payload copied, or ok=false
// when nothing came within d.
func recvWithin(t *testing.T, c *Conn, d time.Duration) (p Packet, ok bool) {
	t.Helper()
	if err := c.setReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	defer c.setReadDeadline(time.Time{})
	buf := make([]byte, 1<<16)
	p, err := c.Recv(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return Packet{}, false
	}
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	p.Payload = bytes.Clone(p.Payload)
	return p, true
}

// mustRecv is recvWithin that fails the test when nothing arrives.
func mustRecv(t *testing.T, c *Conn, who string) Packet {
	t.Helper()
	p, ok := recvWithin(t, c, arrive)
	if !ok {
		t.Fatalf("%s received nothing within %v", who, arrive)
	}
	return p
}

// deliver sends msg until rc receives it (at most 20 tries, 250 ms
// apart): a lab link that was just built may drop its first frames, and a
// single lost multicast must not fail a test about something else. Late
// duplicates of msg are then drained; anything else that arrives is
// returned to the caller's checks by failing here.
func deliver(t *testing.T, sc *Conn, n node, src, dst netip.Addr, msg []byte, rc *Conn, who string) Packet {
	t.Helper()
	for try := 0; try < 20; try++ {
		send(t, sc, n, src, dst, msg)
		p, ok := recvWithin(t, rc, 250*time.Millisecond)
		if !ok {
			continue
		}
		if p.Src == src && bytes.Equal(p.Payload, msg) {
			for {
				q, more := recvWithin(t, rc, 300*time.Millisecond)
				if !more {
					break
				}
				if q.Src != src || !bytes.Equal(q.Payload, msg) {
					t.Fatalf("%s received an unexpected packet: ifindex %d %s -> %s", who, q.IfIndex, q.Src, q.Dst)
				}
			}
		}
		return p
	}
	t.Fatalf("%s received nothing in 20 sends over 5 s", who)
	return Packet{}
}

// mustNotRecv proves that nothing (more) arrives.
func mustNotRecv(t *testing.T, c *Conn, who, why string) {
	t.Helper()
	if p, ok := recvWithin(t, c, absent); ok {
		t.Fatalf("%s received a packet it must not (%s): ifindex %d %s -> %s ttl %d payload %x",
			who, why, p.IfIndex, p.Src, p.Dst, p.TTL, p.Payload)
	}
}

func v3Advert(vrid uint8, vip string) *packet.Advert {
	return &packet.Advert{Version: 3, VRID: vrid, Priority: 150, Interval: 100,
		Addrs: []netip.Addr{netip.MustParseAddr(vip)}}
}

func v2Advert(vrid uint8, vip string) *packet.Advert {
	return &packet.Advert{Version: 2, VRID: vrid, Priority: 120, Interval: 100,
		AuthType: packet.AuthSimple, AuthData: packet.PassAuth("secret"),
		Addrs: []netip.Addr{netip.MustParseAddr(vip)}}
}

func marshal(t *testing.T, a *packet.Advert, src, dst netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst, packet.ChecksumRFC)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expect checks what the IP layer reported and that the payload is the
// advert sent, accepted by the codec.
func expect(t *testing.T, p Packet, ifindex int, src, dst netip.Addr, sent []byte, want *packet.Advert) {
	t.Helper()
	if p.IfIndex != ifindex || p.Src != src || p.Dst != dst || p.TTL != packet.TTL {
		t.Fatalf("got ifindex %d %s -> %s ttl %d, want ifindex %d %s -> %s ttl %d",
			p.IfIndex, p.Src, p.Dst, p.TTL, ifindex, src, dst, packet.TTL)
	}
	if !bytes.Equal(p.Payload, sent) {
		t.Fatalf("payload %x, sent %x (an IP header left in front?)", p.Payload, sent)
	}
	r, drop := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL)
	if drop != packet.Accept {
		t.Fatalf("packet.Decode: %v", drop)
	}
	if !reflect.DeepEqual(r.Advert, *want) {
		t.Fatalf("decoded %+v, sent %+v", r.Advert, *want)
	}
}

// pair is the usual two-node lab: a and b on one switch, each with an
// IPv4 and a link-local IPv6 address.
func pair(t *testing.T) (a, b node) {
	l := lab.New(t)
	a = attach(t, l, l.Namespace("a"), "198.18.0.1", "fe80::a")
	b = attach(t, l, l.Namespace("b"), "198.18.0.2", "fe80::b")
	return a, b
}

func TestMulticastIPv4(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a.ns, 4), listen(t, b.ns, 4)
	join(t, cb, b, packet.Group4)
	for _, adv := range []*packet.Advert{v3Advert(51, "198.18.0.100"), v2Advert(52, "198.18.0.101")} {
		t.Run(fmt.Sprintf("v%d", adv.Version), func(t *testing.T) {
			msg := marshal(t, adv, a.v4, packet.Group4)
			send(t, ca, a, a.v4, packet.Group4, msg)
			expect(t, mustRecv(t, cb, "b"), b.ifindex, a.v4, packet.Group4, msg, adv)
		})
	}
}

func TestUnicastIPv4(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a.ns, 4), listen(t, b.ns, 4)
	for _, adv := range []*packet.Advert{v3Advert(61, "198.18.0.100"), v2Advert(62, "198.18.0.101")} {
		msg := marshal(t, adv, a.v4, b.v4)
		send(t, ca, a, a.v4, b.v4, msg)
		expect(t, mustRecv(t, cb, "b"), b.ifindex, a.v4, b.v4, msg, adv)
	}
}

// TestNoJoinNoMulticast: with IP_MULTICAST_ALL off, a socket does not get
// a group another socket joined on the same interface.
func TestNoJoinNoMulticast(t *testing.T) {
	t.Parallel()
	for _, fam := range []int{4, 6} {
		t.Run(fmt.Sprintf("IPv%d", fam), func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			src, group, dst := a.v4, packet.Group4, b.v4
			vip := "198.18.0.100"
			if fam == 6 {
				src, group, dst, vip = a.ll, packet.Group6, b.ll, "2001:db8::100"
			}
			ca := listen(t, a.ns, fam)
			joined, other := listen(t, b.ns, fam), listen(t, b.ns, fam)
			// joined makes the kernel accept the group on b's interface;
			// other never joins.
			join(t, joined, b, group)
			mc := marshal(t, v3Advert(71, vip), src, group)
			send(t, ca, a, src, group, mc)
			expect(t, mustRecv(t, joined, "the joined socket"), b.ifindex, src, group, mc, v3Advert(71, vip))
			// other is alive: it gets unicast.
			uc := marshal(t, v3Advert(72, vip), src, dst)
			send(t, ca, a, src, dst, uc)
			p := mustRecv(t, other, "the socket that did not join")
			if p.Dst == group {
				t.Fatalf("the socket that did not join received %s from %s on ifindex %d", group, p.Src, p.IfIndex)
			}
			expect(t, p, b.ifindex, src, dst, uc, v3Advert(72, vip))
			mustNotRecv(t, other, "the socket that did not join", "multicast it did not join")
		})
	}
}

// TestJoinIsPerInterface: a namespace on two separate links, joined on
// one, receives the group only from that one, although another socket
// joined the group on the other link.
func TestJoinIsPerInterface(t *testing.T) {
	t.Parallel()
	for _, fam := range []int{4, 6} {
		t.Run(fmt.Sprintf("IPv%d", fam), func(t *testing.T) {
			t.Parallel()
			l1, l2 := lab.New(t), lab.New(t)
			c := l1.Namespace("c")
			a1 := attach(t, l1, l1.Namespace("a1"), "198.18.1.1", "fe80::a1")
			a2 := attach(t, l2, l2.Namespace("a2"), "198.18.2.1", "fe80::a2")
			c1 := attach(t, l1, c, "198.18.1.3", "fe80::c1")
			c2 := attach(t, l2, c, "198.18.2.3", "fe80::c2")
			group, src1, src2, vip := packet.Group4, a1.v4, a2.v4, "198.18.1.100"
			if fam == 6 {
				group, src1, src2, vip = packet.Group6, a1.ll, a2.ll, "2001:db8::100"
			}
			on1, on2 := listen(t, c, fam), listen(t, c, fam)
			join(t, on1, c1, group)
			join(t, on2, c2, group)
			s1, s2 := listen(t, a1.ns, fam), listen(t, a2.ns, fam)
			m1 := marshal(t, v3Advert(81, vip), src1, group)
			m2 := marshal(t, v3Advert(82, vip), src2, group)
			for _, s := range []struct {
				c        *Conn
				who      string
				ifindex  int
				src      netip.Addr
				msg      []byte
				vrid     uint8
				otherSrc netip.Addr
				sender   *Conn
				from     node
			}{
				{on1, "the socket joined on link 1", c1.ifindex, src1, m1, 81, src2, s1, a1},
				{on2, "the socket joined on link 2", c2.ifindex, src2, m2, 82, src1, s2, a2},
			} {
				p := deliver(t, s.sender, s.from, s.src, group, s.msg, s.c, s.who)
				if p.Src == s.otherSrc {
					t.Fatalf("%s received the group from the other link (ifindex %d, from %s)", s.who, p.IfIndex, p.Src)
				}
				expect(t, p, s.ifindex, s.src, group, s.msg, v3Advert(s.vrid, vip))
			}
			mustNotRecv(t, on1, "the socket joined on link 1", "the group from link 2")
			mustNotRecv(t, on2, "the socket joined on link 2", "the group from link 1")
			// After Leave, link 1's socket stops getting the group.
			if err := on1.Leave(c1.ifindex, group); err != nil {
				t.Fatal(err)
			}
			join(t, on2, c1, group) // keeps the group accepted on link 1
			send(t, s1, a1, src1, group, m1)
			expect(t, mustRecv(t, on2, "the socket joined on both links"), c1.ifindex, src1, group, m1, v3Advert(81, vip))
			mustNotRecv(t, on1, "the socket that left", "the group it left")
		})
	}
}

func TestIPv6(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	a := attach(t, l, l.Namespace("a"), "", "fe80::a")
	b := attach(t, l, l.Namespace("b"), "", "fe80::b")
	b.ns.AddAddr(b.ifname, "2001:db8::b/64")
	a.ns.AddAddr(a.ifname, "2001:db8::a/64")
	ca, cb := listen(t, a.ns, 6), listen(t, b.ns, 6)
	join(t, cb, b, packet.Group6)
	for _, dst := range []netip.Addr{packet.Group6, b.ll, netip.MustParseAddr("2001:db8::b")} {
		adv := v3Advert(91, "2001:db8::100")
		// Marshal's checksum must equal the one the kernel writes.
		msg := marshal(t, adv, a.ll, dst)
		send(t, ca, a, a.ll, dst, msg)
		p := mustRecv(t, cb, "b")
		expect(t, p, b.ifindex, a.ll, dst, msg, adv)
		if r, _ := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL); r.Checksum != packet.ChecksumRFC {
			t.Fatalf("to %s: checksum form %d, want RFC", dst, r.Checksum)
		}
	}
}

// TestChecksum: the IPv6 kernel fills in the checksum whatever the payload
// carries, and drops received packets whose checksum is wrong; IPv4 does
// neither, so a corrupt IPv4 packet reaches Recv and the codec rejects it.
func TestChecksum(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	t.Run("IPv6 send fills in", func(t *testing.T) {
		ca, cb := listen(t, a.ns, 6), listen(t, b.ns, 6)
		join(t, cb, b, packet.Group6)
		adv := v3Advert(101, "2001:db8::100")
		msg := marshal(t, adv, a.ll, packet.Group6)
		bad := bytes.Clone(msg)
		bad[6], bad[7] = 0xde, 0xad
		send(t, ca, a, a.ll, packet.Group6, bad)
		expect(t, mustRecv(t, cb, "b"), b.ifindex, a.ll, packet.Group6, msg, adv)
	})
	t.Run("IPv6 receive drops bad", func(t *testing.T) {
		cb := listen(t, b.ns, 6)
		join(t, cb, b, packet.Group6)
		// A raw socket without IPV6_CHECKSUM sends the bytes as they are.
		var plain *ipv6.PacketConn
		if err := a.ns.Do(func() error {
			pc, err := net.ListenPacket("ip6:112", "::")
			if err != nil {
				return err
			}
			plain = ipv6.NewPacketConn(pc)
			return plain.SetMulticastHopLimit(255)
		}); err != nil {
			t.Fatal(err)
		}
		defer plain.Close()
		good := marshal(t, v3Advert(102, "2001:db8::100"), a.ll, packet.Group6)
		bad := bytes.Clone(good)
		bad[1] = 103 // VRID changed, checksum not
		cm := &ipv6.ControlMessage{IfIndex: a.ifindex, Src: a.ll.AsSlice()}
		to := &net.IPAddr{IP: packet.Group6.AsSlice()}
		if _, err := plain.WriteTo(bad, cm, to); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.WriteTo(good, cm, to); err != nil {
			t.Fatal(err)
		}
		expect(t, mustRecv(t, cb, "b"), b.ifindex, a.ll, packet.Group6, good, v3Advert(102, "2001:db8::100"))
		mustNotRecv(t, cb, "b", "a packet with a wrong IPv6 checksum")
	})
	t.Run("IPv4 delivers bad", func(t *testing.T) {
		ca, cb := listen(t, a.ns, 4), listen(t, b.ns, 4)
		join(t, cb, b, packet.Group4)
		bad := marshal(t, v3Advert(104, "198.18.0.100"), a.v4, packet.Group4)
		bad[6] ^= 0xff
		send(t, ca, a, a.v4, packet.Group4, bad)
		p := mustRecv(t, cb, "b")
		if !bytes.Equal(p.Payload, bad) {
			t.Fatalf("payload %x, sent %x", p.Payload, bad)
		}
		if _, drop := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL); drop != packet.DropChecksum {
			t.Fatalf("packet.Decode of a corrupt packet: %v, want %v", drop, packet.DropChecksum)
		}
	})
}

// TestHeaderFields: the kernel-built headers carry TOS / traffic class
// 0xc0 and TTL / hop limit 255, as keepalived's do. An independent socket
// in b reads them.
func TestHeaderFields(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	t.Run("IPv4", func(t *testing.T) {
		ca := listen(t, a.ns, 4)
		var rc *ipv4.RawConn
		if err := b.ns.Do(func() error {
			pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
			if err != nil {
				return err
			}
			rc, err = ipv4.NewRawConn(pc)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if err := rc.SetReadDeadline(time.Now().Add(arrive)); err != nil {
			t.Fatal(err)
		}
		msg := marshal(t, v3Advert(121, "198.18.0.100"), a.v4, b.v4)
		send(t, ca, a, a.v4, b.v4, msg)
		h, payload, _, err := rc.ReadFrom(make([]byte, 1500))
		if err != nil {
			t.Fatalf("b's header reader: %v", err)
		}
		if h.TOS != 0xc0 || h.TTL != 255 || h.Protocol != packet.Protocol || !h.Src.Equal(a.v4.AsSlice()) || !h.Dst.Equal(b.v4.AsSlice()) {
			t.Fatalf("IPv4 header %+v, want TOS 0xc0 TTL 255 protocol 112 %s -> %s", h, a.v4, b.v4)
		}
		if !bytes.Equal(payload, msg) {
			t.Fatalf("payload %x, sent %x", payload, msg)
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		ca := listen(t, a.ns, 6)
		var pc *ipv6.PacketConn
		if err := b.ns.Do(func() error {
			c, err := net.ListenPacket("ip6:112", "::")
			if err != nil {
				return err
			}
			pc = ipv6.NewPacketConn(c)
			return pc.SetControlMessage(ipv6.FlagTrafficClass|ipv6.FlagHopLimit, true)
		}); err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if err := pc.SetReadDeadline(time.Now().Add(arrive)); err != nil {
			t.Fatal(err)
		}
		msg := marshal(t, v3Advert(122, "2001:db8::100"), a.ll, b.ll)
		send(t, ca, a, a.ll, b.ll, msg)
		buf := make([]byte, 1500)
		n, cm, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("b's header reader: %v", err)
		}
		if cm == nil || cm.TrafficClass != 0xc0 || cm.HopLimit != 255 {
			t.Fatalf("IPv6 control message %+v, want traffic class 0xc0 hop limit 255", cm)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Fatalf("payload %x, sent %x", buf[:n], msg)
		}
	})
}

// TestShortPacket: what arrives is returned, however malformed or cut.
func TestShortPacket(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a.ns, 4), listen(t, b.ns, 4)
	send(t, ca, a, a.v4, b.v4, []byte{0x31, 1, 2})
	p := mustRecv(t, cb, "b")
	if !bytes.Equal(p.Payload, []byte{0x31, 1, 2}) || p.Src != a.v4 || p.TTL != 255 {
		t.Fatalf("got %x from %s ttl %d", p.Payload, p.Src, p.TTL)
	}
	if _, drop := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL); drop != packet.DropTooShort {
		t.Fatalf("Decode: %v", drop)
	}
	// A buffer too small for the whole packet gets its head.
	msg := marshal(t, v3Advert(1, "198.18.0.100"), a.v4, b.v4)
	send(t, ca, a, a.v4, b.v4, msg)
	buf := make([]byte, 20+6)
	if err := cb.setReadDeadline(time.Now().Add(arrive)); err != nil {
		t.Fatal(err)
	}
	p, err := cb.Recv(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Payload, msg[:6]) {
		t.Fatalf("cut packet: payload %x, want %x", p.Payload, msg[:6])
	}
	if _, drop := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL); drop != packet.DropTooShort {
		t.Fatalf("Decode of a cut packet: %v", drop)
	}
}

// TestLoopbackOff: a sender joined to the group does not get its own
// multicast back.
func TestLoopbackOff(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	for _, fam := range []int{4, 6} {
		t.Run(fmt.Sprintf("IPv%d", fam), func(t *testing.T) {
			src, group, vip := a.v4, packet.Group4, "198.18.0.100"
			if fam == 6 {
				src, group, vip = a.ll, packet.Group6, "2001:db8::100"
			}
			ca, cb := listen(t, a.ns, fam), listen(t, b.ns, fam)
			join(t, ca, a, group)
			join(t, cb, b, group)
			msg := marshal(t, v3Advert(111, vip), src, group)
			send(t, ca, a, src, group, msg)
			expect(t, mustRecv(t, cb, "b"), b.ifindex, src, group, msg, v3Advert(111, vip))
			mustNotRecv(t, ca, "the sender", "its own multicast")
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	a := attach(t, l, l.Namespace("a"), "198.18.0.1", "")
	if _, err := Listen(5); err == nil {
		t.Fatal("Listen(5) succeeded")
	}
	c := listen(t, a.ns, 4)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"join unicast", c.Join(a.ifindex, a.v4), "netio: join 198.18.0.1 on ifindex"},
		{"join IPv6 group on IPv4", c.Join(a.ifindex, packet.Group6), "not an IPv4 multicast group"},
		{"join no such interface", c.Join(9999, packet.Group4), "netio: join 224.0.0.18 on ifindex 9999: "},
		{"send IPv6 on IPv4", c.Send(a.ifindex, a.v4, packet.Group6, []byte{1}), "not IPv4 addresses"},
		{"send without interface", c.Send(0, a.v4, packet.Group4, []byte{1}), "no interface index"},
		{"send from a foreign address", c.Send(a.ifindex, netip.MustParseAddr("198.18.0.9"), packet.Group4, []byte{1}),
			"netio: send to 224.0.0.18 from 198.18.0.9 on ifindex"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
	if err := c.Join(9999, packet.Group4); !errors.Is(err, unix.ENODEV) {
		t.Errorf("join on a missing interface: %v, want ENODEV", err)
	}
}

// TestCloseUnblocksRecv: a Recv blocked in the poller returns
// net.ErrClosed when the Conn is closed.
func TestCloseUnblocksRecv(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	ns := l.Namespace("a")
	var c *Conn
	if err := ns.Do(func() (err error) { c, err = Listen(4); return err }); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Recv(make([]byte, 1500))
		done <- err
	}()
	// Wait until the goroutine is parked waiting for the socket, as the
	// goroutine dump says: an event, not a sleep.
	deadline := time.Now().Add(arrive)
	for !recvBlocked() {
		if time.Now().After(deadline) {
			t.Fatal("Recv never blocked")
		}
		runtime.Gosched()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != net.ErrClosed {
			t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(arrive):
		t.Fatalf("Recv still blocked %v after Close", arrive)
	}
	if _, err := c.Recv(make([]byte, 1500)); err != net.ErrClosed {
		t.Fatalf("Recv on a closed Conn: %v, want net.ErrClosed", err)
	}
	if err := c.Send(1, netip.MustParseAddr("198.18.0.1"), packet.Group4, []byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Send on a closed Conn: %v, want net.ErrClosed", err)
	}
}

// recvBlocked reports whether some goroutine waits in the network poller
// inside Recv.
func recvBlocked() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "netio.(*Conn).recvOne") {
			return true
		}
	}
	return false
}

// TestKeepalivedInterop: adverts of Debian's keepalived, running in a lab
// namespace, arrive through a Conn and decode; keepalived in turn accepts
// a Conn's advert of higher priority and yields.
func TestKeepalivedInterop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("keepalived"); err != nil {
		t.Skip("keepalived not installed")
	}
	for _, tc := range []struct {
		version uint8
		vrid    uint8
		auth    string
	}{
		{2, 21, "    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n"},
		{3, 31, ""},
	} {
		t.Run(fmt.Sprintf("v%d", tc.version), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pidfiles := []string{filepath.Join(dir, "keepalived.pid"), filepath.Join(dir, "vrrp.pid")}
			// Registered before the lab, so it runs after the lab's
			// teardown has killed keepalived.
			t.Cleanup(func() { checkGone(t, pidfiles) })
			l := lab.New(t)
			a := attach(t, l, l.Namespace("a"), "198.18.0.1", "")
			k := attach(t, l, l.Namespace("keepalived"), "198.18.0.2", "")
			vip := netip.MustParseAddr("198.18.0.100")
			conf := fmt.Sprintf(`global_defs {
    router_id lab
}
vrrp_instance VI_1 {
    state MASTER
    interface %s
    version %d
    virtual_router_id %d
    priority 100
    advert_int 1
%s    virtual_ipaddress {
        %s/24
    }
}
`, k.ifname, tc.version, tc.vrid, tc.auth, vip)
			confPath, logPath := filepath.Join(dir, "keepalived.conf"), filepath.Join(dir, "keepalived.log")
			if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			ca := listen(t, a.ns, 4)
			join(t, ca, a, packet.Group4)
			// The shell only redirects keepalived's console log to a file
			// the test may read at any time; exec keeps the pid.
			k.ns.Start(nil, nil, "sh", "-c", `exec keepalived -n -l -D -G -P -f "$1" -p "$2" -r "$3" -c "$4" -b "$5" >"$6" 2>&1`, "sh",
				confPath, pidfiles[0], pidfiles[1], filepath.Join(dir, "checkers.pid"), filepath.Join(dir, "bfd.pid"), logPath)
			klog := func() string { b, _ := os.ReadFile(logPath); return string(b) }

			start := time.Now()
			var p Packet
			for {
				var ok bool
				p, ok = recvWithin(t, ca, 10*time.Second-time.Since(start))
				if !ok {
					t.Fatalf("no advert from keepalived within 10s; its log:\n%s", klog())
				}
				if p.Src == k.v4 {
					break
				}
			}
			t.Logf("first keepalived advert after %v", time.Since(start).Round(time.Millisecond))
			if p.IfIndex != a.ifindex || p.Dst != packet.Group4 || p.TTL != 255 {
				t.Fatalf("keepalived's advert: ifindex %d %s -> %s ttl %d", p.IfIndex, p.Src, p.Dst, p.TTL)
			}
			r, drop := packet.Decode(p.Payload, p.Src, p.Dst, p.TTL)
			if drop != packet.Accept {
				t.Fatalf("packet.Decode of keepalived's advert %x: %v", p.Payload, drop)
			}
			want := packet.Advert{Version: tc.version, VRID: tc.vrid, Priority: 100, Interval: 100, Addrs: []netip.Addr{vip}}
			if tc.version == 2 {
				want.AuthType, want.AuthData = packet.AuthSimple, packet.PassAuth("secret")
			}
			if !reflect.DeepEqual(r.Advert, want) {
				t.Fatalf("keepalived's advert decodes to %+v, want %+v", r.Advert, want)
			}

			// The other direction: a higher priority from us makes
			// keepalived, MASTER now, step down.
			ours := want
			ours.Priority = 200
			msg := marshal(t, &ours, a.v4, packet.Group4)
			deadline := time.Now().Add(arrive)
			for !strings.Contains(klog(), "Entering BACKUP STATE") {
				if time.Now().After(deadline) {
					t.Fatalf("keepalived did not yield to priority 200 within %v; its log:\n%s", arrive, klog())
				}
				// One advert per interval, like a master, until it yields.
				send(t, ca, a, a.v4, packet.Group4, msg)
				waitLog(klog, "Entering BACKUP STATE", time.Second)
			}
		})
	}
}

// waitLog polls the log for s for up to d.
func waitLog(log func() string, s string, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(log(), s) {
			return
		}
	}
}

// checkGone fails the test if a process named in the pid files survived.
func checkGone(t *testing.T, pidfiles []string) {
	for _, f := range pidfiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // keepalived removes them on a clean exit
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		deadline := time.Now().Add(arrive)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("keepalived process %d (%s) still running after the test", pid, f)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}
