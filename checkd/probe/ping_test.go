package probe

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

func TestPingLoopback(t *testing.T) {
	ctx := testCtx(t)
	for _, a := range []string{"127.0.0.1", "::1"} {
		r := Ping(ctx, Conn{Addr: netip.AddrPortFrom(netip.MustParseAddr(a), 0), Timeout: 2 * time.Second})
		if !r.OK {
			if strings.Contains(r.Detail, "ICMP socket") {
				t.Skipf("no ICMP socket here: %s", r.Detail)
			}
			t.Errorf("%s: %+v", a, r)
		}
	}
}

// The raw-socket fallback (no ping_group_range for our group) needs
// CAP_NET_RAW.
func TestPingRawSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a raw ICMP socket")
	}
	pingRaw = true
	t.Cleanup(func() { pingRaw = false })
	ctx := testCtx(t)
	for _, a := range []string{"127.0.0.1", "::1"} {
		if r := Ping(ctx, Conn{Addr: netip.AddrPortFrom(netip.MustParseAddr(a), 0), Timeout: 2 * time.Second}); !r.OK {
			t.Errorf("%s: %+v", a, r)
		}
	}
}

// Up and down in a lab: a neighbour answers, an absent address does not
// (ARP fails, the echo times out).
func TestPingLab(t *testing.T) {
	lab.Skip(t)
	l := lab.New(t)
	a, b := l.Namespace("a"), l.Namespace("b")
	ifa := l.Connect(a, "198.18.7.1/24")
	l.Connect(b, "198.18.7.2/24")
	tests := []struct {
		to      string
		ok      bool
		detail  string
		timeout time.Duration
	}{
		{"198.18.7.2", true, "echo reply", 3 * time.Second},
		{"198.18.7.99", false, "", 500 * time.Millisecond},
	}
	for _, tt := range tests {
		var r Result
		err := a.Do(func() error {
			r = Ping(testCtx(t), Conn{Addr: netip.AddrPortFrom(netip.MustParseAddr(tt.to), 0), BindIf: ifa,
				BindTo: netip.MustParseAddr("198.18.7.1"), Timeout: tt.timeout})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
			t.Errorf("ping %s: %+v", tt.to, r)
		}
		if r.Latency > tt.timeout+2*time.Second {
			t.Errorf("ping %s took %v", tt.to, r.Latency)
		}
	}
}
