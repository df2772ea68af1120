// Package gossip is Vigil's second heartbeat path: a memberlist cluster on
// a second network (MetalLB-style, memberlist used plainly), tuned to the
// VRRP timescale, encrypted with a key derived from the configured secret,
// carrying arbiter/wire messages as memberlist user messages.
//
// Liveness is not memberlist's membership: with three members memberlist's
// indirect probes route around a cut A–B link and keep everyone alive. Each
// node therefore sends every other node a heartbeat directly (UDP, not via
// the gossip broadcast) every HeartbeatInterval, and the receiver's agent
// judges a peer by the age of its last direct heartbeat.
//
// The lease RPC sends a LeaseRequest to each arbiter's address, matches the
// replies by ID and reports a timeout after LeaseTimeout.
//
// Timings (see Timings): probe every 200 ms with a 100 ms probe timeout,
// gossip every 100 ms, suspicion multiplier 2 (a suspect is declared dead
// 400 ms after suspicion in clusters under 10 members), TCP timeout 500 ms:
// a node that stops answering entirely is declared dead by memberlist in
// about 0.6-1 s, against 5-6 s with memberlist's LAN defaults.
package gossip

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/wire"
)

// Role is a member's part in the cluster, published in its memberlist meta.
type Role string

// Roles.
const (
	RoleNode    Role = "node"
	RoleArbiter Role = "arbiter"
)

// Config configures a member.
type Config struct {
	// Cluster names the cluster; messages of another cluster are dropped
	// and it is part of the key derivation and the memberlist label.
	Cluster string
	// Name is the member's name (default: the host name).
	Name string
	Role Role
	// Bind is the local gossip address; Advertise (optional) the address
	// the others should use.
	Bind      netip.AddrPort
	Advertise netip.AddrPort
	// Peers are the other nodes' addresses: seeds, and heartbeat targets
	// whether or not memberlist counts them as members.
	Peers []netip.AddrPort
	// Arbiters are the arbiters' addresses: seeds and lease RPC targets.
	Arbiters []netip.AddrPort
	// Secret derives the encryption key (empty: unencrypted, warned).
	Secret string
	// HeartbeatInterval between direct heartbeats (0: send none, as an
	// arbiter does).
	HeartbeatInterval time.Duration
	// LeaseTimeout is how long a lease request waits for its reply
	// (default 250 ms).
	LeaseTimeout time.Duration
	// RejoinEvery is how often seeds that are not members are joined
	// again, so a healed partition merges (default 1 s).
	RejoinEvery time.Duration
	Log         *zap.Logger

	// Instances returns what this node's heartbeats carry (nil: none).
	Instances func() []wire.InstanceState
	// OnHeartbeat receives a peer's heartbeat with the local receive time.
	OnHeartbeat func(hb wire.Heartbeat, at time.Time)
	// OnLeaseRequest answers a lease request (arbiters); false: no reply.
	OnLeaseRequest func(req wire.LeaseRequest, at time.Time) (wire.LeaseReply, bool)
	// OnLeaseRelease receives a lease release (arbiters).
	OnLeaseRelease func(rel wire.LeaseRelease, at time.Time)

	// Do, when set, runs socket-creating code (memberlist's listeners and
	// its TCP dials) in the right place: tests pass a network namespace's
	// Do. Nil runs it directly.
	Do func(func() error) error
}

// Timings are the memberlist settings Vigil changes from
// memberlist.DefaultLANConfig, for the VRRP timescale.
func Timings(c *memberlist.Config) {
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.GossipInterval = 100 * time.Millisecond
	c.SuspicionMult = 2
	c.SuspicionMaxTimeoutMult = 2
	c.TCPTimeout = 500 * time.Millisecond
	c.PushPullInterval = 5 * time.Second
	c.GossipToTheDeadTime = 5 * time.Second
	c.DeadNodeReclaimTime = 2 * time.Second
	c.AwarenessMaxMultiplier = 2
}

