package config

import (
	"math"
	"net/mail"
	"net/netip"
	"os/user"
	"strings"
	"time"
)

// GlobalDefs is the global_defs block: settings shared by every subsystem
// (identity, e-mail alerts, script users) and the defaults that vrrp
// instances and the LVS director inherit. The constructor fills
// keepalived's defaults, so a dumped model shows the effective values.
type GlobalDefs struct {
	// RouterID names this machine in alerts and logs. Empty means the
	// host name, which the runtime fills in (keepalived's default); the
	// model leaves it empty so a file checked on another host reads the
	// same.
	RouterID string `json:"router_id,omitempty"`

	// NotificationEmail lists the recipients of alert e-mails.
	NotificationEmail []string `json:"notification_email,omitempty"`
	// NotificationEmailFrom is the From: of alert e-mails. Empty means
	// keepalived@<host name>, filled in by the runtime.
	NotificationEmailFrom string `json:"notification_email_from,omitempty"`
	// SMTPServer is the relay alert e-mails are sent through; nil when
	// the file names none (no e-mail is sent then).
	SMTPServer *SMTPServer `json:"smtp_server,omitempty"`
	// SMTPHeloName is the name given in HELO. Empty means the host name.
	SMTPHeloName string `json:"smtp_helo_name,omitempty"`
	// SMTPConnectTimeout bounds the connection to the SMTP server.
	SMTPConnectTimeout Duration `json:"smtp_connect_timeout"`
	// SMTPAlert, SMTPAlertVRRP and SMTPAlertChecker are the defaults for
	// the per-instance and per-checker smtp_alert switches. nil means
	// unset: keepalived distinguishes "unset" from "off" (the more
	// specific switch wins, and unset ones fall back to the general one).
	SMTPAlert        *bool `json:"smtp_alert,omitempty"`
	SMTPAlertVRRP    *bool `json:"smtp_alert_vrrp,omitempty"`
	SMTPAlertChecker *bool `json:"smtp_alert_checker,omitempty"`
	// NoEmailFaults suppresses alert e-mails for FAULT transitions.
	NoEmailFaults bool `json:"no_email_faults,omitempty"`
	// NoCheckerEmails sends checker e-mails only when a real server is
	// added or removed, not on every state change.
	NoCheckerEmails bool `json:"no_checker_emails,omitempty"`
	// CheckerLogAllFailures logs every failed check, not only the one
	// that brings a real server down.
	CheckerLogAllFailures bool `json:"checker_log_all_failures,omitempty"`

	// EnableScriptSecurity refuses to run scripts as root when any part
	// of their path is writable by another user.
	EnableScriptSecurity bool `json:"enable_script_security,omitempty"`
	// ScriptUser is the default user (and group) scripts run as. nil
	// means keepalived_script if that user exists, otherwise the user
	// Vigil runs as.
	ScriptUser *ScriptUser `json:"script_user,omitempty"`
	// StartupScript runs once before the subsystems start, and
	// ShutdownScript once after they have stopped; each is killed after
	// its timeout.
	StartupScript         *GlobalScript `json:"startup_script,omitempty"`
	StartupScriptTimeout  Duration      `json:"startup_script_timeout"`
	ShutdownScript        *GlobalScript `json:"shutdown_script,omitempty"`
	ShutdownScriptTimeout Duration      `json:"shutdown_script_timeout"`

	// MaxAutoPriority caps the real-time priority a process raises itself
	// to when its timers run late (0: never; -1: never, without the
	// start-up notice), and MinAutoPriorityDelay is how late counts as
	// late. Timely adverts are what keeps a busy master from being
	// overthrown.
	MaxAutoPriority      int      `json:"max_auto_priority"`
	MinAutoPriorityDelay Duration `json:"min_auto_priority_delay"`

	// DynamicInterfaces lets instances, addresses and routes name
	// interfaces that do not exist yet (they wait for them instead of
	// failing); AllowInterfaceChanges also tolerates an interface being
	// recreated with another type or parent.
	DynamicInterfaces     bool `json:"dynamic_interfaces,omitempty"`
	AllowInterfaceChanges bool `json:"allow_if_changes,omitempty"`
	// DefaultInterface receives static and virtual addresses and routes
	// that name no interface.
	DefaultInterface string `json:"default_interface"`
	// LogUnknownVRIDs logs adverts for VRIDs not configured on the
	// receiving interface (useful to spot VRID clashes).
	LogUnknownVRIDs bool `json:"log_unknown_vrids,omitempty"`
	// VRRPNotifyPrioChanges is the default of the instances'
	// notify_priority_changes: report priority changes to notify FIFOs.
	VRRPNotifyPrioChanges bool `json:"vrrp_notify_priority_changes,omitempty"`
	// VRRPOwnerIgnoreAdverts makes an address owner (priority 255) drop
	// the adverts it receives.
	VRRPOwnerIgnoreAdverts bool `json:"vrrp_owner_ignore_adverts,omitempty"`

	// VRRP protocol defaults, inherited by every vrrp_instance. Peers
	// must agree on the multicast groups and the version to hear each
	// other, which is why they are set once here.
	VRRPMcastGroup4 netip.Addr `json:"vrrp_mcast_group4"`
	VRRPMcastGroup6 netip.Addr `json:"vrrp_mcast_group6"`
	// VRRPVersion is 2 or 3; IPv6 instances always use 3.
	VRRPVersion int `json:"vrrp_version"`
	// VRRPStrict enforces RFC compliance (no unicast, no authentication,
	// no preempt_delay, ...): validation of the instances depends on it.
	VRRPStrict bool `json:"vrrp_strict,omitempty"`
	// VRRPSkipCheckAdvAddr skips checking the address list of an advert
	// from the same master as the previous one (saves work).
	VRRPSkipCheckAdvAddr bool `json:"vrrp_skip_check_adv_addr,omitempty"`
	// VRRPCheckUnicastSrc drops unicast adverts from unknown peers.
	VRRPCheckUnicastSrc bool `json:"vrrp_check_unicast_src,omitempty"`
	// VRRPLowerPrioNoAdvert and VRRPHigherPrioSendAdvert are the
	// instances' defaults for answering adverts of other priorities.
	VRRPLowerPrioNoAdvert    bool `json:"vrrp_lower_prio_no_advert,omitempty"`
	VRRPHigherPrioSendAdvert bool `json:"vrrp_higher_prio_send_advert,omitempty"`
	// V3ChecksumAsV2 computes VRRPv3 checksums the way old peers do, so
	// a mixed pair interoperates.
	V3ChecksumAsV2 bool `json:"v3_checksum_as_v2,omitempty"`
	// VRRPDownTimerAdverts is the default number of missed adverts
	// before a backup takes over.
	VRRPDownTimerAdverts int `json:"vrrp_down_timer_adverts"`
	// VRRPStartupDelay and VRRPDelayAfterBoot hold the instances back at
	// start (after Vigil starts, after the system boots: the longer
	// applies), for links that flap while bonds come up.
	VRRPStartupDelay   Duration `json:"vrrp_startup_delay,omitempty"`
	VRRPDelayAfterBoot Duration `json:"vrrp_delay_after_boot,omitempty"`
	// VMACPrefix and VMACAddrPrefix start the names of generated VMAC
	// interfaces.
	VMACPrefix     string `json:"vmac_prefix"`
	VMACAddrPrefix string `json:"vmac_addr_prefix"`

	// Gratuitous ARP / unsolicited NA defaults. The lower_prio values
	// default to the master values; vrrp_min_garp changes the defaults
	// of the others (see validateGlobal).
	VRRPGarpMasterDelay         Duration `json:"vrrp_garp_master_delay"`
	VRRPGarpMasterRepeat        int      `json:"vrrp_garp_master_repeat"`
	VRRPGarpMasterRefresh       Duration `json:"vrrp_garp_master_refresh"`
	VRRPGarpMasterRefreshRepeat int      `json:"vrrp_garp_master_refresh_repeat"`
	VRRPGarpLowerPrioDelay      Duration `json:"vrrp_garp_lower_prio_delay"`
	VRRPGarpLowerPrioRepeat     int      `json:"vrrp_garp_lower_prio_repeat"`
	VRRPGarpInterval            Duration `json:"vrrp_garp_interval"`
	VRRPGnaInterval             Duration `json:"vrrp_gna_interval"`
	VRRPMinGarp                 bool     `json:"vrrp_min_garp,omitempty"`

	// LVS director settings.
	LVSFlush bool `json:"lvs_flush,omitempty"`
	// LVSFlushOnStop is "" (off: each virtual and real server is removed
	// one by one), "full" (flush the whole IPVS table) or "VS" (remove
	// each virtual server, leaving the kernel to drop its real servers).
	LVSFlushOnStop string       `json:"lvs_flush_on_stop,omitempty"`
	LVSTimeouts    *LVSTimeouts `json:"lvs_timeouts,omitempty"`

	Pos Pos `json:"-"`

	// given records where the file set each keyword, for defaults that
	// depend on other settings and for diagnostics.
	given map[string]Pos
}

