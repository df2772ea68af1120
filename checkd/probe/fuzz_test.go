package probe

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"strings"
	"testing"
)

// The parsers of network input never panic, never loop, and agree with
// what they were given. `make fuzz` runs these for a while each.

func FuzzParseDNSReply(f *testing.F) {
	q, _ := DNSQuery(7, "www.example.test", 1)
	f.Add(q)
	f.Add(dnsAnswer(q, 0, 2))
	f.Add(dnsAnswer(q, 3, 0))
	f.Add([]byte{0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 12, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseDNSReply(b)
		if len(b) < dnsHeaderLen {
			if err == nil {
				t.Fatal("short message accepted")
			}
			return
		}
		if r == nil {
			t.Fatal("no header for a long enough message")
		}
		if r.ID != uint16(b[0])<<8|uint16(b[1]) || r.RCode != int(b[3]&0x0f) {
			t.Fatalf("header misread: %+v", r)
		}
		for _, a := range r.Answers {
			if len(a.Name) > 255+1 || len(a.Data) > len(b) {
				t.Fatalf("impossible record %+v", a)
			}
		}
	})
}

// A query DNSQuery builds parses back to its question.
func FuzzDNSQueryRoundTrip(f *testing.F) {
	f.Add("www.example.test", uint16(1))
	f.Add(".", uint16(6))
	f.Fuzz(func(t *testing.T, name string, qtype uint16) {
		q, err := DNSQuery(9, name, qtype)
		if err != nil {
			return
		}
		r, err := ParseDNSReply(q)
		if err != nil || len(r.Questions) != 1 || r.Questions[0].Type != qtype {
			t.Fatalf("%q: %+v %v", name, r, err)
		}
		want := strings.TrimSuffix(name, ".")
		if want == "" {
			want = "."
		}
		if r.Questions[0].Name != want {
			t.Fatalf("%q came back as %q", name, r.Questions[0].Name)
		}
	})
}

func FuzzParseSMTPLine(f *testing.F) {
	for _, s := range []string{"220 ready", "250-PIPELINING", "221", "2200", "", "599 x", "1xx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		code, more, text, err := ParseSMTPLine(line)
		if err != nil {
			return
		}
		if code < 200 || code > 599 || len(text) > len(line) {
			t.Fatalf("%q: code %d text %q", line, code, text)
		}
		if more && line[3] != '-' {
			t.Fatalf("%q: continuation without a dash", line)
		}
	})
}

func FuzzReadSMTPReply(f *testing.F) {
	for _, s := range []string{"220-a\r\n220 b\r\n", "250 ok\n", "220-a\r\n250 b\r\n", "220-" + strings.Repeat("x", 2000) + "\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, _, err := ReadSMTPReply(bufio.NewReaderSize(bytes.NewReader(b), 1024))
		if err == nil && (code < 200 || code > 599) {
			t.Fatalf("%q: code %d", b, code)
		}
	})
}

func FuzzParseHead(f *testing.F) {
	for _, s := range []string{"HTTP/1.0 200 OK\r\n\r\n", "HTTP/1.1 404 x\r\nContent-Length: 12\r\n\r\n", "x", "HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHead(b)
		if err != nil {
			return
		}
		if h.Status < 0 || h.Status > 999 || h.ContentLength < -1 {
			t.Fatalf("%q: %+v", b, h)
		}
	})
}

// The response reader hashes the same bytes however the stream is split.
func FuzzResponseReader(f *testing.F) {
	f.Add([]byte("HTTP/1.0 200 OK\r\n\r\nhello\n"), uint8(3))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhello"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		whole := newReader()
		errWhole := whole.feed(stream)
		parts := newReader()
		var errParts error
		n := int(step%16) + 1
		for i := 0; i < len(stream) && errParts == nil && !parts.done(); i += n {
			errParts = parts.feed(stream[i:min(i+n, len(stream))])
		}
		if (errWhole == nil) != (errParts == nil) {
			t.Fatalf("split changes the verdict: %v vs %v", errWhole, errParts)
		}
		if errWhole != nil || whole.head == nil {
			return
		}
		a, b := whole.response(), parts.response()
		if a.Status != b.Status || a.Digest != b.Digest || a.BodyBytes != b.BodyBytes {
			t.Fatalf("whole %+v, in parts of %d %+v", a, n, b)
		}
		body := stream[len(a.Header):]
		if a.ContentLength >= 0 && int64(len(body)) > a.ContentLength {
			body = body[:a.ContentLength]
		}
		if md5.Sum(body) != a.Digest {
			t.Fatal("digest is not the MD5 of the body")
		}
	})
}
