package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Health checkers: the blocks a real_server may hold (keepalived/check/
// check_api.c, check_http.c, check_tcp.c, check_smtp.c, check_dns.c,
// check_misc.c, check_ping.c, check_udp.c, check_file.c, check_bfd.c).

// Checker is one health-checker block of a real server. Type says which;
// the matching type-specific part (HTTP, SMTP, DNS, Misc, UDP, File) is
// set, the others are nil. After loading, the common fields hold effective
// values: what the block says, else the real server's, the virtual
// server's, then keepalived's defaults for that checker type.
type Checker struct {
	// Type is the block keyword: TCP_CHECK, HTTP_GET, SSL_GET,
	// SMTP_CHECK, DNS_CHECK, MISC_CHECK, PING_CHECK, UDP_CHECK or
	// FILE_CHECK.
	Type string `json:"type"`

	// ConnOpts says where the checker connects; unused by MISC_CHECK and
	// FILE_CHECK, which connect nowhere.
	ConnOpts

	// Retry is how many more attempts follow a failure before the server
	// is declared down (default 1; DNS_CHECK 3; MISC_CHECK 0).
	Retry uint32 `json:"retry"`
	// DelayBeforeRetry separates those attempts (default 3s for
	// HTTP_GET/SSL_GET, delay_loop for DNS_CHECK, 1s otherwise).
	DelayBeforeRetry Duration `json:"delay_before_retry"`
	// Warmup is the maximum random delay before the first check, so
	// checkers do not all fire at once (default delay_loop; 0 disables).
	Warmup Duration `json:"warmup"`
	// DelayLoop is the interval between checks.
	DelayLoop Duration `json:"delay_loop"`
	// Alpha makes the checker start as failed.
	Alpha bool `json:"alpha,omitempty"`
	// LogAllFailures logs every failure, not only state changes.
	LogAllFailures bool `json:"log_all_failures,omitempty"`

	HTTP *HTTPCheck `json:"http,omitempty"`
	SMTP *SMTPCheck `json:"smtp,omitempty"`
	DNS  *DNSCheck  `json:"dns,omitempty"`
	Misc *MiscCheck `json:"misc,omitempty"`
	UDP  *UDPCheck  `json:"udp,omitempty"`
	File *FileCheck `json:"file,omitempty"`

	Pos Pos `json:"-"`

	// Which common values the block itself sets; the rest are inherited.
	retrySet, delayBeforeRetrySet, warmupSet, delayLoopSet, alphaSet bool
	connectIPNode, bindToNode                                        *node
}

// ConnOpts are a checker's connection options. After loading, ConnectIP
// and ConnectPort default to the real server's address and port, and
// ConnectTimeout to the real server's connect_timeout.
type ConnOpts struct {
	ConnectIP      netip.Addr `json:"connect_ip,omitzero"`
	ConnectPort    uint16     `json:"connect_port,omitempty"`
	BindTo         netip.Addr `json:"bindto,omitzero"`
	BindPort       uint16     `json:"bind_port,omitempty"`
	BindIf         string     `json:"bind_if,omitempty"`
	ConnectTimeout Duration   `json:"connect_timeout,omitempty"`
	// Fwmark marks the checker's own packets (SO_MARK), for policy routing.
	Fwmark uint32 `json:"fwmark,omitempty"`
}

// HTTPCheck is the HTTP_GET / SSL_GET part of a checker: the server is up
// when every URL answers as expected.
type HTTPCheck struct {
	URLs []*URL `json:"url"`
	// HTTPProtocol is 1.0 (keepalived's default), 1.0C (1.0 with
	// "Connection: close") or 1.1.
	HTTPProtocol string `json:"http_protocol"`
	// Virtualhost is the Host header; after loading it falls back to the
	// real server's, then the virtual server's. A URL may override it.
	Virtualhost string `json:"virtualhost,omitempty"`
	// EnableSNI sends the virtual host (or SNIName) as TLS SNI.
	EnableSNI bool   `json:"enable_sni,omitempty"`
	SNIName   string `json:"sni_name,omitempty"`
	// TLSCompliant shuts the TLS session down cleanly (close_notify)
	// instead of just closing the connection.
	TLSCompliant bool `json:"tls_compliant,omitempty"`
	// FastRecovery checks all URLs back to back, without delay_loop
	// between them, at start-up and while recovering from a failure.
	FastRecovery bool `json:"fast_recovery,omitempty"`
}

// URL is one url block: the path fetched and what the answer must be.
type URL struct {
	Path string `json:"path"`
	// Digest is the MD5 of the body, 32 lowercase hex digits (genhash).
	Digest string `json:"digest,omitempty"`
	// StatusCodes accepted; keepalived's default is 200-299.
	StatusCodes []StatusRange `json:"status_code"`
	Virtualhost string        `json:"virtualhost,omitempty"`
	Pos         Pos           `json:"-"`
}

// StatusRange is an inclusive range of HTTP status codes, written "200"
// or "200-299" as in keepalived.conf.
type StatusRange struct {
	Min, Max int
}

// Contains reports whether code is in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Min && code <= r.Max }

// String prints the range as keepalived.conf writes it.
func (r StatusRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return fmt.Sprintf("%d-%d", r.Min, r.Max)
}

// MarshalText prints the range as keepalived.conf writes it.
func (r StatusRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "200" or "200-299".
func (r *StatusRange) UnmarshalText(b []byte) error {
	v, ok := lvsParseStatusRange(string(b))
	if !ok {
		return fmt.Errorf("invalid HTTP status code range %q", b)
	}
	*r = v
	return nil
}

func lvsParseStatusRange(s string) (StatusRange, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil {
		return StatusRange{}, false
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(hi); err != nil {
			return StatusRange{}, false
		}
	}
	if a < 100 || b > 599 || a > b {
		return StatusRange{}, false
	}
	return StatusRange{a, b}, true
}

// SMTPCheck is the SMTP_CHECK part: the server is up when it greets,
// accepts HELO and QUIT.
type SMTPCheck struct {
	// HeloName is sent in HELO (default smtpchecker.keepalived.org).
	HeloName string `json:"helo_name"`
	// Hosts are the deprecated host { } sub-blocks: further connection
	// targets checked by the same checker (keepalived makes one checker
	// per host). Each starts from the checker's own options.
	Hosts []*SMTPHost `json:"host,omitempty"`
}

// SMTPHost is one host { } block of an SMTP_CHECK.
type SMTPHost struct {
	ConnOpts
	Pos Pos `json:"-"`

	connectIPNode, bindToNode *node
}

// DNSCheck is the DNS_CHECK part: a query over UDP that must be answered
// without error.
type DNSCheck struct {
	Type string `json:"type"` // default SOA
	Name string `json:"name"` // default "."

	nameSet bool
}

// MiscCheck is the MISC_CHECK part: a script whose exit status decides.
type MiscCheck struct {
	Path *Script `json:"misc_path"`
	// Timeout kills the script; keepalived's default is delay_loop.
	Timeout Duration `json:"misc_timeout"`
	// Dynamic lets exit status 2-255 set the weight to status-2.
	Dynamic bool `json:"misc_dynamic,omitempty"`
	// User and Group run the script; empty: global script_user.
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"`
}

// UDPCheck is the UDP_CHECK part: a datagram is sent and, optionally, a
// reply required. Hex strings are lowercase, two digits a byte; in
// ReplyData an 'x' nibble matches anything.
type UDPCheck struct {
	Payload        string `json:"payload,omitempty"`
	RequireReply   bool   `json:"require_reply,omitempty"`
	ReplyData      string `json:"require_reply_data,omitempty"`
	MinReplyLength int    `json:"min_reply_length"`
	MaxReplyLength int    `json:"max_reply_length"`
}

// FileCheck is the FILE_CHECK part: the server's weight follows a number
// read from a track_file.
type FileCheck struct {
	TrackFile string `json:"track_file"`
	// Weight multiplies the file's value; nil: the track_file's weight.
	Weight  *int `json:"weight,omitempty"`
	Reverse bool `json:"reverse,omitempty"`

	trackNode *node
}

// The two roles a block can play for the shared checker keywords: it has
// connection options, and it is (or belongs to) a checker.
type lvsConnTarget interface{ lvsConn() *ConnOpts }
type lvsCheckerTarget interface{ lvsChecker() *Checker }

func (ck *Checker) lvsConn() *ConnOpts   { return &ck.ConnOpts }
func (ck *Checker) lvsChecker() *Checker { return ck }

// smtpHostTarget is the model object of an SMTP host { } block: its own
// connection options, the enclosing checker for everything else.
type smtpHostTarget struct {
	host   *SMTPHost
	parent *Checker
}

func (h *smtpHostTarget) lvsConn() *ConnOpts   { return &h.host.ConnOpts }
func (h *smtpHostTarget) lvsChecker() *Checker { return h.parent }

// checkerKeywords are the checker blocks of a real_server.
func checkerKeywords() []*Keyword {
	url := urlKeyword() // one url block, shared by HTTP_GET and SSL_GET
	httpKw := func(name, doc string) *Keyword {
		return &Keyword{Name: name, Args: "{ ... }", Doc: doc, Multi: true,
			Block: newBlock(name, doc+".", append(checkerCommon(true), httpKeywords(url)...)...),
			apply: opens(func(c *ctx, n *node, rs *RealServer) *Checker {
				return addChecker(c, n, rs, &Checker{HTTP: &HTTPCheck{HTTPProtocol: "1.0"}})
			})}
	}
	simple := func(name, doc string, common bool, extra []*Keyword, mk func() *Checker) *Keyword {
		kws := checkerCommon(common)
		return &Keyword{Name: name, Args: "{ ... }", Doc: doc, Multi: true,
			Block: newBlock(name, doc+".", append(kws, extra...)...),
			apply: opens(func(c *ctx, n *node, rs *RealServer) *Checker {
				return addChecker(c, n, rs, mk())
			})}
	}
	bfd := acceptedBlock("BFD_CHECK", "{ name <BFD_INSTANCE> }", "BFD is not implemented; the real server is checked by its other checkers only")
	return []*Keyword{
		httpKw("HTTP_GET", "HTTP health check: GET each url and compare status code and digest"),
		httpKw("SSL_GET", "HTTPS health check: like HTTP_GET over TLS"),
		simple("TCP_CHECK", "TCP health check: the server is up when a connection succeeds", true, nil,
			func() *Checker { return &Checker{} }),
		simple("SMTP_CHECK", "SMTP health check: greeting, HELO and QUIT must succeed", true, smtpKeywords(),
			func() *Checker { return &Checker{SMTP: &SMTPCheck{HeloName: "smtpchecker.keepalived.org"}} }),
		simple("DNS_CHECK", "DNS health check: a query over UDP must be answered without error", true, dnsKeywords(),
			func() *Checker { return &Checker{DNS: &DNSCheck{Type: "SOA", Name: "."}} }),
		simple("MISC_CHECK", "script health check: exit status 0 is up, 1 down (2-255 with misc_dynamic sets the weight)", false, miscKeywords(),
			func() *Checker { return &Checker{Misc: &MiscCheck{}} }),
		simple("PING_CHECK", "ICMP echo health check", true, nil,
			func() *Checker { return &Checker{} }),
		simple("UDP_CHECK", "UDP health check: a datagram must not draw an ICMP error (or must draw a matching reply)", true, udpKeywords(),
			func() *Checker { return &Checker{UDP: &UDPCheck{MaxReplyLength: 255}} }),
		fileCheckKeyword(),
		bfd,
	}
}

func addChecker(c *ctx, n *node, rs *RealServer, ck *Checker) *Checker {
	c.nargs(n, 0, 0)
	ck.Type, ck.Pos = n.name(), n.pos()
	rs.Checkers = append(rs.Checkers, ck)
	return ck
}

// checkerCommon are the options every checker shares
// (install_checker_common_keywords); conn adds the connection options
// MISC_CHECK lacks.
func checkerCommon(conn bool) []*Keyword {
	var kws []*Keyword
	if conn {
		kws = append(kws,
			&Keyword{Name: "connect_ip", Args: "<IPADDR>", Default: "the real server's address", Doc: "address the checker connects to",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if a, ok := c.addrArg(n); ok {
						t.lvsConn().ConnectIP = a
						lvsNoteConnNode(t, n, true)
					}
				})},
			&Keyword{Name: "connect_port", Args: "<1-65535>", Default: "the real server's port", Doc: "port the checker connects to",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if v, ok := c.lvsUint(n, 1, 65535); ok {
						t.lvsConn().ConnectPort = uint16(v)
					}
				})},
			&Keyword{Name: "bindto", Args: "<IPADDR>", Doc: "source address of the checker's connections",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if a, ok := c.addrArg(n); ok {
						t.lvsConn().BindTo = a
						lvsNoteConnNode(t, n, false)
					}
				})},
			&Keyword{Name: "bind_port", Args: "<1-65535>", Doc: "source port of the checker's connections",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if v, ok := c.lvsUint(n, 1, 65535); ok {
						t.lvsConn().BindPort = uint16(v)
					}
				})},
			&Keyword{Name: "bind_if", Args: "<IFNAME>", Doc: "interface of the checker's connections (needed for IPv6 link-local addresses)",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					v, ok := c.str(n)
					if !ok {
						return
					}
					if len(v) > 15 {
						c.d.errorf(n.words[1].pos, "interface names are at most 15 characters", "bind_if: interface name %q is too long", v)
						return
					}
					t.lvsConn().BindIf = v
				})},
			&Keyword{Name: "connect_timeout", Args: "<SECONDS>", Default: "the real server's connect_timeout (5)", Doc: "connection timeout",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if v, ok := c.lvsTimer(n, lvsTimerMin, lvsConnTimeoutMax); ok {
						t.lvsConn().ConnectTimeout = v
					}
				})},
			&Keyword{Name: "fwmark", Args: "<0-4294967295>", Doc: "firewall mark (SO_MARK) set on the checker's packets",
				apply: on(func(c *ctx, n *node, t lvsConnTarget) {
					if v, ok := c.lvsUint(n, 0, lvsUintMax); ok {
						t.lvsConn().Fwmark = v
					}
				})},
		)
	}
	kws = append(kws,
		checkerRetry("retry"),
		&Keyword{Name: "delay_before_retry", Args: "<SECONDS>", Default: "the real server's, else 3s (HTTP/SSL), delay_loop (DNS), 1s",
			Doc: "delay between retries", apply: on(func(c *ctx, n *node, t lvsCheckerTarget) {
				if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
					ck := t.lvsChecker()
					ck.DelayBeforeRetry, ck.delayBeforeRetrySet = v, true
				}
			})},
		&Keyword{Name: "warmup", Args: "<SECONDS>", Default: "the real server's, else delay_loop", Doc: "maximum random delay before the first check (0: none)",
			apply: on(func(c *ctx, n *node, t lvsCheckerTarget) {
				if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
					ck := t.lvsChecker()
					ck.Warmup, ck.warmupSet = v, true
				}
			})},
		&Keyword{Name: "delay_loop", Args: "<SECONDS>", Default: "the real server's delay_loop (60)", Doc: "interval between checks",
			apply: on(func(c *ctx, n *node, t lvsCheckerTarget) {
				if v, ok := c.lvsTimer(n, lvsTimerMin, lvsTimerMax); ok {
					ck := t.lvsChecker()
					ck.DelayLoop, ck.delayLoopSet = v, true
				}
			})},
		&Keyword{Name: "alpha", Args: "[<BOOL>]", Default: "the real server's alpha", Doc: "start the checker as failed",
			apply: on(func(c *ctx, n *node, t lvsCheckerTarget) {
				ck := t.lvsChecker()
				ck.Alpha, ck.alphaSet = c.flag(n), true
			})},
		&Keyword{Name: "log_all_failures", Args: "[<BOOL>]", Default: "off (global checker_log_all_failures)", Doc: "log every failed check, not only state changes",
			apply: on(func(c *ctx, n *node, t lvsCheckerTarget) { t.lvsChecker().LogAllFailures = c.flag(n) })},
	)
	return kws
}

