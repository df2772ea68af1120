//go:build linux

package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// MaxAcceptsPerTarget bounds the accept times kept per target (a run at
// delay_loop 1 s records one a second; a runaway checker cannot exhaust
// memory).
const MaxAcceptsPerTarget = 4096

// Targets are TCP listeners that accept and close every connection at
// once and record when each target was connected to. One goroutine serves
// them all with epoll, so 10,000 targets cost 10,000 sockets, not 10,000
// goroutines.
type Targets struct {
	Addrs []netip.AddrPort
	base  time.Time

	fds   []int
	epfd  int
	evfd  int
	done  chan struct{}
	close sync.Once

	mu      sync.Mutex
	accepts [][]time.Duration // per target, since base
	errs    int
}

// Listen opens one listening socket per address (IPv4).
func Listen(addrs []netip.AddrPort) (*Targets, error) {
	t := &Targets{Addrs: addrs, base: time.Now(), done: make(chan struct{}), accepts: make([][]time.Duration, len(addrs)), epfd: -1, evfd: -1}
	fail := func(err error) (*Targets, error) {
		t.closeFDs()
		return nil, err
	}
	var err error
	if t.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fail(fmt.Errorf("epoll_create1: %w", err))
	}
	if t.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fail(fmt.Errorf("eventfd: %w", err))
	}
	if err := unix.EpollCtl(t.epfd, unix.EPOLL_CTL_ADD, t.evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return fail(err)
	}
	for i, a := range addrs {
		if !a.Addr().Is4() {
			return fail(fmt.Errorf("target %s: only IPv4", a))
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("socket for target %d: %w (raise RLIMIT_NOFILE)", i, err))
		}
		t.fds = append(t.fds, fd)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail(err)
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().As4()}); err != nil {
			return fail(fmt.Errorf("bind %s: %w", a, err))
		}
		if err := unix.Listen(fd, 128); err != nil {
			return fail(fmt.Errorf("listen %s: %w", a, err))
		}
		if err := unix.EpollCtl(t.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}); err != nil {
			return fail(err)
		}
	}
	go t.serve()
	return t, nil
}

func (t *Targets) serve() {
	defer close(t.done)
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(t.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		now := time.Since(t.base)
		for _, ev := range events[:n] {
			if ev.Fd < 0 {
				return // Close
			}
			i := int(ev.Fd)
			// Level-triggered: what is left is reported again.
			for range 64 {
				nfd, _, err := unix.Accept4(t.fds[i], unix.SOCK_CLOEXEC)
				if err != nil {
					if !errors.Is(err, unix.EAGAIN) {
						t.mu.Lock()
						t.errs++
						t.mu.Unlock()
					}
					break
				}
				unix.Close(nfd)
				t.mu.Lock()
				if len(t.accepts[i]) < MaxAcceptsPerTarget {
					t.accepts[i] = append(t.accepts[i], now)
				}
				t.mu.Unlock()
			}
		}
	}
}

// Close stops serving and closes every socket.
func (t *Targets) Close() {
	t.close.Do(func() {
		var one [8]byte
		one[0] = 1
		if _, err := unix.Write(t.evfd, one[:]); err == nil {
			select {
			case <-t.done:
			case <-time.After(10 * time.Second):
			}
		}
		t.closeFDs()
	})
}

func (t *Targets) closeFDs() {
	for _, fd := range t.fds {
		unix.Close(fd)
	}
	t.fds = nil
	for _, fd := range []int{t.evfd, t.epfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// Seen counts the targets connected to at or after since.
func (t *Targets) Seen(since time.Time) int {
	s := since.Sub(t.base)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, a := range t.accepts {
		if len(a) > 0 && a[len(a)-1] >= s {
			n++
		}
	}
	return n
}

// Reset forgets every recorded accept (between phases).
func (t *Targets) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.accepts {
		t.accepts[i] = t.accepts[i][:0]
	}
	t.errs = 0
}

// TargetReport is what the targets saw of a checker over a window.
type TargetReport struct {
	Targets      int     `json:"targets"`
	Seconds      float64 `json:"seconds"`
	Accepts      int     `json:"accepts"`  // connections accepted in the window
	PerSec       float64 `json:"per_sec"`  // Accepts / Seconds
	Never        int     `json:"never"`    // targets not connected to in the window
	Interval     Dist    `json:"interval"` // between two checks of a target, ms
	Lateness     Dist    `json:"lateness"` // interval minus delay_loop, ms
	Coverage     Cover   `json:"coverage"` // fraction of targets checked in each whole second
	AcceptErrors int     `json:"accept_errors"`
}

// Cover summarises, over each whole second of the window, the fraction of
// targets connected to at least once in that second.
type Cover struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
}

// Report summarises the accepts in [from, to) for checks every delayLoop.
func (t *Targets) Report(from, to time.Time, delayLoop time.Duration) TargetReport {
	f, e := from.Sub(t.base), to.Sub(t.base)
	t.mu.Lock()
	defer t.mu.Unlock()
	secs := int((e - f) / time.Second)
	perSecond := make([]int, secs)
	r := TargetReport{Targets: len(t.accepts), Seconds: (e - f).Seconds(), AcceptErrors: t.errs}
	var intervals, late []float64
	for _, acc := range t.accepts {
		var prev time.Duration = -1
		lastSec := -1
		seen := false
		for _, a := range acc {
			if a < f || a >= e {
				prev = -1
				if a >= e {
					break
				}
				continue
			}
			seen = true
			r.Accepts++
			if prev >= 0 {
				iv := a - prev
				intervals = append(intervals, ms(iv))
				late = append(late, ms(iv-delayLoop))
			}
			prev = a
			if s := int((a - f) / time.Second); s < secs && s != lastSec {
				perSecond[s]++
				lastSec = s
			}
		}
		if !seen {
			r.Never++
		}
	}
	if r.Seconds > 0 {
		r.PerSec = float64(r.Accepts) / r.Seconds
	}
	r.Interval, r.Lateness = Summarise(intervals), Summarise(late)
	if secs > 0 && len(t.accepts) > 0 {
		r.Coverage.Min = 1
		for _, c := range perSecond {
			fr := float64(c) / float64(len(t.accepts))
			r.Coverage.Min = min(r.Coverage.Min, fr)
			r.Coverage.Mean += fr / float64(secs)
		}
	}
	return r
}
