// Package lvsd keeps the kernel's IPVS tables equal to the configured
// virtual and real servers as weighted by checkd's verdicts.
//
// The rules are pure and live in subpackages: lvsd/desired computes the
// tables keepalived's checker would build (alpha, inhibit_on_failure,
// quorum with hysteresis, sorry server, ha_suspend) and the quorum
// transitions; lvsd/plan diffs them against the kernel's tables and applies
// the difference through an lvsd/ipvs.Backend (lvsd/kernel in production,
// ipvs.Fake in tests). This package is the daemon around them; see
// README.md in this folder.
package lvsd
