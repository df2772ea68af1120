package vrrplab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/internal/lab"
)

// Ethernet types and the IP protocol number a capture looks for.
const (
	ethPAll    = 0x0003 // ETH_P_ALL
	etherARP   = 0x0806
	etherIPv4  = 0x0800
	protoVRRP  = 112
	maxRecords = 1 << 16 // per kind; older records are dropped beyond it
	// captureBuffer is the capture socket's receive buffer, in bytes.
	captureBuffer = 16 << 20
)

// GARP is a gratuitous ARP seen on the wire: sender and target IP both
// the announced address.
type GARP struct {
	IP  netip.Addr
	MAC net.HardwareAddr // ARP sender hardware address
	At  time.Time
}

// Advert is a VRRP advertisement seen on the wire.
type Advert struct {
	Src      netip.Addr
	VRID     uint8
	Priority uint8
	At       time.Time
}

// Capture records the gratuitous ARPs and VRRP adverts arriving at one
// interface of a namespace (a client's view of the LAN), stamped when
// read. It stops when tb ends.
type Capture struct {
	conn    *packet.Conn
	mu      sync.Mutex
	drops   uint64
	garps   []GARP
	adverts []Advert
	changed chan struct{} // closed and replaced on every new record
}

// Listen starts capturing gratuitous ARPs and VRRP adverts on ifname
// inside ns with an AF_PACKET socket (github.com/mdlayher/packet).
func Listen(tb lab.TB, ns *lab.NS, ifname string) *Capture {
	tb.Helper()
	return listen(tb, ns, ifname, ethPAll)
}

// ListenARP is Listen for ARP frames only (ETH_P_ARP): cheaper where
// adverts are many and not wanted.
func ListenARP(tb lab.TB, ns *lab.NS, ifname string) *Capture {
	tb.Helper()
	return listen(tb, ns, ifname, etherARP)
}

func listen(tb lab.TB, ns *lab.NS, ifname string, proto int) *Capture {
	tb.Helper()
	var c *packet.Conn
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, proto, nil)
		if err != nil {
			return err
		}
		// Bursts (hundreds of instances announcing at once) must not
		// overflow the default receive buffer; as root, force a big one.
		rc, err := c.SyscallConn()
		if err != nil {
			c.Close()
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, captureBuffer)
		}); err != nil || serr != nil {
			c.Close()
			return fmt.Errorf("receive buffer: %w", errors.Join(err, serr))
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("vrrplab: capture on %s in %s: %v", ifname, ns.Role, err)
	}
	cp := &Capture{conn: c, changed: make(chan struct{})}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		buf := make([]byte, 2048)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			cp.record(buf[:n], time.Now())
		}
	}()
	tb.Cleanup(func() { c.Close(); <-stopped })
	return cp
}

func (c *Capture) record(f []byte, at time.Time) {
	if len(f) < 14 {
		return
	}
	var g *GARP
	var a *Advert
	switch binary.BigEndian.Uint16(f[12:14]) {
	case etherARP:
		var p arp.Packet
		if p.UnmarshalBinary(f[14:]) != nil || p.SenderIP != p.TargetIP || !p.SenderIP.IsValid() {
			return
		}
		g = &GARP{IP: p.SenderIP, MAC: bytes.Clone(p.SenderHardwareAddr), At: at}
	case etherIPv4:
		ip := f[14:]
		if len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != protoVRRP {
			return
		}
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl+4 {
			return
		}
		src, _ := netip.AddrFromSlice(ip[12:16])
		v := ip[ihl:]
		a = &Advert{Src: src, VRID: v[1], Priority: v[2], At: at}
	default:
		return
	}
	c.mu.Lock()
	if g != nil {
		c.garps = appendBounded(c.garps, *g)
	} else {
		c.adverts = appendBounded(c.adverts, *a)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func appendBounded[T any](s []T, v T) []T {
	if len(s) >= maxRecords {
		s = append(s[:0], s[len(s)/2:]...)
	}
	return append(s, v)
}

// Drops is how many frames the kernel dropped because the capture did
// not read them in time, so far; a test that counts frames checks it is
// zero before blaming the sender.
func (c *Capture) Drops() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, err := c.conn.Stats(); err == nil { // the kernel resets them on read
		c.drops += uint64(st.Drops)
	}
	return c.drops
}

// GARPs returns the gratuitous ARPs for ip seen at or after since.
func (c *Capture) GARPs(ip netip.Addr, since time.Time) []GARP {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []GARP
	for _, g := range c.garps {
		if g.IP == ip && !g.At.Before(since) {
			out = append(out, g)
		}
	}
	return out
}

// Adverts returns the adverts from src seen at or after since.
func (c *Capture) Adverts(src netip.Addr, since time.Time) []Advert {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Advert
	for _, a := range c.adverts {
		if a.Src == src && !a.At.Before(since) {
			out = append(out, a)
		}
	}
	return out
}

// WaitGARP returns the first gratuitous ARP for ip from mac (nil: any)
// seen at or after since; false when none came within timeout.
func (c *Capture) WaitGARP(ip netip.Addr, mac net.HardwareAddr, since time.Time, timeout time.Duration) (GARP, bool) {
	return wait(c, timeout, func() (GARP, bool) {
		for _, g := range c.garps {
			if g.IP == ip && !g.At.Before(since) && (mac == nil || bytes.Equal(g.MAC, mac)) {
				return g, true
			}
		}
		return GARP{}, false
	})
}

// WaitAdverts returns the first n adverts from src seen at or after
// since; false when fewer came within timeout.
func (c *Capture) WaitAdverts(src netip.Addr, n int, since time.Time, timeout time.Duration) ([]Advert, bool) {
	return wait(c, timeout, func() ([]Advert, bool) {
		var got []Advert
		for _, a := range c.adverts {
			if a.Src == src && !a.At.Before(since) {
				if got = append(got, a); len(got) == n {
					return got, true
				}
			}
		}
		return got, false
	})
}

// wait re-evaluates find (under the lock) on every new record until it
// succeeds or timeout passes.
func wait[T any](c *Capture, timeout time.Duration, find func() (T, bool)) (T, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		v, ok := find()
		changed := c.changed
		c.mu.Unlock()
		if ok {
			return v, true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return v, false
		}
	}
}