// SMTPServer is where alert e-mails are relayed.
type SMTPServer struct {
	// Host is an IP address or a host name, resolved when mail is sent
	// (not while reading the file, which may be checked on another host).
	Host string `json:"host"`
	Port uint16 `json:"port"`
	Pos  Pos    `json:"-"`
}

// Addr returns the server's address when Host is an IP literal.
func (s *SMTPServer) Addr() (netip.Addr, bool) {
	a, err := netip.ParseAddr(s.Host)
	return a.Unmap(), err == nil
}

// ScriptUser is a user and optional group scripts run as.
type ScriptUser struct {
	User string `json:"user"`
	// Group empty means the user's primary group.
	Group string `json:"group,omitempty"`
	// SupplementaryGroups is keepalived's ":" before the group: also set
	// the user's supplementary groups.
	SupplementaryGroups bool `json:"supplementary_groups,omitempty"`
	Pos                 Pos  `json:"-"`
}

// GlobalScript is a startup or shutdown script with the user it runs as.
type GlobalScript struct {
	Script
	RunAs *ScriptUser `json:"run_as,omitempty"`
}

// LVSTimeouts are the IPVS connection timeouts to set; zero leaves the
// kernel's value unchanged, as keepalived does.
type LVSTimeouts struct {
	TCP    Duration `json:"tcp,omitempty"`
	TCPFin Duration `json:"tcpfin,omitempty"`
	UDP    Duration `json:"udp,omitempty"`
}

// keepalived's limits for global_defs values.
const (
	globalMaxTimerSecs  = math.MaxUint32 / 1000000          // UINT_MAX / TIMER_HZ, whole seconds: 4294
	globalMaxTimerFloat = float64(math.MaxUint32) / 1000000 // the same in decimal seconds: 4294.967295
	globalMaxLVSTimeout = 31 * 24 * 3600                    // LVS_MAX_TIMEOUT: 2678400 s
)

func defaultGlobalDefs() GlobalDefs {
	return GlobalDefs{
		SMTPConnectTimeout:          Duration(30 * time.Second),
		StartupScriptTimeout:        Duration(10 * time.Second),
		ShutdownScriptTimeout:       Duration(10 * time.Second),
		MinAutoPriorityDelay:        Duration(time.Second),
		DefaultInterface:            "eth0",
		VRRPMcastGroup4:             netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:             netip.MustParseAddr("ff02::12"),
		VRRPVersion:                 2,
		VRRPDownTimerAdverts:        3,
		VMACPrefix:                  "vrrp",
		VMACAddrPrefix:              "vrrp",
		VRRPGarpMasterDelay:         Duration(5 * time.Second),
		VRRPGarpMasterRepeat:        5,
		VRRPGarpMasterRefreshRepeat: 1,
		VRRPGarpLowerPrioDelay:      Duration(5 * time.Second),
		VRRPGarpLowerPrioRepeat:     5,
	}
}

func (g *GlobalDefs) mark(n *node) {
	if g.given == nil {
		g.given = map[string]Pos{}
	}
	g.given[n.name()] = n.pos()
}

func (g *GlobalDefs) isGiven(name string) bool {
	_, ok := g.given[name]
	return ok
}

