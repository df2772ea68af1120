package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file holds the LVS side of keepalived.conf: the top-level SSL block,
// virtual_server_group, virtual_server, sorry_server and real_server. The
// health checkers inside real_server blocks are in check_checkers.go, the
// cross-checks and inheritance of defaults in lvs_validate.go.

// SSLConfig is the top-level SSL block: the TLS client context SSL_GET
// checkers use. Empty fields keep keepalived's behaviour, a context it
// generates itself with no client certificate.
type SSLConfig struct {
	// Password unlocks Key when the key file is encrypted.
	Password string `json:"password,omitempty"`
	// CA is a file of CA certificates; keepalived loads it but, like
	// keepalived, checkers do not verify the server's certificate.
	CA string `json:"ca,omitempty"`
	// Certificate and Key are the client certificate and its key, for
	// real servers that require TLS client authentication.
	Certificate string `json:"certificate,omitempty"`
	Key         string `json:"key,omitempty"`
	Pos         Pos    `json:"-"`
}

// VirtualServerGroup is a virtual_server_group block: a named set of
// addresses, address ranges and firewall marks that one virtual_server
// block serves with a single set of real servers and health checkers.
type VirtualServerGroup struct {
	Name string `json:"name"`
	// Addresses are the IP entries: single addresses and ranges, in file
	// order. Every address of a range becomes one IPVS service.
	Addresses []*VSGAddress `json:"addresses,omitempty"`
	// Fwmarks are the "fwmark N [inet|inet6]" entries, in file order.
	Fwmarks []*VSGFwmark `json:"fwmarks,omitempty"`
	Pos     Pos          `json:"-"`

	hadEntries bool // lines were written, valid or not
}

// VSGAddress is one address entry of a virtual server group. First and
// Last are equal for a single address; a range (keepalived's
// 198.18.0.1-10, 198.18.0.250-198.18.1.10 or 198.18.0.8/29 forms, and
// their IPv6 equivalents) spans First to Last inclusive.
type VSGAddress struct {
	First netip.Addr `json:"first"`
	Last  netip.Addr `json:"last"`
	// Port is the service port; 0 means none (persistent services only).
	Port uint16 `json:"port,omitempty"`
	// Text is the entry as written, for messages.
	Text string `json:"text"`
	Pos  Pos    `json:"-"`
}

// VSGFwmark is a firewall-mark entry of a virtual server group. Family is
// needed only when every real server is tunnelled, since the mark alone
// does not say whether IPv4 or IPv6 packets are meant.
type VSGFwmark struct {
	Mark   uint32 `json:"fwmark"`
	Family string `json:"family,omitempty"` // "inet" or "inet6"
	Pos    Pos    `json:"-"`
}

// Tunnel holds the encapsulation options of "lvs_method TUN": keepalived's
// default is plain IP-in-IP; GUE (Linux 5.2+) needs a UDP port; GRE and
// GUE can carry checksums (Linux 5.3+).
type Tunnel struct {
	Type     string `json:"type"`               // ipip, gue or gre
	Port     uint16 `json:"port,omitempty"`     // GUE destination port
	Checksum string `json:"checksum,omitempty"` // nocsum, csum or remcsum (gue/gre)
}