// lvsNoteConnNode remembers where connect_ip and bindto were written, to
// point at them when their families disagree.
func lvsNoteConnNode(t lvsConnTarget, n *node, connectIP bool) {
	switch t := t.(type) {
	case *Checker:
		if connectIP {
			t.connectIPNode = n
		} else {
			t.bindToNode = n
		}
	case *smtpHostTarget:
		if connectIP {
			t.host.connectIPNode = n
		} else {
			t.host.bindToNode = n
		}
	}
}

func checkerRetry(name string) *Keyword {
	return &Keyword{Name: name, Args: "<0-4294967295>", Default: "the real server's, else 1 (DNS_CHECK 3, MISC_CHECK 0)",
		Doc: "further attempts after a failure before the server is declared down",
		apply: on(func(c *ctx, n *node, t lvsCheckerTarget) {
			if v, ok := c.lvsUint(n, 0, lvsUintMax); ok {
				ck := t.lvsChecker()
				ck.Retry, ck.retrySet = v, true
			}
		})}
}

func httpKeywords(url *Keyword) []*Keyword {
	nb := checkerRetry("nb_get_retry")
	nb.Alias = "retry"
	nb.Doc = "deprecated spelling; warns"
	inner := nb.apply
	nb.apply = func(c *ctx, n *node, target any) any {
		c.d.warnf(n.pos(), "write retry instead", "nb_get_retry is deprecated; it means retry")
		return inner(c, n, target)
	}
	httpFlag := func(name, doc string, set func(h *HTTPCheck, v bool)) *Keyword {
		return &Keyword{Name: name, Args: "[<BOOL>]", Default: "off", Doc: doc,
			apply: on(func(c *ctx, n *node, ck *Checker) { set(ck.HTTP, c.flag(n)) })}
	}
	return []*Keyword{
		nb,
		{Name: "virtualhost", Args: "<HOST>", Default: "the real server's, else the virtual server's", Doc: "Host header of the requests",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.lvsText(n); ok {
					ck.HTTP.Virtualhost = v
				}
			})},
		{Name: "http_protocol", Args: "1.0|1.0C|1.1", Default: "1.0", Doc: "HTTP version of the requests (1.0C adds Connection: close)",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if !c.nargs(n, 1, 1) {
					return
				}
				t := n.words[1]
				if t.text == "1.0c" {
					t.text = "1.0C"
				}
				if v, ok := c.lvsExact("http_protocol", t, "1.0", "1.0C", "1.1"); ok {
					ck.HTTP.HTTPProtocol = v
				}
			})},
		httpFlag("enable_sni", "send TLS SNI (SSL_GET)", func(h *HTTPCheck, v bool) { h.EnableSNI = v }),
		{Name: "sni_name", Args: "<NAME>", Default: "the virtual host", Doc: "name sent as TLS SNI (SSL_GET)",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.str(n); ok {
					ck.HTTP.SNIName = v
				}
			})},
		httpFlag("tls_compliant", "shut TLS sessions down with close_notify (SSL_GET)", func(h *HTTPCheck, v bool) { h.TLSCompliant = v }),
		httpFlag("fast_recovery", "check all urls back to back while coming up", func(h *HTTPCheck, v bool) { h.FastRecovery = v }),
		url,
	}
}