// Key derives the 32-byte memberlist key (AES-256-GCM) from the secret:
// HKDF-SHA256 with salt "vigil-gossip-v1" and the cluster name as info.
func Key(secret, cluster string) ([]byte, error) {
	return hkdf.Key(sha256.New, []byte(secret), []byte("vigil-gossip-v1"), cluster, 32)
}

// ErrTimeout reports a lease request without a reply in time.
var ErrTimeout = errors.New("gossip: no lease reply in time")

// LeaseResult is one arbiter's answer to a lease request.
type LeaseResult struct {
	// Arbiter is the arbiter's configured address (its identity here).
	Arbiter string
	Key     string
	// Sent is when the request went out.
	Sent time.Time
	// Reply is the answer (nil with Err).
	Reply *wire.LeaseReply
	Err   error
}

// Member is one memberlist member, for status.
type Member struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	Role  Role   `json:"role,omitempty"`
	State string `json:"state"`
}

type meta struct {
	Role    Role   `json:"r"`
	Cluster string `json:"c"`
}

type pending struct {
	res   LeaseResult
	done  func(LeaseResult)
	timer *time.Timer
}

// Gossip is a running member.
type Gossip struct {
	cfg  Config
	log  *zap.Logger
	ml   *memberlist.Memberlist
	meta []byte

	mu sync.Mutex
	// members are copies taken in the event callbacks, which memberlist
	// calls under its node lock: the *Node values Memberlist.Members
	// returns are updated concurrently and cannot be read safely.
	members map[string]memberlist.Node
	pending map[uint64]*pending
	nextID  uint64
	seq     uint64

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start creates the member, joins the seeds (failures are logged, not
// fatal: the seeds are retried every RejoinEvery) and starts the
// heartbeats.
func Start(cfg Config) (*Gossip, error) {
	if cfg.Cluster == "" {
		cfg.Cluster = "vigil"
	}
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("gossip: node name: %w", err)
		}
		cfg.Name = h
	}
	if cfg.Role == "" {
		cfg.Role = RoleNode
	}
	if cfg.LeaseTimeout <= 0 {
		cfg.LeaseTimeout = 250 * time.Millisecond
	}
	if cfg.RejoinEvery <= 0 {
		cfg.RejoinEvery = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Do == nil {
		cfg.Do = func(f func() error) error { return f() }
	}
	if !cfg.Bind.IsValid() {
		return nil, errors.New("gossip: no bind address")
	}
	g := &Gossip{cfg: cfg, log: cfg.Log, pending: map[uint64]*pending{}, members: map[string]memberlist.Node{}}
	var b [8]byte
	_, _ = rand.Read(b[:])
	g.nextID = binary.BigEndian.Uint64(b[:]) >> 1
	g.meta, _ = json.Marshal(meta{Role: cfg.Role, Cluster: cfg.Cluster})

	mc := memberlist.DefaultLANConfig()
	Timings(mc)
	mc.Name = cfg.Name
	mc.BindAddr = cfg.Bind.Addr().String()
	mc.BindPort = int(cfg.Bind.Port())
	mc.AdvertiseAddr, mc.AdvertisePort = mc.BindAddr, mc.BindPort
	if cfg.Advertise.IsValid() {
		mc.AdvertiseAddr, mc.AdvertisePort = cfg.Advertise.Addr().String(), int(cfg.Advertise.Port())
	}
	mc.Label = "vigil/" + cfg.Cluster
	if cfg.Secret != "" {
		k, err := Key(cfg.Secret, cfg.Cluster)
		if err != nil {
			return nil, fmt.Errorf("gossip: key: %w", err)
		}
		mc.SecretKey = k
	} else {
		g.log.Warn("gossip is not encrypted: set a secret in the arbiter block")
	}
	mc.Delegate = (*delegate)(g)
	mc.Events = (*events)(g)
	mc.Logger = log.New(newLogWriter(g.log), "", 0)
	err := cfg.Do(func() error {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{mc.BindAddr}, BindPort: mc.BindPort, Logger: mc.Logger,
		})
		if err != nil {
			return err
		}
		mc.Transport = &transport{NetTransport: nt, do: cfg.Do}
		g.ml, err = memberlist.Create(mc)
		if err != nil {
			_ = nt.Shutdown()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gossip: start on %v: %w", cfg.Bind, err)
	}
	g.log.Info("gossip started", zap.String("node", cfg.Name), zap.Stringer("bind", cfg.Bind),
		zap.String("cluster", cfg.Cluster), zap.String("role", string(cfg.Role)),
		zap.Bool("encrypted", cfg.Secret != ""))
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(1)
	go func() { defer g.wg.Done(); g.rejoinLoop(ctx) }()
	if cfg.HeartbeatInterval > 0 {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.heartbeatLoop(ctx) }()
	}
	return g, nil
}

