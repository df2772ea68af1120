package kernel

// The write fast path: IPVS commands over this package's own generic
// netlink socket, pipelined.
//
// moby/ipvs sends one request and waits for its answer, and each request
// costs a send, a getsockname (GetPid), a receive into a fresh 64 KiB
// buffer (vishvananda/netlink's Receive allocates and zeroes one per call)
// and per-call deadline bookkeeping: applying 11,000 entries allocated
// about 700 MB. ApplyBatch instead writes up to batchSize requests, each
// with NLM_F_ACK and its own sequence number, into one datagram (the
// kernel's netlink_rcv_skb runs every message of a datagram in order and
// acknowledges each, an error included, and does not stop at one), then
// reads the acknowledgements into one reused buffer and matches them to
// their requests by sequence number. An error fails only its own
// operation.
//
// The requests are byte for byte what moby/ipvs v1.1.0 sends for the same
// Service and Destination (batch_test.go compares them), built from the
// same conversions (convert.go), so the limits documented there hold here
// too. Reads (dumps) stay on moby.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	mipvs "github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// batchSize is how many requests go out before their acknowledgements are
// read. Each acknowledgement queues an skb of well under 1 KiB of truesize
// on the socket (errors too: NETLINK_CAP_ACK leaves out the echoed
// request), so 64 stay far below the default 208 KiB receive buffer; an
// overflow would drop acknowledgements (ENOBUFS), which is handled as a
// transport failure.
const batchSize = 64

// recvBufSize is the one receive buffer's size. Every datagram the socket
// gets is one acknowledgement (at most a few hundred bytes).
const recvBufSize = 32 << 10

// IPVS generic netlink commands and attributes (include/uapi/linux/ip_vs.h).
const (
	ipvsCmdNewService = 1
	ipvsCmdSetService = 2
	ipvsCmdDelService = 3
	ipvsCmdNewDest    = 5
	ipvsCmdSetDest    = 6
	ipvsCmdDelDest    = 7

	ipvsCmdAttrService = 1
	ipvsCmdAttrDest    = 2

	ipvsSvcAttrAF        = 1
	ipvsSvcAttrProtocol  = 2
	ipvsSvcAttrAddr      = 3
	ipvsSvcAttrPort      = 4
	ipvsSvcAttrFWMark    = 5
	ipvsSvcAttrSchedName = 6
	ipvsSvcAttrFlags     = 7
	ipvsSvcAttrTimeout   = 8
	ipvsSvcAttrNetmask   = 9
	ipvsSvcAttrPEName    = 11

	ipvsDestAttrAddr      = 1
	ipvsDestAttrPort      = 2
	ipvsDestAttrFwdMethod = 3
	ipvsDestAttrWeight    = 4
	ipvsDestAttrUThresh   = 5
	ipvsDestAttrLThresh   = 6

	// genlVersion is the version moby's requests carry (IPVS_GENL_VERSION).
	genlVersion = 1
)

const (
	nlmsgHdrLen = 16
	genlHdrLen  = 4
)

var native = binary.NativeEndian

// nlAlign rounds up to netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN).
func nlAlign(n int) int { return (n + 3) &^ 3 }

// attrStart opens an attribute (a nest when children follow) and returns
// its offset for attrEnd.
func attrStart(b []byte, typ uint16) ([]byte, int) {
	off := len(b)
	b = append(b, 0, 0, 0, 0)
	native.PutUint16(b[off+2:], typ)
	return b, off
}

