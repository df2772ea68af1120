package config

import (
	"net/netip"
	"time"
)

// Arbiter is Vigil's own arbiter { } block: the second heartbeat path and
// quorum settings. keepalived does not know it (it warns about the unknown
// keywords and runs); keep it in an included file so the main file stays
// the one keepalived reads during a migration (docs/operations.md).
// After loading every field holds its effective value (defaults applied).
type Arbiter struct {
	// Cluster names this pair on shared arbiters (default "vigil").
	Cluster string `json:"cluster"`
	// NodeName names this node in the gossip cluster (default: the host
	// name).
	NodeName string `json:"node_name,omitempty"`
	// Bind is the gossip address on the second network (port 7946 by
	// default); Advertise, when set, is the address peers should use.
	Bind      netip.AddrPort `json:"bind"`
	Advertise netip.AddrPort `json:"advertise,omitzero"`
	// Peers are the other nodes' gossip addresses (seeds).
	Peers []netip.AddrPort `json:"peers,omitempty"`
	// Arbiters are the vigil arbiter hosts; a lease needs a majority.
	Arbiters []netip.AddrPort `json:"arbiters,omitempty"`
	// Secret is the shared secret the gossip encryption key is derived
	// from (HKDF-SHA256); empty means unencrypted gossip (warned). It is
	// marshalled (as auth_pass is): the agent child gets its configuration
	// as JSON over IPC, and without it would gossip unencrypted and be
	// refused by every arbiter.
	Secret string `json:"secret,omitempty"`
	// RequireQuorum: see arbiter/README.md. Default: on when arbiters
	// are configured.
	RequireQuorum bool `json:"require_quorum"`
	// Timings (defaults 3 s, 1 s, 200 ms, 500 ms, 250 ms).
	LeaseTTL          Duration `json:"lease_ttl"`
	PeerTimeout       Duration `json:"peer_timeout"`
	HeartbeatInterval Duration `json:"heartbeat_interval"`
	RenewEvery        Duration `json:"renew_every"`
	Margin            Duration `json:"margin"`
	// Instances limits the protection to these vrrp_instances (default:
	// all of them).
	Instances []string `json:"instances,omitempty"`
	// NotifyFence runs when this node is demoted by the arbiter's rules
	// (a STONITH-style hook), with the instance and the reason as
	// arguments.
	NotifyFence *Script `json:"notify_fence,omitempty"`
	Pos         Pos     `json:"-"`

	quorumSet bool
}

// DefaultGossipPort is the gossip port when an address has none
// (memberlist's customary port).
const DefaultGossipPort = 7946

// Protects reports whether the arbiter's rules apply to a vrrp_instance.
func (a *Arbiter) Protects(instance string) bool {
	if a == nil {
		return false
	}
	if len(a.Instances) == 0 {
		return true
	}
	for _, n := range a.Instances {
		if n == instance {
			return true
		}
	}
	return false
}

