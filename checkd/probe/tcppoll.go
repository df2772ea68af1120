package probe

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPoller runs TCP_CHECK connection attempts the way keepalived's
// checker does: non-blocking sockets on one epoll loop, timeouts from one
// deadline heap, no goroutine, timer or context per probe. A probe costs
// socket, connect, one epoll registration, getsockopt and close; at
// thousands of checks a second everything else (a goroutine and two
// timers per probe, net.Dialer's extra socket calls, an OS thread hand-off
// per completion) was most of checkd's CPU.
type tcpPoller struct {
	epfd int
	// ep is epfd handed to Go's own network poller: the loop waits for
	// it to become readable there, so no OS thread of ours blocks in
	// epoll_wait and a completion never costs a thread hand-off. Its read
	// deadline is the earliest probe deadline.
	ep *os.File

	mu       sync.Mutex
	waiters  map[uint64]*tcpWaiter
	deadline waiterHeap
	next     uint64
}

// tcpWaiter is one connection attempt in progress.
type tcpWaiter struct {
	tok      uint64
	fd       int
	addr     netip.AddrPort
	start    time.Time
	deadline time.Time
	done     func(Result)
	idx      int // in the deadline heap
}

var (
	pollerOnce sync.Once
	poller     *tcpPoller
	pollerErr  error
)

func sharedPoller() (*tcpPoller, error) {
	pollerOnce.Do(func() {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			pollerErr = fmt.Errorf("epoll_create1: %w", err)
			return
		}
		if err := unix.SetNonblock(epfd, true); err != nil {
			unix.Close(epfd)
			pollerErr = fmt.Errorf("epoll fd non-blocking: %w", err)
			return
		}
		ep := os.NewFile(uintptr(epfd), "checkd-tcp-epoll")
		rc, err := ep.SyscallConn()
		if err != nil {
			ep.Close()
			pollerErr = fmt.Errorf("epoll fd in the runtime poller: %w", err)
			return
		}
		poller = &tcpPoller{epfd: epfd, ep: ep, waiters: map[uint64]*tcpWaiter{}}
		go poller.loop(rc)
	})
	return poller, pollerErr
}

// StartTCP begins a TCP_CHECK connection attempt and returns at once;
// done receives the outcome exactly once, from the poller's goroutine (or
// from StartTCP or cancel itself when the attempt ends right away).
// cancel abandons the attempt: done is then called with a failure, unless
// it was already called.
func StartTCP(c Conn, done func(Result)) (cancel func()) {
	start := time.Now()
	p, err := sharedPoller()
	if err != nil {
		// No epoll here: fall back to a goroutine around net.Dialer.
		ctx, stop := context.WithCancel(context.Background())
		go func() { defer stop(); done(dialTCP(ctx, c, start)) }()
		return stop
	}
	if !c.Addr.IsValid() {
		done(fail(start, "TCP connect: no address to connect to"))
		return func() {}
	}
	fd, err := p.connect(c)
	switch {
	case err == nil && fd < 0:
		done(Result{OK: true, Detail: "TCP connect succeeded", Latency: time.Since(start)})
		return func() {}
	case err != nil:
		done(fail(start, "TCP connect to %s: %s", c.Addr, describe(context.Background(), err)))
		return func() {}
	}
	w := &tcpWaiter{fd: fd, addr: c.Addr, start: start, deadline: start.Add(c.timeout()), done: done}
	// Registered under the lock: the loop cannot see the event before the
	// waiter exists, and cancel cannot close the socket in between.
	p.mu.Lock()
	p.next++
	w.tok = p.next
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLONESHOT,
		Fd: int32(uint32(w.tok)), Pad: int32(uint32(w.tok >> 32))}
	if err := rawEpollAdd(p.epfd, fd, &ev); err != nil {
		p.mu.Unlock()
		rawClose(fd)
		done(fail(start, "TCP connect to %s: epoll_ctl: %v", c.Addr, err))
		return func() {}
	}
	p.waiters[w.tok] = w
	heap.Push(&p.deadline, w)
	if p.deadline[0] == w {
		_ = p.ep.SetReadDeadline(w.deadline)
	}
	p.mu.Unlock()
	return func() {
		p.finish(w.tok, func(w *tcpWaiter) Result { return fail(w.start, "TCP connect to %s: cancelled", w.addr) })
	}
}