// transport creates memberlist's outgoing TCP connections through
// Config.Do (the listeners are created in Start).
type transport struct {
	*memberlist.NetTransport
	do func(func() error) error
}

func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := t.do(func() (err error) { c, err = t.NetTransport.DialTimeout(addr, timeout); return })
	return c, err
}

func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := t.do(func() (err error) { c, err = t.NetTransport.DialAddressTimeout(a, timeout); return })
	return c, err
}

// Name is this member's name.
func (g *Gossip) Name() string { return g.cfg.Name }

// Close leaves the cluster (briefly) and stops.
func (g *Gossip) Close() error {
	g.cancel()
	g.wg.Wait()
	_ = g.ml.Leave(200 * time.Millisecond)
	err := g.ml.Shutdown()
	g.mu.Lock()
	for id, p := range g.pending {
		p.timer.Stop()
		delete(g.pending, id)
	}
	g.mu.Unlock()
	return err
}

// Members lists the members known, this one included, by name; dead and
// left ones are listed with their state until they are reclaimed.
func (g *Gossip) Members() []Member {
	var out []Member
	for _, n := range g.nodes() {
		m := Member{Name: n.Name, Addr: n.Address(), State: stateName(n.State)}
		var md meta
		if json.Unmarshal(n.Meta, &md) == nil {
			m.Role = md.Role
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// nodes returns copies of the known members.
func (g *Gossip) nodes() []*memberlist.Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*memberlist.Node, 0, len(g.members))
	for _, n := range g.members {
		out = append(out, &n)
	}
	return out
}

// setMember records a member in state st (memberlist keeps the state
// outside the Node it passes, whose State field is stale).
func (g *Gossip) setMember(n *memberlist.Node, st memberlist.NodeStateType) {
	c := *n
	c.State = st
	c.Meta = slices.Clone(n.Meta)
	c.Addr = slices.Clone(n.Addr)
	g.mu.Lock()
	g.members[c.Name] = c
	g.mu.Unlock()
}

func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead, memberlist.StateLeft:
		return "dead"
	}
	return "unknown"
}

// SendTo sends a message best-effort (UDP) to a member by name, or to an
// address "IP:PORT".
func (g *Gossip) SendTo(to string, m wire.Message) error {
	b, err := wire.Encode(m)
	if err != nil {
		return err
	}
	for _, n := range g.nodes() {
		if n.Name == to && n.State == memberlist.StateAlive {
			return g.ml.SendBestEffort(n, b)
		}
	}
	if _, err := netip.ParseAddrPort(to); err != nil {
		return fmt.Errorf("gossip: %q is neither a member nor an address", to)
	}
	return g.ml.SendToAddress(memberlist.Address{Addr: to}, b)
}

// self is this member's advertised address.
func (g *Gossip) self() string {
	a := g.cfg.Bind
	if g.cfg.Advertise.IsValid() {
		a = g.cfg.Advertise
	}
	return a.String()
}

// heartbeatTargets are the configured peers and every member of role node
// but this one, by address.
func (g *Gossip) heartbeatTargets() []memberlist.Address {
	seen := map[string]bool{}
	var out []memberlist.Address
	self := g.self()
	for _, n := range g.nodes() {
		var md meta
		if n.Name == g.cfg.Name || n.State != memberlist.StateAlive || json.Unmarshal(n.Meta, &md) != nil || md.Role != RoleNode {
			continue
		}
		seen[n.Address()] = true
		out = append(out, memberlist.Address{Addr: n.Address(), Name: n.Name})
	}
	for _, p := range g.cfg.Peers {
		if a := p.String(); !seen[a] && a != self {
			seen[a] = true
			out = append(out, memberlist.Address{Addr: a})
		}
	}
	return out
}

