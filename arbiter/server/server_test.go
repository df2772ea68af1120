package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/testlog"

	"github.com/vigil-ha/vigil/arbiter/gossip"
	"github.com/vigil-ha/vigil/arbiter/wire"
	"github.com/vigil-ha/vigil/internal/lab"
)

var (
	addrA = netip.MustParseAddrPort("198.18.0.1:7946")
	addrB = netip.MustParseAddrPort("198.18.0.2:7946")
	addrR = netip.MustParseAddrPort("198.18.0.10:7946")
)

const secret = "correct horse battery staple"

type world struct {
	l          *lab.Lab
	na, nb, nr *lab.NS
	a, b       *gossip.Gossip
	state      string
}

func newWorld(t *testing.T) *world {
	l := lab.New(t)
	w := &world{l: l, state: filepath.Join(t.TempDir(), "arbiter.json")}
	mk := func(role string, ap netip.AddrPort) *lab.NS {
		ns := l.Namespace(role)
		l.Connect(ns, ap.Addr().String()+"/24")
		return ns
	}
	w.na, w.nb, w.nr = mk("a", addrA), mk("b", addrB), mk("arb", addrR)
	node := func(name string, ns *lab.NS, bind, peer netip.AddrPort) *gossip.Gossip {
		g, err := gossip.Start(gossip.Config{Cluster: "web", Name: name, Bind: bind, Peers: []netip.AddrPort{peer},
			Arbiters: []netip.AddrPort{addrR}, Secret: secret, HeartbeatInterval: 200 * time.Millisecond,
			LeaseTimeout: 500 * time.Millisecond, Log: testlog.New(t).Named(name), Do: ns.Do})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		t.Cleanup(func() { _ = g.Close() })
		return g
	}
	w.a = node("a", w.na, addrA, addrB)
	w.b = node("b", w.nb, addrB, addrA)
	return w
}

func (w *world) arbiter(t *testing.T, ttl time.Duration) *Server {
	t.Helper()
	s, err := Start(Config{Gossip: gossip.Config{Cluster: "web", Name: "arb", Bind: addrR,
		Peers: []netip.AddrPort{addrA, addrB}, Secret: secret, Do: w.nr.Do},
		LeaseTTL: ttl, StateFile: w.state, Log: testlog.New(t).Named("arb")})
	if err != nil {
		t.Fatalf("arbiter: %v", err)
	}
	return s
}

// ask requests key for g at the one arbiter and waits for the result.
func ask(t *testing.T, g *gossip.Gossip, key string) gossip.LeaseResult {
	t.Helper()
	ch := make(chan gossip.LeaseResult, 1)
	g.RequestLease(key, func(r gossip.LeaseResult) { ch <- r })
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * time.Second):
		t.Fatalf("%s: no lease result in 3 s", g.Name())
		return gossip.LeaseResult{}
	}
}

// askUntil repeats requests until the arbiter answers (the member list
// the reply is routed by may still be converging).
func askUntil(t *testing.T, g *gossip.Gossip, key string, timeout time.Duration) *wire.LeaseReply {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := ask(t, g, key)
		if r.Err == nil {
			return r.Reply
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no reply from the arbiter in %v: %v", g.Name(), timeout, r.Err)
		}
	}
}

func TestLeases(t *testing.T) {
	w := newWorld(t)
	s := w.arbiter(t, 2*time.Second)
	defer s.Close()

	r := askUntil(t, w.a, "inet-51", 5*time.Second)
	if !r.Granted || r.Holder != "a" || r.TTL != 2*time.Second || r.Arbiter != "arb" {
		t.Fatalf("first request by a: %+v", r)
	}
	r = askUntil(t, w.b, "inet-51", 5*time.Second)
	if r.Granted || r.Holder != "a" {
		t.Fatalf("b got a's lease: %+v", r)
	}
	// Renewal by the holder.
	if r = askUntil(t, w.a, "inet-51", time.Second); !r.Granted {
		t.Fatalf("renewal refused: %+v", r)
	}
	st := s.Status()
	if len(st.Leases) != 1 || st.Leases[0].Holder != "a" || st.Leases[0].Key != "inet-51" {
		t.Fatalf("status leases %+v", st.Leases)
	}

	// A release frees it at once.
	w.a.ReleaseLease("inet-51")
	start := time.Now()
	for {
		if r = askUntil(t, w.b, "inet-51", time.Second); r.Granted {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("b not granted within 1 s of a's release: %+v", r)
		}
	}
	// b stops renewing: a gets it after the expiry, not before.
	grantedB := time.Now()
	for {
		r = askUntil(t, w.a, "inet-51", time.Second)
		if r.Granted {
			break
		}
		if r.Holder != "b" {
			t.Fatalf("denied with holder %q", r.Holder)
		}
		if time.Since(grantedB) > 4*time.Second {
			t.Fatal("a not granted 4 s after b's last renewal (ttl 2 s)")
		}
	}
	if d := time.Since(grantedB); d < 2*time.Second-100*time.Millisecond {
		t.Fatalf("a granted %v after b's grant, before the 2 s expiry", d)
	}

	// Status over HTTP.
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hs Status
	if err := json.NewDecoder(resp.Body).Decode(&hs); err != nil {
		t.Fatal(err)
	}
	if hs.Cluster != "web" || len(hs.Leases) != 1 || hs.Leases[0].Holder != "a" || len(hs.Members) != 3 || hs.Grants < 4 {
		t.Fatalf("http status %+v", hs)
	}
}

func TestRestartKeepsHolder(t *testing.T) {
	w := newWorld(t)
	s := w.arbiter(t, 2*time.Second)
	if r := askUntil(t, w.a, "inet-51", 5*time.Second); !r.Granted {
		t.Fatalf("a: %+v", r)
	}
	_ = s.Close()
	b, err := os.ReadFile(w.state)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	t.Logf("state file: %s", b)
	s = w.arbiter(t, 2*time.Second)
	defer s.Close()
	r := askUntil(t, w.b, "inet-51", 5*time.Second)
	if r.Granted || r.Holder != "a" {
		t.Fatalf("restarted arbiter granted a's lease to b: %+v", r)
	}
}

func TestCorruptStateRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Config{Gossip: gossip.Config{Bind: netip.MustParseAddrPort("127.0.0.1:0")}, StateFile: p})
	if err == nil {
		t.Fatal("started with a corrupt state file")
	}
}