// attrEnd writes the attribute's length (header and payload, without the
// padding) and pads it to alignment.
func attrEnd(b []byte, off int) []byte {
	native.PutUint16(b[off:], uint16(len(b)-off))
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func attrBytes(b []byte, typ uint16, data ...byte) []byte {
	b, off := attrStart(b, typ)
	b = append(b, data...)
	return attrEnd(b, off)
}

func attrU16(b []byte, typ uint16, v uint16) []byte {
	b, off := attrStart(b, typ)
	b = native.AppendUint16(b, v)
	return attrEnd(b, off)
}

func attrBE16(b []byte, typ uint16, v uint16) []byte {
	b, off := attrStart(b, typ)
	b = binary.BigEndian.AppendUint16(b, v)
	return attrEnd(b, off)
}

func attrU32(b []byte, typ uint16, v uint32) []byte {
	b, off := attrStart(b, typ)
	b = native.AppendUint32(b, v)
	return attrEnd(b, off)
}

func attrString(b []byte, typ uint16, s string) []byte {
	b, off := attrStart(b, typ)
	b = append(b, s...)
	b = append(b, 0)
	return attrEnd(b, off)
}

// rawIP is the address as moby's rawIPData sends it: 4 bytes for IPv4
// (and IPv4-mapped IPv6), the slice as it is otherwise.
func rawIP(ip net.IP) []byte {
	if len(ip) <= net.IPv4len || ip.To4() != nil {
		return ip.To4()
	}
	return ip
}

// appendRequest appends one IPVS request (netlink header with
// NLM_F_REQUEST|NLM_F_ACK, generic netlink header, the service nest and,
// for destination commands, the destination nest), encoded as moby/ipvs
// v1.1.0's fillService and fillDestination do.
func appendRequest(b []byte, family uint16, seq uint32, cmd uint8, s *mipvs.Service, d *mipvs.Destination) []byte {
	start := len(b)
	b = native.AppendUint32(b, 0) // length, below
	b = native.AppendUint16(b, family)
	b = native.AppendUint16(b, syscall.NLM_F_REQUEST|syscall.NLM_F_ACK)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0) // port id: the kernel
	b = append(b, cmd, genlVersion, 0, 0)

	b, svc := attrStart(b, ipvsCmdAttrService)
	b = attrU16(b, ipvsSvcAttrAF, s.AddressFamily)
	if s.FWMark != 0 {
		b = attrU32(b, ipvsSvcAttrFWMark, s.FWMark)
	} else {
		b = attrU16(b, ipvsSvcAttrProtocol, s.Protocol)
		b = attrBytes(b, ipvsSvcAttrAddr, rawIP(s.Address)...)
		b = attrBE16(b, ipvsSvcAttrPort, s.Port)
	}
	b = attrString(b, ipvsSvcAttrSchedName, s.SchedName)
	if s.PEName != "" {
		b = attrString(b, ipvsSvcAttrPEName, s.PEName)
	}
	b, fl := attrStart(b, ipvsSvcAttrFlags) // struct ip_vs_flags {flags, mask}
	b = native.AppendUint32(b, s.Flags)
	b = native.AppendUint32(b, 0xffffffff)
	b = attrEnd(b, fl)
	b = attrU32(b, ipvsSvcAttrTimeout, s.Timeout)
	b = attrU32(b, ipvsSvcAttrNetmask, s.Netmask)
	b = attrEnd(b, svc)

	if d != nil {
		var dst int
		b, dst = attrStart(b, ipvsCmdAttrDest)
		b = attrBytes(b, ipvsDestAttrAddr, rawIP(d.Address)...)
		b = attrBE16(b, ipvsDestAttrPort, d.Port)
		b = attrU32(b, ipvsDestAttrFwdMethod, d.ConnectionFlags&mipvs.ConnectionFlagFwdMask)
		b = attrU32(b, ipvsDestAttrWeight, uint32(d.Weight))
		b = attrU32(b, ipvsDestAttrUThresh, d.UpperThreshold)
		b = attrU32(b, ipvsDestAttrLThresh, d.LowerThreshold)
		b = attrEnd(b, dst)
	}
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// request is one op converted for the wire.
type request struct {
	cmd uint8
	svc *mipvs.Service
	dst *mipvs.Destination
	// first is the failure that made this request go out a second time
	// (nil: not retried).
	first error
}

// toRequest converts op exactly as Apply does.
func toRequest(op ipvs.Op) (request, error) {
	var (
		r   request
		err error
	)
	switch op.Kind {
	case ipvs.AddService, ipvs.UpdateService:
		r.svc, err = serviceToMoby(op.Service)
	case ipvs.DelService, ipvs.AddDest, ipvs.UpdateDest, ipvs.DelDest:
		r.svc, err = serviceKeyToMoby(op.Service.ServiceKey)
	default:
		return r, fmt.Errorf("unknown operation %d", op.Kind)
	}
	if err != nil {
		return r, err
	}
	switch op.Kind {
	case ipvs.AddDest, ipvs.UpdateDest:
		r.dst, err = destToMoby(r.svc.AddressFamily, op.Dest)
	case ipvs.DelDest:
		r.dst, err = destKeyToMoby(r.svc.AddressFamily, op.Dest.DestKey)
	}
	switch op.Kind {
	case ipvs.AddService:
		r.cmd = ipvsCmdNewService
	case ipvs.UpdateService:
		r.cmd = ipvsCmdSetService
	case ipvs.DelService:
		r.cmd = ipvsCmdDelService
	case ipvs.AddDest:
		r.cmd = ipvsCmdNewDest
	case ipvs.UpdateDest:
		r.cmd = ipvsCmdSetDest
	case ipvs.DelDest:
		r.cmd = ipvsCmdDelDest
	}
	return r, err
}

// nlConn is the fast path's generic netlink socket. It is used only with
// mobyMu held, by one goroutine at a time.
type nlConn struct {
	fd  int
	seq uint32
	out []byte // the datagram being sent, reused
	in  []byte // the one receive buffer
}

func openConn() (*nlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("open a generic netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind a generic netlink socket: %w", err)
	}
	// Error acknowledgements without the echoed request (Linux 4.3+;
	// older kernels echo it, which only costs buffer space).
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return &nlConn{fd: fd, seq: uint32(time.Now().UnixNano()), out: make([]byte, 0, 16<<10), in: make([]byte, recvBufSize)}, nil
}