// globalKeywords are the top-level keywords of keepalived's "core" area:
// global_defs and the few settings keepalived reads outside any block.
func globalKeywords() []*Keyword {
	return []*Keyword{
		{
			Name:  "global_defs",
			Args:  "{ ... }",
			Doc:   "Settings shared by all subsystems and defaults for vrrp instances and the LVS director.",
			Block: globalDefsBlock(),
			Multi: true,
			apply: opens(func(c *ctx, n *node, cfg *Config) *GlobalDefs {
				globalNoArgs(c, n)
				if !cfg.Global.Pos.IsValid() {
					cfg.Global.Pos = n.pos()
				}
				return &cfg.Global
			}),
		},
		accepted("net_namespace", "NAME",
			"Vigil does not switch network namespace itself: it manages the namespace it is started in, so start it there (ip netns exec NAME vigil ...)"),
		accepted("net_namespace_ipvs", "[NAME]",
			"Vigil configures IPVS in the namespace it is started in"),
		accepted("namespace_with_ipsets", "",
			"Vigil does not use ipsets"),
		accepted("instance", "NAME",
			"pid file naming for several keepalived instances; Vigil names its own runtime files"),
		accepted("use_pid_dir", "",
			"pid file location; Vigil names its own runtime files"),
		accepted("child_wait_time", "SECS",
			"Vigil's supervisor uses its own shutdown timeout for its processes"),
		accepted("linkbeat_use_polling", "",
			"link state comes from netlink; MII/ethtool/ioctl polling is not implemented yet"),
	}
}