// VirtualServer is a virtual_server block: one IPVS service (or, for a
// group, one per group entry), its scheduling and persistence, the quorum
// logic and the real servers with their health checkers.
//
// Exactly one of Address, Fwmark and Group is set. After loading, every
// field holds the effective value: keepalived's defaults are filled in
// where the file says nothing.
type VirtualServer struct {
	// Address and Port identify an address-based service; Port 0 (none)
	// is only valid for persistent services.
	Address netip.Addr `json:"address,omitzero"`
	Port    uint16     `json:"port,omitempty"`
	// Fwmark identifies a firewall-mark service.
	Fwmark uint32 `json:"fwmark,omitempty"`
	// Group names the virtual_server_group this block serves.
	Group string `json:"group,omitempty"`

	// IPFamily is the service's address family, "inet" or "inet6":
	// from the address, ip_family, or keepalived's rules for fwmark
	// services (the family of the real servers). Empty only for a group
	// with both IPv4 and IPv6 entries.
	IPFamily string `json:"ip_family,omitempty"`
	// Protocol is TCP, UDP or SCTP; empty for firewall-mark services,
	// where IPVS ignores it. keepalived defaults it to UDP (with a
	// warning) for address-based services.
	Protocol string `json:"protocol,omitempty"`

	// Sched is the IPVS scheduler (lvs_sched, alias lb_algo); keepalived's
	// default is wlc.
	Sched string `json:"lvs_sched"`
	// Scheduler flags (ipvsadm -b): flag-1..3 generic, sh-port and
	// sh-fallback for sh, mh-port and mh-fallback for mh.
	Flag1      bool `json:"flag-1,omitempty"`
	Flag2      bool `json:"flag-2,omitempty"`
	Flag3      bool `json:"flag-3,omitempty"`
	SHPort     bool `json:"sh-port,omitempty"`
	SHFallback bool `json:"sh-fallback,omitempty"`
	MHPort     bool `json:"mh-port,omitempty"`
	MHFallback bool `json:"mh-fallback,omitempty"`
	// OPS is one-packet scheduling (ipvsadm -o), UDP only.
	OPS bool `json:"ops,omitempty"`

	// Method is the default forwarding method of the real servers and
	// sorry server: NAT (keepalived's default), DR or TUN (lvs_method,
	// alias lb_kind).
	Method string  `json:"lvs_method"`
	Tunnel *Tunnel `json:"tunnel,omitempty"`

	// PersistenceTimeout, when non-zero, makes the service persistent;
	// keepalived's value for a bare persistence_timeout is 6 minutes.
	PersistenceTimeout Duration `json:"persistence_timeout,omitempty"`
	// PersistenceGranularity is the persistence netmask (ipvsadm -M): a
	// dotted netmask for IPv4 services, a prefix length for IPv6 ones.
	PersistenceGranularity string `json:"persistence_granularity,omitempty"`
	// PersistenceEngine names an IPVS persistence engine (e.g. sip).
	PersistenceEngine string `json:"persistence_engine,omitempty"`

	// HASuspend suspends the checkers while the service address is not
	// configured on this host (address-based services only).
	HASuspend bool `json:"ha_suspend,omitempty"`
	// Virtualhost is the default Host header of HTTP_GET/SSL_GET checks.
	Virtualhost string `json:"virtualhost,omitempty"`
	// Alpha starts every real server as failed until its checkers pass;
	// Omega runs the quorum_down and notify_down scripts at shutdown.
	Alpha bool `json:"alpha,omitempty"`
	Omega bool `json:"omega,omitempty"`
	// Quorum is the minimum total weight of live real servers for the
	// service to be "up" (default 1); Hysteresis dampens flapping around
	// it (default 0).
	Quorum     uint32  `json:"quorum"`
	Hysteresis uint32  `json:"hysteresis"`
	QuorumUp   *Script `json:"quorum_up,omitempty"`
	QuorumDown *Script `json:"quorum_down,omitempty"`
	// SMTPAlert, when set, overrides global_defs' choice of whether
	// quorum changes send e-mail (default: no, unless global smtp_alert
	// or smtp_alert_checker says otherwise).
	SMTPAlert *bool `json:"smtp_alert,omitempty"`

	// Defaults inherited by real servers and, through them, checkers.
	Weight           int       `json:"weight"`
	InhibitOnFailure bool      `json:"inhibit_on_failure,omitempty"`
	DelayLoop        Duration  `json:"delay_loop"`
	ConnectTimeout   Duration  `json:"connect_timeout"`
	Retry            *uint32   `json:"retry,omitempty"`
	DelayBeforeRetry *Duration `json:"delay_before_retry,omitempty"`
	Warmup           *Duration `json:"warmup,omitempty"`

	// SorryServer replaces all real servers while the quorum is lost.
	SorryServer *SorryServer  `json:"sorry_server,omitempty"`
	RealServers []*RealServer `json:"real_server,omitempty"`

	Pos Pos `json:"-"`

	// Read state, for checks once the whole block is known.
	groupPos           Pos   // the NAME of virtual_server group NAME
	sorryInhibit       *node // sorry_server_inhibit
	sorryMethod        *node // sorry_server_lvs_method
	sorryMethodVal     string
	sorryTunnel        *Tunnel
	protocolSet        bool // written, valid or not
	protocolNode       *node
	schedSet           bool // written, valid or not
	methodSet          bool // written, valid or not
	realServersWritten int  // real_server blocks, valid or not
	ipFamilySet        *node
	granularityFamily  string // "inet" (netmask) or "inet6" (length)
	granularityNode    *node
	flagNodes          map[string]*node
	haSuspendNode      *node
	quorumNode         *node
	hysteresisNode     *node
}

// SorryServer is the server IPVS is given while the quorum is lost.
type SorryServer struct {
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port,omitempty"`
	// Inhibit (sorry_server_inhibit) sets the sorry server's weight to 0
	// instead of removing it when it is taken out.
	Inhibit bool `json:"sorry_server_inhibit,omitempty"`
	// Method (sorry_server_lvs_method) defaults to the virtual server's.
	Method string  `json:"sorry_server_lvs_method"`
	Tunnel *Tunnel `json:"tunnel,omitempty"`
	Pos    Pos     `json:"-"`
}

// RealServer is a real_server block: one IPVS destination and the checkers
// that decide whether it is in service. Fields hold effective values after
// loading, inherited from the virtual server where the block is silent.
type RealServer struct {
	Address netip.Addr `json:"address"`
	// Port is the destination port; for NAT it defaults to the virtual
	// server's port, for DR and TUN it must equal it (fwmark: none).
	Port uint16 `json:"port,omitempty"`
	// Weight is the IPVS weight, 0 to 2147483647 (default: the virtual
	// server's weight, 1).
	Weight int     `json:"weight"`
	Method string  `json:"lvs_method"`
	Tunnel *Tunnel `json:"tunnel,omitempty"`
	// InhibitOnFailure sets the weight to 0 instead of removing the
	// server when its checkers fail.
	InhibitOnFailure bool    `json:"inhibit_on_failure,omitempty"`
	NotifyUp         *Script `json:"notify_up,omitempty"`
	NotifyDown       *Script `json:"notify_down,omitempty"`
	// UThreshold and LThreshold are IPVS connection limits (0: none).
	UThreshold uint32 `json:"uthreshold,omitempty"`
	LThreshold uint32 `json:"lthreshold,omitempty"`
	// SMTPAlert, when set, overrides whether state changes send e-mail
	// (keepalived's default: yes, unless global smtp_alert or
	// smtp_alert_checker says otherwise).
	SMTPAlert   *bool  `json:"smtp_alert,omitempty"`
	Virtualhost string `json:"virtualhost,omitempty"`
	Alpha       bool   `json:"alpha,omitempty"`
	// Defaults for this server's checkers.
	DelayLoop        Duration  `json:"delay_loop"`
	ConnectTimeout   Duration  `json:"connect_timeout"`
	Retry            *uint32   `json:"retry,omitempty"`
	DelayBeforeRetry *Duration `json:"delay_before_retry,omitempty"`
	Warmup           *Duration `json:"warmup,omitempty"`

	Checkers []*Checker `json:"checkers,omitempty"`
	Pos      Pos        `json:"-"`

	// Read state, for checks once the whole block is known.
	weightSet, alphaSet, inhibitSet bool
	delayLoopSet, connectTimeoutSet bool
	lthresholdNode                  *node
}

