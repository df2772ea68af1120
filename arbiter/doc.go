// Package arbiter will hold Vigil's split-brain protection: the node agent
// that gossips per-instance VRRP state over memberlist as a second heartbeat
// path, and the quorum vote a third host (vigil arbiter) casts to pick one
// master when two claim the same instance.
//
// Nothing is implemented yet; see README.md in this folder.
package arbiter