func urlKeyword() *Keyword {
	regexWhy := "regular-expression matching of the body is not implemented; only status code and digest are checked"
	kws := []*Keyword{
		{Name: "path", Args: "<PATH>", Doc: "path to GET, e.g. /healthz",
			apply: on(func(c *ctx, n *node, u *URL) {
				if v, ok := c.lvsText(n); ok {
					u.Path = v
				}
			})},
		{Name: "digest", Args: "<MD5 HEX>", Multi: true, Doc: "MD5 of the expected body (32 hex digits, from genhash)",
			apply: on(func(c *ctx, n *node, u *URL) {
				if !c.nargs(n, 1, 1) {
					return
				}
				t := n.words[1]
				if u.Digest != "" {
					c.d.errorf(n.pos(), "delete one of them", "digest given twice in one url; keepalived would keep the first")
					return
				}
				if len(t.text) != 32 {
					c.d.errorf(t.pos, "an MD5 digest is 32 hex digits, as genhash prints it", "digest %q has %d characters, not 32", t.text, len(t.text))
					return
				}
				for i := 0; i < len(t.text); i++ {
					if !lvsIsHex(t.text[i]) {
						p := t.pos
						if !t.quoted {
							p.Col += i
						}
						c.d.errorf(p, "an MD5 digest is 32 hex digits (0-9, a-f)", "digest %q: %q is not a hex digit", t.text, t.text[i:i+1])
						return
					}
				}
				u.Digest = strings.ToLower(t.text)
			})},
		{Name: "status_code", Args: "<CODE|LOW-HIGH> ...", Default: "200-299", Multi: true, Doc: "accepted HTTP status codes (100-599)",
			apply: on(func(c *ctx, n *node, u *URL) {
				if !c.nargs(n, 1, -1) {
					return
				}
				for _, t := range n.words[1:] {
					r, ok := lvsParseStatusRange(t.text)
					if !ok {
						c.d.errorf(t.pos, "write a code 100-599 or a range such as 200-299", "status_code: %q is not a status code or range", t.text)
						continue
					}
					u.StatusCodes = append(u.StatusCodes, r)
				}
			})},
		{Name: "virtualhost", Args: "<HOST>", Default: "the checker's virtualhost", Doc: "Host header for this url",
			apply: on(func(c *ctx, n *node, u *URL) {
				if v, ok := c.lvsText(n); ok {
					u.Virtualhost = v
				}
			})},
		accepted("regex", "<PCRE2>", regexWhy),
		accepted("regex_no_match", "", regexWhy),
		accepted("regex_options", "<OPTION> ...", regexWhy),
		accepted("regex_min_offset", "<OFFSET>", regexWhy),
		accepted("regex_max_offset", "<OFFSET>", regexWhy),
		accepted("regex_stack", "<START> <MAX>", regexWhy),
	}
	return &Keyword{Name: "url", Args: "{ ... }", Multi: true, Doc: "a URL to check; the server is up when all of them pass",
		Block: newBlock("url", "One URL of an HTTP_GET/SSL_GET check and the answer it must give.", kws...),
		apply: opens(func(c *ctx, n *node, ck *Checker) *URL {
			c.nargs(n, 0, 0)
			u := &URL{Pos: n.pos()}
			ck.HTTP.URLs = append(ck.HTTP.URLs, u)
			return u
		})}
}