// Kind says which of the three virtual_server forms this is.
func (vs *VirtualServer) Kind() string {
	switch {
	case vs.Group != "":
		return "group"
	case vs.Fwmark != 0:
		return "fwmark"
	}
	return "address"
}

// String names the virtual server the way messages refer to it.
func (vs *VirtualServer) String() string {
	switch vs.Kind() {
	case "group":
		return "group " + vs.Group
	case "fwmark":
		return "fwmark " + strconv.FormatUint(uint64(vs.Fwmark), 10)
	}
	return lvsHostPort(vs.Address, vs.Port)
}

// ID names the virtual_server block in messages between subsystems
// (checkd's real-server verdicts, lvsd's tables): String plus the protocol
// for address-based services and groups, since keepalived allows the same
// address and port once per protocol.
func (vs *VirtualServer) ID() string {
	if vs.Protocol != "" && vs.Kind() != "fwmark" {
		return vs.String() + " " + vs.Protocol
	}
	return vs.String()
}

func newVirtualServer(pos Pos) *VirtualServer {
	return &VirtualServer{
		Quorum:         1,
		Weight:         1,
		DelayLoop:      Duration(60 * time.Second),
		ConnectTimeout: Duration(5 * time.Second),
		Pos:            pos,
	}
}

func lvsKeywords() []*Keyword {
	return []*Keyword{
		sslKeyword(),
		vsgKeyword(),
		virtualServerKeyword(),
	}
}

func validateLVS(c *ctx) {
	lvsValidate(c)
}

// ---- SSL ----------------------------------------------------------------

func sslKeyword() *Keyword {
	file := func(name, args, doc string, set func(s *SSLConfig, v string)) *Keyword {
		return &Keyword{Name: name, Args: args, Doc: doc,
			apply: on(func(c *ctx, n *node, s *SSLConfig) {
				if v, ok := c.lvsText(n); ok {
					set(s, v)
				}
			})}
	}
	blk := newBlock("SSL", "TLS client context of SSL_GET checkers (keepalived generates one when the block is empty or absent).",
		file("password", "<STRING>", "password of the private key file", func(s *SSLConfig, v string) { s.Password = v }),
		file("ca", "<FILE>", "CA certificate file", func(s *SSLConfig, v string) { s.CA = v }),
		file("certificate", "<FILE>", "client certificate file presented to real servers", func(s *SSLConfig, v string) { s.Certificate = v }),
		file("key", "<FILE>", "private key file of the client certificate", func(s *SSLConfig, v string) { s.Key = v }),
	)
	return &Keyword{
		Name:          "SSL",
		Args:          "{ ... }",
		Default:       "auto-generated context",
		Doc:           "TLS client context for SSL_GET checkers",
		Block:         blk,
		BlockOptional: true,
		apply: opens(func(c *ctx, n *node, cfg *Config) *SSLConfig {
			c.nargs(n, 0, 0)
			if cfg.SSL != nil {
				c.d.warnf(n.pos(), "keep one SSL block", "SSL block given twice (first at line %d); the later one replaces it, as in keepalived", cfg.SSL.Pos.Line)
			}
			cfg.SSL = &SSLConfig{Pos: n.pos()}
			return cfg.SSL
		}),
	}
}

// ---- virtual_server_group -------------------------------------------------

func vsgKeyword() *Keyword {
	blk := newBlock("virtual_server_group", "Addresses, address ranges and firewall marks served by one virtual_server group NAME block.")
	blk.ItemSyntax = "<IPADDR>[-<END>|/<LEN>] [<PORT>] | fwmark <INTEGER> [inet|inet6]"
	blk.Item = func(c *ctx, n *node, target any) {
		g, ok := target.(*VirtualServerGroup)
		if !ok {
			return
		}
		g.hadEntries = true
		if n.name() == "fwmark" {
			vsgFwmark(c, n, g)
			return
		}
		vsgAddress(c, n, g)
	}
	return &Keyword{
		Name:  "virtual_server_group",
		Args:  "<NAME> { ... }",
		Doc:   "names a set of virtual addresses, ranges and fwmarks for `virtual_server group NAME`",
		Block: blk,
		Multi: true,
		apply: opens(func(c *ctx, n *node, cfg *Config) *VirtualServerGroup {
			g := &VirtualServerGroup{Pos: n.pos()}
			if c.nargs(n, 1, 1) {
				g.Name = n.words[1].text
				cfg.VirtualServerGroups = append(cfg.VirtualServerGroups, g)
			}
			return g
		}),
	}
}

