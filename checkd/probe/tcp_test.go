package probe

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTCP(t *testing.T) {
	ctx := testCtx(t)
	up := startTCP(t, func(net.Conn) {})
	tests := []struct {
		name    string
		conn    Conn
		ok      bool
		detail  string
		maxTime time.Duration
	}{
		{"up", Conn{Addr: up.addr(t)}, true, "succeeded", time.Second},
		{"down: refused", Conn{Addr: refusedAddr(t)}, false, "connection refused", time.Second},
		{"slow: connect_timeout honoured", Conn{Addr: blackholeAddr(t), Timeout: 300 * time.Millisecond}, false, "timeout", 2 * time.Second},
		{"no address", Conn{}, false, "no address", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := TCP(ctx, tt.conn)
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got %+v, want ok=%v detail ~%q", r, tt.ok, tt.detail)
			}
			if r.Latency > tt.maxTime {
				t.Errorf("took %v", r.Latency)
			}
		})
	}
}

// The connect timeout counts from the probe's start, and cancelling the
// context aborts at once whatever the timeout.
func TestTCPTimeouts(t *testing.T) {
	hole := blackholeAddr(t)
	r := TCP(testCtx(t), Conn{Addr: hole, Timeout: 200 * time.Millisecond})
	if r.OK || r.Latency < 150*time.Millisecond || r.Latency > 2*time.Second {
		t.Errorf("timeout 200ms: %+v", r)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(100*time.Millisecond, cancel)
	r = TCP(ctx, Conn{Addr: hole, Timeout: time.Minute})
	if r.OK || r.Latency > 5*time.Second || !strings.Contains(r.Detail, "cancel") {
		t.Errorf("cancelled: %+v", r)
	}
}

// bindto, bind_port and bind_if choose the source of the connection.
func TestTCPBind(t *testing.T) {
	ctx := testCtx(t)
	srv := startTCP(t, func(net.Conn) {})
	src := netip.MustParseAddr("127.0.0.2")
	r := TCP(ctx, Conn{Addr: srv.addr(t), BindTo: src, BindIf: "lo"})
	if !r.OK {
		t.Fatalf("bindto: %+v", r)
	}
	waitFor(t, func() bool { return srv.lastPeer().Addr() == src }, "the server to see source 127.0.0.2")

	port := refusedAddr(t).Port() // a free port
	r = TCP(ctx, Conn{Addr: srv.addr(t), BindTo: netip.MustParseAddr("127.0.0.3"), BindPort: port})
	if !r.OK {
		t.Fatalf("bind_port: %+v", r)
	}
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), port)
	waitFor(t, func() bool { return srv.lastPeer() == want }, "the server to see "+want.String())

	if r := TCP(ctx, Conn{Addr: srv.addr(t), BindIf: "no-such-if0"}); r.OK || !strings.Contains(r.Detail, "bind_if") {
		t.Errorf("unknown bind_if: %+v", r)
	}
	if os.Geteuid() == 0 { // SO_MARK needs CAP_NET_ADMIN
		if r := TCP(ctx, Conn{Addr: srv.addr(t), Fwmark: 7}); !r.OK {
			t.Errorf("fwmark: %+v", r)
		}
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