func arbiterKeywords() []*Keyword {
	kw := func(name, args, def, doc string, f func(c *ctx, n *node, a *Arbiter)) *Keyword {
		return &Keyword{Name: name, Args: args, Default: def, Doc: doc, apply: on(f)}
	}
	multi := func(k *Keyword) *Keyword { k.Multi = true; return k }
	secs := func(set func(a *Arbiter, d Duration)) func(c *ctx, n *node, a *Arbiter) {
		return func(c *ctx, n *node, a *Arbiter) {
			if d, ok := c.secondsArg(n, 0.01, 3600); ok {
				set(a, d)
			}
		}
	}
	return []*Keyword{{
		Name: "arbiter",
		Args: "{ ... }",
		Doc:  "Vigil's split-brain protection: the gossip path between the nodes and the arbiters' quorum (not a keepalived block; keepalived warns and ignores it).",
		Block: newBlock("arbiter", "Vigil's split-brain protection (see arbiter/README.md). Not a keepalived block: keep it in an included file.",
			kw("cluster", "NAME", "vigil", "Names this pair's leases on arbiters shared by several pairs.",
				func(c *ctx, n *node, a *Arbiter) {
					if s, ok := c.str(n); ok {
						a.Cluster = s
					}
				}),
			kw("node_name", "NAME", "host name", "This node's name in the gossip cluster.",
				func(c *ctx, n *node, a *Arbiter) {
					if s, ok := c.str(n); ok {
						a.NodeName = s
					}
				}),
			kw("bind", "IP[:PORT]", "", "Gossip address on the second network (required; port 7946 by default).",
				func(c *ctx, n *node, a *Arbiter) {
					if ap, ok := c.gossipAddr(n); ok {
						a.Bind = ap
					}
				}),
			kw("advertise", "IP[:PORT]", "bind", "Address the other members should use to reach this node (behind NAT).",
				func(c *ctx, n *node, a *Arbiter) {
					if ap, ok := c.gossipAddr(n); ok {
						a.Advertise = ap
					}
				}),
			multi(kw("peer", "IP[:PORT]", "", "Another node's gossip address (repeatable).",
				func(c *ctx, n *node, a *Arbiter) {
					if ap, ok := c.gossipAddr(n); ok {
						a.Peers = append(a.Peers, ap)
					}
				})),
			multi(kw("arbiter", "IP[:PORT]", "", "A vigil arbiter host (repeatable; a lease needs a majority).",
				func(c *ctx, n *node, a *Arbiter) {
					if ap, ok := c.gossipAddr(n); ok {
						a.Arbiters = append(a.Arbiters, ap)
					}
				})),
			kw("secret", "STRING", "", "Shared secret; the gossip encryption key is derived from it with HKDF-SHA256.",
				func(c *ctx, n *node, a *Arbiter) {
					if s, ok := c.str(n); ok {
						a.Secret = s
					}
				}),
			kw("require_quorum", "[<BOOL>]", "on with arbiters", "A node that reaches neither a peer nor a majority of arbiters releases its VIPs and takes none over.",
				func(c *ctx, n *node, a *Arbiter) {
					a.RequireQuorum, a.quorumSet = c.flag(n), true
				}),
			kw("lease_ttl", "SECS", "3", "Length of an arbiter's ownership lease.",
				secs(func(a *Arbiter, d Duration) { a.LeaseTTL = d })),
			kw("peer_timeout", "SECS", "1", "A peer counts as alive this long after its last direct heartbeat.",
				secs(func(a *Arbiter, d Duration) { a.PeerTimeout = d })),
			kw("heartbeat_interval", "SECS", "0.2", "Interval of the direct heartbeats to each peer.",
				secs(func(a *Arbiter, d Duration) { a.HeartbeatInterval = d })),
			kw("renew_every", "SECS", "0.5", "Interval of lease renewals while holding one.",
				secs(func(a *Arbiter, d Duration) { a.RenewEvery = d })),
			kw("margin", "SECS", "0.25", "A lease is given up this long before it could expire at the arbiter.",
				secs(func(a *Arbiter, d Duration) { a.Margin = d })),
			multi(kw("instances", "NAME...", "all", "The vrrp_instances the protection applies to.",
				func(c *ctx, n *node, a *Arbiter) {
					if !c.nargs(n, 1, 1<<16) {
						return
					}
					for _, w := range n.args() {
						a.Instances = append(a.Instances, w.text)
					}
				})),
			kw("notify_fence", "CMD|\"CMD ARGS\"", "", "Runs when the arbiter's rules demote this node, with the instance name and the reason appended (a STONITH-style hook).",
				func(c *ctx, n *node, a *Arbiter) {
					if s, ok := c.script(n); ok {
						a.NotifyFence = s
					}
				}),
		),
		apply: opens(func(c *ctx, n *node, cfg *Config) *Arbiter {
			if !c.nargs(n, 0, 0) {
				return nil
			}
			if cfg.Arbiter != nil {
				c.d.errorf(n.pos(), "merge the two blocks", "a second arbiter block (the first is at line %d)", cfg.Arbiter.Pos.Line)
				return nil
			}
			cfg.Arbiter = &Arbiter{Pos: n.pos(), Cluster: "vigil",
				LeaseTTL: Duration(3 * time.Second), PeerTimeout: Duration(time.Second),
				HeartbeatInterval: Duration(200 * time.Millisecond), RenewEvery: Duration(500 * time.Millisecond),
				Margin: Duration(250 * time.Millisecond)}
			return cfg.Arbiter
		}),
	}}
}

