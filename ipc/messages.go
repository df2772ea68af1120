package ipc

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
