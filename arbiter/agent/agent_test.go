package agent

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/testlog"

	"github.com/vigil-ha/vigil/arbiter/decide"
	"github.com/vigil-ha/vigil/arbiter/gossip"
	"github.com/vigil-ha/vigil/arbiter/server"
	"github.com/vigil-ha/vigil/arbiter/wire"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/ipc"
)

type verdict struct {
	ipc.Verdict
	at time.Time
}

type recorder struct {
	mu sync.Mutex
	vs []verdict
}

func (r *recorder) add(v ipc.Verdict) {
	r.mu.Lock()
	r.vs = append(r.vs, verdict{v, time.Now()})
	r.mu.Unlock()
}

// wait returns the first verdict matching ok, waiting up to timeout.
func (r *recorder) wait(t *testing.T, who string, timeout time.Duration, what string, ok func(ipc.Verdict) bool) verdict {
	t.Helper()
	return r.waitAfter(t, who, time.Time{}, timeout, what, ok)
}

// waitAfter is wait for verdicts given after the time after.
func (r *recorder) waitAfter(t *testing.T, who string, after time.Time, timeout time.Duration, what string, ok func(ipc.Verdict) bool) verdict {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		for _, v := range r.vs {
			if v.at.After(after) && ok(v.Verdict) {
				r.mu.Unlock()
				return v
			}
		}
		all := append([]verdict(nil), r.vs...)
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: no verdict %s within %v; verdicts: %+v", who, what, timeout, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type fakeTransport struct {
	mu       sync.Mutex
	requests []string
}

func (f *fakeTransport) RequestLease(key string, done func(gossip.LeaseResult)) {
	f.mu.Lock()
	f.requests = append(f.requests, key)
	f.mu.Unlock()
}
func (f *fakeTransport) ReleaseLease(string)      {}
func (f *fakeTransport) Members() []gossip.Member { return nil }