func globalDefsBlock() *Block {
	plain := func(name, doc string, set func(g *GlobalDefs)) *Keyword {
		return &Keyword{Name: name, Default: "off", Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			globalPlainFlag(c, n)
			set(g)
		})}
	}
	boolean := func(name, doc string, set func(g *GlobalDefs, v bool)) *Keyword {
		return &Keyword{Name: name, Args: "[<BOOL>]", Default: "off", Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if v, ok := globalBool(c, n); ok {
				set(g, v)
			}
		})}
	}
	tristate := func(name, doc string, field func(g *GlobalDefs) **bool) *Keyword {
		return &Keyword{Name: name, Args: "[<BOOL>]", Default: "unset", Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			v, ok := globalBool(c, n)
			if !ok {
				return
			}
			g.mark(n)
			*field(g) = &v
		})}
	}
	seconds := func(name string, lo, hi int64, def, doc string, set func(g *GlobalDefs, d Duration)) *Keyword {
		return &Keyword{Name: name, Args: "SECONDS", Default: def, Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if v, ok := globalInt(c, n, lo, hi); ok {
				g.mark(n)
				set(g, Duration(time.Duration(v)*time.Second))
			}
		})}
	}
	count := func(name, args string, lo, hi int64, def, doc string, set func(g *GlobalDefs, v int)) *Keyword {
		return &Keyword{Name: name, Args: args, Default: def, Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if v, ok := globalInt(c, n, lo, hi); ok {
				g.mark(n)
				set(g, int(v))
			}
		})}
	}
	timer := func(name string, lo, hi float64, def, doc string, set func(g *GlobalDefs, d Duration)) *Keyword {
		return &Keyword{Name: name, Args: "SECONDS (decimal)", Default: def, Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if !globalArgc(c, n, 1, 1) {
				return
			}
			v, ok := c.floatTok(n.name(), n.words[1], lo, hi)
			if !ok {
				return
			}
			g.mark(n)
			set(g, Duration(math.Round(v*float64(time.Second))))
		})}
	}
	multi := func(k *Keyword) *Keyword { k.Multi = true; return k }
	word := func(name, args, def, doc string, set func(c *ctx, n *node, g *GlobalDefs, w token)) *Keyword {
		return &Keyword{Name: name, Args: args, Default: def, Doc: doc, apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if globalArgc(c, n, 1, 1) {
				set(c, n, g, n.words[1])
			}
		})}
	}

	flushOnStop := &Keyword{
		Name: "lvs_flush_on_stop", Args: "[VS]", Default: "off",
		Doc: "At shutdown flush the whole IPVS table, or with VS remove each virtual server and let the kernel drop its real servers, instead of removing each server one by one.",
		apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if !globalArgc(c, n, 0, 1) {
				return
			}
			if len(n.words) == 1 {
				g.LVSFlushOnStop = "full"
				return
			}
			if n.words[1].text != "VS" {
				c.d.errorf(n.words[1].pos, "write lvs_flush_on_stop alone, or lvs_flush_on_stop VS", "unknown lvs_flush_on_stop type %q", n.words[1].text)
				return
			}
			g.LVSFlushOnStop = "VS"
		}),
	}

	kws := []*Keyword{
		// Identity and e-mail alerts.
		word("router_id", "STRING", "host name",
			"Names this machine in alert e-mails and logs (empty in the model: the runtime uses the host name).",
			func(c *ctx, n *node, g *GlobalDefs, w token) { g.RouterID = w.text }),
		{
			Name: "notification_email", Args: "{ ADDRESS ... }", Multi: true,
			Doc:   "Recipients of alert e-mails; repeated blocks add to the list.",
			Block: globalEmailBlock(),
			apply: opens(func(c *ctx, n *node, g *GlobalDefs) *GlobalDefs {
				globalNoArgs(c, n)
				if n.block && len(n.children) == 0 {
					c.d.warnf(n.open, "list addresses inside the braces, or remove the block", "empty notification_email block")
				}
				return g
			}),
		},
		word("notification_email_from", "ADDRESS", "keepalived@<host name>",
			"From: address of alert e-mails (empty in the model: the runtime uses keepalived@<host name>).",
			func(c *ctx, n *node, g *GlobalDefs, w token) {
				globalCheckEmail(c, n.name(), w)
				g.NotificationEmailFrom = w.text
			}),
		{
			Name: "smtp_server", Args: "IP|HOSTNAME [PORT]", Default: "port 25",
			Doc:   "SMTP relay for alert e-mails.",
			apply: on(globalSMTPServer),
		},
		word("smtp_helo_name", "STRING", "host name", "Name given in the SMTP HELO (empty in the model: the runtime uses the host name).",
			func(c *ctx, n *node, g *GlobalDefs, w token) { g.SMTPHeloName = w.text }),
		seconds("smtp_connect_timeout", 1, globalMaxTimerSecs, "30",
			"Timeout connecting to the SMTP server.",
			func(g *GlobalDefs, d Duration) { g.SMTPConnectTimeout = d }),
		tristate("smtp_alert", "Default for every smtp_alert (vrrp instances, sync groups, checkers).",
			func(g *GlobalDefs) **bool { return &g.SMTPAlert }),
		tristate("smtp_alert_vrrp", "Default smtp_alert for vrrp instances and sync groups; overrides smtp_alert.",
			func(g *GlobalDefs) **bool { return &g.SMTPAlertVRRP }),
		tristate("smtp_alert_checker", "Default smtp_alert for checkers; overrides smtp_alert.",
			func(g *GlobalDefs) **bool { return &g.SMTPAlertChecker }),
		plain("no_email_faults", "Send no alert e-mail for FAULT transitions.",
			func(g *GlobalDefs) { g.NoEmailFaults = true }),
		boolean("no_checker_emails", "Send checker e-mails only when a real server is added or removed, not on every state change.",
			func(g *GlobalDefs, v bool) { g.NoCheckerEmails = v }),
		boolean("checker_log_all_failures", "Log every failed check, not only the one that brings a real server down.",
			func(g *GlobalDefs, v bool) { g.CheckerLogAllFailures = v }),

		// Scripts.
		plain("enable_script_security", "Refuse to run scripts as root when their path is writable by another user.",
			func(g *GlobalDefs) { g.EnableScriptSecurity = true }),
		{
			Name: "script_user", Args: "USER [[:]GROUP]", Default: "keepalived_script if it exists, else Vigil's user",
			Doc: "Default user and group scripts run as.",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) {
				if globalArgc(c, n, 1, 2) {
					g.ScriptUser = globalRunAs(c, n.words[1:])
				}
			}),
		},
		globalScriptKeyword("startup_script", "Runs once before the subsystems start.",
			func(g *GlobalDefs) **GlobalScript { return &g.StartupScript }),
		seconds("startup_script_timeout", 1, 1000, "10", "Time allowed to startup_script before it is killed.",
			func(g *GlobalDefs, d Duration) { g.StartupScriptTimeout = d }),
		globalScriptKeyword("shutdown_script", "Runs once after the subsystems have stopped.",
			func(g *GlobalDefs) **GlobalScript { return &g.ShutdownScript }),
		seconds("shutdown_script_timeout", 1, 1000, "10", "Time allowed to shutdown_script before it is killed.",
			func(g *GlobalDefs, d Duration) { g.ShutdownScriptTimeout = d }),

		// Process behaviour.
		{
			Name: "max_auto_priority", Args: "[-1..99]", Default: "0 (off); 99 when given alone",
			Doc: "Highest real-time priority a late-running process may raise itself to (0 off, -1 off without the start-up notice).",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) {
				if len(n.words) == 1 {
					g.MaxAutoPriority = 99
					return
				}
				if v, ok := globalInt(c, n, -1, 99); ok {
					g.MaxAutoPriority = int(v)
				}
			}),
		},
		{
			Name: "min_auto_priority_delay", Args: "MICROSECONDS", Default: "1000000",
			Doc: "How late a timer must run before the process raises its priority (1..10000000 us).",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) {
				if v, ok := globalInt(c, n, 1, 10000000); ok {
					g.MinAutoPriorityDelay = Duration(time.Duration(v) * time.Microsecond)
				}
			}),
		},
		{
			Name: "dynamic_interfaces", Args: "[allow_if_changes]", Default: "off",
			Doc: "Allow interfaces that do not exist at start-up (and, with allow_if_changes, interfaces recreated with another type or parent).",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) {
				if !globalArgc(c, n, 0, 1) {
					return
				}
				g.DynamicInterfaces = true
				if len(n.words) > 1 {
					if n.words[1].text != "allow_if_changes" {
						c.d.errorf(n.words[1].pos, "write dynamic_interfaces alone, or dynamic_interfaces allow_if_changes", "unknown dynamic_interfaces option %q", n.words[1].text)
						return
					}
					g.AllowInterfaceChanges = true
				}
			}),
		},
		word("default_interface", "INTERFACE", "eth0", "Interface for static and virtual addresses and routes that name none.",
			func(c *ctx, n *node, g *GlobalDefs, w token) {
				g.DefaultInterface = w.text
				if c.opts.InterfaceExists != nil && !c.opts.InterfaceExists(w.text) {
					c.d.warnf(w.pos, "check the name with: ip link", "default_interface %s does not exist on this host", w.text)
				}
			}),

		// VRRP defaults.
		{
			Name: "vrrp_mcast_group4", Args: "IPV4-MULTICAST", Default: "224.0.0.18",
			Doc:   "Multicast group IPv4 adverts are sent to.",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) { globalMcast(c, n, false, &g.VRRPMcastGroup4) }),
		},
		{
			Name: "vrrp_mcast_group6", Args: "IPV6-MULTICAST", Default: "ff02::12",
			Doc:   "Multicast group IPv6 adverts are sent to.",
			apply: on(func(c *ctx, n *node, g *GlobalDefs) { globalMcast(c, n, true, &g.VRRPMcastGroup6) }),
		},
		count("vrrp_version", "2|3", 2, 3, "2", "Default VRRP version (IPv6 instances always use 3).",
			func(g *GlobalDefs, v int) { g.VRRPVersion = v }),
		plain("vrrp_strict", "Enforce strict RFC compliance (no unicast, no authentication, no preempt_delay, ...).",
			func(g *GlobalDefs) { g.VRRPStrict = true }),
		plain("vrrp_skip_check_adv_addr", "Skip checking the addresses of an advert from the same master as the previous one.",
			func(g *GlobalDefs) { g.VRRPSkipCheckAdvAddr = true }),
		plain("vrrp_check_unicast_src", "In unicast mode, accept adverts only from configured unicast peers.",
			func(g *GlobalDefs) { g.VRRPCheckUnicastSrc = true }),
		boolean("vrrp_lower_prio_no_advert", "Default: as master, do not answer a lower priority advert with an advert.",
			func(g *GlobalDefs, v bool) { g.VRRPLowerPrioNoAdvert = v }),
		boolean("vrrp_higher_prio_send_advert", "Default: as master, send one advert before yielding to a higher priority advert.",
			func(g *GlobalDefs, v bool) { g.VRRPHigherPrioSendAdvert = v }),
		boolean("v3_checksum_as_v2", "Default: compute the VRRPv3 checksum without the pseudo-header, as old peers do.",
			func(g *GlobalDefs, v bool) { g.V3ChecksumAsV2 = v }),
		boolean("vrrp_owner_ignore_adverts", "Default: an address owner (priority 255) drops received adverts.",
			func(g *GlobalDefs, v bool) { g.VRRPOwnerIgnoreAdverts = v }),
		boolean("vrrp_notify_priority_changes", "Default: report priority changes on the notify FIFOs.",
			func(g *GlobalDefs, v bool) { g.VRRPNotifyPrioChanges = v }),
		plain("log_unknown_vrids", "Log adverts received for VRIDs not configured on the interface.",
			func(g *GlobalDefs) { g.LogUnknownVRIDs = true }),
		count("vrrp_down_timer_adverts", "1..100", 1, 100, "3", "Default number of advert intervals without an advert before a backup takes over.",
			func(g *GlobalDefs, v int) { g.VRRPDownTimerAdverts = v }),
		timer("vrrp_startup_delay", 0, globalMaxTimerFloat, "0",
			"Delay before vrrp instances start after Vigil starts.",
			func(g *GlobalDefs, d Duration) { g.VRRPStartupDelay = d }),
		timer("vrrp_delay_after_boot", 0, globalMaxTimerFloat, "0",
			"Delay vrrp instances until this long after the system booted (the longer of this and vrrp_startup_delay applies).",
			func(g *GlobalDefs, d Duration) { g.VRRPDelayAfterBoot = d }),
		multi(word("vmac_prefix", "STRING", "vrrp", "Prefix of generated VMAC interface names (only the first is used).",
			func(c *ctx, n *node, g *GlobalDefs, w token) { globalOnce(c, n, g, w, &g.VMACPrefix) })),
		multi(word("vmac_addr_prefix", "STRING", "vmac_prefix", "Prefix of generated VMAC names for addresses not on the instance's interface (only the first is used).",
			func(c *ctx, n *node, g *GlobalDefs, w token) { globalOnce(c, n, g, w, &g.VMACAddrPrefix) })),

		// Gratuitous ARP / NA.
		seconds("vrrp_garp_master_delay", 0, globalMaxTimerSecs, "5",
			"Delay of the second burst of gratuitous ARPs/NAs after becoming master (0: no second burst).",
			func(g *GlobalDefs, d Duration) { g.VRRPGarpMasterDelay = d }),
		count("vrrp_garp_master_repeat", "NUMBER", 1, math.MaxUint32, "5", "Gratuitous ARPs/NAs per burst after becoming master.",
			func(g *GlobalDefs, v int) { g.VRRPGarpMasterRepeat = v }),
		seconds("vrrp_garp_master_refresh", 0, math.MaxUint32, "0 (off)",
			"Interval of gratuitous ARP/NA refreshes while master.",
			func(g *GlobalDefs, d Duration) { g.VRRPGarpMasterRefresh = d }),
		count("vrrp_garp_master_refresh_repeat", "NUMBER", 1, math.MaxUint32, "1", "Gratuitous ARPs/NAs per refresh.",
			func(g *GlobalDefs, v int) { g.VRRPGarpMasterRefreshRepeat = v }),
		seconds("vrrp_garp_lower_prio_delay", 0, globalMaxTimerSecs, "vrrp_garp_master_delay",
			"Delay of the second burst after a lower priority advert is received as master.",
			func(g *GlobalDefs, d Duration) { g.VRRPGarpLowerPrioDelay = d }),
		count("vrrp_garp_lower_prio_repeat", "NUMBER", 0, math.MaxInt32, "vrrp_garp_master_repeat",
			"Gratuitous ARPs/NAs per burst after a lower priority advert is received as master.",
			func(g *GlobalDefs, v int) { g.VRRPGarpLowerPrioRepeat = v }),
		timer("vrrp_garp_interval", 0, globalMaxTimerFloat, "0",
			"Gap between gratuitous ARPs sent on one interface.",
			func(g *GlobalDefs, d Duration) { g.VRRPGarpInterval = d }),
		timer("vrrp_gna_interval", 0, globalMaxTimerFloat, "0",
			"Gap between unsolicited neighbour adverts sent on one interface.",
			func(g *GlobalDefs, d Duration) { g.VRRPGnaInterval = d }),
		boolean("vrrp_min_garp", "Send one gratuitous ARP/NA and no second burst or refresh, unless those are set explicitly.",
			func(g *GlobalDefs, v bool) { g.VRRPMinGarp = v }),

		// LVS director.
		plain("lvs_flush", "Flush the whole IPVS table at start-up.",
			func(g *GlobalDefs) { g.LVSFlush = true }),
		flushOnStop,
		alias("lvs_flush_onstop", flushOnStop),
		{
			Name: "lvs_timeouts", Args: "[tcp SECS] [tcpfin SECS] [udp SECS]", Default: "kernel's values", Multi: true,
			Doc:   "IPVS connection timeouts (0..2678400 s); one not given is left unchanged. Repeated lines add up.",
			apply: on(globalLVSTimeouts),
		},
	}
	kws = append(kws, globalAcceptedKeywords()...)
	return newBlock("global_defs", "Settings shared by all subsystems, and defaults for vrrp instances and the LVS director.", kws...)
}

