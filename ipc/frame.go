package ipc

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Version is the protocol version this package speaks. It is the first byte
// of every frame header and the "version" of every hello.
const Version = 1

// HeaderSize is the size of the fixed header that follows a frame's 4-byte
// length prefix.
const HeaderSize = 16

// DefaultMaxFrame is the default limit on a frame's length (the header and
// body, not counting the 4-byte length prefix): 16 MiB.
const DefaultMaxFrame = 16 << 20

// Kind says what a message is: an event, a request, or the answer to one.
type Kind uint8

// Message kinds.
const (
	Event    Kind = 1 // one-way notification; id 0
	Request  Kind = 2 // expects a Response or an Error with the same id
	Response Kind = 3 // successful answer to the request with the same id
	Error    Kind = 4 // failed answer to the request with the same id; id 0: the sender's reason for closing the connection
)

func (k Kind) valid() bool { return k >= Event && k <= Error }

func (k Kind) String() string {
	switch k {
	case Event:
		return "event"
	case Request:
		return "request"
	case Response:
		return "response"
	case Error:
		return "error"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Type is a message type code. Codes are never reused; new ones are added at
// the end. Type 0 is invalid on the wire.
type Type uint16

// Message types.
const (
	TypeHello    Type = 1 + iota // first frame each side sends: an Event with a Hello body
	TypePing                     // request/response liveness
	TypeConfig                   // parent -> child: its part of the configuration (opaque JSON here)
	TypeSnapshot                 // child -> parent: the child's state to keep across a restart (opaque JSON)
	TypeRestore                  // parent -> child at start: the last snapshot (opaque JSON), or empty
	TypeTrack                    // checkd -> core -> vrrpd: a track result
	TypeInstance                 // vrrpd -> core -> lvsd/arbiter: an instance's state
	TypeVerdict                  // arbiter -> core -> vrrpd: hold/release an instance
	TypeBackend                  // checkd -> core -> lvsd: real server health
	TypeStatus                   // request: status of a child / of the daemon
	TypeReload                   // parent -> child: new configuration, diff applied by the child
	TypeStop                     // parent -> child: graceful stop
	TypeCommand                  // control socket: a CLI command (restart, reload, stop, status, handoff)
)

var typeNames = [...]string{
	TypeHello:    "hello",
	TypePing:     "ping",
	TypeConfig:   "config",
	TypeSnapshot: "snapshot",
	TypeRestore:  "restore",
	TypeTrack:    "track",
	TypeInstance: "instance",
	TypeVerdict:  "verdict",
	TypeBackend:  "backend",
	TypeStatus:   "status",
	TypeReload:   "reload",
	TypeStop:     "stop",
	TypeCommand:  "command",
}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Message is one frame: its kind, type, id and JSON body. An empty body is
// nil after ReadMessage.
type Message struct {
	Kind Kind
	Type Type
	ID   uint64
	Body json.RawMessage
}

// ProtocolError reports a frame that breaks the protocol: too large, a wrong
// version, an unknown kind, non-zero reserved bytes, a bad id or malformed
// JSON. A Conn that reads one closes.
type ProtocolError struct {
	Reason string
}

func (e *ProtocolError) Error() string { return "ipc: " + e.Reason }

func protoErr(format string, args ...any) *ProtocolError {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...)}
}

// sizeString renders a byte count for error messages: "16 MiB" when it is a
// whole number of MiB, else the exact count of bytes.
func sizeString(n uint64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatUint(n>>20, 10) + " MiB"
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return strconv.FormatUint(n>>10, 10) + " KiB"
	}
	return strconv.FormatUint(n, 10) + " bytes"
}

// check validates everything in m but the body's JSON and its size.
func (m *Message) check() error {
	if !m.Kind.valid() {
		return protoErr("unknown message kind %d", uint8(m.Kind))
	}
	if m.Type == 0 {
		return protoErr("%s of type 0 (no such type)", m.Kind)
	}
	switch m.Kind {
	case Event:
		if m.ID != 0 {
			return protoErr("%s event carries id %d; events carry id 0", m.Type, m.ID)
		}
	case Request, Response:
		if m.ID == 0 {
			return protoErr("%s %s carries id 0; requests and responses need a non-zero id", m.Type, m.Kind)
		}
	}
	return nil
}

