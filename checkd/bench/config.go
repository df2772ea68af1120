package bench

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// PerVirtualServer is the number of real servers in each virtual server.
const PerVirtualServer = 100

// DelayLoop is every check's delay_loop.
const DelayLoop = time.Second

// ConnectTimeout is every TCP_CHECK's connect_timeout, in seconds.
const ConnectTimeout = 3

// FirstPort is the port of the first real server in each virtual server.
const FirstPort = 20000

// Layout returns the targets of an N-check run: virtual server v (from 0)
// has real servers 127.1.H.L:FirstPort+j for j < PerVirtualServer, where
// H.L is v+1; many ports on few loopback addresses. n is rounded up to a
// whole number of virtual servers.
func Layout(n int) (vips []netip.Addr, reals [][]netip.AddrPort) {
	nvs := (n + PerVirtualServer - 1) / PerVirtualServer
	for v := range nvs {
		x := v + 1
		vips = append(vips, netip.AddrFrom4([4]byte{198, 18, byte(x >> 8), byte(x)}))
		addr := netip.AddrFrom4([4]byte{127, 1, byte(x >> 8), byte(x)})
		var rs []netip.AddrPort
		for j := range PerVirtualServer {
			rs = append(rs, netip.AddrPortFrom(addr, uint16(FirstPort+j)))
		}
		reals = append(reals, rs)
	}
	return vips, reals
}

// Config is the keepalived.conf both checkers run: one virtual server
// (VIP:80, NAT, rr) per row of reals, each real server with a TCP_CHECK
// at delay_loop 1 s.
func Config(vips []netip.Addr, reals [][]netip.AddrPort) string {
	var b strings.Builder
	b.WriteString("# Written by checkd/bench.\nglobal_defs {\n  router_id vigil-bench\n}\n")
	for v, vip := range vips {
		fmt.Fprintf(&b, "\nvirtual_server %s 80 {\n  delay_loop %d\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", vip, DelayLoop/time.Second)
		for _, rs := range reals[v] {
			fmt.Fprintf(&b, "  real_server %s %d {\n    weight 1\n    TCP_CHECK {\n      connect_timeout %d\n    }\n  }\n", rs.Addr(), rs.Port(), ConnectTimeout)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// Flatten lists every real server once.
func Flatten(reals [][]netip.AddrPort) []netip.AddrPort {
	var out []netip.AddrPort
	for _, rs := range reals {
		out = append(out, rs...)
	}
	return out
}
