// Package lvsd will keep the kernel's IPVS tables equal to the configured
// virtual and real servers as weighted by checkd's results: a pure diff of
// desired against actual state, and a thin layer that applies it.
//
// Nothing is implemented yet; see README.md in this folder.
package lvsd
