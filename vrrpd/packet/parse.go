package packet

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// Drop is why a received packet was discarded. Each reason has its own
// counter, so an operator can tell a misconfigured peer (auth, interval)
// from noise (bad checksum) without a packet capture.
type Drop uint8

const (
	// Accept means the packet passed every check.
	Accept Drop = iota
	DropTooShort
	DropIPHeader
	DropNotVRRP
	DropVersion
	DropType
	DropTruncated
	DropChecksum
	DropTTL
	DropFamily
	DropUnknownVRID
	DropVersionMismatch
	DropAuthType
	DropAuthData
	DropInterval
	DropAddrList
	numDrops
)

var dropNames = [numDrops]string{
	Accept:              "accepted",
	DropTooShort:        "too_short",
	DropIPHeader:        "bad_ip_header",
	DropNotVRRP:         "not_vrrp",
	DropVersion:         "bad_version",
	DropType:            "bad_type",
	DropTruncated:       "truncated",
	DropChecksum:        "bad_checksum",
	DropTTL:             "bad_ttl",
	DropFamily:          "address_family",
	DropUnknownVRID:     "unknown_vrid",
	DropVersionMismatch: "version_mismatch",
	DropAuthType:        "auth_type_mismatch",
	DropAuthData:        "auth_failure",
	DropInterval:        "interval_mismatch",
	DropAddrList:        "address_list_mismatch",
}

// String is the reason's metric label.
func (d Drop) String() string {
	if d < numDrops {
		return dropNames[d]
	}
	return "unknown"
}

// Drops lists every reason except Accept, for registering counters.
func Drops() []Drop {
	out := make([]Drop, 0, numDrops-1)
	for d := DropTooShort; d < numDrops; d++ {
		out = append(out, d)
	}
	return out
}

// Received is a decoded advertisement with what the IP layer said about it.
type Received struct {
	Advert
	Src, Dst netip.Addr
	TTL      uint8
	// Checksum is the form the sender used, so a reply can match it.
	Checksum ChecksumMode
}

// IPv4Header extracts what VRRP needs from an IPv4 header (raw IPv4
// sockets deliver it in front of the payload).
func IPv4Header(b []byte) (src, dst netip.Addr, ttl, proto uint8, payload []byte, drop Drop) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return src, dst, 0, 0, nil, DropIPHeader
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || ihl > len(b) || total < ihl {
		return src, dst, 0, 0, nil, DropIPHeader
	}
	if total > len(b) {
		return src, dst, 0, 0, nil, DropTruncated
	}
	src = netip.AddrFrom4([4]byte(b[12:16]))
	dst = netip.AddrFrom4([4]byte(b[16:20]))
	return src, dst, b[8], b[9], b[ihl:total], Accept
}

// Decode parses a VRRP payload received from src to dst with the given IP
// TTL (hop limit). It applies every check that needs no configuration:
// length, version, type, TTL, checksum (accepting the RFC form and the two
// forms keepalived has emitted).
func Decode(b []byte, src, dst netip.Addr, ttl uint8) (*Received, Drop) {
	if len(b) < headerLen {
		return nil, DropTooShort
	}
	if ttl != TTL {
		return nil, DropTTL
	}
	ver := b[0] >> 4
	if ver != 2 && ver != 3 {
		return nil, DropVersion
	}
	if b[0]&0x0f != typeAdvert {
		return nil, DropType
	}
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return nil, DropFamily
	}
	alen := 4
	if src.Is6() {
		alen = 16
		if ver == 2 {
			return nil, DropFamily // VRRPv2 is IPv4 only
		}
	}
	count := int(b[3])
	need := headerLen + count*alen
	if ver == 2 {
		need += authDataLen
	}
	if len(b) < need {
		return nil, DropTruncated
	}
	b = b[:need]
	r := &Received{Src: src, Dst: dst, TTL: ttl}
	got := binary.BigEndian.Uint16(b[6:])
	switch {
	case checksum(b, ver, src, dst, ChecksumRFC) == got:
		r.Checksum = ChecksumRFC
	case ver == 3 && src.Is4() && dst != Group4 && checksum(b, ver, src, dst, ChecksumMulticastDst) == got:
		r.Checksum = ChecksumMulticastDst
	case ver == 3 && src.Is4() && checksum(b, ver, src, dst, ChecksumAsV2) == got:
		r.Checksum = ChecksumAsV2
	default:
		return nil, DropChecksum
	}
	a := &r.Advert
	a.Version, a.VRID, a.Priority = ver, b[1], b[2]
	if ver == 2 {
		a.AuthType = b[4]
		a.Interval = uint16(b[5]) * 100
		copy(a.AuthData[:], b[need-authDataLen:])
	} else {
		a.Interval = binary.BigEndian.Uint16(b[4:]) & 0x0fff
	}
	a.Addrs = make([]netip.Addr, count)
	for i := range count {
		off := headerLen + i*alen
		if alen == 4 {
			a.Addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			a.Addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
	}
	return r, Accept
}

// Expect is what one instance requires of adverts for its VRID.
type Expect struct {
	Version  uint8
	AuthType uint8
	AuthData [8]byte
	// Interval (centiseconds) must match exactly in VRRPv2 (RFC 3768
	// §7.1); VRRPv3 learns the master's interval instead.
	Interval uint16
	// Addrs is the instance's VIP list; an advert listing other addresses
	// is dropped unless SkipAddrCheck (vrrp_skip_check_adv_addr).
	Addrs         []netip.Addr
	SkipAddrCheck bool
}

// Check applies the checks that depend on the instance's configuration.
func Check(r *Received, e *Expect) Drop {
	a := &r.Advert
	if a.Version != e.Version {
		return DropVersionMismatch
	}
	if a.Version == 2 {
		if a.AuthType != e.AuthType {
			return DropAuthType
		}
		if e.AuthType == AuthSimple && a.AuthData != e.AuthData {
			return DropAuthData
		}
		if a.Interval != e.Interval {
			return DropInterval
		}
	}
	if !e.SkipAddrCheck && !sameAddrs(a.Addrs, e.Addrs) {
		return DropAddrList
	}
	return Accept
}

// sameAddrs compares address sets regardless of order.
func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	x := slices.Clone(a)
	y := slices.Clone(b)
	slices.SortFunc(x, func(p, q netip.Addr) int { return p.Compare(q) })
	slices.SortFunc(y, func(p, q netip.Addr) int { return p.Compare(q) })
	return slices.Equal(x, y)
}

// PassAuth makes the 8-byte simple-auth field from keepalived's auth_pass:
// the first 8 bytes, zero padded.
func PassAuth(pass string) (d [8]byte) {
	copy(d[:], pass)
	return d
}