func (g *Gossip) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		g.mu.Lock()
		g.seq++
		hb := wire.Heartbeat{Cluster: g.cfg.Cluster, Node: g.cfg.Name, Seq: g.seq}
		g.mu.Unlock()
		if g.cfg.Instances != nil {
			hb.Instances = g.cfg.Instances()
		}
		b, err := wire.Encode(hb)
		if err != nil {
			g.log.Error("heartbeat not encodable", zap.Error(err))
		} else {
			for _, a := range g.heartbeatTargets() {
				if err := g.ml.SendToAddress(a, b); err != nil {
					g.log.Debug("heartbeat not sent", zap.String("to", a.Addr), zap.Error(err))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rejoinLoop joins seeds that are not alive members: memberlist does not
// merge a partition by itself once both sides declared the other dead.
func (g *Gossip) rejoinLoop(ctx context.Context) {
	seeds := slices.Concat(g.cfg.Peers, g.cfg.Arbiters)
	self := g.self()
	warned := map[string]bool{}
	for {
		alive := map[string]bool{}
		for _, n := range g.nodes() {
			if n.State == memberlist.StateAlive {
				alive[n.Address()] = true
			}
		}
		for _, s := range seeds {
			a := s.String()
			if alive[a] || a == self {
				continue
			}
			if _, err := g.ml.Join([]string{a}); err != nil {
				lvl := g.log.Debug
				if !warned[a] {
					lvl = g.log.Warn
				}
				warned[a] = true
				msg := "cannot join gossip seed (retrying)"
				if isKeyError(err) {
					msg = "cannot join gossip seed: it uses another secret or cluster name (retrying)"
				}
				lvl(msg, zap.String("seed", a), zap.Error(err))
			} else {
				if warned[a] {
					g.log.Info("joined gossip seed", zap.String("seed", a))
				}
				delete(warned, a)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.cfg.RejoinEvery):
		}
	}
}

func isKeyError(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "decrypt") || strings.Contains(s, "label") || strings.Contains(s, "encrypt")
}

// RequestLease sends a lease request for key to every arbiter; done is
// called once per arbiter, with its reply or ErrTimeout, from another
// goroutine.
func (g *Gossip) RequestLease(key string, done func(LeaseResult)) {
	for _, a := range g.cfg.Arbiters {
		addr := a.String()
		g.mu.Lock()
		g.nextID++
		id := g.nextID
		p := &pending{res: LeaseResult{Arbiter: addr, Key: key, Sent: time.Now()}, done: done}
		g.pending[id] = p
		p.timer = time.AfterFunc(g.cfg.LeaseTimeout, func() { g.finish(id, nil, ErrTimeout) })
		g.mu.Unlock()
		b, err := wire.Encode(wire.LeaseRequest{Cluster: g.cfg.Cluster, Node: g.cfg.Name, Key: key, ID: id})
		if err == nil {
			err = g.ml.SendToAddress(memberlist.Address{Addr: addr}, b)
		}
		if err != nil {
			g.finish(id, nil, fmt.Errorf("gossip: lease request to %s: %w", addr, err))
		}
	}
}

func (g *Gossip) finish(id uint64, r *wire.LeaseReply, err error) {
	g.mu.Lock()
	p := g.pending[id]
	if p == nil || (r != nil && r.Key != p.res.Key) {
		g.mu.Unlock()
		return
	}
	delete(g.pending, id)
	p.timer.Stop()
	g.mu.Unlock()
	res := p.res
	res.Reply, res.Err = r, err
	p.done(res)
}

// ReleaseLease gives the lease on key back at every arbiter (best effort).
func (g *Gossip) ReleaseLease(key string) {
	b, err := wire.Encode(wire.LeaseRelease{Cluster: g.cfg.Cluster, Node: g.cfg.Name, Key: key})
	if err != nil {
		g.log.Error("lease release not encodable", zap.Error(err))
		return
	}
	for _, a := range g.cfg.Arbiters {
		if err := g.ml.SendToAddress(memberlist.Address{Addr: a.String()}, b); err != nil {
			g.log.Debug("lease release not sent", zap.Stringer("to", a), zap.Error(err))
		}
	}
}

type delegate Gossip

func (d *delegate) NodeMeta(limit int) []byte { return d.meta }

func (d *delegate) NotifyMsg(b []byte) {
	g := (*Gossip)(d)
	at := time.Now()
	m, err := wire.Decode(b)
	if err != nil {
		g.log.Debug("gossip message dropped", zap.Error(err))
		return
	}
	switch m := m.(type) {
	case wire.Heartbeat:
		if m.Cluster == g.cfg.Cluster && m.Node != g.cfg.Name && g.cfg.OnHeartbeat != nil {
			g.cfg.OnHeartbeat(m, at)
		}
	case wire.LeaseReply:
		if m.Cluster == g.cfg.Cluster {
			g.finish(m.ID, &m, nil)
		}
	case wire.LeaseRequest:
		if m.Cluster != g.cfg.Cluster || g.cfg.OnLeaseRequest == nil {
			return
		}
		if r, ok := g.cfg.OnLeaseRequest(m, at); ok {
			if err := g.SendTo(m.Node, r); err != nil {
				g.log.Debug("lease reply not sent", zap.String("to", m.Node), zap.Error(err))
			}
		}
	case wire.LeaseRelease:
		if m.Cluster == g.cfg.Cluster && g.cfg.OnLeaseRelease != nil {
			g.cfg.OnLeaseRelease(m, at)
		}
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *delegate) LocalState(join bool) []byte                { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool)     {}

type events Gossip

func (e *events) NotifyJoin(n *memberlist.Node) {
	(*Gossip)(e).setMember(n, memberlist.StateAlive)
	e.log.Info("gossip member joined", zap.String("node", n.Name), zap.String("addr", n.Address()))
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	(*Gossip)(e).setMember(n, memberlist.StateDead)
	e.log.Info("gossip member left or dead", zap.String("node", n.Name), zap.String("addr", n.Address()))
}

func (e *events) NotifyUpdate(n *memberlist.Node) { (*Gossip)(e).setMember(n, memberlist.StateAlive) }

// logWriter turns memberlist's log lines into zap debug entries, except
// the ones that mean "another secret or cluster": those are warnings, at
// most one per sender every 10 s.
type logWriter struct {
	log  *zap.Logger
	mu   sync.Mutex
	last map[string]time.Time
}

func newLogWriter(l *zap.Logger) io.Writer {
	return &logWriter{log: l.Named("memberlist"), last: map[string]time.Time{}}
}

func (w *logWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := "debug"
	for _, l := range []string{"DEBUG", "INFO", "WARN", "ERR"} {
		if rest, ok := strings.CutPrefix(line, "["+l+"] "); ok {
			level, line = strings.ToLower(l), rest
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	lower := strings.ToLower(line)
	if strings.Contains(lower, "decrypt") || strings.Contains(lower, "unacceptable label") ||
		strings.Contains(lower, "no installed keys") || strings.Contains(lower, "encryption is configured") {
		from := ""
		if i := strings.Index(line, "from="); i >= 0 {
			from = line[i+5:]
			if h, _, err := net.SplitHostPort(from); err == nil {
				from = h
			}
		}
		w.mu.Lock()
		now := time.Now()
		quiet := now.Sub(w.last[from]) < 10*time.Second
		if !quiet {
			w.last[from] = now
		}
		w.mu.Unlock()
		if !quiet {
			w.log.Warn("gossip traffic rejected: the sender uses another secret or cluster name", zap.String("detail", line))
			return len(p), nil
		}
	}
	w.log.Debug(line, zap.String("level", level))
	return len(p), nil
}