// globalAcceptedKeywords are the global_defs keywords Vigil recognises but
// does not implement, each with the reason.
func globalAcceptedKeywords() []*Keyword {
	const (
		procName = "Vigil's processes have fixed names (vigil, vigil vrrpd, vigil checkd, vigil lvsd)"
		sched    = "process scheduling tuning (nice, real-time priority, CPU affinity, memory locking, RT limits) is not implemented yet; run vigil under systemd's CPUSchedulingPolicy=, Nice=, CPUAffinity= instead"
		snmp     = "SNMP (AgentX) is not implemented"
		dbus     = "the D-Bus interface is not implemented"
		fifo     = "notify FIFOs are not implemented yet; use notify scripts"
		firewall = "Vigil does not manage firewall rules (nftables/iptables/ipsets for no_accept and VMAC IGMP/MLD filtering)"
		netlink  = "netlink socket buffer sizes are chosen by Vigil"
		reload   = "keepalived's reload helpers are not implemented; Vigil reloads on SIGHUP after checking the whole configuration"
		dump     = "keepalived's signal-triggered data/stats/JSON dump files are not produced; Vigil reports its state over its own control interface"
	)
	rttime := accepted("vrrp_rlimit_rttime", "MICROSECONDS", sched)
	crttime := accepted("checker_rlimit_rttime", "MICROSECONDS", sched)
	brttime := accepted("bfd_rlimit_rttime", "MICROSECONDS", sched)
	checkerName := accepted("checker_process_name", "NAME", procName)
	snmpVRRP := accepted("enable_snmp_vrrp", "", snmp)
	extraIf := accepted("vrrp_garp_extra_if", "[all] SECONDS",
		"periodic gratuitous ARPs/NAs on interfaces other than the instance's are not implemented yet")
	return []*Keyword{
		accepted("process_names", "", procName),
		accepted("process_name", "NAME", procName),
		accepted("vrrp_process_name", "NAME", procName),
		checkerName,
		alias("lvs_process_name", checkerName),
		accepted("bfd_process_name", "NAME", procName),

		accepted("vrrp_priority", "-20..19", sched),
		accepted("checker_priority", "-20..19", sched),
		accepted("bfd_priority", "-20..19", sched),
		accepted("vrrp_rt_priority", "1..99", sched),
		accepted("checker_rt_priority", "1..99", sched),
		accepted("bfd_rt_priority", "1..99", sched),
		accepted("vrrp_no_swap", "", sched),
		accepted("checker_no_swap", "", sched),
		accepted("bfd_no_swap", "", sched),
		accepted("vrrp_cpu_affinity", "CPU ...", sched),
		accepted("checker_cpu_affinity", "CPU ...", sched),
		accepted("bfd_cpu_affinity", "CPU ...", sched),
		rttime, alias("vrrp_rlimit_rtime", rttime),
		crttime, alias("checker_rlimit_rtime", crttime),
		brttime, alias("bfd_rlimit_rtime", brttime),

		accepted("snmp_socket", "SOCKET", snmp),
		snmpVRRP, alias("enable_snmp_keepalived", snmpVRRP),
		accepted("enable_snmp_checker", "", snmp),
		accepted("enable_snmp_rfc", "", snmp),
		accepted("enable_snmp_rfcv2", "", snmp),
		accepted("enable_snmp_rfcv3", "", snmp),
		accepted("enable_traps", "", snmp),
		accepted("snmp_vs_stats_update_interval", "SECONDS", snmp),
		accepted("snmp_rs_stats_update_interval", "SECONDS", snmp),

		accepted("enable_dbus", "", dbus),
		accepted("dbus_service_name", "NAME", dbus),
		accepted("dbus_no_interface_name", "NAME", dbus),

		accepted("notify_fifo", "FIFO [USER [GROUP]]", fifo),
		accepted("notify_fifo_script", "SCRIPT [USER [GROUP]]", fifo),
		accepted("vrrp_notify_fifo", "FIFO [USER [GROUP]]", fifo),
		accepted("vrrp_notify_fifo_script", "SCRIPT [USER [GROUP]]", fifo),
		accepted("lvs_notify_fifo", "FIFO [USER [GROUP]]", fifo),
		accepted("lvs_notify_fifo_script", "SCRIPT [USER [GROUP]]", fifo),
		accepted("fifo_write_vrrp_states_on_reload", "", fifo),

		accepted("nftables", "[TABLE]", firewall),
		accepted("nftables_priority", "PRIORITY", firewall),
		accepted("nftables_counters", "", firewall),
		accepted("nftables_ifindex", "", firewall),
		accepted("nftables_ipvs", "[TABLE]", firewall),
		accepted("nftables_ipvs_priority", "PRIORITY", firewall),
		accepted("nftables_ipvs_start_fwmark", "FWMARK", firewall),
		accepted("vrrp_iptables", "[IN_CHAIN [OUT_CHAIN]]", firewall),
		accepted("vrrp_ipsets", "[NAME ...]", firewall),
		accepted("disable_local_igmp", "", "VMAC IGMP handling is not implemented yet"),

		accepted("vrrp_netlink_cmd_rcv_bufs", "BYTES", netlink),
		accepted("vrrp_netlink_cmd_rcv_bufs_force", "[<BOOL>]", netlink),
		accepted("vrrp_netlink_monitor_rcv_bufs", "BYTES", netlink),
		accepted("vrrp_netlink_monitor_rcv_bufs_force", "[<BOOL>]", netlink),
		accepted("lvs_netlink_cmd_rcv_bufs", "BYTES", netlink),
		accepted("lvs_netlink_cmd_rcv_bufs_force", "[<BOOL>]", netlink),
		accepted("lvs_netlink_monitor_rcv_bufs", "BYTES", netlink),
		accepted("lvs_netlink_monitor_rcv_bufs_force", "[<BOOL>]", netlink),
		accepted("process_monitor_rcv_bufs", "BYTES", netlink),
		accepted("process_monitor_rcv_bufs_force", "[<BOOL>]", netlink),
		accepted("vrrp_rx_bufs_policy", "MTU|ADVERT|BYTES", "VRRP socket receive buffers keep the system default"),
		accepted("vrrp_rx_bufs_multiplier", "NUMBER", "VRRP socket receive buffers keep the system default"),

		accepted("lvs_sync_daemon", "INTERFACE [[inst] VRRP_INSTANCE] [id ID] [maxlen LEN] [port PORT] [ttl TTL] [group ADDR]",
			"the IPVS connection synchronisation daemon is not implemented yet"),
		accepted("rs_init_notifies", "[<BOOL>]", "start-up notifications for real servers are not implemented yet"),
		extraIf,
		alias("vrrp_vmac_garp_intvl", extraIf),

		accepted("reload_check_config", "[LOG_FILE]", reload),
		accepted("reload_time_file", "PATH", reload),
		accepted("reload_repeat", "", reload),
		accepted("reload_file", "[PATH]", reload),
		accepted("include_check", "[[+|-]readable|match|wildcard_match|brace_match ...]",
			"Vigil's include checks do not change with include_check; write the checks on the include line instead (includer, includem, includew, includeb, includea)"),
		accepted("tmp_config_directory", "DIRECTORY", "Vigil reads the configuration once in the supervisor and hands each process its part"),
		accepted("config_save_dir", "DIRECTORY", "saving configuration copies on reload is not implemented"),
		accepted("random_seed", "NUMBER", "it only seeds keepalived's ${_RANDOM} definition, which Vigil does not provide"),
		accepted("umask", "NUMBER|BITS", "Vigil creates its files with its own fixed umask"),
		accepted("use_symlink_paths", "[<BOOL>]", "script paths are not resolved through symlinks by Vigil; they are run as written"),
		accepted("set_supplementary_groups", "", "setting scripts' supplementary groups by default is not implemented yet; write script_user USER :GROUP"),
		accepted("iproute_etc_dir", "PATH", "Vigil looks up iproute2 names (tables, realms, protocols) in the standard directories only"),
		accepted("iproute_usr_dir", "PATH", "Vigil looks up iproute2 names (tables, realms, protocols) in the standard directories only"),

		accepted("data_use_instance", "[<BOOL>]", dump),
		accepted("state_dump_file", "PATH", dump),
		accepted("stats_dump_file", "PATH", dump),
		accepted("json_dump_file", "PATH", dump),
		accepted("json_version", "1|2", dump),
	}
}

