package config

import (
	"strconv"
	"strings"
	"time"
)

// Config is the whole resolved configuration: what every subsystem reads.
// It is plain data (JSON-serialisable), so the supervisor can hand each
// child its part over IPC and check-config can dump it.
type Config struct {
	// Files lists every file read, the main file first, then includes.
	Files []string `json:"files"`

	Global GlobalDefs `json:"global_defs"`

	StaticAddresses []*IPAddress `json:"static_ipaddress,omitempty"`
	StaticRoutes    []*Route     `json:"static_routes,omitempty"`
	StaticRules     []*Rule      `json:"static_rules,omitempty"`

	Scripts    []*VRRPScript   `json:"vrrp_script,omitempty"`
	TrackFiles []*TrackFile    `json:"track_file,omitempty"`
	SyncGroups []*SyncGroup    `json:"vrrp_sync_group,omitempty"`
	Instances  []*VRRPInstance `json:"vrrp_instance,omitempty"`

	SSL                 *SSLConfig            `json:"SSL,omitempty"`
	VirtualServerGroups []*VirtualServerGroup `json:"virtual_server_group,omitempty"`
	VirtualServers      []*VirtualServer      `json:"virtual_server,omitempty"`

	// Arbiter is Vigil's own block (not keepalived's): the split-brain
	// arbiter settings. Nil when the file has none.
	Arbiter *Arbiter `json:"arbiter,omitempty"`
}

// Duration is a time.Duration that prints as "1s" or "100ms" in JSON, so a
// dumped configuration reads like the file it came from.
type Duration time.Duration

// D converts to the standard type for arithmetic and timers.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Seconds returns the duration in (fractional) seconds, keepalived's unit.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// String prints the duration as Go does ("1.5s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText prints the duration in Go notation.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads Go notation, or a bare number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(v * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Script is a command line from the configuration (notify, check and
// track scripts). Args is the argv keepalived would execute.
type Script struct {
	Command string   `json:"command"`
	Args    []string `json:"args"`
	Pos     Pos      `json:"-"`
}