func vsgFwmark(c *ctx, n *node, g *VirtualServerGroup) {
	if !c.nargs(n, 1, 2) {
		return
	}
	mark, ok := c.intTok("fwmark", n.words[1], 1, lvsUintMax)
	if !ok {
		return
	}
	e := &VSGFwmark{Mark: uint32(mark), Pos: n.pos()}
	if len(n.words) == 3 {
		f, ok := c.lvsExact("fwmark family", n.words[2], "inet", "inet6")
		if !ok {
			return
		}
		e.Family = f
	}
	g.Fwmarks = append(g.Fwmarks, e)
}

// vsgAddress reads "ADDR [PORT]", "ADDR-LAST [PORT]" (last octet, or last
// 16-bit group in hex for IPv6), "ADDR-ADDR [PORT]" and "ADDR/LEN [PORT]".
func vsgAddress(c *ctx, n *node, g *VirtualServerGroup) {
	if len(n.words) > 2 {
		c.d.errorf(n.words[2].pos, "syntax: <IPADDR>[-<END>|/<LEN>] [<PORT>] or fwmark <INTEGER> [inet|inet6]",
			"virtual_server_group entry takes an address and at most a port")
		return
	}
	t := n.words[0]
	e := &VSGAddress{Text: t.text, Pos: t.pos}
	if len(n.words) == 2 {
		p, ok := c.portTok("virtual_server_group port", n.words[1])
		if !ok {
			return
		}
		e.Port = p
	}
	bad := func(hint, format string, args ...any) {
		c.d.errorf(t.pos, hint, format, args...)
	}
	s := t.text
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Bits() == 0 {
			bad("write ADDRESS/LENGTH with a length of 1 or more, e.g. 198.18.0.8/29", "virtual_server_group: %q is not a valid address block", s)
			return
		}
		if p.Masked() != p {
			bad(fmt.Sprintf("write the block's first address: %s", p.Masked()), "virtual_server_group: %q has host bits set", s)
			return
		}
		e.First = p.Addr().Unmap()
		e.Last = lvsLastAddr(p)
	case strings.Contains(s, "-"):
		i := strings.Index(s, "-")
		first, err := netip.ParseAddr(s[:i])
		if err != nil {
			bad("write an address range like 198.18.0.1-10 or 198.18.0.1-198.18.0.20", "virtual_server_group: %q does not start with an IP address", s)
			return
		}
		first = first.Unmap()
		end := s[i+1:]
		var last netip.Addr
		if (first.Is4() && strings.Contains(end, ".")) || (first.Is6() && strings.Contains(end, ":")) {
			l, err := netip.ParseAddr(end)
			if err != nil {
				bad("write an address range like 198.18.0.1-198.18.0.20", "virtual_server_group: range end %q is not an IP address", end)
				return
			}
			last = l.Unmap()
			if last.Is4() != first.Is4() {
				bad("both ends of a range must be IPv4 or both IPv6", "virtual_server_group: range %q mixes address families", s)
				return
			}
			if last.Less(first) {
				bad("write the lower address first", "virtual_server_group: range %q ends before it starts", s)
				return
			}
		} else {
			// keepalived's short form: the end replaces the last octet
			// (decimal) or the last 16-bit group (hex).
			base, limit := 10, uint64(255)
			if first.Is6() {
				base, limit = 16, 0xffff
			}
			v, err := strconv.ParseUint(end, base, 32)
			if err != nil || v > limit {
				what := "a decimal last octet 0-255"
				if first.Is6() {
					what = "a hex last group 0-ffff"
				}
				bad(fmt.Sprintf("the range end is %s, e.g. 198.18.0.1-10", what), "virtual_server_group: bad range end %q in %q", end, s)
				return
			}
			b := first.AsSlice()
			var start uint64
			if first.Is4() {
				start = uint64(b[3])
				b[3] = byte(v)
			} else {
				start = uint64(b[14])<<8 | uint64(b[15])
				b[14], b[15] = byte(v>>8), byte(v)
			}
			if start >= v {
				bad("the range end must be greater than the start's last part", "virtual_server_group: range %q ends before or where it starts", s)
				return
			}
			last, _ = netip.AddrFromSlice(b)
		}
		e.First, e.Last = first, last
	default:
		a, ok := c.addrTok("virtual_server_group", t)
		if !ok {
			return
		}
		e.First, e.Last = a, a
	}
	g.Addresses = append(g.Addresses, e)
}

// lvsLastAddr is the last address of a prefix.
func lvsLastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ---- virtual_server ----------------------------------------------------------

