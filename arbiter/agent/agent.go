// Package agent is the node side of Vigil's split-brain protection at run
// time: one decide.Instance per protected vrrp_instance, fed by vrrpd's
// instance states (Update), the peers' direct heartbeats (Heartbeat) and
// the arbiters' lease replies, with a single timer at the earliest
// deadline any instance asked for. Their outputs become ipc.Verdicts for
// vrrpd (hold on/off with the reason, GARP, fence) and lease requests and
// releases on the gossip path. The agent publishes this node's instance
// states in its heartbeats (Instances).
//
// The agent has no IPC of its own (cmd/vigil's `vigil agent --child` wires
// it to the supervisor) and runs against any Transport, so it is tested
// with a fake one as well as over real memberlist.
package agent

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/decide"
	"github.com/vigil-ha/vigil/arbiter/gossip"
	"github.com/vigil-ha/vigil/arbiter/wire"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
)

// Instance is what the agent needs of one vrrp_instance's state (the
// corresponding fields of vrrpd.InstanceStatus).
type Instance struct {
	Name   string
	Family int // 4 or 6
	VRID   uint8
	State  string
	// Priority is the effective priority.
	Priority int
	Preempt  bool
	// Addr is the primary address on the VRRP interface (Source).
	Addr    netip.Addr
	Epoch   uint64
	Waiting bool
}

// Key is the instance's shared key on the gossip path.
func (i Instance) Key() string { return wire.Key(i.Family, i.VRID) }

// Transport is the gossip path as the agent uses it (*gossip.Gossip).
type Transport interface {
	RequestLease(key string, done func(gossip.LeaseResult))
	ReleaseLease(key string)
	Members() []gossip.Member
}