func smtpKeywords() []*Keyword {
	return []*Keyword{
		{Name: "helo_name", Args: "<NAME>", Default: "smtpchecker.keepalived.org", Doc: "name sent in HELO",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.lvsText(n); ok {
					ck.SMTP.HeloName = v
				}
			})},
		{Name: "host", Args: "{ ... }", Multi: true, Doc: "deprecated: a further connection target of this SMTP check",
			Block: newBlock("host", "Deprecated SMTP_CHECK sub-block: one more server to connect to. Better written as another SMTP_CHECK.", checkerCommon(true)...),
			apply: opens(func(c *ctx, n *node, ck *Checker) *smtpHostTarget {
				c.nargs(n, 0, 0)
				c.d.warnf(n.pos(), "write one SMTP_CHECK per target instead", "SMTP_CHECK host blocks are deprecated")
				// keepalived starts each host from the checker's options
				// as they stand when the host block opens.
				h := &SMTPHost{ConnOpts: ck.ConnOpts, Pos: n.pos()}
				ck.SMTP.Hosts = append(ck.SMTP.Hosts, h)
				return &smtpHostTarget{host: h, parent: ck}
			})},
	}
}

// lvsDNSTypes are the query types DNS_CHECK knows (check_dns.c DNS_TYPE[]),
// matched case-insensitively as keepalived does.
var lvsDNSTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA", "RRSIG", "DNSKEY"}

