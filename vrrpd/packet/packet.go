// Package packet encodes and decodes VRRP advertisements (RFC 3768 VRRPv2,
// RFC 5798 VRRPv3) for IPv4 and IPv6. It is pure: bytes in, values out, no
// sockets, so every receive check is table-tested and fuzzed.
package packet

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// TTL is the only IP TTL / hop limit a VRRP advertisement may carry
// (RFC 5798 §5.1.1.3): it proves the sender is on the local link.
const TTL = 255

// Well-known multicast groups VRRP advertisements are sent to.
var (
	Group4 = netip.MustParseAddr("224.0.0.18")
	Group6 = netip.MustParseAddr("ff02::12")
)

// Authentication types of VRRPv2 (RFC 3768 §5.3.6). VRRPv3 has none.
const (
	AuthNone   = 0
	AuthSimple = 1 // keepalived's "PASS": 8 bytes of clear text
	AuthAH     = 2 // IPsec AH; carried in an AH header, not in the advert
)

const (
	headerLen   = 8
	authDataLen = 8
	typeAdvert  = 1
	// maxAddrs is what fits the count byte; keepalived limits an
	// instance's VIPs in adverts the same way.
	maxAddrs = 255
)

// Advert is one VRRP advertisement, independent of version.
type Advert struct {
	Version  uint8 // 2 or 3
	VRID     uint8
	Priority uint8
	// Interval is in centiseconds: VRRPv3's unit. VRRPv2 carries whole
	// seconds, so v2 intervals are multiples of 100.
	Interval uint16
	AuthType uint8   // VRRPv2 only
	AuthData [8]byte // VRRPv2 only, for AuthSimple
	Addrs    []netip.Addr
}

// ChecksumMode selects how the VRRPv3 checksum is computed on IPv4, for
// interoperation with peers that got it wrong.
type ChecksumMode uint8

const (
	// ChecksumRFC covers the pseudo-header with the real destination.
	ChecksumRFC ChecksumMode = iota
	// ChecksumAsV2 skips the pseudo-header (keepalived's v3_checksum_as_v2).
	ChecksumAsV2
	// ChecksumMulticastDst puts the multicast group in the pseudo-header
	// even for unicast, as keepalived before 1.3.6 did (old_unicast_checksum).
	ChecksumMulticastDst
)

// Marshal encodes the advert for sending from src to dst. The checksum of
// VRRPv3 covers an IPv4/IPv6 pseudo-header, so the addresses are needed.
func (a *Advert) Marshal(src, dst netip.Addr, mode ChecksumMode) ([]byte, error) {
	if len(a.Addrs) > maxAddrs {
		return nil, fmt.Errorf("vrrp: %d addresses exceed %d", len(a.Addrs), maxAddrs)
	}
	alen := 4
	if src.Is6() {
		alen = 16
	}
	n := headerLen + len(a.Addrs)*alen
	if a.Version == 2 {
		n += authDataLen
	}
	b := make([]byte, n)
	b[0] = a.Version<<4 | typeAdvert
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addrs))
	switch a.Version {
	case 2:
		if a.Interval%100 != 0 || a.Interval/100 > 255 || a.Interval == 0 {
			return nil, fmt.Errorf("vrrp: v2 interval %dcs is not 1-255 whole seconds", a.Interval)
		}
		b[4] = a.AuthType
		b[5] = uint8(a.Interval / 100)
	case 3:
		if a.Interval > 0x0fff || a.Interval == 0 {
			return nil, fmt.Errorf("vrrp: v3 interval %dcs is not 1-4095", a.Interval)
		}
		binary.BigEndian.PutUint16(b[4:], a.Interval)
	default:
		return nil, fmt.Errorf("vrrp: unknown version %d", a.Version)
	}
	off := headerLen
	for _, ip := range a.Addrs {
		if (alen == 4) != ip.Is4() {
			return nil, fmt.Errorf("vrrp: address %s does not match the advert's family", ip)
		}
		copy(b[off:], ip.AsSlice())
		off += alen
	}
	if a.Version == 2 {
		copy(b[off:], a.AuthData[:])
	}
	binary.BigEndian.PutUint16(b[6:], checksum(b, a.Version, src, dst, mode))
	return b, nil
}

// checksum computes the VRRP checksum with the checksum field taken as 0.
func checksum(b []byte, version uint8, src, dst netip.Addr, mode ChecksumMode) uint16 {
	var sum uint32
	if version == 3 && (src.Is6() || mode != ChecksumAsV2) {
		if mode == ChecksumMulticastDst && src.Is4() {
			dst = Group4
		}
		sum = pseudoSum(src, dst, len(b))
	}
	sum = addBytes(sum, b[:6])
	sum = addBytes(sum, b[8:])
	return fold(sum)
}

func pseudoSum(src, dst netip.Addr, length int) uint32 {
	var sum uint32
	s, d := src.AsSlice(), dst.AsSlice()
	sum = addBytes(sum, s)
	sum = addBytes(sum, d)
	if src.Is4() {
		sum += Protocol + uint32(length)
	} else {
		sum += uint32(length>>16) + uint32(length&0xffff) + Protocol
	}
	return sum
}

func addBytes(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