func virtualServerKeyword() *Keyword {
	sched := &Keyword{Name: "lvs_sched", Args: "rr|wrr|lc|wlc|lblc|lblcr|sh|mh|dh|fo|ovf|sed|nq", Default: "wlc",
		Doc: "IPVS scheduler", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			vs.schedSet = true
			if !c.nargs(n, 1, 1) {
				return
			}
			if v, ok := c.lvsExact("lvs_sched", n.words[1], lvsSchedulers...); ok {
				vs.Sched = v
			}
		})}
	method := &Keyword{Name: "lvs_method", Args: "NAT|DR|TUN [type ipip|gue port <PORT>|gre] [nocsum|csum|remcsum]", Default: "NAT",
		Doc: "default forwarding method of the real servers", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			vs.methodSet = true
			if m, tun, ok := c.lvsMethod(n); ok {
				vs.Method, vs.Tunnel = m, tun
			} else if vs.Method == "" {
				vs.Method = "NAT"
			}
		})}
	flagKw := func(name, doc string, set func(vs *VirtualServer) *bool) *Keyword {
		return &Keyword{Name: name, Doc: doc, apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			*set(vs) = c.flag(n)
			if vs.flagNodes == nil {
				vs.flagNodes = map[string]*node{}
			}
			vs.flagNodes[name] = n
		})}
	}
	kws := []*Keyword{
		{Name: "ip_family", Args: "inet|inet6", Default: "family of the address or real servers",
			Doc: "address family of a fwmark service whose real servers are all tunnelled",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if !c.nargs(n, 1, 1) {
					return
				}
				if f, ok := c.lvsExact("ip_family", n.words[1], "inet", "inet6"); ok {
					vs.IPFamily, vs.ipFamilySet = f, n
				}
			})},
		vsRetry(), vsDelayBeforeRetry(), vsWarmup(), vsConnectTimeout(), vsDelayLoop(),
		{Name: "inhibit_on_failure", Default: "off", Doc: "default for real servers: set weight 0 instead of removing a failed server",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { vs.InhibitOnFailure = c.flag(n) })},
		sched,
		alias("lb_algo", sched),
		accepted("hashed", "", "obsolete IPVS flag: keepalived ignores it (and reports an error unless lvs_sched is sh)"),
		flagKw("ops", "one-packet scheduling for UDP (ipvsadm -o)", func(vs *VirtualServer) *bool { return &vs.OPS }),
		flagKw("flag-1", "scheduler flag 1 (ipvsadm -b flag-1)", func(vs *VirtualServer) *bool { return &vs.Flag1 }),
		flagKw("flag-2", "scheduler flag 2 (ipvsadm -b flag-2)", func(vs *VirtualServer) *bool { return &vs.Flag2 }),
		flagKw("flag-3", "scheduler flag 3 (ipvsadm -b flag-3)", func(vs *VirtualServer) *bool { return &vs.Flag3 }),
		flagKw("sh-port", "sh scheduler: hash the source port too", func(vs *VirtualServer) *bool { return &vs.SHPort }),
		flagKw("sh-fallback", "sh scheduler: fall back to another server when the chosen one is unavailable", func(vs *VirtualServer) *bool { return &vs.SHFallback }),
		flagKw("mh-port", "mh scheduler: hash the source port too", func(vs *VirtualServer) *bool { return &vs.MHPort }),
		flagKw("mh-fallback", "mh scheduler: fall back to another server when the chosen one is unavailable", func(vs *VirtualServer) *bool { return &vs.MHFallback }),
		method,
		alias("lb_kind", method),
		{Name: "persistence_engine", Args: "<NAME>", Doc: "IPVS persistence engine (e.g. sip)",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if v, ok := c.str(n); ok {
					vs.PersistenceEngine = v
				}
			})},
		{Name: "persistence_timeout", Args: "[<SECONDS 1-2678400>]", Default: "none; 360 when given without a value",
			Doc: "makes the service persistent for this many seconds", apply: on(vsPersistenceTimeout)},
		{Name: "persistence_granularity", Args: "<NETMASK>|<PREFIXLEN 1-128>", Default: "255.255.255.255 (per client address)",
			Doc: "persistence netmask (ipvsadm -M): a netmask for IPv4 services, a prefix length for IPv6", apply: on(vsGranularity)},
		{Name: "protocol", Args: "TCP|UDP|SCTP", Default: "UDP (with a warning) for address services",
			Doc: "transport protocol of the service", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				vs.protocolSet, vs.protocolNode = true, n
				if !c.nargs(n, 1, 1) {
					return
				}
				if v, ok := c.enumTok("protocol", n.words[1], "TCP", "UDP", "SCTP"); ok {
					vs.Protocol = v
				}
			})},
		{Name: "ha_suspend", Default: "off", Doc: "suspend checkers while the virtual address is not on this host",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { vs.HASuspend = c.flag(n); vs.haSuspendNode = n })},
		{Name: "smtp_alert", Args: "[<BOOL>]", Default: "global smtp_alert_checker / smtp_alert, else off",
			Doc: "e-mail on quorum changes", apply: on(func(c *ctx, n *node, vs *VirtualServer) { vs.SMTPAlert = lvsBoolPtr(c.flag(n)) })},
		{Name: "virtualhost", Args: "<HOST>", Doc: "default Host header of HTTP_GET/SSL_GET checks",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if v, ok := c.lvsText(n); ok {
					vs.Virtualhost = v
				}
			})},
		accepted("snmp_name", "<STRING>", "SNMP is not implemented; the name only labels SNMP output"),
		{Name: "alpha", Default: "off", Doc: "start real servers as failed until their checkers succeed",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { vs.Alpha = c.flag(n) })},
		{Name: "omega", Default: "off", Doc: "run quorum_down and notify_down scripts at shutdown",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { vs.Omega = c.flag(n) })},
		{Name: "quorum_up", Args: "<SCRIPT> [<USER> [<GROUP>]]", Multi: true, Doc: "script run when the quorum is gained",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { lvsOnceScript(c, n, &vs.QuorumUp) })},
		{Name: "quorum_down", Args: "<SCRIPT> [<USER> [<GROUP>]]", Multi: true, Doc: "script run when the quorum is lost",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) { lvsOnceScript(c, n, &vs.QuorumDown) })},
		{Name: "quorum", Args: "<1-4294967295>", Default: "1", Doc: "minimum total weight of live real servers",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if v, ok := c.lvsUint(n, 1, lvsUintMax); ok {
					vs.Quorum, vs.quorumNode = v, n
				}
			})},
		{Name: "hysteresis", Args: "<0-4294967295>", Default: "0", Doc: "weight tolerance around the quorum before changing state",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if v, ok := c.lvsUint(n, 0, lvsUintMax); ok {
					vs.Hysteresis, vs.hysteresisNode = v, n
				}
			})},
		{Name: "weight", Args: "<1-2147483647>", Default: "1", Doc: "default weight of the real servers",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if v, ok := c.lvsUint(n, 1, lvsWeightMax); ok {
					vs.Weight = int(v)
				}
			})},
		{Name: "sorry_server", Args: "<IPADDR> [<PORT>]", Doc: "server used while the quorum is lost",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				a, p, ok := c.lvsAddrPort(n)
				if !ok {
					return
				}
				vs.SorryServer = &SorryServer{Address: a, Port: p, Pos: n.pos()}
			})},
		{Name: "sorry_server_inhibit", Args: "[<BOOL>]", Default: "off", Doc: "inhibit_on_failure behaviour for the sorry server",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if c.flag(n) {
					vs.sorryInhibit = n
				} else {
					vs.sorryInhibit = nil
				}
			})},
		{Name: "sorry_server_lvs_method", Args: "NAT|DR|TUN [type ipip|gue port <PORT>|gre] [nocsum|csum|remcsum]",
			Default: "the virtual server's lvs_method", Doc: "forwarding method of the sorry server",
			apply: on(func(c *ctx, n *node, vs *VirtualServer) {
				if m, tun, ok := c.lvsMethod(n); ok {
					vs.sorryMethod, vs.sorryMethodVal, vs.sorryTunnel = n, m, tun
				}
			})},
		realServerKeyword(),
	}
	return &Keyword{
		Name:  "virtual_server",
		Args:  "<IPADDR> [<PORT>] | fwmark <INTEGER> | group <NAME> { ... }",
		Doc:   "an IPVS virtual service with its real servers and health checkers",
		Block: newBlock("virtual_server", "One IPVS virtual service: scheduling, persistence, quorum, sorry server and real servers.", kws...),
		Multi: true,
		apply: opens(openVirtualServer),
	}
}

