package probe

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestUDP(t *testing.T) {
	ctx := testCtx(t)
	echo := startUDP(t, func(q []byte) [][]byte { return [][]byte{q} })
	silent := startUDP(t, func([]byte) [][]byte { return nil })
	long := startUDP(t, func([]byte) [][]byte { return [][]byte{bytes.Repeat([]byte{7}, 300)} })
	counter := startUDP(t, func([]byte) [][]byte { return [][]byte{{0xab, 0x12, 0x99, 0x03}} })
	gone := refusedUDP(t)
	data, mask, _ := DecodeHexMask("ab12xx03")
	tests := []struct {
		name   string
		target UDPTarget
		ok     bool
		detail string
	}{
		{"no reply needed, none comes", UDPTarget{Conn: Conn{Addr: silent, Timeout: 150 * time.Millisecond}}, true, "no ICMP error"},
		{"no reply needed, port unreachable", UDPTarget{Conn: Conn{Addr: gone, Timeout: time.Second}}, false, "connection refused"},
		{"reply required, echoed", UDPTarget{Conn: Conn{Addr: echo}, Payload: []byte("ping"), RequireReply: true}, true, "4 bytes"},
		{"reply required, none comes", UDPTarget{Conn: Conn{Addr: silent, Timeout: 150 * time.Millisecond}, RequireReply: true}, false, "timeout"},
		{"reply shorter than min_reply_length", UDPTarget{Conn: Conn{Addr: echo}, Payload: []byte("ab"), RequireReply: true, MinReplyLength: 3}, false, "reply of 2 bytes"},
		{"reply longer than max_reply_length (255)", UDPTarget{Conn: Conn{Addr: long}, RequireReply: true}, false, "more than 255"},
		{"max_reply_length raised", UDPTarget{Conn: Conn{Addr: long}, RequireReply: true, MaxReplyLength: 300}, true, "300 bytes"},
		{"reply data with ignored nibbles", UDPTarget{Conn: Conn{Addr: counter}, RequireReply: true, ReplyData: data, ReplyMask: mask}, true, "matches"},
		{"reply data differs", UDPTarget{Conn: Conn{Addr: echo}, Payload: []byte{0xab, 0x13, 0, 3}, RequireReply: true, ReplyData: data, ReplyMask: mask}, false, "byte 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := UDP(ctx, tt.target)
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got ok=%v %q, want ok=%v ~%q", r.OK, r.Detail, tt.ok, tt.detail)
			}
		})
	}
}

// keepalived.conf(5): "Ab12f 3 456 546443123 would be interpreted as AB 12
// 0F 03 45 06 54 64 43 12 03" is the parser's job (config stores it as
// "ab120f03450654644312 03"); here the stored form is decoded.
func TestDecodeHexMask(t *testing.T) {
	data, mask, err := DecodeHexMask("ab120f034506546443120x")
	if err != nil || !bytes.Equal(data, []byte{0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x00}) ||
		!bytes.Equal(mask, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f}) {
		t.Errorf("% x / % x / %v", data, mask, err)
	}
	if _, m, _ := DecodeHexMask("abc"); m != nil {
		t.Errorf("mask without x: % x", m)
	}
	if d, _, _ := DecodeHexMask("abc"); !bytes.Equal(d, []byte{0x0a, 0xbc}) {
		t.Errorf("odd length: % x", d)
	}
	if _, _, err := DecodeHexMask("zz"); err == nil {
		t.Error("zz accepted")
	}
	if i := MatchMasked([]byte{1, 2, 3}, []byte{1, 2}, nil); i != -1 {
		t.Errorf("prefix match: %d", i)
	}
	if i := MatchMasked([]byte{1, 2}, []byte{1, 3, 3}, nil); i != 1 {
		t.Errorf("mismatch at %d", i)
	}
}
