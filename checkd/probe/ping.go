package probe

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// pingSeq numbers echo requests across probes, as keepalived's seq_no.
var pingSeq atomic.Uint32

// pingRaw forces a raw ICMP socket (tests of the fallback).
var pingRaw bool

// pingPayload is the size of the echo data (keepalived's ICMP_BUFSIZE).
const pingPayload = 128

// Ping is PING_CHECK (check_ping.c): one ICMP echo request, up when the
// echo reply comes back within the connect timeout. keepalived uses an
// unprivileged ICMP datagram socket (and widens net.ipv4.ping_group_range
// to allow it); Vigil uses one when ping_group_range admits its group and
// otherwise a raw ICMP socket, which needs CAP_NET_RAW. The target's port
// is ignored.
func Ping(ctx context.Context, c Conn) Result {
	start := time.Now()
	dst := c.remote().Addr()
	if !dst.IsValid() {
		return fail(start, "ping: no address")
	}
	v6 := dst.Is6() && !dst.Is4In6()
	dst = dst.Unmap()
	pc, raw, err := c.icmpSocket(v6)
	if err != nil {
		return fail(start, "ping %s: %v", dst, err)
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { _ = pc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	data := make([]byte, pingPayload)
	_, _ = rand.Read(data)
	seq := int(uint16(pingSeq.Add(1)))
	id := 0 // the kernel sets it on datagram sockets
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		reqType, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	if raw {
		id = int(uint16(os.Getpid() ^ seq<<3))
	}
	msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}
	wire, err := msg.Marshal(nil) // the kernel computes the ICMPv6 checksum
	if err != nil {
		return fail(start, "ping %s: %v", dst, err)
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	deadline := time.Now().Add(c.timeout())
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = pc.SetDeadline(deadline)
	if _, err := pc.WriteTo(wire, to); err != nil {
		return fail(start, "ping %s: send: %s", dst, describe(ctx, err))
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return fail(start, "ping %s: %s", dst, describe(ctx, err))
		}
		if !sameAddr(from, dst) {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue
		}
		switch b := m.Body.(type) {
		case *icmp.Echo:
			if m.Type != replyType || b.Seq != seq || (raw && b.ID != id) || !bytes.Equal(b.Data, data) {
				continue
			}
			return pass(start, "ping %s: echo reply", dst)
		case *icmp.DstUnreach:
			return fail(start, "ping %s: destination unreachable", dst)
		}
	}
}

func sameAddr(a net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	default:
		return false
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == want.WithZone("")
}

// icmpSocket opens an ICMP datagram socket, or a raw one when the kernel
// refuses the former, bound and configured as the checker says.
func (c Conn) icmpSocket(v6 bool) (net.PacketConn, bool, error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	raw := false
	if pingRaw && err == nil {
		unix.Close(fd)
		err = syscall.EACCES
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
		raw = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("ICMP socket: %w (allow the group in net.ipv4.ping_group_range, or run with CAP_NET_RAW)", err)
	}
	f := os.NewFile(uintptr(fd), "icmp")
	defer f.Close() // FilePacketConn dups the descriptor
	if err := c.setICMPOptions(fd, family); err != nil {
		return nil, false, err
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, false, fmt.Errorf("ICMP socket: %w", err)
	}
	return pc, raw, nil
}

func (c Conn) setICMPOptions(fd, family int) error {
	if c.BindIf != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.BindIf); err != nil {
			return fmt.Errorf("bind_if %s: %w", c.BindIf, err)
		}
	}
	if c.Fwmark != 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, int(c.Fwmark)); err != nil {
			return fmt.Errorf("fwmark %d: %w", c.Fwmark, err)
		}
	}
	if !c.BindTo.IsValid() {
		return nil
	}
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa = &unix.SockaddrInet4{Addr: c.BindTo.Unmap().As4()}
	} else {
		sa = &unix.SockaddrInet6{Addr: c.BindTo.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bindto %s: %w", c.BindTo, err)
	}
	return nil
}
