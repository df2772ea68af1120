package ipc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// frame builds raw frame bytes field by field, so that tests can break any
// one of them. length < 0 means "the right length".
func frame(length int64, version, kind byte, typ uint16, reserved uint32, id uint64, body string) []byte {
	if length < 0 {
		length = int64(HeaderSize + len(body))
	}
	b := make([]byte, 4+HeaderSize, 4+HeaderSize+len(body))
	binary.BigEndian.PutUint32(b[0:4], uint32(length))
	b[4] = version
	b[5] = kind
	binary.BigEndian.PutUint16(b[6:8], typ)
	binary.BigEndian.PutUint32(b[8:12], reserved)
	binary.BigEndian.PutUint64(b[12:20], id)
	return append(b, body...)
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"hello event", Message{Kind: Event, Type: TypeHello, Body: json.RawMessage(`{"version":1,"role":"vrrpd","pid":123,"binary":"x"}`)}},
		{"event without body", Message{Kind: Event, Type: TypeStop}},
		{"request", Message{Kind: Request, Type: TypePing, ID: 1, Body: json.RawMessage(`{"n":1}`)}},
		{"request max id", Message{Kind: Request, Type: TypeStatus, ID: ^uint64(0)}},
		{"response", Message{Kind: Response, Type: TypePing, ID: 7, Body: json.RawMessage(`"pong"`)}},
		{"error", Message{Kind: Error, Type: TypeReload, ID: 9, Body: json.RawMessage(`{"message":"no"}`)}},
		{"goodbye error id 0", Message{Kind: Error, Type: TypeHello, Body: json.RawMessage(`{"message":"refused"}`)}},
		{"unknown type code", Message{Kind: Event, Type: 999, Body: json.RawMessage(`[1,2,3]`)}},
		{"body with whitespace kept verbatim", Message{Kind: Event, Type: TypeSnapshot, Body: json.RawMessage(" { \"a\" : [ 1 , 2 ] }\n")}},
		{"scalar body", Message{Kind: Event, Type: TypeTrack, Body: json.RawMessage(`null`)}},
		{"large body", Message{Kind: Event, Type: TypeConfig, Body: json.RawMessage(`"` + strings.Repeat("x", 300<<10) + `"`)}},
	}
	var stream bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteMessage(&buf, tt.m); err != nil {
				t.Fatalf("WriteMessage: %v", err)
			}
			if got, want := buf.Len(), 4+HeaderSize+len(tt.m.Body); got != want {
				t.Fatalf("encoded %d bytes, want %d", got, want)
			}
			stream.Write(buf.Bytes())
			got, err := ReadMessage(&buf, 0)
			if err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.m)
			}
			if buf.Len() != 0 {
				t.Fatalf("%d bytes left unread", buf.Len())
			}
		})
	}
	// All of them back to back on one stream, then a clean io.EOF.
	for _, tt := range tests {
		got, err := ReadMessage(&stream, 0)
		if err != nil || !reflect.DeepEqual(got, tt.m) {
			t.Fatalf("stream, %s: got %+v, %v", tt.name, got, err)
		}
	}
	if _, err := ReadMessage(&stream, 0); err != io.EOF {
		t.Fatalf("at end of stream: got %v, want io.EOF itself", err)
	}
}

func TestWireLayout(t *testing.T) {
	var buf bytes.Buffer
	m := Message{Kind: Response, Type: TypeStatus, ID: 0x0102030405060708, Body: json.RawMessage(`{}`)}
	if err := WriteMessage(&buf, m); err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0, 0, 0, 18, // length: 16 + 2
		1,     // version
		3,     // kind: Response
		0, 10, // type: TypeStatus
		0, 0, 0, 0, // reserved
		1, 2, 3, 4, 5, 6, 7, 8, // id
		'{', '}',
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("wire bytes\n got % x\nwant % x", buf.Bytes(), want)
	}
	// Type codes are part of the protocol: they must never move.
	codes := map[Type]uint16{TypeHello: 1, TypePing: 2, TypeConfig: 3, TypeSnapshot: 4, TypeRestore: 5,
		TypeTrack: 6, TypeInstance: 7, TypeVerdict: 8, TypeBackend: 9, TypeStatus: 10, TypeReload: 11,
		TypeStop: 12, TypeCommand: 13}
	for ty, code := range codes {
		if uint16(ty) != code {
			t.Errorf("%s = %d, want %d", ty, ty, code)
		}
	}
}

