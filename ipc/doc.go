// Package ipc will define the messages Vigil's processes exchange and their
// framing on the Unix socket pair each child inherits from the parent: state
// snapshots, check results, VRRP state changes and commands.
//
// Nothing is implemented yet; see README.md in this folder.
package ipc
