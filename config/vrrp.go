package config

// IPAddress is one address line (static_ipaddress, virtual_ipaddress).
type IPAddress struct{}

// Route is one route line (static_routes, virtual_routes).
type Route struct{}

// Rule is one policy rule line (static_rules, virtual_rules).
type Rule struct{}

// VRRPScript is a vrrp_script block.
type VRRPScript struct{}

// TrackFile is a track_file (vrrp_track_file) block.
type TrackFile struct{}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct{}

// VRRPInstance is a vrrp_instance block.
type VRRPInstance struct{}

func vrrpKeywords() []*Keyword { return nil }

func validateVRRP(c *ctx) {}
