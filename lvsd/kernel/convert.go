package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// Protocol numbers of the services IPVS balances (the kernel's
// IPPROTO_*; SCTP is absent from package syscall on some platforms).
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// MaxWeight is the largest destination weight this backend accepts. The
// kernel takes any non-negative int32, but moby/ipvs v1.1.0 decodes the
// weight attribute as 16 bits, so a larger weight would read back wrong
// and a reconciler would "fix" it forever.
const MaxWeight = 0xffff

// errUnsupported marks model values that the kernel may accept but
// moby/ipvs v1.1.0 cannot express or read back.
var errUnsupported = errors.New("not supported by the kernel backend (github.com/moby/ipvs v1.1.0)")

func protoNumber(p string) (uint16, error) {
	switch strings.ToUpper(p) {
	case "TCP":
		return protoTCP, nil
	case "UDP":
		return protoUDP, nil
	case "SCTP":
		return protoSCTP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q (want TCP, UDP or SCTP)", p)
}

func protoName(n uint16) string {
	switch n {
	case protoTCP:
		return "TCP"
	case protoUDP:
		return "UDP"
	case protoSCTP:
		return "SCTP"
	}
	return fmt.Sprintf("proto(%d)", n)
}

func familyNumber(f string) (uint16, error) {
	switch f {
	case "inet", "":
		return syscall.AF_INET, nil
	case "inet6":
		return syscall.AF_INET6, nil
	}
	return 0, fmt.Errorf("unknown address family %q (want inet or inet6)", f)
}

func familyName(n uint16) string {
	switch n {
	case syscall.AF_INET:
		return "inet"
	case syscall.AF_INET6:
		return "inet6"
	}
	return fmt.Sprintf("af(%d)", n)
}

func addrFamily(a netip.Addr) uint16 {
	if a.Unmap().Is4() {
		return syscall.AF_INET
	}
	return syscall.AF_INET6
}

// netIP converts to the form moby/ipvs sends: 4 bytes for IPv4.
func netIP(a netip.Addr) net.IP {
	a = a.Unmap()
	return net.IP(a.AsSlice())
}

// fromNetIP converts an address moby/ipvs read back (4 or 16 bytes).
func fromNetIP(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// The kernel keeps an IPv4 persistence netmask as a __be32 and moby/ipvs
// v1.1.0 sends and reads the attribute in host byte order, as ipvsadm's
// struct does; the model keeps the mask as the number you read in the
// dotted quad (255.255.255.0 is 0xffffff00). IPv6 "netmasks" are prefix
// lengths in host order on both sides.
func netmaskToMoby(family uint16, m uint32) uint32 {
	if family != syscall.AF_INET {
		return m
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], m)
	return binary.NativeEndian.Uint32(b[:])
}

func netmaskFromMoby(family uint16, m uint32) uint32 {
	if family != syscall.AF_INET {
		return m
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], m)
	return binary.BigEndian.Uint32(b[:])
}

// serviceKeyToMoby converts the identity of a service only: what the
// kernel reads for deletes and destination commands.
func serviceKeyToMoby(k ipvs.ServiceKey) (*mipvs.Service, error) {
	if k.FWMark != 0 {
		af, err := familyNumber(k.Family)
		if err != nil {
			return nil, err
		}
		return &mipvs.Service{FWMark: k.FWMark, AddressFamily: af}, nil
	}
	if !k.Addr.IsValid() {
		return nil, errors.New("service has neither an address nor a firewall mark")
	}
	af := addrFamily(k.Addr)
	if k.Family != "" && k.Family != familyName(af) {
		return nil, fmt.Errorf("service family %q does not match its address %s", k.Family, k.Addr)
	}
	p, err := protoNumber(k.Protocol)
	if err != nil {
		return nil, err
	}
	return &mipvs.Service{AddressFamily: af, Protocol: p, Address: netIP(k.Addr), Port: k.Port}, nil
}

// serviceToMoby converts a service's full settings, for add and update.
//
// Limits of moby/ipvs v1.1.0 reported as errors here: a persistence
// engine (PEName) is sent but never parsed back from the kernel's
// replies, so Read could not report it and a reconciler would update the
// service forever. A Netmask of 0 means the default, as in ipvsadm:
// 255.255.255.255 for inet, 128 for inet6 (the kernel rejects 0 there);
// Read returns what the kernel holds.
func serviceToMoby(s ipvs.Service) (*mipvs.Service, error) {
	m, err := serviceKeyToMoby(s.ServiceKey)
	if err != nil {
		return nil, err
	}
	if s.Sched == "" {
		return nil, errors.New("service has no scheduler")
	}
	if s.PEName != "" {
		return nil, fmt.Errorf("persistence engine %q: %w: it cannot read the engine back", s.PEName, errUnsupported)
	}
	mask := s.Netmask
	if mask == 0 {
		mask = 0xffffffff
		if m.AddressFamily == syscall.AF_INET6 {
			mask = 128
		}
	}
	if m.AddressFamily == syscall.AF_INET6 && mask > 128 {
		return nil, fmt.Errorf("IPv6 persistence netmask %d is not a prefix length (1-128)", mask)
	}
	m.SchedName = s.Sched
	// The kernel sets the hashed flag itself.
	m.Flags = s.Flags &^ ipvs.FlagHashed
	m.Timeout = s.Timeout
	m.Netmask = netmaskToMoby(m.AddressFamily, mask)
	return m, nil
}

