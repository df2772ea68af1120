package probe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// UDPTarget is a UDP_CHECK.
type UDPTarget struct {
	Conn
	// Payload is sent; empty sends random data.
	Payload []byte
	// RequireReply makes a reply necessary; without it the server is up
	// unless an ICMP error (port unreachable, ...) comes back within the
	// timeout.
	RequireReply bool
	// ReplyData, when set, must match the start of the reply (up to the
	// shorter of the two); ReplyMask bits set are ignored.
	ReplyData, ReplyMask []byte
	// MinReplyLength and MaxReplyLength bound the reply (defaults 0 and
	// 255).
	MinReplyLength, MaxReplyLength int
}

// UDP is UDP_CHECK (check_udp.c). keepalived applies the reply length
// limits only when reply data is given, although keepalived.conf(5) says
// "If require_reply is specified, the received data length is checked";
// Vigil checks the length whenever a reply is required, as documented.
func UDP(ctx context.Context, t UDPTarget) Result {
	start := time.Now()
	nc, err := t.dial(ctx, "udp")
	if err != nil {
		return fail(start, "UDP to %s: %s", t.Addr, describe(ctx, err))
	}
	defer nc.Close()
	payload := t.Payload
	if len(payload) == 0 {
		payload = make([]byte, 16)
		_, _ = rand.Read(payload)
	}
	if _, err := nc.Write(payload); err != nil {
		return fail(start, "UDP to %s: send: %s", t.Addr, describe(ctx, err))
	}
	maxLen := t.MaxReplyLength
	if maxLen <= 0 {
		maxLen = 255
	}
	buf := make([]byte, max(maxLen+1, 1))
	n, err := nc.Read(buf)
	if err != nil {
		var ne net.Error
		timedOut := errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
		if timedOut && ctx.Err() == nil && !t.RequireReply {
			return pass(start, "UDP to %s: no ICMP error within %v", t.Addr, t.timeout())
		}
		return fail(start, "UDP to %s: %s", t.Addr, describe(ctx, err))
	}
	if !t.RequireReply {
		return pass(start, "UDP to %s: reply received", t.Addr)
	}
	if n < t.MinReplyLength || n > maxLen {
		what := fmt.Sprint(n)
		if n > maxLen {
			what = fmt.Sprintf("more than %d", maxLen)
		}
		return fail(start, "UDP to %s: reply of %s bytes, want %d to %d", t.Addr, what, t.MinReplyLength, maxLen)
	}
	if i := MatchMasked(buf[:n], t.ReplyData, t.ReplyMask); i >= 0 {
		return fail(start, "UDP to %s: reply differs from require_reply at byte %d", t.Addr, i)
	}
	return pass(start, "UDP to %s: reply of %d bytes matches", t.Addr, n)
}

// MatchMasked compares got with want over the shorter of the two, ignoring
// the bits set in mask (which may be shorter than want: no bits ignored
// beyond it). It returns the index of the first differing byte, -1 when
// they match.
func MatchMasked(got, want, mask []byte) int {
	for i := 0; i < len(got) && i < len(want); i++ {
		var m byte
		if i < len(mask) {
			m = mask[i]
		}
		if (got[i]^want[i])&^m != 0 {
			return i
		}
	}
	return -1
}

// DecodeHexMask reads a hex string as the configuration model stores
// payload and require_reply (two lowercase digits a byte); in a mask
// string an "x" nibble matches anything, and the mask has its bits set.
func DecodeHexMask(s string) (data, mask []byte, err error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	data, mask = make([]byte, len(s)/2), make([]byte, len(s)/2)
	masked := false
	for i := 0; i < len(s); i += 2 {
		for j := range 2 {
			c := s[i+j]
			var v, m byte
			switch {
			case c >= '0' && c <= '9':
				v = c - '0'
			case c >= 'a' && c <= 'f':
				v = c - 'a' + 10
			case c == 'x':
				m, masked = 0xf, true
			default:
				return nil, nil, fmt.Errorf("%q is not a hex digit", c)
			}
			data[i/2] = data[i/2]<<4 | v
			mask[i/2] = mask[i/2]<<4 | m
		}
	}
	if !masked {
		mask = nil
	}
	return data, mask, nil
}