func openVirtualServer(c *ctx, n *node, cfg *Config) *VirtualServer {
	vs := newVirtualServer(n.pos())
	valid := false
	switch {
	case len(n.words) < 2:
		c.nargs(n, 1, 2)
	case n.words[1].text == "fwmark":
		if len(n.words) != 3 {
			c.d.errorf(n.pos(), "syntax: virtual_server fwmark <1-4294967295> { ... }", "virtual_server fwmark needs exactly one mark")
			break
		}
		if v, ok := c.intTok("virtual_server fwmark", n.words[2], 1, lvsUintMax); ok {
			vs.Fwmark, valid = uint32(v), true
		}
	case n.words[1].text == "group":
		if len(n.words) != 3 {
			c.d.errorf(n.pos(), "syntax: virtual_server group <NAME> { ... }", "virtual_server group needs exactly one group name")
			break
		}
		vs.Group, vs.groupPos, valid = n.words[2].text, n.words[2].pos, true
	default:
		if a, p, ok := c.lvsAddrPort(n); ok {
			vs.Address, vs.Port, valid = a, p, true
			vs.IPFamily = lvsFamily(a)
		}
	}
	if valid {
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	// An unusable header still has its body read, detached from the
	// model, so every mistake in it is reported in one run.
	return vs
}

func vsPersistenceTimeout(c *ctx, n *node, vs *VirtualServer) {
	if len(n.words) == 1 {
		vs.PersistenceTimeout = Duration(lvsDefaultPersist * time.Second)
		return
	}
	if !c.nargs(n, 0, 1) {
		return
	}
	v, err := strconv.ParseInt(n.words[1].text, 10, 64)
	if err == nil && v == 0 {
		// keepalived rejects 0 and leaves the service non-persistent,
		// which is what the line means; real configurations write it.
		c.d.warnf(n.words[1].pos, "remove the line: a service is not persistent unless persistence_timeout is set",
			"persistence_timeout 0 is ignored (keepalived reports it invalid); the service is not persistent")
		vs.PersistenceTimeout = 0
		return
	}
	t, ok := c.intTok("persistence_timeout", n.words[1], 1, lvsMaxPersistence)
	if ok {
		vs.PersistenceTimeout = Duration(time.Duration(t) * time.Second)
	}
}

func vsGranularity(c *ctx, n *node, vs *VirtualServer) {
	if !c.nargs(n, 1, 1) {
		return
	}
	t := n.words[1]
	if strings.Contains(t.text, ".") {
		a, err := netip.ParseAddr(t.text)
		if err != nil || !a.Is4() {
			c.d.errorf(t.pos, "write an IPv4 netmask such as 255.255.255.0", "persistence_granularity: %q is not an IPv4 netmask", t.text)
			return
		}
		vs.PersistenceGranularity, vs.granularityFamily = a.String(), "inet"
		b := a.As4()
		m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		// A netmask is 1...10...0: its complement plus one is a power of
		// two. keepalived, ipvsadm and the kernel accept any value.
		if inv := ^m; inv&(inv+1) != 0 {
			c.d.warnf(t.pos, "use a contiguous netmask such as 255.255.255.0",
				"persistence_granularity %s is not a contiguous netmask; IPVS accepts it but it groups clients oddly", t.text)
		}
	} else {
		v, ok := c.intTok("persistence_granularity", t, 1, 128)
		if !ok {
			return
		}
		vs.PersistenceGranularity, vs.granularityFamily = strconv.Itoa(int(v)), "inet6"
	}
	vs.granularityNode = n
}

// lvsOnceScript sets a notify script that keepalived only takes once: a
// repeat is ignored, with a warning.
func lvsOnceScript(c *ctx, n *node, dst **Script) {
	s, ok := c.script(n)
	if !ok {
		return
	}
	if *dst != nil {
		c.d.errorf(n.pos(), "delete one of them", "%s already given at line %d; keepalived would ignore this one", n.name(), (*dst).Pos.Line)
		return
	}
	*dst = s
}

// lvsMethod reads "NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]".
func (c *ctx) lvsMethod(n *node) (string, *Tunnel, bool) {
	if !c.nargs(n, 1, -1) {
		return "", nil, false
	}
	m, ok := c.lvsExact(n.name(), n.words[1], "NAT", "DR", "TUN")
	if !ok {
		return "", nil, false
	}
	if m != "TUN" {
		if len(n.words) > 2 {
			c.d.errorf(n.words[2].pos, "tunnel options only follow TUN", "%s %s takes no options", n.name(), m)
			return "", nil, false
		}
		return m, nil, true
	}
	tun := &Tunnel{Type: "ipip"}
	var portTok, csumTok *token
	for i := 2; i < len(n.words); i++ {
		w := n.words[i]
		switch w.text {
		case "type":
			if i+1 >= len(n.words) {
				c.d.errorf(w.pos, "write: type ipip|gue|gre", "%s: missing tunnel type", n.name())
				return "", nil, false
			}
			i++
			v, ok := c.lvsExact("tunnel type", n.words[i], "ipip", "gue", "gre")
			if !ok {
				return "", nil, false
			}
			tun.Type = v
		case "port":
			if i+1 >= len(n.words) {
				c.d.errorf(w.pos, "write: port <1-65535>", "%s: missing tunnel port", n.name())
				return "", nil, false
			}
			i++
			v, ok := c.intTok("tunnel port", n.words[i], 1, 65535)
			if !ok {
				return "", nil, false
			}
			tun.Port, portTok = uint16(v), &n.words[i-1]
		case "nocsum", "csum", "remcsum":
			tun.Checksum, csumTok = w.text, &n.words[i]
		default:
			c.d.errorf(w.pos, "TUN options: type ipip|gue|gre, port <PORT>, nocsum|csum|remcsum", "%s: unknown tunnel option %q", n.name(), w.text)
			return "", nil, false
		}
	}
	switch {
	case tun.Type == "gue" && tun.Port == 0:
		c.d.errorf(n.pos(), "add: port <PORT> (the GUE receiver's UDP port)", "%s: a gue tunnel needs a port", n.name())
		return "", nil, false
	case tun.Type != "gue" && portTok != nil:
		c.d.errorf(portTok.pos, "only gue tunnels take a port", "%s: %s tunnels take no port", n.name(), tun.Type)
		return "", nil, false
	case tun.Type == "ipip" && csumTok != nil && tun.Checksum != "nocsum":
		c.d.errorf(csumTok.pos, "checksums need type gue or gre", "%s: ipip tunnels do not support %s", n.name(), tun.Checksum)
		return "", nil, false
	case tun.Type == "gre" && tun.Checksum == "remcsum":
		c.d.errorf(csumTok.pos, "use csum or nocsum with gre", "%s: gre tunnels do not support remcsum", n.name())
		return "", nil, false
	}
	if tun.Type != "ipip" && tun.Checksum == "" {
		tun.Checksum = "nocsum"
	}
	if tun.Type == "ipip" {
		tun.Checksum = ""
	}
	return m, tun, true
}

// Timer and retry defaults shared by virtual_server and real_server.

func vsRetry() *Keyword {
	return &Keyword{Name: "retry", Args: "<1-4294967295>", Default: "checker's (1; DNS_CHECK 3; MISC_CHECK 0)",
		Doc: "default retry count of the checkers", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			if v, ok := c.lvsUint(n, 1, lvsUintMax); ok {
				vs.Retry = &v
			}
		})}
}

