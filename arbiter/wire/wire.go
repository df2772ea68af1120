// Package wire is the encoding of the messages on Vigil's gossip path
// (arbiter/gossip): the nodes' direct heartbeats and the lease RPC between
// nodes and arbiters. A message is one type byte followed by a JSON body
// with short field names. Decoding is strict and bounded: a message larger
// than MaxSize, an unknown type byte, a body that is not exactly one JSON
// object, or a field over its limit is an error, never a panic. Unknown
// JSON fields are ignored so a later version can add fields; a change of
// meaning takes a new type byte.
//
// Instances are named on the wire by a key both nodes derive the same way
// from their vrrp_instance: "<family>-<vrid>", e.g. "inet-51" (IPv4,
// virtual_router_id 51) or "inet6-51" (see Key). The instance names may
// differ between the nodes; the VRID and family may not, as in VRRP itself.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// Type is a message's first byte.
type Type byte

// Message types. Codes are never reused.
const (
	TypeHeartbeat    Type = 1
	TypeLeaseRequest Type = 2
	TypeLeaseReply   Type = 3
	TypeLeaseRelease Type = 4
)

func (t Type) String() string {
	switch t {
	case TypeHeartbeat:
		return "heartbeat"
	case TypeLeaseRequest:
		return "lease-request"
	case TypeLeaseReply:
		return "lease-reply"
	case TypeLeaseRelease:
		return "lease-release"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Limits enforced by Decode (and Encode, so a node never sends what its
// peer would refuse).
const (
	// MaxSize bounds an encoded message (type byte included).
	MaxSize = 32 << 10
	// MaxInstances bounds a heartbeat's instances (VRIDs are 1-255 per
	// family).
	MaxInstances = 512
	// MaxName bounds cluster, node, arbiter and key strings.
	MaxName = 128
	// MaxTTL bounds a lease reply's TTL.
	MaxTTL = time.Hour
)

// Message is one of Heartbeat, LeaseRequest, LeaseReply, LeaseRelease.
type Message interface {
	Type() Type
	validate() error
}

// InstanceState is one instance in a heartbeat: the sender's VRRP view.
type InstanceState struct {
	// Key is the shared instance key (see Key).
	Key string `json:"k"`
	// State is the VRRP state: INIT, BACKUP, MASTER or FAULT.
	State    string `json:"s"`
	Priority int    `json:"p"`
	Preempt  bool   `json:"pe,omitempty"`
	// Addr is the sender's primary address on the VRRP interface.
	Addr  netip.Addr `json:"a,omitzero"`
	Epoch uint64     `json:"e,omitempty"`
	// Held reports that the sender's agent holds the instance.
	Held bool `json:"h,omitempty"`
}

// Heartbeat is sent directly by each node to each other node every
// heartbeat_interval.
type Heartbeat struct {
	Cluster   string          `json:"c"`
	Node      string          `json:"n"`
	Seq       uint64          `json:"q"`
	Instances []InstanceState `json:"i,omitempty"`
}

// LeaseRequest asks an arbiter for (or renews) the lease on Key. ID is
// unique per request and sender; the reply echoes it.
type LeaseRequest struct {
	Cluster string `json:"c"`
	Node    string `json:"n"`
	Key     string `json:"k"`
	ID      uint64 `json:"id"`
}

// LeaseReply answers a LeaseRequest.
type LeaseReply struct {
	Cluster string `json:"c"`
	Arbiter string `json:"a"`
	Key     string `json:"k"`
	ID      uint64 `json:"id"`
	Granted bool   `json:"g,omitempty"`
	// Holder is the node holding the lease (the requester when granted).
	Holder string `json:"h,omitempty"`
	// TTL is the lease length counted from the arbiter's receipt of the
	// request.
	TTL time.Duration `json:"t"`
}

// LeaseRelease gives a lease back.
type LeaseRelease struct {
	Cluster string `json:"c"`
	Node    string `json:"n"`
	Key     string `json:"k"`
}

func (Heartbeat) Type() Type    { return TypeHeartbeat }
func (LeaseRequest) Type() Type { return TypeLeaseRequest }
func (LeaseReply) Type() Type   { return TypeLeaseReply }
func (LeaseRelease) Type() Type { return TypeLeaseRelease }

// Key is the instance key both nodes use for a vrrp_instance: family 4 or
// 6 (vrrpd's InstanceStatus.Family) and the VRID.
func Key(family int, vrid uint8) string {
	if family == 6 {
		return "inet6-" + strconv.Itoa(int(vrid))
	}
	return "inet-" + strconv.Itoa(int(vrid))
}

// ErrTooLarge is returned for a message over MaxSize.
var ErrTooLarge = errors.New("wire: message too large")

// Encode returns the message's bytes.
func Encode(m Message) ([]byte, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte(byte(m.Type()))
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		return nil, fmt.Errorf("wire: encode %v: %w", m.Type(), err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) > MaxSize {
		return nil, fmt.Errorf("%w: %v of %d bytes (max %d)", ErrTooLarge, m.Type(), len(out), MaxSize)
	}
	return out, nil
}

// Decode parses one message. The result is a value (Heartbeat, not
// *Heartbeat).
func Decode(b []byte) (Message, error) {
	if len(b) == 0 {
		return nil, errors.New("wire: empty message")
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, len(b), MaxSize)
	}
	t, body := Type(b[0]), b[1:]
	var m Message
	var err error
	switch t {
	case TypeHeartbeat:
		var v Heartbeat
		err = decodeBody(body, &v)
		if len(v.Instances) == 0 {
			v.Instances = nil
		}
		m = v
	case TypeLeaseRequest:
		var v LeaseRequest
		err = decodeBody(body, &v)
		m = v
	case TypeLeaseReply:
		var v LeaseReply
		err = decodeBody(body, &v)
		m = v
	case TypeLeaseRelease:
		var v LeaseRelease
		err = decodeBody(body, &v)
		m = v
	default:
		return nil, fmt.Errorf("wire: unknown message type %d", byte(t))
	}
	if err != nil {
		return nil, fmt.Errorf("wire: %v: %w", t, err)
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

func decodeBody(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errors.New("body is not a JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the body")
	}
	if _, err := d.Token(); err == nil {
		return errors.New("trailing data after the body")
	}
	return nil
}

func checkName(what, s string, required bool) error {
	switch {
	case required && s == "":
		return fmt.Errorf("wire: missing %s", what)
	case len(s) > MaxName:
		return fmt.Errorf("wire: %s of %d bytes (max %d)", what, len(s), MaxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("wire: %s is not UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("wire: %s has control characters", what)
		}
	}
	return nil
}

func (h Heartbeat) validate() error {
	if err := checkName("cluster", h.Cluster, true); err != nil {
		return err
	}
	if err := checkName("node", h.Node, true); err != nil {
		return err
	}
	if len(h.Instances) > MaxInstances {
		return fmt.Errorf("wire: heartbeat with %d instances (max %d)", len(h.Instances), MaxInstances)
	}
	for _, in := range h.Instances {
		if err := checkName("instance key", in.Key, true); err != nil {
			return err
		}
		switch in.State {
		case "INIT", "BACKUP", "MASTER", "FAULT":
		default:
			return fmt.Errorf("wire: instance %s: unknown state %q", in.Key, in.State)
		}
		if in.Priority < 0 || in.Priority > 255 {
			return fmt.Errorf("wire: instance %s: priority %d out of range", in.Key, in.Priority)
		}
	}
	return nil
}

func (r LeaseRequest) validate() error {
	for _, f := range []struct{ what, s string }{{"cluster", r.Cluster}, {"node", r.Node}, {"key", r.Key}} {
		if err := checkName(f.what, f.s, true); err != nil {
			return err
		}
	}
	return nil
}

func (r LeaseReply) validate() error {
	for _, f := range []struct{ what, s string }{{"cluster", r.Cluster}, {"arbiter", r.Arbiter}, {"key", r.Key}} {
		if err := checkName(f.what, f.s, true); err != nil {
			return err
		}
	}
	if err := checkName("holder", r.Holder, false); err != nil {
		return err
	}
	if r.TTL < 0 || r.TTL > MaxTTL {
		return fmt.Errorf("wire: lease TTL %v out of range", r.TTL)
	}
	return nil
}

func (r LeaseRelease) validate() error {
	for _, f := range []struct{ what, s string }{{"cluster", r.Cluster}, {"node", r.Node}, {"key", r.Key}} {
		if err := checkName(f.what, f.s, true); err != nil {
			return err
		}
	}
	return nil
}