func TestHoldWhilePeerMasterAlive(t *testing.T) {
	rec := &recorder{}
	a := New(Config{Node: "b", Decide: decide.Config{PeerTimeout: 300 * time.Millisecond},
		Verdict: rec.add, Log: testlog.New(t), Protects: func(n string) bool { return n != "other" }})
	a.SetTransport(&fakeTransport{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	a.Update(Instance{Name: "other", Family: 4, VRID: 9, State: "BACKUP"})
	a.Update(Instance{Name: "VI_1", Family: 4, VRID: 51, State: "BACKUP", Priority: 100, Addr: netip.MustParseAddr("198.18.0.2")})
	a.Heartbeat(wire.Heartbeat{Cluster: "c", Node: "a", Instances: []wire.InstanceState{{Key: "inet-51", State: "MASTER",
		Priority: 150, Addr: netip.MustParseAddr("198.18.0.1")}}}, time.Now())
	v := rec.wait(t, "b", time.Second, "hold on", func(v ipc.Verdict) bool { return v.Hold })
	if v.Instance != "VI_1" || !strings.Contains(v.Reason, decide.ReasonPeerMaster) {
		t.Fatalf("verdict %+v", v)
	}
	if hb := a.Instances(); len(hb) != 1 || hb[0].Key != "inet-51" || !hb[0].Held {
		t.Fatalf("heartbeat content %+v (unprotected instance must be absent, held published)", hb)
	}
	// The peer's heartbeats stop: the single timer releases the hold
	// after PeerTimeout (no arbiters: plain VRRP).
	v = rec.waitAfter(t, "b", v.at, 2*time.Second, "hold off", func(v ipc.Verdict) bool { return !v.Hold })
	st := a.Status()
	if len(st.Instances) != 1 || st.Instances[0].Decision.Held {
		t.Fatalf("status %+v", st)
	}
}

var (
	addrA = netip.MustParseAddrPort("198.18.0.1:7946")
	addrB = netip.MustParseAddrPort("198.18.0.2:7946")
	addrR = netip.MustParseAddrPort("198.18.0.10:7946")
)

// TestTwoAgentsAndArbiter is S1 then S2 over real memberlist: the backup
// holds while the master is alive on the gossip path, keeps holding when
// the A-B link is cut (the master holds the lease), and takes over only
// after the isolated master released the VIP.
func TestTwoAgentsAndArbiter(t *testing.T) {
	l := lab.New(t)
	mk := func(role string, ap netip.AddrPort) *lab.NS {
		ns := l.Namespace(role)
		l.Connect(ns, ap.Addr().String()+"/24")
		return ns
	}
	na, nb, nr := mk("a", addrA), mk("b", addrB), mk("arb", addrR)
	const secret = "s3cret"
	srv, err := server.Start(server.Config{Gossip: gossip.Config{Cluster: "web", Name: "arb", Bind: addrR,
		Peers: []netip.AddrPort{addrA, addrB}, Secret: secret, Do: nr.Do}, LeaseTTL: 3 * time.Second,
		StateFile: filepath.Join(t.TempDir(), "state.json"), Log: testlog.New(t).Named("arb")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	block := func(name string, bind, peer netip.AddrPort) *config.Arbiter {
		return &config.Arbiter{Cluster: "web", NodeName: name, Bind: bind, Peers: []netip.AddrPort{peer},
			Arbiters: []netip.AddrPort{addrR}, Secret: secret, RequireQuorum: true,
			LeaseTTL: config.Duration(3 * time.Second), PeerTimeout: config.Duration(time.Second),
			HeartbeatInterval: config.Duration(200 * time.Millisecond), RenewEvery: config.Duration(500 * time.Millisecond),
			Margin: config.Duration(250 * time.Millisecond)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	recA, recB := &recorder{}, &recorder{}
	agA, doneA, err := Start(ctx, block("a", addrA, addrB), recA.add, testlog.New(t).Named("a"), na.Do)
	if err != nil {
		t.Fatal(err)
	}
	agB, doneB, err := Start(ctx, block("b", addrB, addrA), recB.add, testlog.New(t).Named("b"), nb.Do)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-doneA; <-doneB }()

	agA.Update(Instance{Name: "VI_1", Family: 4, VRID: 51, State: "MASTER", Priority: 150, Preempt: true,
		Addr: addrA.Addr(), Epoch: 1})
	agB.Update(Instance{Name: "VI_1", Family: 4, VRID: 51, State: "BACKUP", Priority: 100, Preempt: true,
		Addr: addrB.Addr()})

	// S1: the backup is held while a's heartbeats arrive.
	recB.wait(t, "b", 3*time.Second, "hold (peer MASTER alive)", func(v ipc.Verdict) bool {
		return v.Hold && strings.Contains(v.Reason, decide.ReasonPeerMaster)
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := srv.Status()
		if len(st.Leases) == 1 && st.Leases[0].Holder == "a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the master holds no lease at the arbiter: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Cut A-B: b no longer sees a, asks for the lease, is denied.
	cut(na, "vgcut_ab", addrB.Addr())
	recB.wait(t, "b", 3*time.Second, "hold (lease held by a)", func(v ipc.Verdict) bool {
		return v.Hold && strings.Contains(v.Reason, decide.ReasonLeaseHeld+" a")
	})
	recA.mu.Lock()
	for _, v := range recA.vs {
		if v.Hold {
			t.Fatalf("a was held after the A-B cut while it holds the lease: %+v", v)
		}
	}
	recA.mu.Unlock()

	// Isolate a from the arbiter too (S2): a releases the VIP before
	// its lease could be granted elsewhere; b takes over after.
	isolated := time.Now()
	cut(na, "vgcut_ar", addrR.Addr())
	held := recA.wait(t, "a", 4*time.Second, "hold (lost quorum)", func(v ipc.Verdict) bool {
		return v.Hold && strings.Contains(v.Fence, decide.ReasonLostQuorum)
	})
	freed := recB.waitAfter(t, "b", isolated, 8*time.Second, "hold released", func(v ipc.Verdict) bool { return !v.Hold })
	t.Logf("S2: a held %v after its isolation, b released %v after (dual-hold gap %v)",
		held.at.Sub(isolated), freed.at.Sub(isolated), freed.at.Sub(held.at))
	if !held.at.Before(freed.at) {
		t.Fatalf("b was released (%v) before a let go (%v)", freed.at, held.at)
	}
	st := srv.Status()
	if len(st.Leases) != 1 || st.Leases[0].Holder != "b" {
		t.Fatalf("arbiter leases after the takeover: %+v", st.Leases)
	}
	if s := agB.Status(); len(s.Instances) != 1 || s.Instances[0].Decision.Held {
		t.Fatalf("b status %+v", s)
	}
}

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

// A restarted agent starts from "no hold" while vrrpd may still apply the
// previous agent's hold: its first decision on an instance is sent even
// when it is "no hold", or a backup held by the old agent (here gossip
// only, the master gone) would stay held for good.
func TestFirstDecisionIsSent(t *testing.T) {
	rec := &recorder{}
	a := New(Config{Node: "b", Decide: decide.Config{PeerTimeout: 300 * time.Millisecond},
		Verdict: rec.add, Log: testlog.New(t)})
	a.SetTransport(&fakeTransport{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	a.Update(Instance{Name: "VI_1", Family: 4, VRID: 51, State: "BACKUP", Priority: 100, Addr: netip.MustParseAddr("198.18.0.2")})
	v := rec.wait(t, "b", time.Second, "a first verdict", func(v ipc.Verdict) bool { return v.Instance == "VI_1" })
	if v.Hold {
		t.Fatalf("first verdict %+v, want no hold (gossip only, no peer)", v)
	}
	// Later unchanged decisions are not repeated.
	a.Update(Instance{Name: "VI_1", Family: 4, VRID: 51, State: "BACKUP", Priority: 100, Addr: netip.MustParseAddr("198.18.0.2")})
	time.Sleep(50 * time.Millisecond)
	rec.mu.Lock()
	n := len(rec.vs)
	rec.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d verdicts, want 1", n)
	}
}
