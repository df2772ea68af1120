package desired

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// maxRangeAddrs bounds how many services one group address entry may
// expand to. keepalived walks an IPv4 range over the whole address and an
// IPv6 range over its last 16 bits only (ipvs_group_range_cmd), so 65536
// covers every range keepalived itself can serve.
const maxRangeAddrs = 1 << 16

// entry is one IPVS service of a virtual_server block: the block itself,
// or one address or fwmark of its group.
type entry struct {
	key ipvs.ServiceKey
	// addr is the virtual address (zero for fwmark services), for
	// ha_suspend.
	addr netip.Addr
}

// entries lists the services of vs in file order: one for an address or
// fwmark block, and for a group one per address of every range and one
// per fwmark entry, all sharing the block's real servers (keepalived's
// ipvs_group_cmd). Problems (an unknown group, a range too long) are
// returned as warnings; what can be served is.
func entries(vs *config.VirtualServer, groups map[string]*config.VirtualServerGroup) ([]entry, []string) {
	switch vs.Kind() {
	case "fwmark":
		return []entry{{key: ipvs.ServiceKey{FWMark: vs.Fwmark, Family: familyOr(vs.IPFamily, "inet")}}}, nil
	case "address":
		return []entry{{key: ipvs.ServiceKey{Protocol: vs.Protocol, Addr: vs.Address, Port: vs.Port}, addr: vs.Address}}, nil
	}
	g := groups[vs.Group]
	if g == nil {
		return nil, []string{fmt.Sprintf("virtual server %s: no virtual_server_group %q", vs, vs.Group)}
	}
	var out []entry
	var warns []string
	for _, a := range g.Addresses {
		n := 0
		for addr := a.First.Unmap(); addr.IsValid() && !a.Last.Unmap().Less(addr); addr = addr.Next() {
			if n == maxRangeAddrs {
				warns = append(warns, fmt.Sprintf("virtual server %s: group entry %s has more than %d addresses; only the first %d are served",
					vs, a.Text, maxRangeAddrs, maxRangeAddrs))
				break
			}
			out = append(out, entry{key: ipvs.ServiceKey{Protocol: vs.Protocol, Addr: addr, Port: a.Port}, addr: addr})
			n++
		}
	}
	for _, m := range g.Fwmarks {
		out = append(out, entry{key: ipvs.ServiceKey{FWMark: m.Mark, Family: familyOr(m.Family, familyOr(vs.IPFamily, "inet"))}})
	}
	return out, warns
}

func familyOr(f, def string) string {
	if f == "" {
		return def
	}
	return f
}

// service is the IPVS service of vs at key k, as keepalived's
// ipvs_set_srule fills it: the scheduler, the flags (one-packet and the
// scheduler flags), a netmask of all ones (IPv4) or 128 (IPv6); and only
// for a persistent service the persistent flag, the timeout, the
// persistence_granularity netmask and the persistence engine.
func service(vs *config.VirtualServer, k ipvs.ServiceKey) ipvs.Service {
	s := ipvs.Service{ServiceKey: k.Canonical(), Sched: vs.Sched}
	if s.Sched == "" {
		s.Sched = "wlc" // IPVS_DEF_SCHED, as validate_check_config sets it
	}
	if vs.OPS {
		s.Flags |= ipvs.FlagOnePacket
	}
	// lbflags_handler: flag-N are IP_VS_SVC_F_SCHED1..3; sh-fallback and
	// mh-fallback are SCHED1, sh-port and mh-port SCHED2
	// (IP_VS_SVC_F_SCHED_SH_FALLBACK/_PORT, _MH_FALLBACK/_PORT).
	if vs.Flag1 || vs.SHFallback || vs.MHFallback {
		s.Flags |= ipvs.FlagSched1
	}
	if vs.Flag2 || vs.SHPort || vs.MHPort {
		s.Flags |= ipvs.FlagSched2
	}
	if vs.Flag3 {
		s.Flags |= ipvs.FlagSched3
	}
	v6 := s.Family == "inet6"
	s.Netmask = 0xffffffff
	if v6 {
		s.Netmask = 128
	}
	if secs := uint32(vs.PersistenceTimeout.D().Seconds()); secs > 0 {
		s.Flags |= ipvs.FlagPersistent
		s.Timeout = secs
		if m, ok := granularity(vs.PersistenceGranularity, v6); ok {
			s.Netmask = m
		}
		s.PEName = vs.PersistenceEngine
	}
	return s
}

// granularity converts persistence_granularity for a service of the
// given family: a dotted IPv4 netmask to its uint32 value, an IPv6
// prefix length to itself. A value of the other family (possible only in
// a group with both) does not apply.
func granularity(g string, v6 bool) (uint32, bool) {
	if g == "" {
		return 0, false
	}
	if a, err := netip.ParseAddr(g); err == nil {
		if !a.Is4() || v6 {
			return 0, false
		}
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
	}
	n, err := strconv.ParseUint(g, 10, 32)
	if err != nil || !v6 || n < 1 || n > 128 {
		return 0, false
	}
	return uint32(n), true
}

// destPort is the destination port keepalived's ipvs_cmd sends: NAT keeps
// the server's port (the service's when none is given), DR and TUN cannot
// change it, so they get the service's, which is 0 for fwmark services.
func destPort(method string, port uint16, k ipvs.ServiceKey) uint16 {
	if method != "NAT" || port == 0 {
		return k.Port
	}
	return port
}

// fits reports whether a server of address a may serve the service at k:
// only tunnelled servers may be of the other family (the kernel refuses
// the rest with EAFNOSUPPORT; keepalived's parser drops them).
func fits(a netip.Addr, method string, k ipvs.ServiceKey) bool {
	return method == "TUN" || a.Unmap().Is6() == (k.Canonical().Family == "inet6")
}