func dnsKeywords() []*Keyword {
	return []*Keyword{
		{Name: "type", Args: strings.Join(lvsDNSTypes, "|"), Default: "SOA", Doc: "DNS query type",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.enumArg(n, lvsDNSTypes...); ok {
					ck.DNS.Type = v
				}
			})},
		{Name: "name", Args: "<DOMAIN>", Default: ".", Multi: true, Doc: "domain name queried",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				v, ok := c.str(n)
				if !ok {
					return
				}
				if ck.DNS.nameSet {
					c.d.errorf(n.pos(), "delete one of them", "name given twice in DNS_CHECK; keepalived would keep the first")
					return
				}
				if (strings.HasPrefix(v, ".") && v != ".") || strings.Contains(v, "..") || v == "" {
					c.d.errorf(n.words[1].pos, "write a name like example.com or . (the root)", "DNS_CHECK name %q has an empty label", v)
					return
				}
				ck.DNS.Name, ck.DNS.nameSet = v, true
			})},
	}
}

func miscKeywords() []*Keyword {
	return []*Keyword{
		{Name: "misc_path", Args: "<SCRIPT> | \"<SCRIPT> <ARGS>\"", Doc: "script (and arguments) to run",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if s, ok := c.script(n); ok {
					ck.Misc.Path = s
				}
			})},
		{Name: "misc_timeout", Args: "<SECONDS 0-4294>", Default: "delay_loop", Doc: "time after which the script is killed and counted as failed (0: delay_loop)",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.lvsUint(n, 0, lvsUintMax/1000000); ok {
					ck.Misc.Timeout = Duration(time.Duration(v) * time.Second)
				}
			})},
		{Name: "misc_dynamic", Args: "[<BOOL>]", Default: "off", Doc: "exit status 2-255 sets the weight to status-2",
			apply: on(func(c *ctx, n *node, ck *Checker) { ck.Misc.Dynamic = c.flag(n) })},
		{Name: "user", Args: "<USER> [<GROUP>]", Default: "global script_user", Doc: "user (and group) the script runs as",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if !c.nargs(n, 1, 2) {
					return
				}
				ck.Misc.User = n.words[1].text
				if len(n.words) == 3 {
					ck.Misc.Group = n.words[2].text
				}
			})},
	}
}

