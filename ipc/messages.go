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