func (c *nlConn) close() { unix.Close(c.fd) }

// exchange sends the requests reqs[i] for i in idx in one datagram and
// reads their acknowledgements until each has one, the deadline passes or
// ctx ends. It sets acked[k] and res[k] (the kernel's errno, nil for
// success) for idx[k]; a non-nil return is a transport failure, after
// which the requests not acked may or may not have been applied.
func (c *nlConn) exchange(ctx context.Context, family uint16, reqs []request, idx []int, acked []bool, res []error, deadline time.Time) error {
	c.out = c.out[:0]
	base := c.seq + 1
	for _, i := range idx {
		c.seq++
		r := &reqs[i]
		c.out = appendRequest(c.out, family, c.seq, r.cmd, r.svc, r.dst)
	}
	for {
		_, err := unix.Write(c.fd, c.out)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("send %d IPVS requests: %w", len(idx), err)
		}
		break
	}
	pending := len(idx)
	for pending > 0 {
		n, err := unix.Read(c.fd, c.in)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if err := c.wait(ctx, deadline); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("receive IPVS acknowledgements: %w", err)
		}
		p := c.in[:n]
		for len(p) >= nlmsgHdrLen {
			l := int(native.Uint32(p))
			if l < nlmsgHdrLen || l > len(p) {
				return fmt.Errorf("receive IPVS acknowledgements: malformed netlink message (length %d of %d bytes)", l, len(p))
			}
			typ, seq := native.Uint16(p[4:]), native.Uint32(p[8:])
			if k := seq - base; typ == unix.NLMSG_ERROR && l >= nlmsgHdrLen+4 && k < uint32(len(idx)) && !acked[k] {
				acked[k] = true
				pending--
				if code := int32(native.Uint32(p[nlmsgHdrLen:])); code != 0 {
					res[k] = syscall.Errno(-code)
				}
			}
			if nlAlign(l) >= len(p) {
				break
			}
			p = p[nlAlign(l):]
		}
	}
	return nil
}

// wait polls for the next acknowledgement, in slices short enough to
// notice ctx ending.
func (c *nlConn) wait(ctx context.Context, deadline time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("no IPVS acknowledgement: %w", context.DeadlineExceeded)
		}
		ms := int(min(left, 100*time.Millisecond)/time.Millisecond) + 1
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}, ms)
		if err == unix.EINTR || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll the netlink socket: %w", err)
		}
		return nil
	}
}

// dropConn closes the fast path's socket; the next batch opens a new one.
func (b *Backend) dropConn() {
	if b.nl != nil {
		b.nl.close()
		b.nl = nil
	}
}

// ApplyBatch performs ops in order, as Apply would each, and returns one
// error per op (nil for success), each naming its op as Apply's do. It
// implements ipvs.BatchApplier.
//
// Requests go out batchSize at a time in one datagram and are acknowledged
// one by one; the kernel runs them in order, so an op that depends on an
// earlier one in the same batch sees its effect (a destination added
// after its service), and an op whose predecessor failed fails in its own
// right (ESRCH for a destination of a service whose add failed).
//
// Recovery follows Apply: on a transport failure (send or receive error,
// lost acknowledgements, no acknowledgement within the backend's
// per-request timeout) or an ENOENT that a stale family id explains, the
// socket and the moby handle are reopened (IPVS checked, family id
// resolved again) and the ops not acknowledged are sent once more; an add
// that then finds its entry, or a delete that finds it gone, is taken as
// its own first attempt having been applied. Ops not attempted because
// ctx ended get an error wrapping ctx.Err(). If the fast path's socket
// cannot be opened at all, the ops go through moby one by one.
func (b *Backend) ApplyBatch(ctx context.Context, ops []ipvs.Op) []error {
	errs := make([]error, len(ops))
	reqs := make([]request, len(ops))
	todo := make([]int, 0, len(ops))
	for i, op := range ops {
		r, err := toRequest(op)
		if err != nil {
			errs[i] = fmt.Errorf("lvsd: %s: %w", describe(op), err)
			continue
		}
		reqs[i] = r
		todo = append(todo, i)
	}
	mobyMu.Lock()
	defer mobyMu.Unlock()
	b.runBatch(ctx, ops, reqs, todo, errs)
	return errs
}

