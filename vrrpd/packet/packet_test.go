package packet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// golden reads the adverts captured from keepalived 2.2.7.
func golden(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/keepalived-2.2.7.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, _ := strings.Cut(line, "\t")
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

// splitIP returns the addresses, hop limit and payload of a captured packet.
func splitIP(t testing.TB, b []byte) (src, dst netip.Addr, ttl uint8, payload []byte) {
	t.Helper()
	if b[0]>>4 == 6 {
		plen := int(binary.BigEndian.Uint16(b[4:]))
		return netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40])), b[7], b[40 : 40+plen]
	}
	src, dst, ttl, proto, payload, drop := IPv4Header(b)
	if drop != Accept || proto != Protocol {
		t.Fatalf("IPv4Header: %v proto %d", drop, proto)
	}
	return src, dst, ttl, payload
}

func TestDecodeKeepalivedAdverts(t *testing.T) {
	g := golden(t)
	tests := []struct {
		name     string
		version  uint8
		vrid     uint8
		prio     uint8
		interval uint16
		auth     uint8
		pass     string
		addrs    []string
		form     ChecksumMode
	}{
		{"v2pass", 2, 51, 150, 100, AuthSimple, "secretpw", []string{"198.18.200.100", "198.18.200.101"}, ChecksumRFC},
		{"v3mc", 3, 52, 120, 50, 0, "", []string{"198.18.200.102"}, ChecksumRFC},
		{"v3uc", 3, 53, 110, 100, 0, "", []string{"198.18.200.103"}, ChecksumRFC},
		{"v3uc_old", 3, 54, 110, 100, 0, "", []string{"198.18.200.104"}, ChecksumMulticastDst},
		{"v3ip6", 3, 55, 100, 100, 0, "", []string{"2001:db8::55"}, ChecksumRFC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := g[tt.name]
			if !ok {
				t.Fatalf("no golden packet %s", tt.name)
			}
			src, dst, ttl, payload := splitIP(t, raw)
			r, drop := Decode(payload, src, dst, ttl)
			if drop != Accept {
				t.Fatalf("Decode: %v", drop)
			}
			a := r.Advert
			if a.Version != tt.version || a.VRID != tt.vrid || a.Priority != tt.prio || a.Interval != tt.interval || a.AuthType != tt.auth {
				t.Errorf("got v%d vrid %d prio %d interval %d auth %d", a.Version, a.VRID, a.Priority, a.Interval, a.AuthType)
			}
			if tt.pass != "" && a.AuthData != PassAuth(tt.pass) {
				t.Errorf("auth data %q", a.AuthData[:])
			}
			if len(a.Addrs) != len(tt.addrs) {
				t.Fatalf("addrs %v", a.Addrs)
			}
			for i, s := range tt.addrs {
				if a.Addrs[i] != netip.MustParseAddr(s) {
					t.Errorf("addr %d = %v, want %s", i, a.Addrs[i], s)
				}
			}
			if r.Checksum != tt.form {
				t.Errorf("checksum form %d, want %d", r.Checksum, tt.form)
			}
			// Encoding the same advert with the sender's checksum form must
			// reproduce keepalived's bytes exactly.
			out, err := a.Marshal(src, dst, r.Checksum)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, payload) {
				t.Errorf("re-encoded\n got %x\nwant %x", out, payload)
			}
		})
	}
}