// connect opens a non-blocking socket and starts connecting: fd -1 with a
// nil error is a connection established at once (closed already).
func (p *tcpPoller) connect(c Conn) (int, error) {
	remote, family, err := sockaddr(c.Addr, c.BindIf)
	if err != nil {
		return -1, err
	}
	fd, err := rawSocket(family)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := prepare(fd, c); err != nil {
		rawClose(fd)
		return -1, err
	}
	// As keepalived (layer4.c tcp_bind_connect): close with a reset, so
	// a check leaves no TIME_WAIT behind (thousands a second would use up
	// the source ports) and costs no FIN exchange.
	rawLingerZero(fd)
	err = rawConnect(fd, remote)
	switch {
	case err == nil:
		rawClose(fd)
		return -1, nil
	case errors.Is(err, unix.EINPROGRESS):
		return fd, nil
	}
	rawClose(fd)
	return -1, err
}

// finish ends an attempt once: closes its socket, forgets it and calls
// done with what outcome computes (under no lock).
func (p *tcpPoller) finish(tok uint64, outcome func(*tcpWaiter) Result) {
	p.mu.Lock()
	w, ok := p.waiters[tok]
	if ok {
		delete(p.waiters, tok)
		heap.Remove(&p.deadline, w.idx)
	}
	p.mu.Unlock()
	if !ok {
		return
	}
	res := outcome(w)
	rawClose(w.fd)
	w.done(res)
}

// loop waits for connections to complete and for deadlines to pass.
// Events carry a token, never the descriptor: a descriptor closed by a
// timeout or cancel may be reused by the next probe before a stale event
// is read.
func (p *tcpPoller) loop(rc syscall.RawConn) {
	events := make([]unix.EpollEvent, 256)
	var ready []uint64
	for {
		p.mu.Lock()
		var next time.Time
		if len(p.deadline) > 0 {
			next = p.deadline[0].deadline
		}
		_ = p.ep.SetReadDeadline(next)
		p.mu.Unlock()
		n := 0
		var werr error
		// Read calls the function at once, and again each time Go's
		// poller finds epfd readable: readiness that came before the wait
		// is never lost, since the ready list itself is asked first.
		err := rc.Read(func(fd uintptr) bool {
			n, werr = rawEpollPoll(int(fd), events)
			return n > 0 || (werr != nil && !errors.Is(werr, unix.EINTR))
		})
		switch {
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			return // the file was closed
		case werr != nil:
			n = 0
		}
		ready = ready[:0]
		for _, ev := range events[:n] {
			ready = append(ready, uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32)
		}
		for _, tok := range ready {
			p.finish(tok, connected)
		}
		now := time.Now()
		for {
			p.mu.Lock()
			var tok uint64
			if len(p.deadline) > 0 && !p.deadline[0].deadline.After(now) {
				tok = p.deadline[0].tok
			}
			p.mu.Unlock()
			if tok == 0 {
				break
			}
			p.finish(tok, func(w *tcpWaiter) Result { return fail(w.start, "TCP connect to %s: timeout", w.addr) })
		}
	}
}

// connected reads the outcome of an attempt whose socket became writable.
func connected(w *tcpWaiter) Result {
	soerr, err := rawSoError(w.fd)
	switch {
	case err != nil:
		return fail(w.start, "TCP connect to %s: getsockopt: %v", w.addr, err)
	case soerr != 0:
		return fail(w.start, "TCP connect to %s: %s", w.addr, describe(context.Background(), syscall.Errno(soerr)))
	}
	// No detail on success: formatting one per probe costs more than the
	// probe's own bookkeeping, and the checker's log line names the server.
	return Result{OK: true, Detail: "TCP connect succeeded", Latency: time.Since(w.start)}
}

// waiterHeap orders attempts by deadline.
type waiterHeap []*tcpWaiter

func (h waiterHeap) Len() int           { return len(h) }
func (h waiterHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h waiterHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *waiterHeap) Push(x any)        { w := x.(*tcpWaiter); w.idx = len(*h); *h = append(*h, w) }
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}

// sockaddr converts an address for the socket calls; ifname gives a
// link-local IPv6 address its scope.
func sockaddr(ap netip.AddrPort, ifname string) (unix.Sockaddr, int, error) {
	a := ap.Addr()
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if ifname != "" && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return nil, 0, fmt.Errorf("bind_if %s: %w", ifname, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, unix.AF_INET6, nil
}

// prepare sets a checker socket's options and source address.
func prepare(fd int, c Conn) error {
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
	if l, ok := c.local(); ok {
		if c.BindPort != 0 {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
		lsa, _, err := sockaddr(l, c.BindIf)
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, lsa); err != nil {
			return fmt.Errorf("bind %s: %w", l, err)
		}
	}
	return nil
}