func TestReadMessageRejects(t *testing.T) {
	ok := `{"a":1}`
	tests := []struct {
		name    string
		in      []byte
		max     int
		proto   string // substring of a *ProtocolError's message
		trunc   bool   // wraps io.ErrUnexpectedEOF
		exactly string // the whole error message, when checked
	}{
		{name: "oversized 20 MiB", in: frame(20<<20, 1, 1, 4, 0, 0, ""), proto: "exceeds", exactly: "ipc: frame of 20 MiB exceeds 16 MiB"},
		{name: "one byte over the limit", in: frame(DefaultMaxFrame+1, 1, 1, 4, 0, 0, ""), proto: "frame of 16777217 bytes exceeds 16 MiB"},
		{name: "over a small per-call limit", in: frame(-1, 1, 1, 4, 0, 0, strings.Repeat(" ", 2000)), max: 1024, proto: "exceeds 1 KiB"},
		{name: "max length prefix", in: frame(0xffffffff, 1, 1, 4, 0, 0, ""), proto: "exceeds 16 MiB"},
		{name: "length shorter than header", in: frame(15, 1, 1, 4, 0, 0, ""), proto: "shorter than the 16-byte header"},
		{name: "length zero", in: []byte{0, 0, 0, 0}, proto: "frame length 0"},
		{name: "version 0", in: frame(-1, 0, 1, 4, 0, 0, ""), proto: "unsupported protocol version 0"},
		{name: "version 2", in: frame(-1, 2, 1, 4, 0, 0, ok), proto: "unsupported protocol version 2"},
		{name: "kind 0", in: frame(-1, 1, 0, 4, 0, 0, ""), proto: "unknown message kind 0"},
		{name: "kind 5", in: frame(-1, 1, 5, 4, 0, 0, ""), proto: "unknown message kind 5"},
		{name: "kind 255", in: frame(-1, 1, 255, 4, 0, 0, ""), proto: "unknown message kind 255"},
		{name: "reserved bits", in: frame(-1, 1, 1, 4, 1, 0, ""), proto: "reserved header bytes are 0x00000001, must be zero"},
		{name: "reserved high bit", in: frame(-1, 1, 1, 4, 0x80000000, 0, ""), proto: "reserved"},
		{name: "type 0", in: frame(-1, 1, 1, 0, 0, 0, ""), proto: "type 0"},
		{name: "event with an id", in: frame(-1, 1, 1, 4, 0, 5, ""), proto: "events carry id 0"},
		{name: "request with id 0", in: frame(-1, 1, 2, 2, 0, 0, ""), proto: "carries id 0"},
		{name: "response with id 0", in: frame(-1, 1, 3, 2, 0, 0, ""), proto: "carries id 0"},
		{name: "malformed JSON", in: frame(-1, 1, 1, 4, 0, 0, `{"a":`), proto: "malformed JSON in snapshot event body"},
		{name: "two JSON values", in: frame(-1, 1, 2, 2, 0, 1, `{} {}`), proto: "malformed JSON"},
		{name: "binary body", in: frame(-1, 1, 3, 2, 0, 1, "\x00\xff\xfe"), proto: "malformed JSON"},
		{name: "whitespace-only body", in: frame(-1, 1, 1, 4, 0, 0, "  "), proto: "malformed JSON"},
		{name: "garbage: HTTP request", in: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), proto: "exceeds"},
		{name: "garbage: small length then junk", in: append([]byte{0, 0, 0, 20}, "this is not a frame!"...), proto: "unsupported protocol version"},
		{name: "truncated length prefix", in: []byte{0, 0}, trunc: true},
		{name: "truncated header", in: frame(-1, 1, 1, 4, 0, 0, "")[:10], trunc: true},
		{name: "only the length", in: frame(-1, 1, 1, 4, 0, 0, "")[:4], trunc: true},
		{name: "truncated body", in: frame(-1, 1, 1, 4, 0, 0, ok)[:4+HeaderSize+3], trunc: true},
		{name: "length lies: 16 MiB declared, 5 bytes sent", in: frame(DefaultMaxFrame, 1, 1, 4, 0, 0, `"abc"`), trunc: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ReadMessage(bytes.NewReader(tt.in), tt.max)
			if err == nil {
				t.Fatalf("accepted %+v", m)
			}
			if err == io.EOF {
				t.Fatalf("got a bare io.EOF; only an empty stream may give that")
			}
			var pe *ProtocolError
			isProto := errors.As(err, &pe)
			switch {
			case tt.proto != "":
				if !isProto || !strings.Contains(err.Error(), tt.proto) {
					t.Fatalf("got %v (%T), want a *ProtocolError containing %q", err, err, tt.proto)
				}
			case tt.trunc:
				if isProto || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("got %v (%T), want an error wrapping io.ErrUnexpectedEOF", err, err)
				}
			}
			if tt.exactly != "" && err.Error() != tt.exactly {
				t.Fatalf("message %q, want %q", err.Error(), tt.exactly)
			}
			if !strings.HasPrefix(err.Error(), "ipc: ") {
				t.Fatalf("message %q lacks the ipc: prefix", err)
			}
		})
	}
}

