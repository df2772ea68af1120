package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Helpers of the LVS / health-check area (lvs*.go, check*.go). Names carry
// an lvs prefix so they cannot collide with other areas' helpers.

// Limits keepalived applies to LVS values (keepalived/check/check_parser.c,
// check_api.c, libipvs.h).
const (
	lvsWeightMax      = 2147483647 // IPVS_WEIGHT_LIMIT (INT_MAX)
	lvsMaxPersistence = 2678400    // LVS_MAX_TIMEOUT: 31 days, in seconds
	lvsDefaultPersist = 360        // IPVS_SVC_PERSISTENT_TIMEOUT: 6 minutes
	lvsUintMax        = 4294967295 // UINT_MAX
	// lvsTimerMin is the smallest timer keepalived accepts where zero is
	// not allowed: one microsecond, its timer resolution.
	lvsTimerMin = 0.000001
	// lvsConnTimeoutMax is UINT_MAX microseconds, keepalived's ceiling for
	// connect_timeout.
	lvsConnTimeoutMax = 4294.967295
	// lvsTimerMax bounds the other timers; keepalived's own ceiling is far
	// beyond anything useful, this one (about 31 years) only keeps the
	// value inside a time.Duration.
	lvsTimerMax = 1e9
)

// lvsSchedulers are the IPVS schedulers keepalived accepts for lvs_sched
// (check_parser.c lvs_schedulers[]), matched case-sensitively as it does.
var lvsSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq"}

// lvsExact matches a token against fixed choices exactly, as keepalived's
// strcmp does: "rr" is a scheduler, "RR" is not.
func (c *ctx) lvsExact(what string, t token, choices ...string) (string, bool) {
	for _, ch := range choices {
		if t.text == ch {
			return ch, true
		}
	}
	hint := "choose one of: " + strings.Join(choices, ", ")
	for _, ch := range choices {
		if strings.EqualFold(t.text, ch) {
			hint = fmt.Sprintf("keepalived matches this value case-sensitively: write %s", ch)
		}
	}
	c.d.errorf(t.pos, hint, "%s: unknown value %q", what, t.text)
	return "", false
}

// lvsUint reads the single unsigned argument of a statement within [lo, hi].
func (c *ctx) lvsUint(n *node, lo, hi int64) (uint32, bool) {
	if !c.nargs(n, 1, 1) {
		return 0, false
	}
	v, ok := c.intTok(n.name(), n.words[1], lo, hi)
	return uint32(v), ok
}

// lvsTimer reads a keepalived timer: seconds, possibly fractional, with
// microsecond resolution.
func (c *ctx) lvsTimer(n *node, lo, hi float64) (Duration, bool) {
	return c.secondsArg(n, lo, hi)
}

// lvsAddrPort reads "ADDRESS [PORT]" from the statement's arguments, as
// virtual_server, real_server and sorry_server take them. A port of 0 means
// "no port", as keepalived treats it.
func (c *ctx) lvsAddrPort(n *node) (netip.Addr, uint16, bool) {
	if !c.nargs(n, 1, 2) {
		return netip.Addr{}, 0, false
	}
	a, ok := c.addrTok(n.name(), n.words[1])
	if !ok {
		return netip.Addr{}, 0, false
	}
	var port uint16
	if len(n.words) == 3 {
		if port, ok = c.portTok(n.name()+" port", n.words[2]); !ok {
			return a, 0, false
		}
	}
	return a, port, true
}

// lvsText joins a statement's arguments as keepalived's set_value does for
// free-text values, after checking there is at least one.
func (c *ctx) lvsText(n *node) (string, bool) {
	if !c.nargs(n, 1, -1) {
		return "", false
	}
	return n.argText(), true
}

// lvsHex parses keepalived's free-form hex strings (UDP_CHECK payload and
// require_reply): whitespace-separated words, each read as pairs of hex
// digits, a lone final digit making a byte of its own ("Ab12f 3" is
// AB 12 0F 03). With mask, 'x'/'X' stands for a nibble to ignore. The
// result is the bytes as lowercase hex, masked nibbles as 'x'.
func (c *ctx) lvsHex(n *node, mask bool) (string, bool) {
	var out strings.Builder
	for _, w := range n.words[1:] {
		s := w.text
		for i, ch := range s {
			if !lvsIsHex(byte(ch)) && !(mask && (ch == 'x' || ch == 'X')) {
				hint := "write hex digits (0-9, a-f), e.g. 0a1b 2c"
				if mask {
					hint += "; x marks a nibble to ignore"
				}
				pos := w.pos
				if !w.quoted {
					pos.Col += i
				}
				c.d.errorf(pos, hint, "%s: %q is not a hex digit", n.name(), string(ch))
				return "", false
			}
		}
		s = strings.ToLower(s)
		for len(s) >= 2 {
			out.WriteString(s[:2])
			s = s[2:]
		}
		if len(s) == 1 {
			out.WriteByte('0')
			out.WriteString(s)
		}
	}
	return out.String(), true
}

func lvsIsHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

// lvsFamily names an address family the way keepalived's ip_family does.
func lvsFamily(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

// lvsFamilyText is the operator-facing spelling of a family.
func lvsFamilyText(f string) string {
	switch f {
	case "inet":
		return "IPv4"
	case "inet6":
		return "IPv6"
	}
	return "unknown family"
}

// lvsHostPort formats an address and optional port for messages.
func lvsHostPort(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// lvsBoolPtr returns a pointer to v, for optional booleans in the model.
func lvsBoolPtr(v bool) *bool { return &v }
