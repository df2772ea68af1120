package ipc

import "net/netip"

// Track is the body of a TypeTrack event: the state of a tracked script
// (vrrp_script) or file (track_file), from checkd through the parent to
// vrrpd. The parent keeps the latest of each, so a restarted vrrpd starts
// with the right priorities (TypeTrack request: all of them).
type Track struct {
	Kind  string `json:"kind"` // "script" or "file"
	Name  string `json:"name"`
	Up    bool   `json:"up"`
	Value int64  `json:"value,omitempty"` // track_file: the number read
}

// Backend is the body of a TypeBackend event: a real server's health as
// checkd folds its checkers (keepalived's update_svr_checker_state), from
// checkd through the parent to lvsd. The parent keeps the latest of each,
// so a restarted lvsd starts from the verdicts instead of from the alpha
// defaults (TypeBackend request: all of them).
type Backend struct {
	// VirtualServer is config.VirtualServer.ID() of the block.
	VirtualServer string `json:"vs"`
	// Server is the real server's address and port.
	Server netip.AddrPort `json:"rs"`
	// Alive is true while none of the server's checkers is down.
	Alive bool `json:"alive"`
	// Weight is the effective weight: configured, or misc_dynamic's, plus
	// FILE_CHECK adjustments; lvsd applies inhibit_on_failure and quorum.
	Weight int `json:"weight"`
	// Failed names the checkers that are down (for status and notify).
	Failed []string `json:"failed,omitempty"`
	// Decided is false until every checker has reached its first verdict;
	// lvsd may use it to delay quorum scripts at start.
	Decided bool `json:"decided"`
}

// Key identifies a Backend for the parent's latest-value table.
func (b Backend) Key() string { return b.VirtualServer + "|" + b.Server.String() }

// Verdict is the body of a TypeVerdict event: the arbiter agent's word on
// one VRRP instance, from the agent through the parent to vrrpd, which
// applies it to the instance's state machine as an ordinary event
// (vrrp.Hold). The parent keeps the latest per instance, so a restarted
// vrrpd starts with the holds in force (TypeVerdict request: all of them).
type Verdict struct {
	// Instance is the vrrp_instance name.
	Instance string `json:"instance"`
	// Hold keeps the instance from being MASTER (a master demotes, a
	// backup does not take over); false releases the hold.
	Hold   bool   `json:"hold"`
	Reason string `json:"reason,omitempty"`
	// GARP asks for the VIPs to be announced again (the winner of a
	// dual-master conflict repairs ARP caches).
	GARP bool `json:"garp,omitempty"`
	// Fence, when set, is why this node was demoted: vrrpd runs
	// notify_fence and passes the reason to the notify scripts.
	Fence string `json:"fence,omitempty"`
}
