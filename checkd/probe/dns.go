package probe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DNSTypes are the query types DNS_CHECK knows (check_dns.c DNS_TYPE[]).
var DNSTypes = map[string]uint16{
	"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
	"AAAA": 28, "RRSIG": 46, "DNSKEY": 48,
}

// DNSTarget is a DNS_CHECK.
type DNSTarget struct {
	Conn
	// Type is the query type (default SOA), Name the name queried
	// (default ".", the root).
	Type string
	Name string
}

// DNS is DNS_CHECK (check_dns.c): one query over UDP, with recursion
// desired. Datagrams that are too short, carry another ID or are not
// responses are ignored; the first response with the query's ID decides:
// up when its RCODE is 0 (NOERROR), whatever the answer section holds.
func DNS(ctx context.Context, t DNSTarget) Result {
	start := time.Now()
	typ := t.Type
	if typ == "" {
		typ = "SOA"
	}
	qtype, ok := DNSTypes[strings.ToUpper(typ)]
	if !ok {
		return fail(start, "DNS type %q unknown", typ)
	}
	name := t.Name
	if name == "" {
		name = "."
	}
	id := uint16(rand.Uint32())
	query, err := DNSQuery(id, name, qtype)
	if err != nil {
		return fail(start, "DNS query: %v", err)
	}
	nc, err := t.dial(ctx, "udp")
	if err != nil {
		return fail(start, "DNS to %s: %s", t.Addr, describe(ctx, err))
	}
	defer nc.Close()
	if _, err := nc.Write(query); err != nil {
		return fail(start, "DNS to %s: send: %s", t.Addr, describe(ctx, err))
	}
	buf := make([]byte, 4096)
	// One deadline for the whole exchange: stray datagrams do not extend it.
	deadline := time.Now().Add(t.timeout())
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	tc := nc.(*timedConn)
	tc.limit = deadline
	for {
		n, err := nc.Read(buf)
		if err != nil {
			return fail(start, "DNS %s %s from %s: %s", typ, name, t.Addr, describe(ctx, err))
		}
		if n < dnsHeaderLen {
			continue
		}
		if binary.BigEndian.Uint16(buf) != id || buf[2]&0x80 == 0 {
			continue // another ID, or a query
		}
		reply, perr := ParseDNSReply(buf[:n])
		if rc := int(buf[3] & 0x0f); rc != 0 {
			return fail(start, "DNS %s %s from %s: rcode %d (%s)", typ, name, t.Addr, rc, rcodeName(rc))
		}
		if perr != nil {
			// keepalived looks no further than the header either.
			return pass(start, "DNS %s %s: NOERROR (answer section unreadable: %v)", typ, name, perr)
		}
		return pass(start, "DNS %s %s: NOERROR, %d answer(s), %d of type %s", typ, name,
			len(reply.Answers), reply.count(qtype), typ)
	}
}

func rcodeName(rc int) string {
	names := []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"}
	if rc < len(names) {
		return names[rc]
	}
	return "rcode " + fmt.Sprint(rc)
}

const dnsHeaderLen = 12

// DNSQuery builds keepalived's query: the ID, RD set, one question of the
// type, class IN. The name "." is the root; a trailing dot is optional.
func DNSQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, dnsHeaderLen, dnsHeaderLen+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	b[2] = 0x01                          // RD
	binary.BigEndian.PutUint16(b[4:], 1) // QDCOUNT
	name = strings.TrimSuffix(name, ".")
	if name != "" {
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 {
				return nil, fmt.Errorf("name %q has an empty or too long label", name)
			}
			b = append(b, byte(len(label)))
			b = append(b, label...)
		}
	}
	if len(b)-dnsHeaderLen+1 > 255 {
		return nil, fmt.Errorf("name %q is longer than 255 bytes", name)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1) // IN
	return b, nil
}

// DNSReply is a parsed DNS message: the header and the records of the
// question and answer sections (authority and additional are not read).
type DNSReply struct {
	ID        uint16
	Response  bool // QR
	RCode     int
	Questions []DNSQuestion
	Answers   []DNSRecord
}

// DNSQuestion is one entry of the question section.
type DNSQuestion struct {
	Name        string
	Type, Class uint16
}

// DNSRecord is one resource record, its data left raw.
type DNSRecord struct {
	Name        string
	Type, Class uint16
	TTL         uint32
	Data        []byte
}

func (r *DNSReply) count(qtype uint16) int {
	n := 0
	for _, a := range r.Answers {
		if a.Type == qtype {
			n++
		}
	}
	return n
}

var errDNSShort = errors.New("DNS message truncated")

// ParseDNSReply parses a DNS message from the network. It never panics
// and never loops: compression pointers must point backwards, names are
// bounded to 255 bytes, and counts are checked against the data present.
func ParseDNSReply(b []byte) (*DNSReply, error) {
	if len(b) < dnsHeaderLen {
		return nil, errDNSShort
	}
	r := &DNSReply{
		ID:       binary.BigEndian.Uint16(b),
		Response: b[2]&0x80 != 0,
		RCode:    int(b[3] & 0x0f),
	}
	qd := int(binary.BigEndian.Uint16(b[4:]))
	an := int(binary.BigEndian.Uint16(b[6:]))
	off := dnsHeaderLen
	for range qd {
		name, n, err := dnsName(b, off)
		if err != nil {
			return r, err
		}
		off = n
		if off+4 > len(b) {
			return r, errDNSShort
		}
		r.Questions = append(r.Questions, DNSQuestion{Name: name,
			Type: binary.BigEndian.Uint16(b[off:]), Class: binary.BigEndian.Uint16(b[off+2:])})
		off += 4
	}
	for range an {
		name, n, err := dnsName(b, off)
		if err != nil {
			return r, err
		}
		off = n
		if off+10 > len(b) {
			return r, errDNSShort
		}
		rec := DNSRecord{Name: name,
			Type:  binary.BigEndian.Uint16(b[off:]),
			Class: binary.BigEndian.Uint16(b[off+2:]),
			TTL:   binary.BigEndian.Uint32(b[off+4:]),
		}
		size := int(binary.BigEndian.Uint16(b[off+8:]))
		off += 10
		if off+size > len(b) {
			return r, errDNSShort
		}
		rec.Data = b[off : off+size : off+size]
		off += size
		r.Answers = append(r.Answers, rec)
	}
	return r, nil
}

// dnsName reads a possibly compressed name at off and returns it (dotted,
// "." for the root) and the offset after it in the message.
func dnsName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	end := -1 // offset after the name where it started, once a pointer is followed
	length := 0
	for {
		if off >= len(b) {
			return "", 0, errDNSShort
		}
		c := int(b[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if end < 0 {
					end = off + 1
				}
				if sb.Len() == 0 {
					return ".", end, nil
				}
				return sb.String(), end, nil
			}
			if off+1+c > len(b) {
				return "", 0, errDNSShort
			}
			length += c + 1
			if length > 255 {
				return "", 0, errors.New("DNS name longer than 255 bytes")
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(b[off+1 : off+1+c])
			off += 1 + c
		case 0xc0:
			if off+2 > len(b) {
				return "", 0, errDNSShort
			}
			ptr := int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			if ptr >= off {
				return "", 0, errors.New("DNS compression pointer does not point backwards")
			}
			if end < 0 {
				end = off + 2
			}
			off = ptr
		default:
			return "", 0, fmt.Errorf("DNS label type 0x%02x unsupported", c&0xc0)
		}
	}
}