func globalEmailBlock() *Block {
	b := newBlock("notification_email", "Recipients of alert e-mails, one or more per line; quote an address with a display name.")
	b.ItemSyntax = `ADDRESS ... | "Name <ADDRESS>"`
	b.Item = func(c *ctx, n *node, target any) {
		g, ok := target.(*GlobalDefs)
		if !ok {
			return
		}
		for _, w := range n.words {
			globalCheckEmail(c, "notification_email", w)
			g.NotificationEmail = append(g.NotificationEmail, w.text)
		}
	}
	return b
}

// globalScriptKeyword reads startup_script / shutdown_script: the command
// (quoted when it has arguments), then an optional user and group.
func globalScriptKeyword(name, doc string, field func(g *GlobalDefs) **GlobalScript) *Keyword {
	return &Keyword{
		Name: name, Args: `PATH|"COMMAND ARGS" [USER [[:]GROUP]]`, Doc: doc, Multi: true,
		apply: on(func(c *ctx, n *node, g *GlobalDefs) {
			if !c.nargs(n, 1, 3) {
				return
			}
			dst := field(g)
			if *dst != nil {
				c.d.errorf(n.pos(), "keep one "+name, "%s given twice (first at line %d); keepalived keeps the first and rejects the second", name, (*dst).Pos.Line)
				return
			}
			s := &GlobalScript{Script: *c.scriptFrom(n, n.words[1:2])}
			if len(n.words) > 2 {
				s.RunAs = globalRunAs(c, n.words[2:])
			}
			*dst = s
		}),
	}
}