// Config configures an agent.
type Config struct {
	Node   string
	Decide decide.Config
	// Protects selects the vrrp_instances the rules apply to (nil: all).
	Protects func(name string) bool
	// Verdict receives the agent's word on an instance, in order.
	Verdict func(ipc.Verdict)
	Log     *zap.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DecideConfig maps the arbiter block to the rules' configuration.
func DecideConfig(a *config.Arbiter) decide.Config {
	return decide.Config{
		Arbiters:      len(a.Arbiters),
		RequireQuorum: a.RequireQuorum,
		PeerTimeout:   a.PeerTimeout.D(),
		LeaseTTL:      a.LeaseTTL.D(),
		RenewEvery:    a.RenewEvery.D(),
		Margin:        a.Margin.D(),
	}
}

type instance struct {
	name  string
	local Instance
	d     *decide.Instance
	held  bool
	// reason is the hold reason last sent.
	reason string
	// sent: a verdict went out for the instance. The first decision is
	// sent even when it is "no hold": vrrpd (and core, for the next
	// vrrpd) may still apply a hold of this agent's predecessor.
	sent bool
	next time.Time
}

// Agent is the node agent.
type Agent struct {
	cfg Config
	log *zap.Logger

	mu    sync.Mutex
	t     Transport
	insts map[string]*instance // by key
	wake  chan struct{}

	// actions run in order on the worker goroutine, outside mu.
	qmu   sync.Mutex
	queue []func()
	qwake chan struct{}
}

// New returns an agent; give it a transport with SetTransport and run it
// with Run.
func New(cfg Config) *Agent {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Verdict == nil {
		cfg.Verdict = func(ipc.Verdict) {}
	}
	return &Agent{cfg: cfg, log: cfg.Log, insts: map[string]*instance{},
		wake: make(chan struct{}, 1), qwake: make(chan struct{}, 1)}
}

// SetTransport sets the gossip path (the transport needs the agent's
// callbacks before it starts, so it comes after New).
func (a *Agent) SetTransport(t Transport) {
	a.mu.Lock()
	a.t = t
	a.mu.Unlock()
}

// Update feeds vrrpd's state of an instance.
func (a *Agent) Update(st Instance) {
	if a.cfg.Protects != nil && !a.cfg.Protects(st.Name) {
		return
	}
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	key := st.Key()
	in := a.insts[key]
	if in == nil {
		in = &instance{name: st.Name, d: decide.New(key, a.cfg.Decide)}
		a.insts[key] = in
		a.log.Info("protecting instance", zap.String("instance", st.Name), zap.String("key", key))
	}
	in.name, in.local = st.Name, st
	a.apply(in, in.d.SetLocal(now, decide.Local{State: decide.State(st.State), Priority: st.Priority,
		Preempt: st.Preempt, Addr: st.Addr, Epoch: st.Epoch, Waiting: st.Waiting}))
}

// Heartbeat feeds a peer's direct heartbeat received at the local time at.
func (a *Agent) Heartbeat(hb wire.Heartbeat, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range hb.Instances {
		in := a.insts[s.Key]
		if in == nil {
			continue
		}
		a.apply(in, in.d.PeerHeartbeat(at, decide.Peer{Node: hb.Node, Seen: at, State: decide.State(s.State),
			Priority: s.Priority, Preempt: s.Preempt, Addr: s.Addr, Epoch: s.Epoch, Held: s.Held}))
	}
}

// Instances is what this node's heartbeats carry.
func (a *Agent) Instances() []wire.InstanceState {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]wire.InstanceState, 0, len(a.insts))
	for key, in := range a.insts {
		out = append(out, wire.InstanceState{Key: key, State: in.local.State, Priority: in.local.Priority,
			Preempt: in.local.Preempt, Addr: in.local.Addr, Epoch: in.local.Epoch, Held: in.held})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (a *Agent) leaseResult(key string, r gossip.LeaseResult) {
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.insts[key]
	if in == nil {
		return
	}
	if r.Err != nil || r.Reply == nil {
		a.apply(in, in.d.LeaseUnreachable(now, r.Arbiter))
		return
	}
	a.apply(in, in.d.LeaseReply(now, decide.Grant{Arbiter: r.Arbiter, Sent: r.Sent, Granted: r.Reply.Granted,
		Holder: r.Reply.Holder, TTL: r.Reply.TTL}))
}

// apply turns an output into actions (a.mu held).
func (a *Agent) apply(in *instance, out decide.Output) {
	key := in.key()
	if !out.Next.Equal(in.next) {
		in.next = out.Next
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
	t := a.t
	if out.Request && t != nil {
		a.enqueue(func() { t.RequestLease(key, func(r gossip.LeaseResult) { a.leaseResult(key, r) }) })
	}
	if out.Release && t != nil {
		a.enqueue(func() { t.ReleaseLease(key) })
	}
	if out.Hold != nil {
		in.held = out.Hold.On
	}
	// The rules report a change of hold; a change of the reason of a
	// standing hold (waiting for the lease -> peer MASTER alive) is sent
	// too, so vrrpd's status and notify scripts tell the current one.
	reason := ""
	if in.held {
		reason = in.d.Status().Reason
		if out.Hold != nil && out.Hold.Reason != "" {
			reason = out.Hold.Reason
		}
	}
	if out.Hold == nil && !out.GARP && out.Fence == "" && reason == in.reason && in.sent {
		return
	}
	in.reason, in.sent = reason, true
	v := ipc.Verdict{Instance: in.name, Hold: in.held, Reason: reason, GARP: out.GARP, Fence: out.Fence}
	fields := []zap.Field{zap.String("instance", in.name), zap.Bool("hold", v.Hold)}
	if v.Reason != "" {
		fields = append(fields, zap.String("reason", v.Reason))
	}
	if v.GARP {
		fields = append(fields, zap.Bool("garp", true))
	}
	if v.Fence != "" {
		fields = append(fields, zap.String("fence", v.Fence))
	}
	a.log.Info("verdict", fields...)
	verdict := a.cfg.Verdict
	a.enqueue(func() { verdict(v) })
}

func (in *instance) key() string { return in.local.Key() }

func (a *Agent) enqueue(f func()) {
	a.qmu.Lock()
	a.queue = append(a.queue, f)
	a.qmu.Unlock()
	select {
	case a.qwake <- struct{}{}:
	default:
	}
}

// Run drives the timers and the actions until ctx ends.
func (a *Agent) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			a.qmu.Lock()
			q := a.queue
			a.queue = nil
			a.qmu.Unlock()
			for _, f := range q {
				f()
			}
			select {
			case <-ctx.Done():
				return
			case <-a.qwake:
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		a.mu.Lock()
		var next time.Time
		for _, in := range a.insts {
			if !in.next.IsZero() && (next.IsZero() || in.next.Before(next)) {
				next = in.next
			}
		}
		a.mu.Unlock()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(a.cfg.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			<-done
			return
		case <-a.wake:
		case <-timer.C:
		}
		a.tick()
	}
}

// tick runs Tick on the instances whose deadline passed.
func (a *Agent) tick() {
	now := a.cfg.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, in := range a.insts {
		if !in.next.IsZero() && !now.Before(in.next) {
			a.apply(in, in.d.Tick(now))
		}
	}
}

// InstanceStatus is one protected instance in Status.
type InstanceStatus struct {
	Name  string `json:"name"`
	Key   string `json:"key"`
	State string `json:"state"`
	// Decision is the rules' view: hold and reason, lease, live peers.
	Decision decide.Status `json:"decision"`
}

// Status is the agent's state for vigil status.
type Status struct {
	Node      string           `json:"node"`
	Members   []gossip.Member  `json:"members"`
	Instances []InstanceStatus `json:"instances"`
}

// Status reports the members and each instance's decision and lease.
func (a *Agent) Status() Status {
	a.mu.Lock()
	st := Status{Node: a.cfg.Node, Instances: []InstanceStatus{}}
	for key, in := range a.insts {
		st.Instances = append(st.Instances, InstanceStatus{Name: in.name, Key: key, State: in.local.State, Decision: in.d.Status()})
	}
	t := a.t
	a.mu.Unlock()
	sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].Name < st.Instances[j].Name })
	if t != nil {
		st.Members = t.Members()
	}
	return st
}