func udpKeywords() []*Keyword {
	length := func(name, def, doc string, set func(u *UDPCheck, v int)) *Keyword {
		return &Keyword{Name: name, Args: "<0-65535>", Default: def, Doc: doc,
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.lvsUint(n, 0, 65535); ok {
					set(ck.UDP, int(v))
				}
			})}
	}
	return []*Keyword{
		{Name: "payload", Args: "<HEX> ...", Default: "random data", Doc: "data sent, in hex",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if !c.nargs(n, 1, -1) {
					return
				}
				if v, ok := c.lvsHex(n, false); ok {
					ck.UDP.Payload = v
				}
			})},
		{Name: "require_reply", Args: "[<HEX> ...]", Default: "off", Doc: "require a reply (matching the hex data, x nibbles ignored, when given)",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if len(n.words) > 1 {
					v, ok := c.lvsHex(n, true)
					if !ok {
						return
					}
					ck.UDP.ReplyData = v
				}
				ck.UDP.RequireReply = true
			})},
		length("min_reply_length", "0", "shortest acceptable reply", func(u *UDPCheck, v int) { u.MinReplyLength = v }),
		length("max_reply_length", "255", "longest acceptable reply", func(u *UDPCheck, v int) { u.MaxReplyLength = v }),
	}
}