// globalRunAs reads USER [[:]GROUP] and warns when the user or group is
// unknown on this host: the file may be checked on another machine, so
// this is not an error.
func globalRunAs(c *ctx, words []token) *ScriptUser {
	u := &ScriptUser{User: words[0].text, Pos: words[0].pos}
	if _, err := user.Lookup(u.User); err != nil {
		c.d.warnf(words[0].pos, "create the user, or name an existing one", "user %q does not exist on this host", u.User)
	}
	if len(words) > 1 {
		grp := words[1].text
		if strings.HasPrefix(grp, ":") {
			u.SupplementaryGroups = true
			grp = grp[1:]
		}
		u.Group = grp
		if grp != "" {
			if _, err := user.LookupGroup(grp); err != nil {
				c.d.warnf(words[1].pos, "create the group, or name an existing one", "group %q does not exist on this host", grp)
			}
		}
	}
	return u
}

func globalSMTPServer(c *ctx, n *node, g *GlobalDefs) {
	if !globalArgc(c, n, 1, 2) {
		return
	}
	host := n.words[1]
	s := &SMTPServer{Host: host.text, Port: 25, Pos: host.pos}
	if a, err := netip.ParseAddr(host.text); err == nil {
		s.Host = a.Unmap().String()
	} else if !globalHostname(host.text) {
		c.d.errorf(host.pos, "write an IP address or a host name, e.g. smtp_server 198.18.0.25 25", "smtp_server: %q is neither an IP address nor a host name", host.text)
		return
	}
	if len(n.words) > 2 {
		p, ok := c.intTok("smtp_server port", n.words[2], 1, 65535)
		if !ok {
			return
		}
		s.Port = uint16(p)
	}
	g.SMTPServer = s
}

// globalHostname reports whether s is a syntactically valid DNS name.
func globalHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}

func globalCheckEmail(c *ctx, what string, w token) {
	if _, err := mail.ParseAddress(w.text); err != nil {
		c.d.warnf(w.pos, `write user@domain, or "Name <user@domain>" in double quotes`, "%s: %q does not look like an e-mail address", what, w.text)
	}
}

func globalMcast(c *ctx, n *node, v6 bool, dst *netip.Addr) {
	if !globalArgc(c, n, 1, 1) {
		return
	}
	a, ok := c.addrTok(n.name(), n.words[1])
	if !ok {
		return
	}
	fam, example := "IPv4", "224.0.0.18"
	if v6 {
		fam, example = "IPv6", "ff02::12"
	}
	if a.Is6() != v6 {
		c.d.errorf(n.words[1].pos, "write an "+fam+" multicast address, e.g. "+example, "%s: %s is not an %s address", n.name(), a, fam)
		return
	}
	if !a.IsMulticast() {
		c.d.errorf(n.words[1].pos, "write an "+fam+" multicast address, e.g. "+example, "%s: %s is not a multicast address", n.name(), a)
		return
	}
	*dst = a
}

