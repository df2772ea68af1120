package ipvs

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// FormatOptions choose the listing Format prints, as ipvsadm's options do.
type FormatOptions struct {
	// Stats is ipvsadm -Ln --stats: counters instead of weights.
	Stats bool
	// Rate is ipvsadm -Ln --rate: rates instead of weights (Stats wins
	// when both are set, as in ipvsadm).
	Rate bool
	// Exact is --exact: counters in full instead of K/M/G/T units.
	Exact bool
	// Header, when not empty, is printed first in place of the kernel's
	// "IP Virtual Server version 1.2.1 (size=4096)" line, which the
	// Backend does not report; empty prints no version line.
	Header string
	// NoSort is --nosort: services and destinations in the given order.
	NoSort bool
}

// Format writes svcs the way ipvsadm 1.31 lists them (-Ln, -Ln --stats,
// -Ln --rate), so operators can compare vigil's view with ipvsadm's and
// scripts that parse ipvsadm keep working. The layout is ipvsadm's
// print_title and print_service_entry: "%-4s %s" service names, " (flags)"
// for scheduler flags (sh-fallback/sh-port, mh-fallback/mh-port or
// flag-1..3), " persistent T", " mask M" unless all ones (IPv4) or 128
// (IPv6), " pe NAME", " ops", destination rows "  -> %-28s %-7s %-6d
// %-10u %-10u" with Masq/Route/Tunnel/Local, and print_largenum's units.
// Services and destinations are sorted as ipvs_cmp_services and
// ipvs_cmp_dests do, 32-bit wrap-around included.
func Format(w io.Writer, svcs []ServiceState, opts FormatOptions) error {
	bw := bufio.NewWriter(w)
	if opts.Header != "" {
		fmt.Fprintln(bw, opts.Header)
	}
	switch {
	case opts.Stats:
		fmt.Fprintf(bw, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case opts.Rate:
		fmt.Fprintf(bw, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n", "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	default:
		fmt.Fprint(bw, "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
	svcs = slices.Clone(svcs)
	if !opts.NoSort {
		slices.SortStableFunc(svcs, cmpServices)
	}
	for _, s := range svcs {
		formatService(bw, s, opts)
	}
	return bw.Flush()
}

func formatService(w io.Writer, s ServiceState, opts FormatOptions) {
	v6 := s.Canonical().Family == "inet6"
	var name string
	if s.FWMark != 0 {
		// ipvsadm prints the mark with %d.
		name = fmt.Sprintf("FWM  %d", int32(s.FWMark))
		if v6 {
			name += " IPv6"
		}
	} else {
		name = fmt.Sprintf("%-4s %s", s.Protocol, netip.AddrPortFrom(s.Addr.Unmap(), s.Port))
	}
	switch {
	case opts.Stats:
		fmt.Fprintf(w, "%-33s", name)
		largenums(w, opts.Exact, s.Stats.Conns, s.Stats.InPkts, s.Stats.OutPkts, s.Stats.InBytes, s.Stats.OutBytes)
	case opts.Rate:
		fmt.Fprintf(w, "%-33s", name)
		largenums(w, opts.Exact, s.Stats.CPS, s.Stats.InPPS, s.Stats.OutPPS, s.Stats.InBPS, s.Stats.OutBPS)
	default:
		fmt.Fprintf(w, "%s %s", name, s.Sched)
		if f := schedFlags(s.Sched, s.Flags); f != "" {
			fmt.Fprintf(w, " (%s)", f)
		}
		if s.Flags&FlagPersistent != 0 {
			fmt.Fprintf(w, " persistent %d", s.Timeout)
			switch {
			case !v6 && s.Netmask != 0xffffffff:
				m := s.Netmask
				fmt.Fprintf(w, " mask %d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
			case v6 && s.Netmask != 128:
				fmt.Fprintf(w, " mask %d", int32(s.Netmask))
			}
			if s.PEName != "" {
				fmt.Fprintf(w, " pe %s", s.PEName)
			}
		}
		if s.Flags&FlagOnePacket != 0 {
			fmt.Fprint(w, " ops")
		}
	}
	fmt.Fprintln(w)

	dests := slices.Clone(s.Dests)
	if !opts.NoSort {
		slices.SortStableFunc(dests, func(a, b DestState) int { return cmpAddrs(a.Addr, b.Addr, int(a.Port)-int(b.Port)) })
	}
	for _, d := range dests {
		dname := netip.AddrPortFrom(d.Addr.Unmap(), d.Port).String()
		switch {
		case opts.Stats:
			fmt.Fprintf(w, "  -> %-28s", dname)
			largenums(w, opts.Exact, d.Stats.Conns, d.Stats.InPkts, d.Stats.OutPkts, d.Stats.InBytes, d.Stats.OutBytes)
			fmt.Fprintln(w)
		case opts.Rate:
			fmt.Fprintf(w, "  -> %-28s %8d %8d %8d", dname, d.Stats.CPS, d.Stats.InPPS, d.Stats.OutPPS)
			largenums(w, opts.Exact, d.Stats.InBPS, d.Stats.OutBPS)
			fmt.Fprintln(w)
		default:
			fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dname, ForwardName(d.Method), d.Weight, uint32(d.ActiveConns), uint32(d.InactiveConns))
		}
	}
}

// ForwardName is ipvsadm's name of a forwarding method (fwd_name).
func ForwardName(method string) string {
	switch strings.ToUpper(method) {
	case "NAT", "MASQ":
		return "Masq"
	case "DR", "ROUTE":
		return "Route"
	case "TUN", "TUNNEL":
		return "Tunnel"
	case "LOCAL":
		return "Local"
	}
	return method
}

// schedFlags is ipvsadm's print_sched_flags: sh and mh name their two
// flags (and do not show flag-3), other schedulers show flag-1..3.
func schedFlags(sched string, flags uint32) string {
	var out []string
	switch sched {
	case "sh", "mh":
		if flags&FlagSched1 != 0 {
			out = append(out, sched+"-fallback")
		}
		if flags&FlagSched2 != 0 {
			out = append(out, sched+"-port")
		}
	default:
		for i, f := range []uint32{FlagSched1, FlagSched2, FlagSched3} {
			if flags&f != 0 {
				out = append(out, fmt.Sprintf("flag-%d", i+1))
			}
		}
	}
	return strings.Join(out, ",")
}

// largenums prints counters as print_largenum does: right-aligned in 9
// columns, in K, M, G or T units once they no longer fit (unless exact).
func largenums(w io.Writer, exact bool, vals ...uint64) {
	for _, i := range vals {
		switch {
		case exact:
			width := len(fmt.Sprint(i)) + 1
			fmt.Fprintf(w, "%*d", max(width, 9), i)
		case i < 100_000_000:
			fmt.Fprintf(w, "%9d", i)
		case i < 1_000_000_000:
			fmt.Fprintf(w, "%8dK", i/1000)
		case i < 100_000_000_000:
			fmt.Fprintf(w, "%8dM", i/1_000_000)
		case i < 100_000_000_000_000:
			fmt.Fprintf(w, "%8dG", i/1_000_000_000)
		default:
			fmt.Fprintf(w, "%8dT", i/1_000_000_000_000)
		}
	}
}

// protoNumber orders protocols as the kernel numbers them.
func protoNumber(p string) int {
	switch strings.ToUpper(p) {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "SCTP":
		return 132
	}
	return 0
}

// wrap32 is C's int result of subtracting two unsigned 32-bit values,
// which ipvsadm's comparators return: differences of 2^31 or more
// change sign.
func wrap32(a, b uint32) int { return int(int32(a - b)) }

// cmpServices is libipvs's ipvs_cmp_services: fwmark, family, protocol,
// address, port.
func cmpServices(a, b ServiceState) int {
	ka, kb := a.Canonical(), b.Canonical()
	if r := wrap32(ka.FWMark, kb.FWMark); r != 0 {
		return r
	}
	af := func(k ServiceKey) int {
		if k.Family == "inet6" {
			return 10
		}
		return 2
	}
	if r := af(ka) - af(kb); r != 0 {
		return r
	}
	if r := protoNumber(a.Protocol) - protoNumber(b.Protocol); r != 0 && ka.FWMark == 0 {
		return r
	}
	return cmpAddrs(ka.Addr, kb.Addr, int(ka.Port)-int(kb.Port))
}

// cmpAddrs compares addresses 32 bits at a time as ipvs_cmp_services and
// ipvs_cmp_dests do, then falls back to tie.
func cmpAddrs(a, b netip.Addr, tie int) int {
	words := func(x netip.Addr) []uint32 {
		x = x.Unmap()
		if !x.IsValid() {
			return nil
		}
		s := x.AsSlice()
		out := make([]uint32, len(s)/4)
		for i := range out {
			out[i] = uint32(s[4*i])<<24 | uint32(s[4*i+1])<<16 | uint32(s[4*i+2])<<8 | uint32(s[4*i+3])
		}
		return out
	}
	wa, wb := words(a), words(b)
	for i := 0; i < len(wa) && i < len(wb); i++ {
		if r := wrap32(wa[i], wb[i]); r != 0 {
			return r
		}
	}
	return tie
}
