package ipvs

import (
	"cmp"
	"net/netip"
	"strings"
)

// Canonical returns the key as the kernel identifies the service, so keys
// built from the configuration and keys read back from the kernel compare
// equal: addresses unmapped (an IPv4-mapped IPv6 address is IPv4), the
// family derived from the address for address-based services ("inet"
// when a fwmark key leaves it empty, as ipvsadm does), the protocol in
// upper case, and protocol, address and port cleared on fwmark keys,
// which the kernel ignores there.
func (k ServiceKey) Canonical() ServiceKey {
	if k.FWMark != 0 {
		f := k.Family
		if f != "inet6" {
			f = "inet"
		}
		return ServiceKey{FWMark: k.FWMark, Family: f}
	}
	a := k.Addr.Unmap()
	f := "inet"
	if a.Is6() {
		f = "inet6"
	}
	return ServiceKey{Protocol: strings.ToUpper(k.Protocol), Addr: a, Port: k.Port, Family: f}
}

// Canonical returns the destination key with its address unmapped, the
// form the kernel reports.
func (k DestKey) Canonical() DestKey {
	return DestKey{Addr: k.Addr.Unmap(), Port: k.Port}
}

// CompareKeys orders service keys the way plans and listings are sorted:
// address-based services first (by family, protocol, address, port), then
// fwmark services (by family, mark). A total order keeps plans
// deterministic.
func CompareKeys(a, b ServiceKey) int {
	af, bf := a.FWMark != 0, b.FWMark != 0
	if af != bf {
		if af {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(a.Family, b.Family); c != 0 {
		return c
	}
	if af {
		return cmp.Compare(a.FWMark, b.FWMark)
	}
	if c := cmp.Compare(a.Protocol, b.Protocol); c != 0 {
		return c
	}
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// CompareDestKeys orders destinations by address, then port.
func CompareDestKeys(a, b DestKey) int {
	return netip.AddrPortFrom(a.Addr, a.Port).Compare(netip.AddrPortFrom(b.Addr, b.Port))
}

// SameSettings reports whether two services have the same editable
// settings (scheduler, flags, timeout, netmask, persistence engine). The
// kernel sets FlagHashed on every service it holds, so it is ignored.
func SameSettings(a, b Service) bool {
	return a.Sched == b.Sched &&
		a.Flags&^FlagHashed == b.Flags&^FlagHashed &&
		a.Timeout == b.Timeout &&
		a.Netmask == b.Netmask &&
		a.PEName == b.PEName
}

// SameDest reports whether two destinations have the same editable
// settings (weight, method, thresholds); keys are not compared.
func SameDest(a, b Destination) bool {
	return a.Weight == b.Weight && a.Method == b.Method &&
		a.UThreshold == b.UThreshold && a.LThreshold == b.LThreshold
}
