// Package checkd will run health checks: the real_server checkers
// (HTTP_GET, SSL_GET, TCP_CHECK, SMTP_CHECK, DNS_CHECK, MISC_CHECK) and
// vrrp_script track scripts, with rise/fall logic kept apart from the probes.
//
// Nothing is implemented yet; see README.md in this folder.
package checkd