func TestMarshalRejectsBadAdverts(t *testing.T) {
	v4 := netip.MustParseAddr("198.18.0.1")
	tests := []struct {
		name string
		a    Advert
	}{
		{"v2 fractional interval", Advert{Version: 2, VRID: 1, Priority: 100, Interval: 50, Addrs: []netip.Addr{v4}}},
		{"v2 interval over 255s", Advert{Version: 2, VRID: 1, Priority: 100, Interval: 25600, Addrs: []netip.Addr{v4}}},
		{"v3 interval over 12 bits", Advert{Version: 3, VRID: 1, Priority: 100, Interval: 4096, Addrs: []netip.Addr{v4}}},
		{"zero interval", Advert{Version: 3, VRID: 1, Priority: 100, Addrs: []netip.Addr{v4}}},
		{"unknown version", Advert{Version: 4, VRID: 1, Priority: 100, Interval: 100}},
		{"mixed family", Advert{Version: 3, VRID: 1, Priority: 100, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.a.Marshal(v4, Group4, ChecksumRFC); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestDecodeDrops(t *testing.T) {
	src, dst := netip.MustParseAddr("198.18.0.1"), Group4
	good := func(v uint8) []byte {
		a := Advert{Version: v, VRID: 9, Priority: 100, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.9")}}
		b, err := a.Marshal(src, dst, ChecksumRFC)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mut := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		ttl      uint8
		want     Drop
	}{
		{"v2 ok", good(2), src, dst, 255, Accept},
		{"v3 ok", good(3), src, dst, 255, Accept},
		{"empty", nil, src, dst, 255, DropTooShort},
		{"short header", good(3)[:7], src, dst, 255, DropTooShort},
		{"ttl 254 (routed)", good(3), src, dst, 254, DropTTL},
		{"version 1", mut(good(3), func(b []byte) []byte { b[0] = 0x11; return b }), src, dst, 255, DropVersion},
		{"type 2", mut(good(3), func(b []byte) []byte { b[0] = 0x32; return b }), src, dst, 255, DropType},
		{"count beyond length", mut(good(3), func(b []byte) []byte { b[3] = 3; return b }), src, dst, 255, DropTruncated},
		{"v2 without auth data", good(2)[:12], src, dst, 255, DropTruncated},
		{"bad checksum", mut(good(3), func(b []byte) []byte { b[7] ^= 1; return b }), src, dst, 255, DropChecksum},
		{"priority changed in flight", mut(good(2), func(b []byte) []byte { b[2] = 200; return b }), src, dst, 255, DropChecksum},
		{"v3 checksum needs the right destination", good(3), src, netip.MustParseAddr("198.18.0.2"), 255, Accept},
		{"mixed families", good(3), src, netip.MustParseAddr("ff02::12"), 255, DropFamily},
		{"v2 over IPv6", good(2), netip.MustParseAddr("fe80::1"), Group6, 255, DropFamily},
		{"invalid source", good(3), netip.Addr{}, dst, 255, DropFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := Decode(tt.b, tt.src, tt.dst, tt.ttl)
			if tt.name == "v3 checksum needs the right destination" {
				// Sent to the group, received as unicast: accepted only as
				// keepalived's old multicast-destination form.
				r, d := Decode(tt.b, tt.src, tt.dst, tt.ttl)
				if d != Accept || r.Checksum != ChecksumMulticastDst {
					t.Fatalf("got %v form %v", d, r)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestV3ChecksumAsV2(t *testing.T) {
	src := netip.MustParseAddr("198.18.0.1")
	a := Advert{Version: 3, VRID: 4, Priority: 90, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.4")}}
	b, err := a.Marshal(src, Group4, ChecksumAsV2)
	if err != nil {
		t.Fatal(err)
	}
	r, d := Decode(b, src, Group4, 255)
	if d != Accept || r.Checksum != ChecksumAsV2 {
		t.Fatalf("got %v, form %d", d, r.Checksum)
	}
}

func TestCheck(t *testing.T) {
	vip := netip.MustParseAddr("198.18.0.9")
	base := Expect{Version: 2, AuthType: AuthSimple, AuthData: PassAuth("secret"), Interval: 100, Addrs: []netip.Addr{vip}}
	adv := func(f func(*Advert)) *Received {
		r := &Received{Advert: Advert{Version: 2, VRID: 9, Priority: 100, Interval: 100, AuthType: AuthSimple,
			AuthData: PassAuth("secret"), Addrs: []netip.Addr{vip}}}
		if f != nil {
			f(&r.Advert)
		}
		return r
	}
	tests := []struct {
		name string
		r    *Received
		e    func(*Expect)
		want Drop
	}{
		{"match", adv(nil), nil, Accept},
		{"version", adv(func(a *Advert) { a.Version = 3 }), nil, DropVersionMismatch},
		{"auth type", adv(func(a *Advert) { a.AuthType = AuthNone }), nil, DropAuthType},
		{"password", adv(func(a *Advert) { a.AuthData = PassAuth("guess") }), nil, DropAuthData},
		{"v2 interval", adv(func(a *Advert) { a.Interval = 200 }), nil, DropInterval},
		{"address list", adv(func(a *Advert) { a.Addrs = []netip.Addr{netip.MustParseAddr("198.18.0.10")} }), nil, DropAddrList},
		{"address list skipped", adv(func(a *Advert) { a.Addrs = nil }), func(e *Expect) { e.SkipAddrCheck = true }, Accept},
		{"v3 ignores auth and interval", adv(func(a *Advert) { a.Version = 3; a.Interval = 37; a.AuthType = 0 }),
			func(e *Expect) { e.Version = 3 }, Accept},
		{"order does not matter", adv(func(a *Advert) { a.Addrs = []netip.Addr{netip.MustParseAddr("198.18.0.8"), vip} }),
			func(e *Expect) { e.Addrs = []netip.Addr{vip, netip.MustParseAddr("198.18.0.8")} }, Accept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			if tt.e != nil {
				tt.e(&e)
			}
			if got := Check(tt.r, &e); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDropNames(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Drops() {
		s := d.String()
		if s == "" || s == "unknown" || seen[s] {
			t.Errorf("drop %d has bad or duplicate name %q", d, s)
		}
		seen[s] = true
	}
}

// FuzzDecode: arbitrary bytes never panic, and whatever is accepted
// re-encodes (with the form it was accepted under) to bytes that decode to
// the same advert. Bytes may differ: reserved bits are ignored on receipt
// and zeroed on sending (RFC 5798 §5.2.5).
func FuzzDecode(f *testing.F) {
	for _, b := range golden(f) {
		f.Add(b)
	}
	f.Add([]byte{0x45, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		var src, dst netip.Addr
		var ttl uint8
		var payload []byte
		if len(b) > 0 && b[0]>>4 == 6 && len(b) >= 40 {
			src, dst, ttl, payload = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40])), b[7], b[40:]
		} else {
			var drop Drop
			src, dst, ttl, _, payload, drop = IPv4Header(b)
			if drop != Accept {
				return
			}
		}
		r, drop := Decode(payload, src, dst, ttl)
		if drop != Accept {
			return
		}
		out, err := r.Advert.Marshal(src, dst, r.Checksum)
		if err != nil {
			return // e.g. a v2 interval of 0 decodes but is not ours to send
		}
		r2, drop := Decode(out, src, dst, ttl)
		if drop != Accept {
			t.Fatalf("re-encoded advert dropped: %v\n%x", drop, out)
		}
		if !reflect.DeepEqual(r2.Advert, r.Advert) {
			t.Fatalf("round trip\n got %+v\nwant %+v", r2.Advert, r.Advert)
		}
	})
}
