// Package probe performs one health check of each kind keepalived knows
// and reports what it saw: TCP_CHECK, HTTP_GET and SSL_GET, SMTP_CHECK,
// DNS_CHECK, PING_CHECK, UDP_CHECK, MISC_CHECK and FILE_CHECK. Each is a
// function of a context and a target, returning a Result; none keeps
// state between calls or decides UP and DOWN, which is checkd/health's job.
//
// Every probe honours its context (cancelling it aborts the probe at once)
// and the target's connect_timeout, which like keepalived's
// connection_to bounds the connection and then each read and write.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is the outcome of one probe.
type Result struct {
	OK bool
	// Detail says what was seen, for logs: the failure, or what passed.
	Detail string
	// Weight is the real server weight the probe asks for: MISC_CHECK with
	// misc_dynamic sets it from the exit status (status-2). Nil means the
	// configured weight.
	Weight *int
	// WeightDelta is FILE_CHECK's adjustment: the track_file's value times
	// its weight, added to the real server's weight.
	WeightDelta *int64
	// Latency is how long the probe took.
	Latency time.Duration
}

func fail(start time.Time, format string, args ...any) Result {
	return Result{Detail: fmt.Sprintf(format, args...), Latency: time.Since(start)}
}

func pass(start time.Time, format string, args ...any) Result {
	return Result{OK: true, Detail: fmt.Sprintf(format, args...), Latency: time.Since(start)}
}

// DefaultTimeout is keepalived's connect_timeout default.
const DefaultTimeout = 5 * time.Second

// Conn says where and how a checker connects: keepalived's conn_opts
// (connect_ip, connect_port, bindto, bind_port, bind_if, fwmark,
// connect_timeout).
type Conn struct {
	// Addr is the address and port connected to (connect_ip and
	// connect_port, defaulting to the real server's).
	Addr netip.AddrPort
	// BindTo and BindPort are the source address and port; BindIf the
	// interface (SO_BINDTODEVICE), needed for IPv6 link-local targets.
	BindTo   netip.Addr
	BindPort uint16
	BindIf   string
	// Fwmark marks the checker's packets (SO_MARK), for policy routing.
	Fwmark uint32
	// Timeout bounds the connection, then each read and write (default
	// 5 s).
	Timeout time.Duration
}

func (c Conn) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

// remote is the address connected to, with the interface as zone for a
// link-local IPv6 address.
func (c Conn) remote() netip.AddrPort {
	a := c.Addr.Addr()
	if a.Is6() && a.Zone() == "" && c.BindIf != "" && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		a = a.WithZone(c.BindIf)
	}
	return netip.AddrPortFrom(a, c.Addr.Port())
}

// control sets the socket options of a checker's socket before it binds
// and connects.
func (c Conn) control(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if c.BindIf != "" {
			if e := unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.BindIf); e != nil {
				serr = fmt.Errorf("bind_if %s: %w", c.BindIf, e)
				return
			}
		}
		if c.Fwmark != 0 {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(c.Fwmark)); e != nil {
				serr = fmt.Errorf("fwmark %d: %w", c.Fwmark, e)
				return
			}
		}
		if c.BindPort != 0 {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// local is the source address to bind, nil for the kernel's choice.
func (c Conn) local() (netip.AddrPort, bool) {
	if !c.BindTo.IsValid() && c.BindPort == 0 {
		return netip.AddrPort{}, false
	}
	a := c.BindTo
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
		if c.Addr.Addr().Is6() && !c.Addr.Addr().Is4In6() {
			a = netip.IPv6Unspecified()
		}
	}
	return netip.AddrPortFrom(a, c.BindPort), true
}

// dial connects over network ("tcp" or "udp") within the connect timeout
// and ctx, and returns a connection whose every read and write is bounded
// by the timeout too, and which ctx cancellation aborts.
func (c Conn) dial(ctx context.Context, network string) (net.Conn, error) {
	if !c.Addr.IsValid() {
		return nil, errors.New("no address to connect to")
	}
	d := net.Dialer{Timeout: c.timeout(), Control: c.control}
	if l, ok := c.local(); ok {
		switch network {
		case "tcp":
			d.LocalAddr = net.TCPAddrFromAddrPort(l)
		case "udp":
			d.LocalAddr = net.UDPAddrFromAddrPort(l)
		}
	}
	nc, err := d.DialContext(ctx, network, c.remote().String())
	if err != nil {
		return nil, err
	}
	return guard(ctx, nc, c.timeout()), nil
}

// timedConn bounds each read and write by the timeout and by ctx.
type timedConn struct {
	net.Conn
	timeout time.Duration
	limit   time.Time // ctx deadline, zero if none
	stop    func() bool
}

func guard(ctx context.Context, nc net.Conn, timeout time.Duration) *timedConn {
	t := &timedConn{Conn: nc, timeout: timeout}
	t.limit, _ = ctx.Deadline()
	// Cancelling ctx unblocks any read or write in progress.
	t.stop = context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	return t
}

func (t *timedConn) deadline() time.Time {
	d := time.Now().Add(t.timeout)
	if !t.limit.IsZero() && t.limit.Before(d) {
		d = t.limit
	}
	return d
}

func (t *timedConn) Read(p []byte) (int, error) {
	if err := t.Conn.SetReadDeadline(t.deadline()); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

func (t *timedConn) Write(p []byte) (int, error) {
	if err := t.Conn.SetWriteDeadline(t.deadline()); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

func (t *timedConn) Close() error {
	t.stop()
	return t.Conn.Close()
}

// describe turns a network error into the short phrase keepalived's logs
// use ("Timeout connecting", "Connection refused", ...).
func describe(ctx context.Context, err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case ctx.Err() != nil:
		return "cancelled: " + context.Cause(ctx).Error()
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) && se.Err != nil && se.Syscall == "connect" {
		err = se.Err
	}
	return err.Error()
}

// TCP is TCP_CHECK: the server is up when a connection succeeds within the
// connect timeout (check_tcp.c closes it at once).
func TCP(ctx context.Context, c Conn) Result {
	ch := make(chan Result, 1)
	cancel := StartTCP(c, func(r Result) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		cancel()
		r := <-ch
		r.Detail = fmt.Sprintf("TCP connect to %s: %s", c.Addr, describe(ctx, ctx.Err()))
		return r
	}
}

// dialTCP is TCP_CHECK through net.Dialer, where epoll is unavailable.
func dialTCP(ctx context.Context, c Conn, start time.Time) Result {
	if !c.Addr.IsValid() {
		return fail(start, "TCP connect: no address to connect to")
	}
	nc, err := c.dial(ctx, "tcp")
	if err != nil {
		return fail(start, "TCP connect to %s: %s", c.Addr, describe(ctx, err))
	}
	_ = nc.Close()
	return pass(start, "TCP connect to %s succeeded", c.Addr)
}
