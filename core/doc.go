// Package core will be Vigil's parent process: it reads the configuration
// once, starts vrrpd, checkd, lvsd and the arbiter agent as children (the
// same binary re-executed), routes messages between them over inherited
// socket pairs, keeps each child's last state snapshot and hands it back to
// a restarted child so no VIP is dropped.
//
// Nothing is implemented yet; see README.md in this folder.
package core