// A length prefix that lies must not cost memory for bytes that never come.
func TestReadMessageLyingLengthAllocatesLittle(t *testing.T) {
	in := frame(DefaultMaxFrame, 1, 1, 4, 0, 0, `"abc"`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := ReadMessage(bytes.NewReader(in), 0); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v", err)
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("10 reads of a lying 16 MiB frame allocated %d bytes", got)
	}
}

func TestWriteMessageRefuses(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"kind 0", Message{Type: TypePing}, "unknown message kind 0"},
		{"kind 9", Message{Kind: 9, Type: TypePing}, "unknown message kind 9"},
		{"type 0", Message{Kind: Event}, "type 0"},
		{"event with id", Message{Kind: Event, Type: TypeTrack, ID: 3}, "events carry id 0"},
		{"request id 0", Message{Kind: Request, Type: TypePing}, "carries id 0"},
		{"response id 0", Message{Kind: Response, Type: TypePing}, "carries id 0"},
		{"malformed JSON", Message{Kind: Event, Type: TypeTrack, Body: json.RawMessage(`{`)}, "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteMessage(&buf, tt.m)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a *ProtocolError containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatalf("wrote %d bytes of a refused message", buf.Len())
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{TypeHello.String(), "hello"},
		{TypeCommand.String(), "command"},
		{Type(0).String(), "type(0)"},
		{Type(400).String(), "type(400)"},
		{Event.String(), "event"},
		{Error.String(), "error"},
		{Kind(7).String(), "kind(7)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzReadMessage(f *testing.F) {
	for _, m := range []Message{
		{Kind: Event, Type: TypeHello, Body: json.RawMessage(`{"version":1,"role":"core","pid":1,"binary":"b"}`)},
		{Kind: Request, Type: TypePing, ID: 1},
		{Kind: Response, Type: TypeStatus, ID: 2, Body: json.RawMessage(`{"instances":[{"name":"VI_1","state":"MASTER"}]}`)},
		{Kind: Error, Type: TypeReload, ID: 3, Body: json.RawMessage(`{"message":"bad"}`)},
		{Kind: Error, Type: TypeHello, Body: json.RawMessage(`{"message":"refused"}`)},
		{Kind: Event, Type: TypeSnapshot, Body: json.RawMessage(`"\u00e9\ud83d\ude00"`)},
	} {
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		two := append(bytes.Clone(buf.Bytes()), buf.Bytes()...)
		f.Add(two)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0})
	f.Add(frame(20<<20, 1, 1, 4, 0, 0, ""))
	f.Add(frame(15, 1, 1, 4, 0, 0, ""))
	f.Add(frame(-1, 2, 1, 4, 0, 0, "{}"))
	f.Add(frame(-1, 1, 5, 4, 0, 0, ""))
	f.Add(frame(-1, 1, 1, 4, 1, 0, ""))
	f.Add(frame(-1, 1, 1, 0, 0, 0, ""))
	f.Add(frame(-1, 1, 1, 4, 0, 0, `{"a":`))
	f.Add(frame(DefaultMaxFrame, 1, 1, 4, 0, 0, `"abc"`))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		m, err := ReadMessage(r, 1<<20)
		if err != nil {
			var pe *ProtocolError
			switch {
			case err == io.EOF:
				if len(data) != 0 {
					t.Fatalf("bare io.EOF after %d bytes", len(data))
				}
			case errors.As(err, &pe), errors.Is(err, io.ErrUnexpectedEOF):
			default:
				t.Fatalf("error of an unexpected class from a bytes.Reader: %v", err)
			}
			return
		}
		consumed := data[:len(data)-r.Len()]
		var buf bytes.Buffer
		if err := WriteMessage(&buf, m); err != nil {
			t.Fatalf("accepted %+v but WriteMessage refuses it: %v", m, err)
		}
		// The encoding is canonical: what was accepted is exactly what
		// re-encoding gives.
		if !bytes.Equal(buf.Bytes(), consumed) {
			t.Fatalf("re-encoding differs\n got % x\nwant % x", buf.Bytes(), consumed)
		}
		again, err := ReadMessage(&buf, 1<<20)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("decode(encode(m)) = %+v, want %+v", again, m)
		}
	})
}
