// Package ipvs is lvsd's own model of the kernel's IPVS tables: services,
// destinations and their counters as plain comparable values, the
// operations that change them, and the small Backend interface that the
// kernel implementation (lvsd/kernel, over github.com/moby/ipvs) and the
// fake used by planner tests both satisfy. Nothing here does I/O.
package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// ServiceKey identifies an IPVS service the way the kernel does: by
// protocol, address and port, or by firewall mark and address family.
type ServiceKey struct {
	// Protocol is "TCP", "UDP" or "SCTP"; empty for fwmark services.
	Protocol string
	Addr     netip.Addr
	Port     uint16
	// FWMark, when non-zero, makes this a firewall-mark service; Addr and
	// Port are then zero and Family says inet or inet6.
	FWMark uint32
	// Family is "inet" or "inet6".
	Family string
}

// String formats the key as ipvsadm -Ln does: "TCP  198.18.0.1:80",
// "FWM  1", with IPv6 in brackets.
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		s := fmt.Sprintf("FWM  %d", k.FWMark)
		if k.Family == "inet6" {
			s += " IPv6"
		}
		return s
	}
	return fmt.Sprintf("%-4s %s", k.Protocol, netip.AddrPortFrom(k.Addr, k.Port))
}

// Service is an IPVS service's settings (ipvsadm -A/-E).
type Service struct {
	ServiceKey
	// Sched is the scheduler name: rr, wrr, lc, wlc, lblc, lblcr, dh, sh,
	// sed, nq, fo, ovf, mh.
	Sched string
	// Flags are the IPVS service flags (IP_VS_SVC_F_*: persistent,
	// one-packet, sched flags 1-3); see the Flag constants.
	Flags uint32
	// Timeout is the persistence timeout in seconds (0: not persistent).
	Timeout uint32
	// Netmask is the persistence granularity: an IPv4 netmask as a
	// big-endian uint32 (0xffffffff by default), or an IPv6 prefix length.
	Netmask uint32
	// PEName is the persistence engine ("sip") or empty.
	PEName string
}

// IPVS service flags (include/uapi/linux/ip_vs.h).
const (
	FlagPersistent uint32 = 0x0001
	FlagHashed     uint32 = 0x0002 // set by the kernel; ignored when comparing
	FlagOnePacket  uint32 = 0x0004
	FlagSched1     uint32 = 0x0008 // sh-fallback, mh-fallback
	FlagSched2     uint32 = 0x0010 // sh-port, mh-port
	FlagSched3     uint32 = 0x0020
)

// DestKey identifies a destination within its service.
type DestKey struct {
	Addr netip.Addr
	Port uint16
}

func (k DestKey) String() string { return netip.AddrPortFrom(k.Addr, k.Port).String() }

// Destination is a real server's settings in a service (ipvsadm -a/-e).
type Destination struct {
	DestKey
	// Weight is 0..2^31-1; 0 keeps the destination but sends it no new
	// connections (inhibit_on_failure, a quiesced sorry server).
	Weight int
	// Method is "NAT", "DR" or "TUN" (IP_VS_CONN_F_MASQ/DROUTE/TUNNEL).
	Method string
	// UThreshold and LThreshold are connection limits (0: none).
	UThreshold, LThreshold uint32
}

// Stats are an entry's kernel counters (ipvsadm --stats, --rate).
type Stats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	CPS, InPPS, OutPPS, InBPS, OutBPS         uint64
}

// DestState is a destination as read from the kernel.
type DestState struct {
	Destination
	ActiveConns, InactiveConns int
	Stats                      Stats
}

// ServiceState is a service and its destinations as read from the kernel.
type ServiceState struct {
	Service
	Stats Stats
	Dests []DestState
}

// OpKind is what an Op does.
type OpKind uint8

// The operations, in the order a plan applies them within one service.
const (
	AddService OpKind = iota + 1
	UpdateService
	DelService
	AddDest
	UpdateDest
	DelDest
)

func (k OpKind) String() string {
	switch k {
	case AddService:
		return "add-service"
	case UpdateService:
		return "update-service"
	case DelService:
		return "del-service"
	case AddDest:
		return "add-dest"
	case UpdateDest:
		return "update-dest"
	case DelDest:
		return "del-dest"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one change to the kernel's tables. Service is always set (for
// destination operations, the service it belongs to); Dest only for
// destination operations.
type Op struct {
	Kind    OpKind
	Service Service
	Dest    Destination
}

func (o Op) String() string {
	switch o.Kind {
	case AddDest, UpdateDest, DelDest:
		return fmt.Sprintf("%s %s -> %s w%d %s", o.Kind, o.Service.ServiceKey, o.Dest.DestKey, o.Dest.Weight, o.Dest.Method)
	}
	return fmt.Sprintf("%s %s %s", o.Kind, o.Service.ServiceKey, o.Service.Sched)
}

// Backend reads and changes IPVS tables. The kernel implementation talks
// netlink; tests use a fake. Implementations must report a kernel without
// IPVS as an error (ErrNoIPVS), never as an empty table.
type Backend interface {
	// Read returns every service with its destinations and counters.
	Read(ctx context.Context) ([]ServiceState, error)
	// Apply performs one operation.
	Apply(ctx context.Context, op Op) error
	// Close releases the backend's sockets.
	Close() error
}

// ErrNoIPVS is returned (wrapped) by backends on a kernel without IPVS.
var ErrNoIPVS = errors.New("ipvs: the kernel has no IPVS (no /proc/net/ip_vs; load the ip_vs module)")