// serviceFromMoby converts a service as the kernel reports it.
func serviceFromMoby(m *mipvs.Service) (ipvs.Service, error) {
	s := ipvs.Service{
		Sched:   m.SchedName,
		Flags:   m.Flags &^ ipvs.FlagHashed,
		Timeout: m.Timeout,
		Netmask: netmaskFromMoby(m.AddressFamily, m.Netmask),
	}
	s.Family = familyName(m.AddressFamily)
	if m.FWMark != 0 {
		s.FWMark = m.FWMark
		return s, nil
	}
	a, ok := fromNetIP(m.Address)
	if !ok {
		return s, fmt.Errorf("service with an unreadable address %v", []byte(m.Address))
	}
	s.Protocol, s.Addr, s.Port = protoName(m.Protocol), a, m.Port
	return s, nil
}

func methodToMoby(m string) (uint32, error) {
	switch strings.ToUpper(m) {
	case "NAT":
		return mipvs.ConnectionFlagMasq, nil
	case "DR":
		return mipvs.ConnectionFlagDirectRoute, nil
	case "TUN":
		return mipvs.ConnectionFlagTunnel, nil
	}
	return 0, fmt.Errorf("unknown forwarding method %q (want NAT, DR or TUN)", m)
}

// methodFromMoby names the forwarding method. Besides the three the model
// writes, the kernel reports "LOCAL" for a destination whose address is
// local to the director (it switches such masquerading destinations to
// local delivery itself) and "BYPASS".
func methodFromMoby(flags uint32) string {
	switch flags & mipvs.ConnectionFlagFwdMask {
	case mipvs.ConnectionFlagMasq:
		return "NAT"
	case mipvs.ConnectionFlagDirectRoute:
		return "DR"
	case mipvs.ConnectionFlagTunnel:
		return "TUN"
	case mipvs.ConnectionFlagLocalNode:
		return "LOCAL"
	case mipvs.ConnFwdBypass:
		return "BYPASS"
	}
	return fmt.Sprintf("fwd(%d)", flags&mipvs.ConnectionFlagFwdMask)
}

// destToMoby converts a destination of a service of family svcFamily.
//
// Limits of moby/ipvs v1.1.0 reported as errors here: it never sends the
// destination's address family, so the kernel takes the service's, and a
// destination of the other family (an IPv4 real server behind an IPv6
// service, which kernels since 3.18 allow with TUN) cannot be added; it
// has no tunnel type, port or flags (GUE, GRE: ipvsadm --tun-type), so
// TUN means plain IPIP; and weights above MaxWeight read back truncated.
func destToMoby(svcFamily uint16, d ipvs.Destination) (*mipvs.Destination, error) {
	if !d.Addr.IsValid() {
		return nil, errors.New("destination has no address")
	}
	af := addrFamily(d.Addr)
	if af != svcFamily {
		return nil, fmt.Errorf("%s destination %s in an %s service: %w: it cannot send a destination's own family",
			familyName(af), d.DestKey, familyName(svcFamily), errUnsupported)
	}
	if d.Weight < 0 || d.Weight > MaxWeight {
		return nil, fmt.Errorf("weight %d out of range 0-%d (moby/ipvs v1.1.0 reads weights as 16 bits)", d.Weight, MaxWeight)
	}
	fwd, err := methodToMoby(d.Method)
	if err != nil {
		return nil, err
	}
	return &mipvs.Destination{
		AddressFamily:   af,
		Address:         netIP(d.Addr),
		Port:            d.Port,
		Weight:          d.Weight,
		ConnectionFlags: fwd,
		UpperThreshold:  d.UThreshold,
		LowerThreshold:  d.LThreshold,
	}, nil
}

// destKeyToMoby converts a destination's identity only, for deletes.
func destKeyToMoby(svcFamily uint16, k ipvs.DestKey) (*mipvs.Destination, error) {
	if !k.Addr.IsValid() {
		return nil, errors.New("destination has no address")
	}
	if af := addrFamily(k.Addr); af != svcFamily {
		return nil, fmt.Errorf("%s destination %s in an %s service", familyName(af), k, familyName(svcFamily))
	}
	return &mipvs.Destination{AddressFamily: svcFamily, Address: netIP(k.Addr), Port: k.Port}, nil
}

func destFromMoby(m *mipvs.Destination) (ipvs.DestState, error) {
	a, ok := fromNetIP(m.Address)
	if !ok {
		return ipvs.DestState{}, fmt.Errorf("destination with an unreadable address %v", []byte(m.Address))
	}
	return ipvs.DestState{
		Destination: ipvs.Destination{
			DestKey:    ipvs.DestKey{Addr: a, Port: m.Port},
			Weight:     m.Weight,
			Method:     methodFromMoby(m.ConnectionFlags),
			UThreshold: m.UpperThreshold,
			LThreshold: m.LowerThreshold,
		},
		ActiveConns:   m.ActiveConnections,
		InactiveConns: m.InactiveConnections,
		Stats:         statsFromMoby(mipvs.SvcStats(m.Stats)),
	}, nil
}

// statsFromMoby converts counters. moby/ipvs v1.1.0 reads the kernel's
// 32-bit legacy attributes for connections and packets (not the 64-bit
// IPVS_*_ATTR_STATS64), so those wrap at 2^32 as in old ipvsadm.
func statsFromMoby(s mipvs.SvcStats) ipvs.Stats {
	return ipvs.Stats{
		Conns:    uint64(s.Connections),
		InPkts:   uint64(s.PacketsIn),
		OutPkts:  uint64(s.PacketsOut),
		InBytes:  s.BytesIn,
		OutBytes: s.BytesOut,
		CPS:      uint64(s.CPS),
		InPPS:    uint64(s.PPSIn),
		OutPPS:   uint64(s.PPSOut),
		InBPS:    uint64(s.BPSIn),
		OutBPS:   uint64(s.BPSOut),
	}
}