// gossipAddr reads IP or IP:PORT ([IPv6]:PORT), port 7946 by default.
func (c *ctx) gossipAddr(n *node) (netip.AddrPort, bool) {
	s, ok := c.str(n)
	if !ok {
		return netip.AddrPort{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a.Unmap(), DefaultGossipPort), true
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		c.d.errorf(n.words[1].pos, "write IP or IP:PORT, with IPv6 as [ADDR]:PORT", "%s: %q is not an address", n.name(), s)
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// validateArbiter applies defaults that depend on the whole block and
// checks what would make the protection unsafe or inert.
func validateArbiter(c *ctx) {
	a := c.cfg.Arbiter
	if a == nil {
		return
	}
	if !a.quorumSet {
		a.RequireQuorum = len(a.Arbiters) > 0
	}
	if !a.Bind.IsValid() {
		c.d.errorf(a.Pos, "add: bind IP[:PORT] (this node's address on the second network)", "the arbiter block has no bind address")
	}
	if len(a.Peers) == 0 && len(a.Arbiters) == 0 {
		c.d.errorf(a.Pos, "add a peer (the other node) and, for quorum, an arbiter", "the arbiter block names neither a peer nor an arbiter")
	}
	if a.Secret == "" {
		c.d.warnf(a.Pos, "add: secret \"...\" (the same on every node and arbiter)", "the arbiter block has no secret: gossip and lease messages are not encrypted or authenticated")
	}
	if a.Margin >= a.LeaseTTL || a.RenewEvery*2 > a.LeaseTTL {
		c.d.errorf(a.Pos, "keep margin below lease_ttl and renew_every at most half of it",
			"arbiter timings: lease_ttl %s, renew_every %s, margin %s leave no time to renew", a.LeaseTTL.D(), a.RenewEvery.D(), a.Margin.D())
	}
	if a.HeartbeatInterval*2 > a.PeerTimeout {
		c.d.errorf(a.Pos, "keep heartbeat_interval at most half of peer_timeout",
			"arbiter timings: one lost heartbeat (interval %s) would time out the peer (peer_timeout %s)", a.HeartbeatInterval.D(), a.PeerTimeout.D())
	}
	if len(a.Arbiters)%2 == 0 && len(a.Arbiters) > 0 {
		c.d.warnf(a.Pos, "use an odd number of arbiters", "%d arbiters: a majority needs %d, so one more failure is tolerated by an odd count", len(a.Arbiters), len(a.Arbiters)/2+1)
	}
	known := map[string]*VRRPInstance{}
	for _, in := range c.cfg.Instances {
		known[in.Name] = in
	}
	for _, name := range a.Instances {
		if known[name] == nil {
			c.d.errorf(a.Pos, "name a vrrp_instance of this file", "arbiter instances: %q is not a vrrp_instance", name)
		}
	}
	for _, in := range c.cfg.Instances {
		if !a.Protects(in.Name) {
			continue
		}
		// The gossip path must notice a dead peer before VRRP does, or
		// the backup takes over before it knows the master's fate.
		if md := 3*in.AdvertInt.D() + in.AdvertInt.D()*time.Duration(256-in.Priority)/256; a.PeerTimeout.D() >= md {
			c.d.warnf(a.Pos, "lower peer_timeout below the master-down interval",
				"peer_timeout %s is not below vrrp_instance %s's master-down interval %s: the backup may take over before the gossip path says the master is gone",
				a.PeerTimeout.D(), in.Name, md)
		}
	}
}
