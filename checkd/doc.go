// Package checkd is Vigil's health checking: the real_server checkers of
// keepalived's LVS configuration (TCP_CHECK, HTTP_GET, SSL_GET,
// SMTP_CHECK, DNS_CHECK, PING_CHECK, UDP_CHECK, MISC_CHECK, FILE_CHECK)
// and the vrrp_script track scripts, with keepalived's semantics and
// defaults.
//
// The work is split as everywhere in Vigil, pure logic inside and I/O at
// the edge:
//
//   - health: the per-check state machines (retry, delay_before_retry,
//     delay_loop, warmup, alpha, omega, misc_dynamic; rise, fall and
//     init_fail for scripts) and the fold of a real server's checkers into
//     alive and weight. No clock, no sockets; table-tested with a fake
//     clock.
//   - probe: one function per checker kind doing one check against the
//     network, a script or a file.
//   - sched: the scheduler running thousands of checks from one timer heap
//     with bounded concurrency.
//   - genhash: `vigil genhash`, keepalived's genhash.
//   - tracker: what vrrpd tracks (vrrp_scripts, track_files), over IPC.
//
// This package turns a resolved configuration's real servers into those
// pieces (Build). Running them under core, and the messages to lvsd, come
// next; see README.md.
package checkd
