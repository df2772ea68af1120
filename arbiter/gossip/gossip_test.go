package gossip

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-ha/vigil/arbiter/wire"
	"github.com/vigil-ha/vigil/internal/lab"
)

func TestKeyDerivation(t *testing.T) {
	a, err := Key("s3cret", "web")
	if err != nil || len(a) != 32 {
		t.Fatalf("key %x %v", a, err)
	}
	b, _ := Key("s3cret", "db")
	c, _ := Key("other", "web")
	a2, _ := Key("s3cret", "web")
	if string(a) == string(b) || string(a) == string(c) || string(a) != string(a2) {
		t.Fatal("key does not depend on exactly secret and cluster")
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

type seen struct {
	mu   sync.Mutex
	last map[string]time.Time
	hb   map[string]wire.Heartbeat
}

func (s *seen) record(hb wire.Heartbeat, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[hb.Node] = at
	s.hb[hb.Node] = hb
}

func (s *seen) age(node string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.last[node]
	if !ok {
		return time.Hour
	}
	return time.Since(at)
}

type member struct {
	ns   *lab.NS
	addr netip.AddrPort
	g    *Gossip
	seen *seen
	logs *observer.ObservedLogs
}

type cluster struct {
	l       *lab.Lab
	a, b, r *member
}

var (
	addrA = netip.MustParseAddrPort("198.18.0.1:7946")
	addrB = netip.MustParseAddrPort("198.18.0.2:7946")
	addrR = netip.MustParseAddrPort("198.18.0.10:7946")
)

func start(t *testing.T, m *member, cfg Config) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	m.logs = logs
	m.seen = &seen{last: map[string]time.Time{}, hb: map[string]wire.Heartbeat{}}
	cfg.Bind = m.addr
	cfg.Log = zap.New(core)
	cfg.Do = m.ns.Do
	if cfg.Cluster == "" {
		cfg.Cluster = "test"
	}
	cfg.OnHeartbeat = m.seen.record
	g, err := Start(cfg)
	if err != nil {
		t.Fatalf("start %s: %v", cfg.Name, err)
	}
	m.g = g
	t.Cleanup(func() { _ = g.Close() })
}

func newCluster(t *testing.T) *cluster {
	l := lab.New(t)
	c := &cluster{l: l}
	mk := func(role string, ap netip.AddrPort) *member {
		ns := l.Namespace(role)
		l.Connect(ns, ap.Addr().String()+"/24")
		return &member{ns: ns, addr: ap}
	}
	c.a, c.b, c.r = mk("a", addrA), mk("b", addrB), mk("arb", addrR)
	return c
}

func nodeConfig(name string, peer netip.AddrPort) Config {
	return Config{Name: name, Role: RoleNode, Peers: []netip.AddrPort{peer}, Arbiters: []netip.AddrPort{addrR},
		Secret: "correct horse", HeartbeatInterval: 100 * time.Millisecond, Instances: func() []wire.InstanceState {
			return []wire.InstanceState{{Key: "inet-51", State: "MASTER", Priority: 100}}
		}}
}

func alive(g *Gossip, name string) bool {
	for _, m := range g.Members() {
		if m.Name == name && m.State == "alive" {
			return true
		}
	}
	return false
}

// cut drops everything between ns and peer in ns's own nftables table.
func cut(ns *lab.NS, table string, peer netip.Addr) {
	ns.MustRun("nft", "add", "table", "inet", table)
	for _, hook := range []string{"input", "output"} {
		dir := "saddr"
		if hook == "output" {
			dir = "daddr"
		}
		ns.MustRun("nft", "add chain inet "+table+" "+hook+" { type filter hook "+hook+" priority 0 ; }")
		ns.MustRun("nft", "add", "rule", "inet", table, hook, "ip", dir, peer.String(), "drop")
	}
}

func TestHeartbeatsAndDirectLiveness(t *testing.T) {
	c := newCluster(t)
	start(t, c.r, Config{Name: "arb", Role: RoleArbiter, Peers: []netip.AddrPort{addrA, addrB}, Secret: "correct horse",
		OnLeaseRequest: func(req wire.LeaseRequest, at time.Time) (wire.LeaseReply, bool) {
			return wire.LeaseReply{Cluster: req.Cluster, Arbiter: "arb", Key: req.Key, ID: req.ID, Granted: true,
				Holder: req.Node, TTL: 3 * time.Second}, true
		}})
	start(t, c.a, nodeConfig("a", addrB))
	start(t, c.b, nodeConfig("b", addrA))
	waitFor(t, 5*time.Second, "three alive members at a", func() bool {
		return alive(c.a.g, "a") && alive(c.a.g, "b") && alive(c.a.g, "arb")
	})
	waitFor(t, 2*time.Second, "heartbeats both ways", func() bool {
		return c.a.seen.age("b") < 300*time.Millisecond && c.b.seen.age("a") < 300*time.Millisecond
	})
	c.a.seen.mu.Lock()
	hb := c.a.seen.hb["b"]
	c.a.seen.mu.Unlock()
	if hb.Cluster != "test" || len(hb.Instances) != 1 || hb.Instances[0].Key != "inet-51" {
		t.Fatalf("heartbeat from b: %+v", hb)
	}
	if c.r.seen.age("a") != time.Hour {
		t.Fatal("the arbiter received heartbeats; they go to nodes only")
	}

	// The lease RPC answers with the arbiter's reply.
	res := make(chan LeaseResult, 1)
	c.a.g.RequestLease("inet-51", func(r LeaseResult) { res <- r })
	select {
	case r := <-res:
		if r.Err != nil || r.Reply == nil || !r.Reply.Granted || r.Arbiter != addrR.String() || r.Sent.IsZero() {
			t.Fatalf("lease result %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no lease result in 2 s")
	}

	// Cut A-B only: memberlist keeps b alive through the arbiter's
	// indirect probes, but the direct heartbeats stop.
	cutAt := time.Now()
	cut(c.a.ns, "vgcut_ab", addrB.Addr())
	d := waitFor(t, 1500*time.Millisecond, "a's last heartbeat from b older than 1 s", func() bool {
		return c.a.seen.age("b") > time.Second
	})
	t.Logf("direct liveness: b's heartbeats %v old at a %v after the cut", c.a.seen.age("b"), d)
	if !alive(c.a.g, "b") {
		t.Log("memberlist declared b dead as well (indirect probes did not keep it)")
	} else {
		t.Log("memberlist still shows b alive through the arbiter, as expected")
	}

	// The lease RPC reports an error (timeout, or the send refused) when
	// the arbiter is cut off.
	cut(c.a.ns, "vgcut_ar", addrR.Addr())
	c.a.g.RequestLease("inet-51", func(r LeaseResult) { res <- r })
	select {
	case r := <-res:
		if r.Err == nil {
			t.Fatalf("lease result through a cut: %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no lease timeout in 2 s")
	}
	// Now a is isolated: memberlist declares it dead at b.
	defer func() {
		if t.Failed() {
			for _, e := range c.b.logs.FilterMessageSnippet("member").All() {
				t.Logf("b: %s %v", e.Message, e.ContextMap())
			}
		}
	}()
	d = waitFor(t, 5*time.Second, "b's memberlist declaring a dead", func() bool { return !alive(c.b.g, "a") })
	t.Logf("memberlist time to dead of a fully isolated node: %v after its isolation (%v after the first cut)", d, time.Since(cutAt))

	// Healing: the rejoin loop merges the partition and heartbeats resume.
	c.a.ns.MustRun("nft", "delete", "table", "inet", "vgcut_ab")
	c.a.ns.MustRun("nft", "delete", "table", "inet", "vgcut_ar")
	waitFor(t, 5*time.Second, "a alive again at b and its heartbeats back", func() bool {
		return alive(c.b.g, "a") && c.b.seen.age("a") < 300*time.Millisecond
	})
}

func TestWrongSecret(t *testing.T) {
	c := newCluster(t)
	start(t, c.a, nodeConfig("a", addrB))
	cfg := nodeConfig("b", addrA)
	cfg.Secret = "wrong"
	start(t, c.b, cfg)
	waitFor(t, 5*time.Second, "a clear log about the secret", func() bool {
		for _, lg := range []*observer.ObservedLogs{c.a.logs, c.b.logs} {
			for _, e := range lg.All() {
				if e.Level >= zapcore.WarnLevel && strings.Contains(e.Message, "another secret") {
					return true
				}
			}
		}
		return false
	})
	// Give gossip time to have merged if it were to (a bounded
	// observation window, not a synchronisation).
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if alive(c.a.g, "b") || alive(c.b.g, "a") {
			t.Fatal("members with different secrets joined")
		}
		if c.a.seen.age("b") < time.Hour || c.b.seen.age("a") < time.Hour {
			t.Fatal("a heartbeat crossed different secrets")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range append(c.a.logs.All(), c.b.logs.All()...) {
		if e.Level >= zapcore.WarnLevel {
			t.Logf("%s: %s %v", e.Level, e.Message, fmt.Sprint(e.ContextMap()))
		}
	}
}