func vsDelayBeforeRetry() *Keyword {
	return &Keyword{Name: "delay_before_retry", Args: "<SECONDS>", Default: "checker's (HTTP/SSL 3s; DNS delay_loop; others 1s)",
		Doc: "default delay between checker retries", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
				vs.DelayBeforeRetry = &v
			}
		})}
}

func vsWarmup() *Keyword {
	return &Keyword{Name: "warmup", Args: "<SECONDS>", Default: "delay_loop",
		Doc: "default maximum random delay before a checker's first run (0: none)", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
				vs.Warmup = &v
			}
		})}
}

func vsConnectTimeout() *Keyword {
	return &Keyword{Name: "connect_timeout", Args: "<SECONDS>", Default: "5",
		Doc: "default connection timeout of the checkers", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			if v, ok := c.lvsTimer(n, lvsTimerMin, lvsConnTimeoutMax); ok {
				vs.ConnectTimeout = v
			}
		})}
}

func vsDelayLoop() *Keyword {
	return &Keyword{Name: "delay_loop", Args: "<SECONDS>", Default: "60",
		Doc: "default interval between checks", apply: on(func(c *ctx, n *node, vs *VirtualServer) {
			if v, ok := c.lvsTimer(n, lvsTimerMin, lvsTimerMax); ok {
				vs.DelayLoop = v
			}
		})}
}

