package lab

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Common EtherTypes for Capture.
const (
	EtherTypeAll  uint16 = 0x0003 // ETH_P_ALL: every frame
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeARP  uint16 = 0x0806
	EtherTypeIPv6 uint16 = 0x86dd
)

// Frame is one captured Ethernet frame.
type Frame struct {
	// At is the kernel's receive timestamp (SO_TIMESTAMPNS), so a busy
	// test process does not blur the timing of what was on the wire.
	At time.Time
	// Outgoing: sent by the capturing namespace itself.
	Outgoing bool
	// Data is the whole frame, Ethernet header included.
	Data []byte
}

// Capture records the frames of one EtherType seen on one interface of a
// namespace, through an AF_PACKET socket, like tcpdump would.
type Capture struct {
	ns      *NS
	fd      int
	mu      sync.Mutex
	frames  []Frame
	err     error
	stop    atomic.Bool
	done    chan struct{}
	changed chan struct{}
	once    sync.Once
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Capture starts recording frames of ethertype on ifname inside ns until
// Stop or the end of the test. The kernel hands frames the namespace sends
// itself only to EtherTypeAll captures.
func (ns *NS) Capture(ifname string, ethertype uint16) *Capture {
	ns.lab.tb.Helper()
	c := &Capture{ns: ns, fd: -1, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		// Protocol 0 until bind: no frame of another interface can slip
		// into the queue in between.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		c.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return err
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
		// A short receive timeout lets the reader notice Stop.
		tv := unix.Timeval{Usec: 20000}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethertype), Ifindex: ifi.Index})
	})
	if err != nil {
		if c.fd >= 0 {
			unix.Close(c.fd)
		}
		ns.lab.tb.Fatalf("lab %s: capture on %s: %v", ns.Role, ifname, err)
	}
	go c.read()
	ns.lab.tb.Cleanup(c.Stop)
	return c
}

func (c *Capture) read() {
	defer close(c.done)
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for !c.stop.Load() {
		n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		f := Frame{At: time.Now(), Data: append([]byte(nil), buf[:n]...)}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			f.Outgoing = ll.Pkttype == unix.PACKET_OUTGOING
		}
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= 16 {
					// struct timespec on a 64-bit kernel.
					sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
					nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
					f.At = time.Unix(sec, nsec)
				}
			}
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		select {
		case c.changed <- struct{}{}:
		default:
		}
	}
}

// Frames returns the frames captured so far, in arrival order.
func (c *Capture) Frames() []Frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Frame(nil), c.frames...)
}

// WaitFor blocks until match accepts n frames (counting every frame
// captured so far) and returns the time of the nth, or fails the test
// after timeout with what.
func (c *Capture) WaitFor(n int, match func(Frame) bool, timeout time.Duration, what string) time.Time {
	c.ns.lab.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		seen := 0
		var at time.Time
		for _, f := range c.frames {
			if match(f) {
				seen++
				if seen == n {
					at = f.At
					break
				}
			}
		}
		err := c.err
		c.mu.Unlock()
		if seen >= n {
			return at
		}
		if err != nil {
			c.ns.lab.tb.Fatalf("lab %s: capture failed: %v", c.ns.Role, err)
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			c.ns.lab.tb.Fatalf("lab %s: %d of %d %s captured after %v", c.ns.Role, seen, n, what, timeout)
		}
	}
}

// Err is the error that ended the capture early, if any.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stop ends the capture; Frames still returns what was recorded.
func (c *Capture) Stop() {
	c.once.Do(func() {
		c.stop.Store(true)
		<-c.done
		unix.Close(c.fd)
	})
}
