package config

import "net/netip"

// Arbiter is Vigil's own arbiter { } block: the second heartbeat path and
// quorum settings. keepalived does not know it; keep it in an included file
// (see docs) so the main file stays readable by keepalived during migration.
// After loading every field holds its effective value (defaults applied).
type Arbiter struct {
	// Cluster names this pair on shared arbiters (default "vigil").
	Cluster string `json:"cluster"`
	// Bind is the gossip address on the second network (port 7946 by
	// default); Advertise, when set, is the address peers should use.
	Bind      netip.AddrPort `json:"bind"`
	Advertise netip.AddrPort `json:"advertise,omitzero"`
	// Peers are the other nodes' gossip addresses (seeds).
	Peers []netip.AddrPort `json:"peers,omitempty"`
	// Arbiters are the vigil arbiter hosts; a lease needs a majority.
	Arbiters []netip.AddrPort `json:"arbiters,omitempty"`
	// Secret is the shared secret the gossip encryption key is derived
	// from (HKDF-SHA256); empty means unencrypted gossip (warned).
	Secret string `json:"-"`
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
	Pos       Pos      `json:"-"`
}

func arbiterKeywords() []*Keyword {
	return []*Keyword{{
		Name:   "arbiter",
		Args:   "{ ... }",
		Status: Accepted,
		Doc:    "Vigil's split-brain arbiter settings; reserved until the arbiter subsystem lands",
		Block:  newBlock("arbiter", "Vigil's split-brain arbiter settings (not a keepalived block)."),
	}}
}