var _ ipvs.BatchApplier = (*Backend)(nil)

// runBatch sends reqs[i] for i in todo. mobyMu must be held.
func (b *Backend) runBatch(ctx context.Context, ops []ipvs.Op, reqs []request, todo []int, errs []error) {
	failRest := func(err error) {
		for _, i := range todo {
			e := err
			if reqs[i].first != nil {
				e = fmt.Errorf("%w (reopening the IPVS handle after: %v)", err, reqs[i].first)
			}
			errs[i] = fmt.Errorf("lvsd: %s: %w", describe(ops[i]), e)
		}
	}
	var (
		acked = make([]bool, batchSize)
		res   = make([]error, batchSize)
	)
	for len(todo) > 0 {
		if b.closed {
			failRest(errClosed)
			return
		}
		if err := ctx.Err(); err != nil {
			failRest(fmt.Errorf("not attempted: %w", err))
			return
		}
		if b.h == nil {
			if err := b.open(); err != nil {
				failRest(err)
				return
			}
		}
		if b.nl == nil {
			c, err := openConn()
			if err != nil {
				// The fast path is unavailable; moby's own socket may not be.
				b.fallback(ctx, ops, reqs, todo, errs)
				return
			}
			b.nl = c
		}
		chunk := todo[:min(len(todo), batchSize)]
		clear(acked)
		clear(res)
		deadline := time.Now().Add(b.opTimeout)
		terr := b.nl.exchange(ctx, uint16(b.family), reqs, chunk, acked, res, deadline)
		if terr != nil && ctx.Err() == nil && !errors.Is(terr, context.DeadlineExceeded) {
			terr = fmt.Errorf("%w (after %d of %d acknowledgements)", terr, countTrue(acked[:len(chunk)]), len(chunk))
		} else if terr != nil && ctx.Err() == nil {
			terr = fmt.Errorf("netlink request abandoned after %v: %w", b.opTimeout, terr)
		}
		var again []int
		stale, checked := false, false
		for k, i := range chunk {
			r := &reqs[i]
			err := res[k]
			switch {
			case !acked[k]:
				if r.first != nil || ctx.Err() != nil {
					e := terr
					if r.first != nil {
						e = fmt.Errorf("%w (on retry with a new handle after: %v)", terr, r.first)
					}
					errs[i] = fmt.Errorf("lvsd: %s: %w", describe(ops[i]), e)
					continue
				}
				r.first = terr
				again = append(again, i)
				continue
			case errors.Is(err, syscall.ENOENT) && r.first == nil:
				// Generic netlink's answer for an unknown family id, or
				// IPVS's for a missing destination or scheduler.
				if !checked {
					stale, checked = b.staleFamily(), true
				}
				if stale {
					r.first = err
					again = append(again, i)
					continue
				}
			}
			errs[i] = b.outcome(ops[i], r, err)
		}
		rest := todo[len(chunk):]
		if terr != nil || len(again) > 0 {
			b.dropConn()
			b.drop()
			b.reopens++
		}
		todo = append(again, rest...)
	}
}

// outcome is an acknowledged op's result, wrapped as Apply wraps it.
func (b *Backend) outcome(op ipvs.Op, r *request, err error) error {
	if err == nil {
		return nil
	}
	if r.first != nil {
		// As in apply: the first attempt may have been applied.
		switch {
		case (op.Kind == ipvs.AddService || op.Kind == ipvs.AddDest) && errors.Is(err, syscall.EEXIST),
			op.Kind == ipvs.DelService && errors.Is(err, syscall.ESRCH),
			op.Kind == ipvs.DelDest && errors.Is(err, syscall.ENOENT):
			return nil
		}
		err = fmt.Errorf("%w (on retry with a new handle after: %v)", err, r.first)
	}
	return fmt.Errorf("lvsd: %s: %w", describe(op), err)
}

// fallback applies reqs[i] for i in todo through moby, one at a time.
// mobyMu must be held.
func (b *Backend) fallback(ctx context.Context, ops []ipvs.Op, reqs []request, todo []int, errs []error) {
	for _, i := range todo {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("lvsd: %s: not attempted: %w", describe(ops[i]), err)
			continue
		}
		errs[i] = b.applyLocked(ctx, ops[i], reqs[i].svc, reqs[i].dst)
		if errs[i] != nil {
			errs[i] = fmt.Errorf("lvsd: %s: %w", describe(ops[i]), errs[i])
		}
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