// ---- real_server ------------------------------------------------------------

func realServerKeyword() *Keyword {
	kws := []*Keyword{
		{Name: "weight", Args: "<0-2147483647>", Default: "the virtual server's weight (1)", Doc: "IPVS weight of the server",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsUint(n, 0, lvsWeightMax); ok {
					rs.Weight, rs.weightSet = int(v), true
				}
			})},
		{Name: "lvs_method", Args: "NAT|DR|TUN [type ipip|gue port <PORT>|gre] [nocsum|csum|remcsum]",
			Default: "the virtual server's lvs_method", Doc: "forwarding method of this server",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if m, tun, ok := c.lvsMethod(n); ok {
					rs.Method, rs.Tunnel = m, tun
				}
			})},
		{Name: "uthreshold", Args: "<0-4294967295>", Default: "0 (no limit)", Doc: "maximum number of connections to the server",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsUint(n, 0, lvsUintMax); ok {
					rs.UThreshold = v
				}
			})},
		{Name: "lthreshold", Args: "<0-4294967295>", Default: "0", Doc: "connection count below which an overloaded server is used again",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsUint(n, 0, lvsUintMax); ok {
					rs.LThreshold, rs.lthresholdNode = v, n
				}
			})},
		{Name: "inhibit_on_failure", Args: "[<BOOL>]", Default: "the virtual server's setting (off)",
			Doc:   "set weight 0 instead of removing the server when it fails",
			apply: on(func(c *ctx, n *node, rs *RealServer) { rs.InhibitOnFailure, rs.inhibitSet = c.flag(n), true })},
		{Name: "notify_up", Args: "<SCRIPT> [<USER> [<GROUP>]]", Multi: true, Doc: "script run when the server comes up",
			apply: on(func(c *ctx, n *node, rs *RealServer) { lvsOnceScript(c, n, &rs.NotifyUp) })},
		{Name: "notify_down", Args: "<SCRIPT> [<USER> [<GROUP>]]", Multi: true, Doc: "script run when the server goes down",
			apply: on(func(c *ctx, n *node, rs *RealServer) { lvsOnceScript(c, n, &rs.NotifyDown) })},
		{Name: "alpha", Args: "[<BOOL>]", Default: "the virtual server's alpha (off)", Doc: "start the server as failed until its checkers succeed",
			apply: on(func(c *ctx, n *node, rs *RealServer) { rs.Alpha, rs.alphaSet = c.flag(n), true })},
		{Name: "retry", Args: "<1-4294967295>", Default: "the virtual server's retry", Doc: "default retry count of this server's checkers",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsUint(n, 1, lvsUintMax); ok {
					rs.Retry = &v
				}
			})},
		{Name: "delay_before_retry", Args: "<SECONDS>", Default: "the virtual server's delay_before_retry", Doc: "default delay between retries of this server's checkers",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
					rs.DelayBeforeRetry = &v
				}
			})},
		{Name: "warmup", Args: "<SECONDS>", Default: "the virtual server's warmup", Doc: "default maximum random delay before this server's first checks",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsTimer(n, 0, lvsTimerMax); ok {
					rs.Warmup = &v
				}
			})},
		{Name: "connect_timeout", Args: "<SECONDS>", Default: "the virtual server's connect_timeout (5)", Doc: "default connection timeout of this server's checkers",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsTimer(n, lvsTimerMin, lvsConnTimeoutMax); ok {
					rs.ConnectTimeout, rs.connectTimeoutSet = v, true
				}
			})},
		{Name: "delay_loop", Args: "<SECONDS>", Default: "the virtual server's delay_loop (60)", Doc: "default interval between this server's checks",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsTimer(n, lvsTimerMin, lvsTimerMax); ok {
					rs.DelayLoop, rs.delayLoopSet = v, true
				}
			})},
		{Name: "smtp_alert", Args: "[<BOOL>]", Default: "global smtp_alert_checker / smtp_alert, else on",
			Doc: "e-mail when the server changes state", apply: on(func(c *ctx, n *node, rs *RealServer) { rs.SMTPAlert = lvsBoolPtr(c.flag(n)) })},
		{Name: "virtualhost", Args: "<HOST>", Default: "the virtual server's virtualhost", Doc: "default Host header of this server's HTTP_GET/SSL_GET checks",
			apply: on(func(c *ctx, n *node, rs *RealServer) {
				if v, ok := c.lvsText(n); ok {
					rs.Virtualhost = v
				}
			})},
		accepted("snmp_name", "<STRING>", "SNMP is not implemented; the name only labels SNMP output"),
	}
	kws = append(kws, checkerKeywords()...)
	return &Keyword{
		Name:  "real_server",
		Args:  "<IPADDR> [<PORT>] { ... }",
		Doc:   "a destination of the virtual service and its health checkers",
		Block: newBlock("real_server", "One IPVS destination, its weight and forwarding method, and the checkers that decide whether it is in service.", kws...),
		Multi: true,
		apply: opens(func(c *ctx, n *node, vs *VirtualServer) *RealServer {
			rs := &RealServer{Weight: 1, Pos: n.pos()}
			vs.realServersWritten++
			if a, p, ok := c.lvsAddrPort(n); ok {
				rs.Address, rs.Port = a, p
				vs.RealServers = append(vs.RealServers, rs)
			}
			return rs
		}),
	}
}