// WriteMessage writes m as one frame with a single Write. It refuses (and
// writes nothing) a message that ReadMessage would reject, except for size:
// the reader's limit is the reader's business.
func WriteMessage(w io.Writer, m Message) error {
	return writeMessage(w, m, true)
}

func writeMessage(w io.Writer, m Message, validate bool) error {
	if err := m.check(); err != nil {
		return err
	}
	if uint64(len(m.Body)) > math.MaxUint32-HeaderSize {
		return protoErr("%s %s body of %s cannot be framed", m.Type, m.Kind, sizeString(uint64(len(m.Body))))
	}
	if validate && len(m.Body) > 0 && !json.Valid(m.Body) {
		return protoErr("malformed JSON in %s %s body (%d bytes)", m.Type, m.Kind, len(m.Body))
	}
	buf := make([]byte, 4+HeaderSize+len(m.Body))
	binary.BigEndian.PutUint32(buf[0:4], uint32(HeaderSize+len(m.Body)))
	buf[4] = Version
	buf[5] = byte(m.Kind)
	binary.BigEndian.PutUint16(buf[6:8], uint16(m.Type))
	// buf[8:12]: reserved, zero.
	binary.BigEndian.PutUint64(buf[12:20], m.ID)
	copy(buf[20:], m.Body)
	_, err := w.Write(buf)
	return err
}

// ReadMessage reads one frame from r. maxFrame limits the frame's length
// (header and body, not the 4-byte prefix); maxFrame <= 0 means
// DefaultMaxFrame.
//
// At a clean end of stream (no byte of a new frame read) it returns io.EOF
// itself. A stream that ends inside a frame gives an error wrapping
// io.ErrUnexpectedEOF. A frame that breaks the protocol gives a
// *ProtocolError, and the stream is then unusable: the rest of that frame is
// not consumed. A non-empty body must be valid JSON. The length is checked
// before anything is allocated for the body, and the body is read in growing
// chunks, so a lying length prefix costs no more memory than the bytes that
// really arrive.
func ReadMessage(r io.Reader, maxFrame int) (Message, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	var hdr [4 + HeaderSize]byte
	if n, err := io.ReadFull(r, hdr[:4]); err != nil {
		if err == io.EOF {
			return Message{}, io.EOF
		}
		return Message{}, fmt.Errorf("ipc: reading frame length (got %d of 4 bytes): %w", n, err)
	}
	size := uint64(binary.BigEndian.Uint32(hdr[:4]))
	if size < HeaderSize {
		return Message{}, protoErr("frame length %d is shorter than the %d-byte header", size, HeaderSize)
	}
	if size > uint64(maxFrame) {
		return Message{}, protoErr("frame of %s exceeds %s", sizeString(size), sizeString(uint64(maxFrame)))
	}
	if n, err := io.ReadFull(r, hdr[4:]); err != nil {
		return Message{}, fmt.Errorf("ipc: reading frame header (got %d of %d bytes): %w", n, HeaderSize, eofIsUnexpected(err))
	}
	if v := hdr[4]; v != Version {
		return Message{}, protoErr("unsupported protocol version %d (this side speaks %d)", v, Version)
	}
	m := Message{
		Kind: Kind(hdr[5]),
		Type: Type(binary.BigEndian.Uint16(hdr[6:8])),
		ID:   binary.BigEndian.Uint64(hdr[12:20]),
	}
	if res := binary.BigEndian.Uint32(hdr[8:12]); res != 0 {
		return Message{}, protoErr("reserved header bytes are %#08x, must be zero", res)
	}
	if err := m.check(); err != nil {
		return Message{}, err
	}
	if n := int(size - HeaderSize); n > 0 {
		body, err := readBody(r, n)
		if err != nil {
			return Message{}, fmt.Errorf("ipc: reading %s %s body (got %d of %d bytes): %w", m.Type, m.Kind, len(body), n, eofIsUnexpected(err))
		}
		if !json.Valid(body) {
			return Message{}, protoErr("malformed JSON in %s %s body (%d bytes)", m.Type, m.Kind, n)
		}
		m.Body = body
	}
	return m, nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readBody reads exactly n bytes, growing its buffer as data arrives rather
// than trusting n up front.
func readBody(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, 64<<10))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		k, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