func fileCheckKeyword() *Keyword {
	kws := []*Keyword{
		{Name: "track_file", Args: "<NAME>", Doc: "track_file block whose value sets the server's weight",
			apply: on(func(c *ctx, n *node, ck *Checker) {
				if v, ok := c.str(n); ok {
					ck.File.TrackFile, ck.File.trackNode = v, n
				}
			})},
		{Name: "weight", Args: "<-2147483647..2147483647> [reverse|noreverse]", Default: "the track_file's weight",
			Doc: "multiplier of the file's value (reverse: subtract)", apply: on(func(c *ctx, n *node, ck *Checker) {
				if !c.nargs(n, 1, 2) {
					return
				}
				v, ok := c.intTok("weight", n.words[1], -lvsWeightMax, lvsWeightMax)
				if !ok {
					return
				}
				rev := false
				if len(n.words) == 3 {
					r, ok := c.lvsExact("weight option", n.words[2], "reverse", "noreverse")
					if !ok {
						return
					}
					rev = r == "reverse"
				}
				w := int(v)
				ck.File.Weight, ck.File.Reverse = &w, rev
			})},
	}
	return &Keyword{Name: "FILE_CHECK", Args: "{ ... }", Multi: true, Doc: "weight from a track_file: a number read from a file adjusts the server's weight",
		Block: newBlock("FILE_CHECK", "Ties the real server's weight to a track_file.", kws...),
		apply: opens(func(c *ctx, n *node, rs *RealServer) *Checker {
			return addChecker(c, n, rs, &Checker{File: &FileCheck{}})
		})}
}
