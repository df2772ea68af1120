package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func samples() []Message {
	return []Message{
		Heartbeat{Cluster: "web", Node: "lb1", Seq: 7, Instances: []InstanceState{
			{Key: Key(4, 51), State: "MASTER", Priority: 150, Preempt: true, Addr: netip.MustParseAddr("198.18.0.1"), Epoch: 3},
			{Key: Key(6, 52), State: "BACKUP", Priority: 100, Held: true},
		}},
		Heartbeat{Cluster: "web", Node: "lb1"},
		LeaseRequest{Cluster: "web", Node: "lb1", Key: "inet-51", ID: 1 << 60},
		LeaseReply{Cluster: "web", Arbiter: "arb", Key: "inet-51", ID: 9, Granted: true, Holder: "lb1", TTL: 3 * time.Second},
		LeaseReply{Cluster: "web", Arbiter: "arb", Key: "inet-51", ID: 10, Holder: "lb2", TTL: 2 * time.Second},
		LeaseRelease{Cluster: "web", Node: "lb1", Key: "inet-51"},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range samples() {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %#v: %v", m, err)
		}
		if Type(b[0]) != m.Type() {
			t.Fatalf("type byte %d for %v", b[0], m.Type())
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
		}
	}
}

func TestKey(t *testing.T) {
	if Key(4, 51) != "inet-51" || Key(6, 1) != "inet6-1" {
		t.Fatalf("keys %q %q", Key(4, 51), Key(6, 1))
	}
}

func TestDecodeRejects(t *testing.T) {
	big := append([]byte{byte(TypeHeartbeat)}, bytes.Repeat([]byte(" "), MaxSize)...)
	cases := map[string][]byte{
		"empty":         nil,
		"unknown type":  []byte("\x09{}"),
		"not object":    []byte("\x01[1]"),
		"no body":       []byte("\x01"),
		"trailing":      []byte(`` + "\x04" + `{"c":"a","n":"b","k":"c"}{}`),
		"trailing junk": []byte("\x04" + `{"c":"a","n":"b","k":"c"} x`),
		"missing node":  []byte("\x01" + `{"c":"a"}`),
		"bad state":     []byte("\x01" + `{"c":"a","n":"b","i":[{"k":"inet-1","s":"BOSS","p":1}]}`),
		"bad priority":  []byte("\x01" + `{"c":"a","n":"b","i":[{"k":"inet-1","s":"MASTER","p":300}]}`),
		"long name":     []byte("\x04" + `{"c":"a","n":"` + strings.Repeat("x", MaxName+1) + `","k":"c"}`),
		"control char":  []byte("\x04" + `{"c":"a","n":"b\u0001","k":"c"}`),
		"negative ttl":  []byte("\x03" + `{"c":"a","a":"b","k":"c","id":1,"t":-1}`),
		"too large":     big,
		"wrong types":   []byte("\x02" + `{"c":"a","n":"b","k":"c","id":"x"}`),
	}
	for name, b := range cases {
		if m, err := Decode(b); err == nil {
			t.Errorf("%s: decoded %#v", name, m)
		}
	}
	if _, err := Decode(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
}

func TestEncodeRefusesTooMany(t *testing.T) {
	h := Heartbeat{Cluster: "c", Node: "n", Instances: make([]InstanceState, MaxInstances+1)}
	if _, err := Encode(h); err == nil {
		t.Fatal("encoded a heartbeat over MaxInstances")
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	m, err := Decode([]byte("\x04" + `{"c":"a","n":"b","k":"c","future":[1,2]}`))
	if err != nil || m.(LeaseRelease).Key != "c" {
		t.Fatalf("%#v %v", m, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range samples() {
		b, _ := Encode(m)
		f.Add(b)
	}
	f.Add([]byte("\x01{}"))
	f.Add([]byte("\x03{\"t\":1e400}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same value.
		b2, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", m, err)
		}
		m2, err := Decode(b2)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode: %#v %v, want %#v", m2, err, m)
		}
	})
}
