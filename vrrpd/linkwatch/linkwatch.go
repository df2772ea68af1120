// Package linkwatch reports the state of a namespace's network interfaces,
// for track_interface and for each VRRP instance's own interface.
//
// An interface is Up when it is administratively up and has carrier
// (IFF_UP and IFF_RUNNING, i.e. operational state up or unknown), which
// is how keepalived judges it: a cable pulled, or a veth whose peer went
// down, is down even though `ip link set up` was done.
package linkwatch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Event is the state of one interface.
type Event struct {
	Name  string
	Index int
	// Up: admin up and carrier (IFF_UP && IFF_RUNNING).
	Up bool
	// Deleted: the interface is gone (Up is then false). An extension of
	// the brief's Event; a consumer that ignores it sees a down interface.
	Deleted bool
}

func (e Event) String() string {
	state := "down"
	switch {
	case e.Deleted:
		state = "deleted"
	case e.Up:
		state = "up"
	}
	return fmt.Sprintf("%s(%d) %s", e.Name, e.Index, state)
}

// receiveBuffer is the subscription socket's buffer; tests shrink it to
// provoke an overflow.
var receiveBuffer = 1 << 20

// resubscriptions counts recoveries from lost notifications (for tests).
var resubscriptions atomic.Int64

// resubscribeDelay bounds how fast a failed subscription is retried.
var resubscribeDelay = []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// Watch reports the interfaces of the namespace h (netns.None() for the
// calling thread's): first the current state of every interface, in index
// order, then every change. Only changes of name, Up or existence are
// reported; the kernel's many other link notifications (statistics,
// MTU, bridge port info) are not. If the kernel drops notifications (the
// socket overflowed), Watch resubscribes and reports what changed in the
// meantime, deletions included. The channel is closed when ctx ends; the
// caller should drain it until then or cancel ctx.
//
// h is duplicated; the caller may close its own handle after Watch
// returns.
func Watch(ctx context.Context, h netns.NsHandle) (<-chan Event, error) {
	ns, err := dupNS(h)
	if err != nil {
		return nil, fmt.Errorf("linkwatch: namespace handle: %w", err)
	}
	w := &watcher{ns: ns, known: map[int]Event{}}
	sub, err := w.subscribe()
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("linkwatch: subscribe to link events: %w", err)
	}
	initial, err := w.list()
	if err != nil {
		sub.stop()
		ns.Close()
		return nil, fmt.Errorf("linkwatch: list links: %w", err)
	}
	out := make(chan Event, 64)
	go w.run(ctx, sub, initial, out)
	return out, nil
}

func dupNS(h netns.NsHandle) (netns.NsHandle, error) {
	if !h.IsOpen() {
		return netns.Get()
	}
	fd, err := unix.FcntlInt(uintptr(h), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return netns.None(), err
	}
	return netns.NsHandle(fd), nil
}

type watcher struct {
	ns    netns.NsHandle
	known map[int]Event
}

type subscription struct {
	ch   chan netlink.LinkUpdate
	done chan struct{}
}

// stop ends the subscription and drains it so the library's reader
// goroutine, which may be blocked sending, can exit.
func (s *subscription) stop() {
	close(s.done)
	go func() {
		for range s.ch {
		}
	}()
}

func (w *watcher) subscribe() (*subscription, error) {
	s := &subscription{ch: make(chan netlink.LinkUpdate, 256), done: make(chan struct{})}
	ns := w.ns
	err := netlink.LinkSubscribeWithOptions(s.ch, s.done, netlink.LinkSubscribeOptions{
		Namespace:         &ns,
		ReceiveBufferSize: receiveBuffer,
		// Errors end the library's reader (it closes the channel), which
		// run notices and answers by resubscribing; nothing to do here.
		ErrorCallback: func(error) {},
	})
	if err != nil {
		close(s.done)
		return nil, err
	}
	return s, nil
}

// list returns the current state of every interface, in index order.
func (w *watcher) list() ([]Event, error) {
	h, err := netlink.NewHandleAt(w.ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, err
	}
	evs := make([]Event, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		evs = append(evs, Event{Name: a.Name, Index: a.Index, Up: isUp(a.RawFlags)})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].Index < evs[j].Index })
	return evs, nil
}

func isUp(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

// apply records ev and tells whether it is news.
func (w *watcher) apply(ev Event) bool {
	prev, ok := w.known[ev.Index]
	if ev.Deleted {
		if !ok {
			return false
		}
		delete(w.known, ev.Index)
		return true
	}
	w.known[ev.Index] = ev
	return !ok || prev.Name != ev.Name || prev.Up != ev.Up
}

// resync turns a fresh listing into events: changes, and deletions of
// interfaces no longer listed.
func (w *watcher) resync(listed []Event) []Event {
	var evs []Event
	present := map[int]bool{}
	for _, ev := range listed {
		present[ev.Index] = true
	}
	var gone []int
	for idx := range w.known {
		if !present[idx] {
			gone = append(gone, idx)
		}
	}
	sort.Ints(gone)
	for _, idx := range gone {
		ev := Event{Name: w.known[idx].Name, Index: idx, Deleted: true}
		if w.apply(ev) {
			evs = append(evs, ev)
		}
	}
	for _, ev := range listed {
		if w.apply(ev) {
			evs = append(evs, ev)
		}
	}
	return evs
}

func eventOf(u netlink.LinkUpdate) (Event, bool) {
	// Bridge port notifications (AF_BRIDGE) share the group; a port
	// leaving a bridge is an RTM_DELLINK for an interface that stays.
	if u.IfInfomsg.Family == unix.AF_BRIDGE {
		return Event{}, false
	}
	ev := Event{Index: int(u.IfInfomsg.Index)}
	if u.Link != nil {
		ev.Name = u.Link.Attrs().Name
	}
	if u.Header.Type == unix.RTM_DELLINK {
		ev.Deleted = true
		return ev, true
	}
	ev.Up = isUp(u.IfInfomsg.Flags)
	return ev, true
}

func (w *watcher) run(ctx context.Context, sub *subscription, initial []Event, out chan<- Event) {
	defer close(out)
	defer w.ns.Close()
	defer func() {
		if sub != nil {
			sub.stop()
		}
	}()
	emit := func(evs ...Event) bool {
		for _, ev := range evs {
			select {
			case out <- ev:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	if !emit(w.resync(initial)...) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-sub.ch:
			if ok {
				if ev, ok := eventOf(u); ok && w.apply(ev) {
					if !emit(ev) {
						return
					}
				}
				continue
			}
			// The library's reader stopped (notifications were lost):
			// subscribe again, then list to catch up.
			sub.stop()
			sub = nil
			for attempt := 0; sub == nil; attempt++ {
				d := resubscribeDelay[min(attempt, len(resubscribeDelay)-1)]
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
				s, err := w.subscribe()
				if err != nil {
					continue
				}
				listed, err := w.list()
				if err != nil {
					s.stop()
					continue
				}
				sub = s
				resubscriptions.Add(1)
				if !emit(w.resync(listed)...) {
					return
				}
			}
		}
	}
}
