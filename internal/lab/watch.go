package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
)

// AddrEvent is an address appearing on or leaving a namespace's interface.
type AddrEvent struct {
	Addr  netip.Addr
	Added bool
	At    time.Time
}

// AddrWatch follows the addresses of one namespace through netlink events,
// so a test waits for the kernel to say a VIP arrived instead of polling.
type AddrWatch struct {
	ns      *NS
	mu      sync.Mutex
	present map[netip.Addr]bool
	events  []AddrEvent
	changed chan struct{}
	done    chan struct{}
}

// WatchAddrs starts watching; it stops when the test ends. If the kernel
// drops notifications (a burst of hundreds of addresses overflows the
// socket), the watch subscribes again and re-lists, so it never goes
// silent.
func (ns *NS) WatchAddrs() *AddrWatch {
	ns.lab.tb.Helper()
	w := &AddrWatch{ns: ns, present: map[netip.Addr]bool{}, changed: make(chan struct{}, 1), done: make(chan struct{})}
	first := make(chan error, 1)
	go w.run(first)
	if err := <-first; err != nil {
		ns.lab.tb.Fatalf("lab %s: subscribe to addresses: %v", ns.Role, err)
	}
	ns.lab.tb.Cleanup(func() { close(w.done) })
	return w
}

func (w *AddrWatch) run(first chan<- error) {
	for attempt := 0; ; attempt++ {
		h, err := w.ns.Handle()
		if err != nil {
			if attempt == 0 {
				first <- err
				return
			}
			return
		}
		ch := make(chan netlink.AddrUpdate, 1024)
		stop := make(chan struct{})
		err = netlink.AddrSubscribeWithOptions(ch, stop, netlink.AddrSubscribeOptions{
			Namespace:         &h,
			ListExisting:      true,
			ReceiveBufferSize: 4 << 20,
			ErrorCallback:     func(error) {}, // the closed channel says it; we resubscribe
		})
		h.Close()
		if err != nil {
			if attempt == 0 {
				first <- err
				return
			}
			select {
			case <-w.done:
				return
			case <-time.After(50 * time.Millisecond):
				continue
			}
		}
		if attempt == 0 {
			first <- nil
		}
		// A re-list starts from nothing: addresses not listed are gone.
		relisted := attempt > 0
		seen := map[netip.Addr]bool{}
		for {
			select {
			case <-w.done:
				close(stop)
				return
			case u, ok := <-ch:
				if !ok {
					goto resubscribe
				}
				a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
				if !ok {
					continue
				}
				a = a.Unmap()
				seen[a] = true
				w.record(a, u.NewAddr)
			}
			if relisted && len(ch) == 0 {
				relisted = false
				w.mu.Lock()
				var gone []netip.Addr
				for a, present := range w.present {
					if present && !seen[a] {
						gone = append(gone, a)
					}
				}
				w.mu.Unlock()
				for _, a := range gone {
					w.record(a, false)
				}
			}
		}
	resubscribe:
		close(stop)
	}
}

func (w *AddrWatch) record(a netip.Addr, added bool) {
	w.mu.Lock()
	if w.present[a] == added {
		w.mu.Unlock()
		return // a re-list repeating what we know, or an unknown address leaving
	}
	w.present[a] = added
	w.events = append(w.events, AddrEvent{Addr: a, Added: added, At: time.Now()})
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Has reports whether the address is on an interface now.
func (w *AddrWatch) Has(a netip.Addr) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.present[a]
}

// Events returns every change of the address seen so far.
func (w *AddrWatch) Events(a netip.Addr) []AddrEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []AddrEvent
	for _, e := range w.events {
		if e.Addr == a {
			out = append(out, e)
		}
	}
	return out
}

// Wait blocks until the address is present (or absent) and returns when
// the kernel reported it, or fails the test after timeout.
func (w *AddrWatch) Wait(a netip.Addr, present bool, timeout time.Duration) time.Time {
	w.ns.lab.tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ok := w.present[a] == present
		var at time.Time
		for i := len(w.events) - 1; i >= 0; i-- {
			if w.events[i].Addr == a {
				at = w.events[i].At
				break
			}
		}
		w.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-w.changed:
		case <-deadline.C:
			w.ns.lab.tb.Fatalf("lab %s: %s still %s after %v", w.ns.Role, a, map[bool]string{true: "absent", false: "present"}[present], timeout)
		}
	}
}

// Probe is a client hammering a TCP service: one connect every interval,
// each bounded by the interval, recording every failure.
type Probe struct {
	mu       sync.Mutex
	attempts int
	failures []time.Time
	reasons  []string
	stop     context.CancelFunc
	done     chan struct{}
}

// StartProbe connects to addr from inside ns every interval until Stop.
// A connect may take up to a second (a slow connect is not an outage);
// refusals, resets and timeouts count as failures.
func (ns *NS) StartProbe(addr netip.AddrPort, interval time.Duration) *Probe {
	return ns.StartProbeTimeout(addr, interval, time.Second)
}

// Stop ends the probe and waits for it.
func (p *Probe) Stop() {
	p.stop()
	<-p.done
}

// Reasons returns the errors of the first failures, for diagnostics.
func (p *Probe) Reasons() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reasons...)
}

// Result returns how many connects were tried and when they failed.
func (p *Probe) Result() (attempts int, failures []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, append([]time.Time(nil), p.failures...)
}

// Serve accepts TCP connections on port on every address of ns (the VIP
// included, once present) until the test ends.
func (ns *NS) Serve(port int) {
	ns.lab.tb.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		ns.lab.tb.Fatalf("lab %s: listen :%d: %v", ns.Role, port, err)
	}
	ns.lab.tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}
