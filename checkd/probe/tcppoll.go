package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPoller connects TCP_CHECK sockets with as few system calls as the
// check needs (socket, connect, one epoll registration, getsockopt, close)
// and one shared epoll loop, instead of a net.Dialer per probe, which adds
// socket options, address lookups and a second epoll registration: at
// thousands of checks a second the system calls are most of checkd's CPU.
type tcpPoller struct {
	epfd int

	mu      sync.Mutex
	waiters map[uint64]chan uint32 // token -> receives the epoll events
	next    uint64
}

var (
	pollerOnce sync.Once
	poller     *tcpPoller
	pollerErr  error
)

func sharedPoller() (*tcpPoller, error) {
	pollerOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			pollerErr = fmt.Errorf("epoll_create1: %w", err)
			return
		}
		poller = &tcpPoller{epfd: fd, waiters: map[uint64]chan uint32{}}
		go poller.loop()
	})
	return poller, pollerErr
}

// loop delivers readiness to the probes waiting for it. Events carry a
// token, never the descriptor: a descriptor closed after a timeout may be
// reused by the next probe before a stale event is read.
func (p *tcpPoller) loop() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if ch, ok := p.waiters[tok]; ok {
				delete(p.waiters, tok)
				ch <- ev.Events
			}
		}
		p.mu.Unlock()
	}
}

// watch registers fd for writability (connect completion), one shot.
func (p *tcpPoller) watch(fd int) (uint64, chan uint32, error) {
	ch := make(chan uint32, 1)
	p.mu.Lock()
	p.next++
	tok := p.next
	p.waiters[tok] = ch
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLONESHOT,
		Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.forget(tok)
		return 0, nil, err
	}
	return tok, ch, nil
}

func (p *tcpPoller) forget(tok uint64) {
	p.mu.Lock()
	delete(p.waiters, tok)
	p.mu.Unlock()
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

// tcpConnect is TCP_CHECK's connection attempt: nil when the connection
// was established within the timeout (and closed at once).
func (p *tcpPoller) connect(ctx context.Context, c Conn) error {
	remote, family, err := sockaddr(c.Addr, c.BindIf)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
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
	err = unix.Connect(fd, remote)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, unix.EINPROGRESS):
		return err
	}
	tok, ch, err := p.watch(fd)
	if err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	timer := time.NewTimer(c.timeout())
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		p.forget(tok)
		return errTimeout
	case <-ctx.Done():
		p.forget(tok)
		return ctx.Err()
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return fmt.Errorf("getsockopt: %w", err)
	}
	if soerr != 0 {
		return syscall.Errno(soerr)
	}
	return nil
}

// errTimeout is a connection attempt that outlived connect_timeout.
var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
