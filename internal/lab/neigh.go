package lab

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NeighEvent is a change of one neighbour (ARP / NDP cache) entry.
type NeighEvent struct {
	IP      netip.Addr
	MAC     net.HardwareAddr // nil when the entry has none (INCOMPLETE, FAILED)
	State   int              // NUD_* bits
	Deleted bool
	At      time.Time
	// Since is when the entry took this MAC (state changes since keep it).
	Since time.Time
}

// NeighWatch follows a namespace's neighbour caches through netlink
// events, so a test awaits "the client now sends the VIP's traffic to
// this MAC" instead of polling ip neigh.
type NeighWatch struct {
	ns      *NS
	mu      sync.Mutex
	cur     map[netip.Addr]NeighEvent
	events  []NeighEvent
	changed chan struct{}
	done    chan struct{}
	exited  chan struct{}
}

// WatchNeigh starts watching; it stops when the test ends.
func (ns *NS) WatchNeigh() *NeighWatch {
	ns.lab.tb.Helper()
	h, err := ns.Handle()
	if err != nil {
		ns.lab.tb.Fatalf("lab %s: %v", ns.Role, err)
	}
	defer h.Close()
	w := &NeighWatch{ns: ns, cur: map[netip.Addr]NeighEvent{}, changed: make(chan struct{}, 1),
		done: make(chan struct{}), exited: make(chan struct{})}
	ch := make(chan netlink.NeighUpdate, 256)
	err = netlink.NeighSubscribeWithOptions(ch, w.done, netlink.NeighSubscribeOptions{
		Namespace:    &h,
		ListExisting: true,
		ErrorCallback: func(err error) {
			select {
			case <-w.done: // closing the subscription at the end
			default:
				ns.lab.tb.Logf("lab %s: neighbour watch: %v", ns.Role, err)
			}
		},
	})
	if err != nil {
		ns.lab.tb.Fatalf("lab %s: subscribe to neighbours: %v", ns.Role, err)
	}
	ns.lab.tb.Cleanup(func() {
		close(w.done)
		// The subscription closes ch once its socket is closed; wait
		// (bounded) so nothing logs after the test has ended.
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		}
	})
	go func() {
		defer close(w.exited)
		for u := range ch {
			a, ok := netip.AddrFromSlice(u.IP)
			if !ok {
				continue
			}
			ev := NeighEvent{IP: a.Unmap(), State: u.State, Deleted: u.Type == unix.RTM_DELNEIGH, At: time.Now()}
			if len(u.HardwareAddr) > 0 {
				ev.MAC = append(net.HardwareAddr(nil), u.HardwareAddr...)
			}
			ev.Since = ev.At
			w.mu.Lock()
			if old, ok := w.cur[ev.IP]; ok && !ev.Deleted && bytes.Equal(old.MAC, ev.MAC) {
				ev.Since = old.Since
			}
			if ev.Deleted {
				delete(w.cur, ev.IP)
			} else {
				w.cur[ev.IP] = ev
			}
			w.events = append(w.events, ev)
			w.mu.Unlock()
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// MAC is the hardware address the entry for ip holds now (nil if none).
func (w *NeighWatch) MAC(ip netip.Addr) net.HardwareAddr {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur[ip].MAC
}

// Events returns every change of the entry for ip seen so far.
func (w *NeighWatch) Events(ip netip.Addr) []NeighEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []NeighEvent
	for _, e := range w.events {
		if e.IP == ip {
			out = append(out, e)
		}
	}
	return out
}

// Wait blocks until the entry for ip holds mac and returns when the kernel
// reported it took that MAC, or fails the test after timeout.
func (w *NeighWatch) Wait(ip netip.Addr, mac net.HardwareAddr, timeout time.Duration) time.Time {
	w.ns.lab.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		e, ok := w.cur[ip]
		w.mu.Unlock()
		if ok && bytes.Equal(e.MAC, mac) {
			return e.Since
		}
		select {
		case <-w.changed:
		case <-deadline.C:
			w.ns.lab.tb.Fatalf("lab %s: neighbour %s is %v (state %#x), not %v, after %v", w.ns.Role, ip, e.MAC, e.State, mac, timeout)
		}
	}
}
