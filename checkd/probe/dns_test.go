package probe

import (
	"bytes"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"
)

// dnsAnswer builds a reply to query: the header with QR and rcode, the
// question echoed, and n A records pointing back at the question name.
func dnsAnswer(query []byte, rcode byte, n int) []byte {
	q, err := ParseDNSReply(query)
	if err != nil || len(q.Questions) != 1 {
		return nil
	}
	qend := dnsHeaderLen
	for query[qend] != 0 {
		qend += int(query[qend]) + 1
	}
	qend += 5
	b := append([]byte(nil), query[:qend]...)
	b[2] |= 0x80 // QR
	b[3] = 0x80 | rcode
	binary.BigEndian.PutUint16(b[6:], uint16(n))
	for i := range n {
		b = append(b, 0xc0, dnsHeaderLen) // pointer to the question name
		b = binary.BigEndian.AppendUint16(b, q.Questions[0].Type)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, 300)
		b = binary.BigEndian.AppendUint16(b, 4)
		b = append(b, 198, 18, 0, byte(i+1))
	}
	return b
}

func TestDNS(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	var queries [][]byte
	record := func(q []byte) {
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
	}
	good := startUDP(t, func(q []byte) [][]byte { record(q); return [][]byte{dnsAnswer(q, 0, 2)} })
	nx := startUDP(t, func(q []byte) [][]byte { return [][]byte{dnsAnswer(q, 3, 0)} })
	silent := startUDP(t, func([]byte) [][]byte { return nil })
	// Noise first: a short datagram, a reply with another ID, the query
	// itself echoed back; then the real answer.
	noisy := startUDP(t, func(q []byte) [][]byte {
		other := dnsAnswer(q, 2, 0)
		other[0] ^= 0xff
		return [][]byte{{1, 2, 3}, other, q, dnsAnswer(q, 0, 1)}
	})
	noError := startUDP(t, func(q []byte) [][]byte {
		b := dnsAnswer(q, 0, 1)
		return [][]byte{b[:len(b)-3]} // NOERROR, answer cut short
	})
	tests := []struct {
		name   string
		target DNSTarget
		ok     bool
		detail string
	}{
		{"up", DNSTarget{Conn: Conn{Addr: good}, Type: "A", Name: "www.example.test"}, true, "NOERROR, 2 answer(s), 2 of type A"},
		{"defaults: SOA of the root", DNSTarget{Conn: Conn{Addr: good}}, true, "SOA ."},
		{"NXDOMAIN is down", DNSTarget{Conn: Conn{Addr: nx}, Type: "a", Name: "gone.example.test"}, false, "rcode 3 (NXDOMAIN)"},
		{"no answer: timeout", DNSTarget{Conn: Conn{Addr: silent, Timeout: 200 * time.Millisecond}}, false, "timeout"},
		{"noise is ignored", DNSTarget{Conn: Conn{Addr: noisy, Timeout: time.Second}, Name: "example.test"}, true, "NOERROR"},
		{"port unreachable", DNSTarget{Conn: Conn{Addr: refusedUDP(t), Timeout: time.Second}}, false, "connection refused"},
		{"NOERROR with an unreadable answer is up, as keepalived", DNSTarget{Conn: Conn{Addr: noError}, Name: "x.test"}, true, "unreadable"},
		{"unknown type", DNSTarget{Conn: Conn{Addr: good}, Type: "PTR"}, false, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DNS(ctx, tt.target)
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got ok=%v %q, want ok=%v ~%q", r.OK, r.Detail, tt.ok, tt.detail)
			}
			if r.Latency > 3*time.Second {
				t.Errorf("took %v", r.Latency)
			}
		})
	}
	// The query is keepalived's: RD set, one question, class IN.
	mu.Lock()
	defer mu.Unlock()
	q := queries[0]
	want, _ := DNSQuery(binary.BigEndian.Uint16(q), "www.example.test", 1)
	if !bytes.Equal(q, want) || q[2] != 0x01 || q[3] != 0 {
		t.Errorf("query % x, want % x", q, want)
	}
}

func TestDNSQuery(t *testing.T) {
	tests := []struct {
		name string
		want []byte // after the header
		err  bool
	}{
		{".", []byte{0, 0, 6, 0, 1}, false},
		{"", []byte{0, 0, 6, 0, 1}, false},
		{"example.test", []byte{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1}, false},
		{"example.test.", []byte{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 6, 0, 1}, false},
		{"a..b", nil, true},
		{strings.Repeat("x", 64) + ".test", nil, true},
		{strings.Repeat("abcdefghi.", 26), nil, true},
	}
	for _, tt := range tests {
		q, err := DNSQuery(0x1234, tt.name, 6)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v", tt.name, err)
			continue
		}
		if err == nil && (!bytes.Equal(q[dnsHeaderLen:], tt.want) || binary.BigEndian.Uint16(q) != 0x1234) {
			t.Errorf("%q: % x", tt.name, q)
		}
	}
}

func TestParseDNSReply(t *testing.T) {
	q, _ := DNSQuery(7, "www.example.test", 1)
	r, err := ParseDNSReply(dnsAnswer(q, 0, 3))
	if err != nil || !r.Response || r.ID != 7 || len(r.Answers) != 3 || r.Answers[2].Name != "www.example.test" ||
		!bytes.Equal(r.Answers[2].Data, []byte{198, 18, 0, 3}) || r.Questions[0].Name != "www.example.test" {
		t.Fatalf("%+v %v", r, err)
	}
	bad := [][]byte{
		nil,
		{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1},         // pointer to itself
		{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a', 'b'},                  // label past the end
		{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1},          // extended label type
		{0, 1, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0}, // rdata past the end
	}
	for _, b := range bad {
		if _, err := ParseDNSReply(b); err == nil {
			t.Errorf("% x: no error", b)
		}
	}
	// A loop through a backward pointer is cut by the name length limit.
	loop := []byte{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 12, 0, 1, 0, 1}
	if _, err := ParseDNSReply(loop); err == nil {
		t.Error("pointer loop accepted")
	}
}