func globalLVSTimeouts(c *ctx, n *node, g *GlobalDefs) {
	if !c.nargs(n, 2, -1) {
		return
	}
	t := LVSTimeouts{}
	if g.LVSTimeouts != nil {
		t = *g.LVSTimeouts
	}
	ok := true
	for i := 1; i < len(n.words); i++ {
		w := n.words[i]
		var dst *Duration
		switch w.text {
		case "tcp":
			dst = &t.TCP
		case "tcpfin":
			dst = &t.TCPFin
		case "udp":
			dst = &t.UDP
		default:
			c.d.errorf(w.pos, "options are tcp, tcpfin and udp, each followed by seconds", "unknown lvs_timeouts option %q", w.text)
			ok = false
			continue
		}
		if i+1 >= len(n.words) {
			c.d.errorf(w.pos, "write e.g. lvs_timeouts tcp 900 tcpfin 120 udp 300", "lvs_timeouts %s needs a value", w.text)
			ok = false
			break
		}
		i++
		v, good := c.intTok("lvs_timeouts "+w.text, n.words[i], 0, globalMaxLVSTimeout)
		if !good {
			ok = false
			continue
		}
		*dst = Duration(time.Duration(v) * time.Second)
	}
	if ok {
		g.LVSTimeouts = &t
	}
}

// globalOnce sets a value keepalived refuses to change once set
// (vmac_prefix, vmac_addr_prefix): a repeat is an error, as in keepalived.
func globalOnce(c *ctx, n *node, g *GlobalDefs, w token, dst *string) {
	if first, ok := g.given[n.name()]; ok {
		c.d.errorf(n.pos(), "keep one "+n.name(), "%s given twice (first at line %d); keepalived keeps the first and rejects the second", n.name(), first.Line)
		return
	}
	g.mark(n)
	*dst = w.text
}

// globalArgc checks the argument count: too few is an error, too many a
// warning, because keepalived silently ignores extra words on these lines.
func globalArgc(c *ctx, n *node, lo, hi int) bool {
	if !c.nargs(n, lo, -1) {
		return false
	}
	if got := len(n.words) - 1; hi >= 0 && got > hi {
		c.d.warnf(n.words[hi+1].pos, syntaxHint(n), "%s: extra arguments ignored (from %q on)", n.name(), n.words[hi+1].text)
	}
	return true
}

func globalNoArgs(c *ctx, n *node) {
	if len(n.words) > 1 {
		c.d.warnf(n.words[1].pos, "remove it", "%s takes no arguments; %q ignored", n.name(), n.words[1].text)
	}
}

// globalInt reads one whole-number argument within [lo, hi].
func globalInt(c *ctx, n *node, lo, hi int64) (int64, bool) {
	if !globalArgc(c, n, 1, 1) {
		return 0, false
	}
	return c.intTok(n.name(), n.words[1], lo, hi)
}

// globalPlainFlag handles keepalived's argument-less switches: keepalived
// turns them on whatever follows. "vrrp_strict off" would therefore run
// with strict mode on, the opposite of what the line says: refuse it.
// Other words mean the same under both and only draw a warning.
func globalPlainFlag(c *ctx, n *node) {
	if len(n.words) < 2 {
		return
	}
	w := n.words[1]
	if v, ok := parseBool(w.text); ok && !v {
		c.d.errorf(w.pos, "remove the line to turn it off",
			"%s takes no argument: keepalived turns it on whatever follows, so %q would not turn it off", n.name(), w.text)
		return
	}
	c.d.warnf(w.pos, "remove the argument", "%s takes no argument; %q ignored (it is on)", n.name(), w.text)
}

// globalBool reads keepalived's optional <BOOL>: the keyword alone is on;
// keepalived accepts on/off, true/false and yes/no, and ignores anything
// else (leaving the setting as it was), so anything else is refused.
func globalBool(c *ctx, n *node) (bool, bool) {
	if !globalArgc(c, n, 0, 1) {
		return false, false
	}
	if len(n.words) == 1 {
		return true, true
	}
	w := n.words[1]
	switch strings.ToLower(w.text) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	c.d.errorf(w.pos, "write on/off, true/false or yes/no, or the keyword alone for on",
		"%s: %q is not a boolean keepalived accepts (it would ignore the line)", n.name(), w.text)
	return false, false
}

// validateGlobal resolves the defaults that depend on other settings and
// checks what no single line can.
func validateGlobal(c *ctx) {
	g := &c.cfg.Global
	if g.VRRPMinGarp {
		// keepalived: one ARP/NA, no second burst and no refresh, unless
		// those were set explicitly.
		if !g.isGiven("vrrp_garp_master_repeat") {
			g.VRRPGarpMasterRepeat = 1
		}
		if !g.isGiven("vrrp_garp_master_delay") {
			g.VRRPGarpMasterDelay = 0
		}
		if !g.isGiven("vrrp_garp_master_refresh") {
			g.VRRPGarpMasterRefresh = 0
		}
	}
	if !g.isGiven("vrrp_garp_lower_prio_delay") {
		g.VRRPGarpLowerPrioDelay = g.VRRPGarpMasterDelay
	}
	if !g.isGiven("vrrp_garp_lower_prio_repeat") {
		g.VRRPGarpLowerPrioRepeat = g.VRRPGarpMasterRepeat
	}
	if !g.isGiven("vmac_addr_prefix") {
		g.VMACAddrPrefix = g.VMACPrefix
	}
	for _, d := range []struct {
		name string
		v    Duration
		max  time.Duration
	}{
		{"vrrp_garp_interval", g.VRRPGarpInterval, time.Second},
		{"vrrp_gna_interval", g.VRRPGnaInterval, time.Second},
		{"vrrp_startup_delay", g.VRRPStartupDelay, time.Minute},
	} {
		if d.v.D() >= d.max {
			c.d.warnf(g.given[d.name], "is the unit right? the value is in seconds", "%s is very large: %s", d.name, d.v)
		}
	}

	// An alert switched on that cannot send anything is worth a word.
	var alertAt Pos
	for _, a := range []struct {
		name string
		v    *bool
	}{{"smtp_alert", g.SMTPAlert}, {"smtp_alert_vrrp", g.SMTPAlertVRRP}, {"smtp_alert_checker", g.SMTPAlertChecker}} {
		if a.v != nil && *a.v && !alertAt.IsValid() {
			alertAt = g.given[a.name]
		}
	}
	if alertAt.IsValid() && g.SMTPServer == nil {
		c.d.warnf(alertAt, "add smtp_server to global_defs", "smtp_alert is on but no smtp_server is set: no e-mail will be sent")
	}
	if alertAt.IsValid() && len(g.NotificationEmail) == 0 {
		c.d.warnf(alertAt, "add a notification_email { } block to global_defs", "smtp_alert is on but notification_email lists no recipient: no e-mail will be sent")
	}
}