// GossipConfig is the gossip member of a node whose agent is a: the
// arbiter block's addresses, secret and timings, with the agent's
// heartbeat content and receiver. do is gossip.Config.Do (nil outside
// tests).
func GossipConfig(c *config.Arbiter, a *Agent, log *zap.Logger, do func(func() error) error) gossip.Config {
	return gossip.Config{
		Cluster: c.Cluster, Name: c.NodeName, Role: gossip.RoleNode,
		Bind: c.Bind, Advertise: c.Advertise, Peers: c.Peers, Arbiters: c.Arbiters, Secret: c.Secret,
		HeartbeatInterval: c.HeartbeatInterval.D(), LeaseTimeout: c.RenewEvery.D(),
		Log: log, Instances: a.Instances, OnHeartbeat: a.Heartbeat, Do: do,
	}
}

// Start starts a node's agent and its gossip member from the arbiter
// block; the agent runs until ctx ends, then the member leaves. verdict
// receives the agent's verdicts in order.
func Start(ctx context.Context, c *config.Arbiter, verdict func(ipc.Verdict), log *zap.Logger,
	do func(func() error) error) (*Agent, <-chan struct{}, error) {
	a := New(Config{Node: c.NodeName, Decide: DecideConfig(c), Protects: c.Protects, Verdict: verdict, Log: log})
	g, err := gossip.Start(GossipConfig(c, a, log, do))
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	a.cfg.Node = g.Name()
	a.mu.Unlock()
	a.SetTransport(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
		_ = g.Close()
	}()
	return a, done, nil
}
