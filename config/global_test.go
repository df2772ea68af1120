package config

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// globalParse reads src and returns the global_defs model and diagnostics.
func globalParse(t *testing.T, src string, opts Options) (*GlobalDefs, Diagnostics) {
	t.Helper()
	cfg, diags := Parse("test.conf", []byte(src), opts)
	if cfg == nil {
		t.Fatal("Parse returned a nil model")
	}
	return &cfg.Global, diags
}

// globalFind reports whether a diagnostic of severity sev contains sub.
func globalFind(diags Diagnostics, sev Severity, sub string) bool {
	for _, d := range diags {
		if d.Severity == sev && strings.Contains(d.Msg, sub) {
			return true
		}
	}
	return false
}

func TestGlobalDefaults(t *testing.T) {
	g, diags := globalParse(t, "global_defs {\n}\n", Options{})
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%v", diags.Error())
	}
	want := map[string][2]any{
		"smtp_connect_timeout":            {g.SMTPConnectTimeout, Duration(30 * time.Second)},
		"vrrp_mcast_group4":               {g.VRRPMcastGroup4, netip.MustParseAddr("224.0.0.18")},
		"vrrp_mcast_group6":               {g.VRRPMcastGroup6, netip.MustParseAddr("ff02::12")},
		"vrrp_version":                    {g.VRRPVersion, 2},
		"vrrp_garp_master_delay":          {g.VRRPGarpMasterDelay, Duration(5 * time.Second)},
		"vrrp_garp_master_repeat":         {g.VRRPGarpMasterRepeat, 5},
		"vrrp_garp_master_refresh":        {g.VRRPGarpMasterRefresh, Duration(0)},
		"vrrp_garp_master_refresh_repeat": {g.VRRPGarpMasterRefreshRepeat, 1},
		"vrrp_garp_lower_prio_delay":      {g.VRRPGarpLowerPrioDelay, Duration(5 * time.Second)},
		"vrrp_garp_lower_prio_repeat":     {g.VRRPGarpLowerPrioRepeat, 5},
		"vrrp_down_timer_adverts":         {g.VRRPDownTimerAdverts, 3},
		"startup_script_timeout":          {g.StartupScriptTimeout, Duration(10 * time.Second)},
		"shutdown_script_timeout":         {g.ShutdownScriptTimeout, Duration(10 * time.Second)},
		"min_auto_priority_delay":         {g.MinAutoPriorityDelay, Duration(time.Second)},
		"default_interface":               {g.DefaultInterface, "eth0"},
		"vmac_prefix":                     {g.VMACPrefix, "vrrp"},
		"vmac_addr_prefix":                {g.VMACAddrPrefix, "vrrp"},
		"router_id":                       {g.RouterID, ""},
		"max_auto_priority":               {g.MaxAutoPriority, 0},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s: got %v, want %v", name, v[0], v[1])
		}
	}
	if g.SMTPServer != nil || g.SMTPAlert != nil || g.ScriptUser != nil || g.LVSTimeouts != nil || g.VRRPStrict {
		t.Errorf("optional settings should be unset: %+v", g)
	}
	// A file without global_defs gets the same defaults.
	g2, _ := globalParse(t, "", Options{})
	if g2.VRRPGarpLowerPrioRepeat != 5 || g2.VRRPVersion != 2 || g2.DefaultInterface != "eth0" {
		t.Errorf("defaults missing without global_defs: %+v", g2)
	}
}

func TestGlobalParse(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		opts    Options
		errs    []string // substrings of expected errors; none means no error
		warns   []string // substrings of expected warnings
		noWarns bool     // expect no warning at all
		check   func(t *testing.T, g *GlobalDefs)
	}{
		{
			name: "full block",
			src: `global_defs {
    router_id lb01
    notification_email {
        ops@example.com
        a@example.com b@example.com
        "On call <oncall@example.com>"
    }
    notification_email_from keepalived@example.com
    smtp_server 198.18.0.25 2525
    smtp_helo_name lb01.example.com
    smtp_connect_timeout 12
    smtp_alert
    smtp_alert_vrrp off
    no_email_faults
    enable_script_security
    script_user root :root
    vrrp_mcast_group4 224.0.100.50
    vrrp_mcast_group6 ff02::1:12
    vrrp_version 3
    vrrp_strict
    vrrp_skip_check_adv_addr
    vrrp_check_unicast_src
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 3
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.000001
    vrrp_lower_prio_no_advert
    vrrp_higher_prio_send_advert true
    vrrp_startup_delay 5.5
    vrrp_notify_priority_changes yes
    lvs_flush
    lvs_flush_on_stop VS
    lvs_timeouts tcp 900 tcpfin 120 udp 300
    checker_log_all_failures on
    max_auto_priority 50
    dynamic_interfaces allow_if_changes
    default_interface bond0
    vmac_prefix vm
}
`,
			noWarns: true,
			check: func(t *testing.T, g *GlobalDefs) {
				if g.RouterID != "lb01" {
					t.Errorf("router_id = %q", g.RouterID)
				}
				wantMail := []string{"ops@example.com", "a@example.com", "b@example.com", "On call <oncall@example.com>"}
				if strings.Join(g.NotificationEmail, ",") != strings.Join(wantMail, ",") {
					t.Errorf("notification_email = %q", g.NotificationEmail)
				}
				if g.NotificationEmailFrom != "keepalived@example.com" || g.SMTPHeloName != "lb01.example.com" {
					t.Errorf("from/helo = %q/%q", g.NotificationEmailFrom, g.SMTPHeloName)
				}
				if g.SMTPServer == nil || g.SMTPServer.Host != "198.18.0.25" || g.SMTPServer.Port != 2525 {
					t.Errorf("smtp_server = %+v", g.SMTPServer)
				} else if a, ok := g.SMTPServer.Addr(); !ok || a != netip.MustParseAddr("198.18.0.25") {
					t.Errorf("smtp_server Addr() = %v %v", a, ok)
				}
				if g.SMTPConnectTimeout != Duration(12*time.Second) {
					t.Errorf("smtp_connect_timeout = %v", g.SMTPConnectTimeout)
				}
				if g.SMTPAlert == nil || !*g.SMTPAlert || g.SMTPAlertVRRP == nil || *g.SMTPAlertVRRP || g.SMTPAlertChecker != nil {
					t.Errorf("smtp alerts = %v %v %v", g.SMTPAlert, g.SMTPAlertVRRP, g.SMTPAlertChecker)
				}
				if !g.NoEmailFaults || !g.EnableScriptSecurity || !g.CheckerLogAllFailures {
					t.Errorf("flags not set: %+v", g)
				}
				if g.ScriptUser == nil || g.ScriptUser.User != "root" || g.ScriptUser.Group != "root" || !g.ScriptUser.SupplementaryGroups {
					t.Errorf("script_user = %+v", g.ScriptUser)
				}
				if g.VRRPMcastGroup4 != netip.MustParseAddr("224.0.100.50") || g.VRRPMcastGroup6 != netip.MustParseAddr("ff02::1:12") {
					t.Errorf("mcast groups = %v %v", g.VRRPMcastGroup4, g.VRRPMcastGroup6)
				}
				if g.VRRPVersion != 3 || !g.VRRPStrict || !g.VRRPSkipCheckAdvAddr || !g.VRRPCheckUnicastSrc {
					t.Errorf("vrrp settings = %+v", g)
				}
				if g.VRRPGarpMasterDelay != Duration(10*time.Second) || g.VRRPGarpMasterRepeat != 3 ||
					g.VRRPGarpMasterRefresh != Duration(time.Minute) || g.VRRPGarpMasterRefreshRepeat != 2 {
					t.Errorf("garp master = %v %v %v %v", g.VRRPGarpMasterDelay, g.VRRPGarpMasterRepeat, g.VRRPGarpMasterRefresh, g.VRRPGarpMasterRefreshRepeat)
				}
				// lower_prio values follow the master values when not given.
				if g.VRRPGarpLowerPrioDelay != Duration(10*time.Second) || g.VRRPGarpLowerPrioRepeat != 3 {
					t.Errorf("garp lower prio = %v %v", g.VRRPGarpLowerPrioDelay, g.VRRPGarpLowerPrioRepeat)
				}
				if g.VRRPGarpInterval != Duration(time.Millisecond) || g.VRRPGnaInterval != Duration(time.Microsecond) {
					t.Errorf("intervals = %v %v", g.VRRPGarpInterval, g.VRRPGnaInterval)
				}
				if !g.VRRPLowerPrioNoAdvert || !g.VRRPHigherPrioSendAdvert || !g.VRRPNotifyPrioChanges {
					t.Errorf("advert flags = %+v", g)
				}
				if g.VRRPStartupDelay != Duration(5500*time.Millisecond) {
					t.Errorf("vrrp_startup_delay = %v", g.VRRPStartupDelay)
				}
				if !g.LVSFlush || g.LVSFlushOnStop != "VS" {
					t.Errorf("lvs flush = %v %q", g.LVSFlush, g.LVSFlushOnStop)
				}
				if g.LVSTimeouts == nil || *g.LVSTimeouts != (LVSTimeouts{TCP: Duration(900 * time.Second), TCPFin: Duration(120 * time.Second), UDP: Duration(300 * time.Second)}) {
					t.Errorf("lvs_timeouts = %+v", g.LVSTimeouts)
				}
				if g.MaxAutoPriority != 50 || !g.DynamicInterfaces || !g.AllowInterfaceChanges || g.DefaultInterface != "bond0" {
					t.Errorf("misc = %d %v %v %q", g.MaxAutoPriority, g.DynamicInterfaces, g.AllowInterfaceChanges, g.DefaultInterface)
				}
				if g.VMACPrefix != "vm" || g.VMACAddrPrefix != "vm" {
					t.Errorf("vmac prefixes = %q %q", g.VMACPrefix, g.VMACAddrPrefix)
				}
			},
		},
		{
			name: "block opened on the next line, two global_defs blocks merge",
			src:  "global_defs\n{\n router_id a\n}\nglobal_defs {\n notification_email {\n x@example.com\n }\n}\nglobal_defs {\n notification_email {\n y@example.com\n }\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.RouterID != "a" || len(g.NotificationEmail) != 2 {
					t.Errorf("got %q %q", g.RouterID, g.NotificationEmail)
				}
			},
			noWarns: true,
		},
		{name: "router_id missing", src: "global_defs {\n router_id\n}\n", errs: []string{"router_id needs 1 argument"}},
		{
			name:  "router_id extra words ignored as keepalived does",
			src:   "global_defs {\n router_id my router\n}\n",
			warns: []string{"router_id: extra arguments ignored"},
			check: func(t *testing.T, g *GlobalDefs) {
				if g.RouterID != "my" {
					t.Errorf("router_id = %q", g.RouterID)
				}
			},
		},
		{
			name: "smtp_server IPv6 and host name",
			src:  "global_defs {\n smtp_server 2001:db8::25\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.SMTPServer == nil || g.SMTPServer.Host != "2001:db8::25" || g.SMTPServer.Port != 25 {
					t.Errorf("smtp_server = %+v", g.SMTPServer)
				}
			},
		},
		{
			name: "smtp_server host name is not resolved",
			src:  "global_defs {\n smtp_server mail-relay.example.com 587\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.SMTPServer == nil || g.SMTPServer.Host != "mail-relay.example.com" || g.SMTPServer.Port != 587 {
					t.Errorf("smtp_server = %+v", g.SMTPServer)
				}
				if _, ok := g.SMTPServer.Addr(); ok {
					t.Error("a host name has no Addr")
				}
			},
		},
		{name: "smtp_server bad host", src: "global_defs {\n smtp_server 198.18.0.0/24\n}\n", errs: []string{"neither an IP address nor a host name"}},
		{name: "smtp_server bad port", src: "global_defs {\n smtp_server 198.18.0.25 99999\n}\n", errs: []string{"smtp_server port 99999 is out of range"}},
		{name: "smtp_server port 0", src: "global_defs {\n smtp_server 198.18.0.25 0\n}\n", errs: []string{"out of range"}},
		{name: "smtp_connect_timeout 0", src: "global_defs {\n smtp_connect_timeout 0\n}\n", errs: []string{"smtp_connect_timeout 0 is out of range"}},
		{name: "smtp_connect_timeout not a number", src: "global_defs {\n smtp_connect_timeout abc\n}\n", errs: []string{"is not a number"}},
		{name: "smtp_alert bad boolean", src: "global_defs {\n smtp_alert maybe\n}\n", errs: []string{"not a boolean keepalived accepts"}},
		{
			name:  "smtp_alert without server or recipients",
			src:   "global_defs {\n smtp_alert_checker\n}\n",
			warns: []string{"no smtp_server is set", "lists no recipient"},
		},
		{
			name:  "empty notification_email block warns (seed002)",
			src:   "global_defs {\n notification_email {\n }\n}\n",
			warns: []string{"empty notification_email block"},
		},
		{
			name:  "odd e-mail address warns",
			src:   "global_defs {\n notification_email {\n root\n }\n notification_email_from not an address\n}\n",
			warns: []string{`notification_email: "root" does not look like an e-mail address`, `notification_email_from: "not" does not look`},
		},
		{name: "notification_email needs a block", src: "global_defs {\n notification_email a@example.com\n}\n", errs: []string{"notification_email needs a { } block"}},
		{name: "vrrp_version 4", src: "global_defs {\n vrrp_version 4\n}\n", errs: []string{"vrrp_version 4 is out of range 2-3"}},
		{name: "mcast4 not multicast", src: "global_defs {\n vrrp_mcast_group4 198.18.0.1\n}\n", errs: []string{"198.18.0.1 is not a multicast address"}},
		{name: "mcast4 wrong family", src: "global_defs {\n vrrp_mcast_group4 ff02::12\n}\n", errs: []string{"ff02::12 is not an IPv4 address"}},
		{name: "mcast6 wrong family", src: "global_defs {\n vrrp_mcast_group6 224.0.0.18\n}\n", errs: []string{"224.0.0.18 is not an IPv6 address"}},
		{name: "mcast6 not multicast", src: "global_defs {\n vrrp_mcast_group6 2001:db8::1\n}\n", errs: []string{"not a multicast address"}},
		{name: "mcast not an address", src: "global_defs {\n vrrp_mcast_group4 mcast\n}\n", errs: []string{"is not an IP address"}},
		{
			name: "vrrp_strict off would be on under keepalived: refused",
			src:  "global_defs {\n vrrp_strict off\n}\n",
			errs: []string{`vrrp_strict takes no argument: keepalived turns it on whatever follows, so "off" would not turn it off`},
		},
		{
			name:  "vrrp_strict on: argument ignored",
			src:   "global_defs {\n vrrp_strict on\n}\n",
			warns: []string{`vrrp_strict takes no argument; "on" ignored`},
			check: func(t *testing.T, g *GlobalDefs) {
				if !g.VRRPStrict {
					t.Error("vrrp_strict should be on")
				}
			},
		},
		{name: "boolean 1 is not keepalived's", src: "global_defs {\n smtp_alert 1\n}\n", errs: []string{`smtp_alert: "1" is not a boolean keepalived accepts`}},
		{name: "boolean with two words", src: "global_defs {\n vrrp_min_garp on off\n}\n", warns: []string{"extra arguments ignored"}},
		{
			name: "vrrp_min_garp changes only the defaults",
			src:  "global_defs {\n vrrp_min_garp\n vrrp_garp_master_refresh 60\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.VRRPGarpMasterRepeat != 1 || g.VRRPGarpMasterDelay != 0 || g.VRRPGarpMasterRefresh != Duration(time.Minute) {
					t.Errorf("min_garp: repeat %d delay %v refresh %v", g.VRRPGarpMasterRepeat, g.VRRPGarpMasterDelay, g.VRRPGarpMasterRefresh)
				}
				if g.VRRPGarpLowerPrioRepeat != 1 || g.VRRPGarpLowerPrioDelay != 0 {
					t.Errorf("min_garp lower prio: %d %v", g.VRRPGarpLowerPrioRepeat, g.VRRPGarpLowerPrioDelay)
				}
			},
		},
		{
			name: "vrrp_min_garp false changes nothing",
			src:  "global_defs {\n vrrp_min_garp false\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.VRRPMinGarp || g.VRRPGarpMasterRepeat != 5 {
					t.Errorf("min_garp false: %v %d", g.VRRPMinGarp, g.VRRPGarpMasterRepeat)
				}
			},
		},
		{
			name: "explicit lower prio values win",
			src:  "global_defs {\n vrrp_garp_master_repeat 4\n vrrp_garp_lower_prio_repeat 0\n vrrp_garp_lower_prio_delay 2\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.VRRPGarpLowerPrioRepeat != 0 || g.VRRPGarpLowerPrioDelay != Duration(2*time.Second) {
					t.Errorf("lower prio = %d %v", g.VRRPGarpLowerPrioRepeat, g.VRRPGarpLowerPrioDelay)
				}
			},
		},
		{name: "garp repeat 0", src: "global_defs {\n vrrp_garp_master_repeat 0\n}\n", errs: []string{"vrrp_garp_master_repeat 0 is out of range"}},
		{name: "garp refresh repeat 0", src: "global_defs {\n vrrp_garp_master_refresh_repeat 0\n}\n", errs: []string{"out of range"}},
		{name: "garp delay is whole seconds", src: "global_defs {\n vrrp_garp_master_delay 1.5\n}\n", errs: []string{`"1.5" is not a number`}},
		{
			name:    "garp and gna interval 0 accepted (seed002; keepalived 2.2.7 refuses it)",
			src:     "global_defs {\n vrrp_garp_interval 0\n vrrp_gna_interval 0\n}\n",
			noWarns: true,
		},
		{name: "garp interval very large", src: "global_defs {\n vrrp_garp_interval 3\n}\n", warns: []string{"vrrp_garp_interval is very large"}},
		{name: "garp interval negative", src: "global_defs {\n vrrp_garp_interval -1\n}\n", errs: []string{"out of range"}},
		{name: "startup delay 0 means none", src: "global_defs {\n vrrp_startup_delay 0\n}\n", noWarns: true},
		{name: "startup delay negative", src: "global_defs {\n vrrp_startup_delay -2\n}\n", errs: []string{"vrrp_startup_delay -2 is out of range"}},
		{name: "startup delay very large", src: "global_defs {\n vrrp_startup_delay 90\n}\n", warns: []string{"vrrp_startup_delay is very large"}},
		{name: "down timer adverts", src: "global_defs {\n vrrp_down_timer_adverts 101\n}\n", errs: []string{"out of range 1-100"}},
		{
			name: "lvs_timeouts lines add up",
			src:  "global_defs {\n lvs_timeouts tcp 10\n lvs_timeouts udp 20\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.LVSTimeouts == nil || g.LVSTimeouts.TCP != Duration(10*time.Second) || g.LVSTimeouts.UDP != Duration(20*time.Second) || g.LVSTimeouts.TCPFin != 0 {
					t.Errorf("lvs_timeouts = %+v", g.LVSTimeouts)
				}
			},
			noWarns: true,
		},
		{name: "lvs_timeouts without option", src: "global_defs {\n lvs_timeouts\n}\n", errs: []string{"lvs_timeouts needs 2 arguments"}},
		{name: "lvs_timeouts unknown option", src: "global_defs {\n lvs_timeouts tcp 1 sctp 3\n}\n", errs: []string{`unknown lvs_timeouts option "sctp"`}},
		{name: "lvs_timeouts missing value", src: "global_defs {\n lvs_timeouts udp 1 tcp\n}\n", errs: []string{"lvs_timeouts tcp needs a value"}},
		{name: "lvs_timeouts too large", src: "global_defs {\n lvs_timeouts tcp 2678401\n}\n", errs: []string{"out of range 0-2678400"}},
		{
			name: "lvs_flush_onstop spelling",
			src:  "global_defs {\n lvs_flush_onstop\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.LVSFlushOnStop != "full" {
					t.Errorf("lvs_flush_on_stop = %q", g.LVSFlushOnStop)
				}
			},
		},
		{name: "lvs_flush_on_stop bad type", src: "global_defs {\n lvs_flush_on_stop vs\n}\n", errs: []string{`unknown lvs_flush_on_stop type "vs"`}},
		{
			name:  "script_user unknown on this host is a warning",
			src:   "global_defs {\n script_user vigil-no-such-user vigil-no-such-group\n}\n",
			warns: []string{`user "vigil-no-such-user" does not exist`, `group "vigil-no-such-group" does not exist`},
			check: func(t *testing.T, g *GlobalDefs) {
				if g.ScriptUser == nil || g.ScriptUser.User != "vigil-no-such-user" || g.ScriptUser.Group != "vigil-no-such-group" {
					t.Errorf("script_user = %+v", g.ScriptUser)
				}
			},
		},
		{name: "script_user missing", src: "global_defs {\n script_user\n}\n", errs: []string{"script_user needs 1 argument"}},
		{
			name: "startup and shutdown scripts",
			src:  "global_defs {\n startup_script \"/usr/local/bin/fw up\" root\n startup_script_timeout 20\n shutdown_script /usr/local/bin/fw-down\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				s := g.StartupScript
				if s == nil || strings.Join(s.Args, "|") != "/usr/local/bin/fw|up" || s.RunAs == nil || s.RunAs.User != "root" {
					t.Errorf("startup_script = %+v", s)
				}
				if g.StartupScriptTimeout != Duration(20*time.Second) {
					t.Errorf("startup_script_timeout = %v", g.StartupScriptTimeout)
				}
				if g.ShutdownScript == nil || g.ShutdownScript.Command != "/usr/local/bin/fw-down" || g.ShutdownScript.RunAs != nil {
					t.Errorf("shutdown_script = %+v", g.ShutdownScript)
				}
			},
			noWarns: true,
		},
		{name: "startup_script twice", src: "global_defs {\n startup_script /a\n startup_script /b\n}\n", errs: []string{"startup_script given twice (first at line 2)"}},
		{name: "shutdown_script timeout range", src: "global_defs {\n shutdown_script_timeout 1001\n}\n", errs: []string{"out of range 1-1000"}},
		{name: "startup_script too many words", src: "global_defs {\n startup_script /a root root extra\n}\n", errs: []string{"startup_script takes at most 3 arguments"}},
		{
			name: "max_auto_priority alone is the maximum",
			src:  "global_defs {\n max_auto_priority\n min_auto_priority_delay 500000\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.MaxAutoPriority != 99 || g.MinAutoPriorityDelay != Duration(500*time.Millisecond) {
					t.Errorf("auto priority = %d %v", g.MaxAutoPriority, g.MinAutoPriorityDelay)
				}
			},
		},
		{name: "max_auto_priority range", src: "global_defs {\n max_auto_priority 100\n}\n", errs: []string{"out of range"}},
		{name: "dynamic_interfaces bad option", src: "global_defs {\n dynamic_interfaces yes\n}\n", errs: []string{`unknown dynamic_interfaces option "yes"`}},
		{
			name:  "default_interface missing on this host",
			src:   "global_defs {\n default_interface eth9\n}\n",
			opts:  Options{InterfaceExists: func(name string) bool { return name == "eth0" }},
			warns: []string{"default_interface eth9 does not exist on this host"},
		},
		{name: "vmac_prefix twice", src: "global_defs {\n vmac_prefix a\n vmac_prefix b\n}\n", errs: []string{"vmac_prefix given twice (first at line 2)"}},
		{
			name: "vmac_addr_prefix given",
			src:  "global_defs {\n vmac_addr_prefix va\n}\n",
			check: func(t *testing.T, g *GlobalDefs) {
				if g.VMACPrefix != "vrrp" || g.VMACAddrPrefix != "va" {
					t.Errorf("vmac prefixes = %q %q", g.VMACPrefix, g.VMACAddrPrefix)
				}
			},
		},
		{
			name:  "accepted keywords warn with the reason",
			src:   "global_defs {\n enable_snmp_vrrp\n enable_traps\n nftables keepalived\n lvs_sync_daemon eth0 VI_1 id 5\n vrrp_rlimit_rtime 10000\n process_names\n notify_fifo /run/k.fifo\n}\n",
			warns: []string{"enable_snmp_vrrp is not implemented yet", "SNMP (AgentX) is not implemented", "nftables is not implemented yet", "lvs_sync_daemon is not implemented yet", "vrrp_rlimit_rtime is not implemented yet", "fixed names", "notify FIFOs"},
		},
		{
			name: "top-level core keywords",
			src:  "linkbeat_use_polling\ninstance lb\nuse_pid_dir\nchild_wait_time 10\nnamespace_with_ipsets\n",
			warns: []string{"linkbeat_use_polling is not implemented yet", "instance is not implemented yet",
				"use_pid_dir is not implemented yet", "child_wait_time is not implemented yet", "namespace_with_ipsets is not implemented yet"},
		},
		{
			name:  "namespaces are accepted (keepalived's sample conditional_conf uses net_namespace)",
			src:   "net_namespace blue\nnet_namespace_ipvs\n",
			warns: []string{"net_namespace is not implemented yet", "ip netns exec", "net_namespace_ipvs is not implemented yet"},
		},
		{
			name:  "global keyword outside global_defs",
			src:   "router_id lb01\n",
			warns: []string{`unknown keyword "router_id" in the top level`},
		},
		{
			name:  "top-level keyword inside global_defs, as keepalived",
			src:   "global_defs {\n net_namespace blue\n}\n",
			warns: []string{`unknown keyword "net_namespace" in global_defs`},
		},
		{
			name:  "repeated single-valued keyword: later value wins",
			src:   "global_defs {\n router_id a\n router_id b\n}\n",
			warns: []string{"router_id given twice"},
			check: func(t *testing.T, g *GlobalDefs) {
				if g.RouterID != "b" {
					t.Errorf("router_id = %q", g.RouterID)
				}
			},
		},
		{name: "global_defs with an argument", src: "global_defs x {\n}\n", warns: []string{"global_defs takes no arguments"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, diags := globalParse(t, tc.src, tc.opts)
			for _, e := range tc.errs {
				if !globalFind(diags, Error, e) {
					t.Errorf("missing error %q in:\n%v", e, diags.Error())
				}
			}
			if len(tc.errs) == 0 && diags.HasErrors() {
				t.Errorf("unexpected errors:\n%v", diags.Errors().Error())
			}
			for _, w := range tc.warns {
				if !globalFind(diags, Warning, w) {
					t.Errorf("missing warning %q in:\n%v", w, diags.Error())
				}
			}
			if tc.noWarns && len(diags.Warnings()) > 0 {
				t.Errorf("unexpected warnings:\n%v", diags.Warnings().Error())
			}
			for _, d := range diags {
				if !d.Pos.IsValid() || d.Pos.File != "test.conf" {
					t.Errorf("diagnostic without a precise position: %v", d)
				}
			}
			if tc.check != nil {
				tc.check(t, g)
			}
		})
	}
}

// TestGlobalNoPanic feeds every keyword of the core area odd argument
// lists, with and without blocks: the reader must never panic.
func TestGlobalNoPanic(t *testing.T) {
	argSets := []string{"", " x", " 1", " -1", " 0", " 1.5", " 99999999999999999999", " a b c d e", ` ""`, " 224.0.0.18", " ff02::12", " tcp", " { }", " {\n}"}
	var names []string
	for _, k := range keywords().root.Keywords() {
		names = append(names, k.Name)
	}
	gd := keywords().root.Lookup("global_defs")
	for _, k := range gd.Block.Keywords() {
		names = append(names, "global_defs:"+k.Name)
	}
	for _, name := range names {
		for _, args := range argSets {
			var src string
			if kw, ok := strings.CutPrefix(name, "global_defs:"); ok {
				src = "global_defs {\n " + kw + args + "\n}\n"
			} else {
				src = name + args + "\n"
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("panic on %q: %v", src, r)
					}
				}()
				Parse("test.conf", []byte(src), Options{})
			}()
		}
	}
}

// TestGlobalCoreKeywordsInTable checks that every keyword of keepalived's
// core area is in the table, in the block keepalived reads it in.
func TestGlobalCoreKeywordsInTable(t *testing.T) {
	root := keywords().root
	gd := root.Lookup("global_defs")
	if gd == nil || gd.Block == nil {
		t.Fatal("global_defs missing")
	}
	topLevel := map[string]bool{"global_defs": true, "linkbeat_use_polling": true, "net_namespace": true,
		"net_namespace_ipvs": true, "namespace_with_ipsets": true, "use_pid_dir": true, "instance": true, "child_wait_time": true}
	n := 0
	for _, kw := range globalAreaKeywords(t, "core") {
		n++
		if topLevel[kw] {
			if root.Lookup(kw) == nil {
				t.Errorf("core keyword %s should be at the top level", kw)
			}
			continue
		}
		k := gd.Block.Lookup(kw)
		if k == nil {
			t.Errorf("core keyword %s missing from global_defs", kw)
			continue
		}
		if k.Doc == "" || (k.Status == Supported && k.apply == nil) {
			t.Errorf("global_defs %s: incomplete entry", kw)
		}
	}
	if n != 148 {
		t.Errorf("read %d core keywords, want 148", n)
	}
}

// globalAreaKeywords lists the keywords of one area of keepalived's parser.
func globalAreaKeywords(t *testing.T, area string) []string {
	t.Helper()
	f, err := os.Open("testdata/keepalived-keywords.txt")
	if err != nil {
		t.Skipf("keyword list not available: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == area {
			out = append(out, fields[1])
		}
	}
	return out
}

// globalOwnLines keeps only the lines of src that belong to the core and
// bfd areas (global_defs and bfd_instance blocks, top-level core keywords)
// and blanks the others, so line numbers stay those of the real file and
// any error left is this area's.
func globalOwnLines(src string) string {
	own := map[string]bool{"global_defs": true, "bfd_instance": true, "linkbeat_use_polling": true, "net_namespace": true,
		"net_namespace_ipvs": true, "namespace_with_ipsets": true, "use_pid_dir": true, "instance": true, "child_wait_time": true}
	lines := strings.Split(src, "\n")
	depth, keep := 0, false
	for i, line := range lines {
		code := line
		if j := strings.IndexAny(code, "#!"); j >= 0 {
			code = code[:j]
		}
		if depth == 0 {
			fields := strings.Fields(code)
			if len(fields) > 1 && strings.HasPrefix(fields[0], "@") { // @ID conditional line
				fields = fields[1:]
			}
			keep = len(fields) > 0 && own[strings.TrimSuffix(fields[0], "{")]
		}
		depth += strings.Count(code, "{") - strings.Count(code, "}")
		if depth < 0 {
			depth = 0
		}
		if !keep {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// TestGlobalRealConfigs loads the global_defs part of every real
// configuration: none may draw an error.
func TestGlobalRealConfigs(t *testing.T) {
	base := filepath.Join("..", "..", "shared", "testdata")
	if _, err := os.Stat(base); err != nil {
		t.Skipf("shared test data not available at %s: %v", base, err)
	}
	var files []string
	for _, pat := range []string{"keepalived-conf/*.conf", "keepalived-samples/keepalived.conf.*"} {
		m, _ := filepath.Glob(filepath.Join(base, pat))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no real configuration files found")
	}
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := globalOwnLines(string(data))
		if strings.TrimSpace(src) == "" {
			continue
		}
		seen++
		for _, id := range []string{"", "high", "low"} { // conditional_conf asks for -i high or -i low
			t.Run(filepath.Base(f)+"@"+id, func(t *testing.T) {
				cfg, diags := Parse(f, []byte(src), Options{ConfigID: id})
				if diags.HasErrors() {
					t.Errorf("errors:\n%v", diags.Errors().Error())
				}
				for _, d := range diags.Warnings() {
					if strings.Contains(d.Msg, "unknown keyword") {
						t.Errorf("keyword not recognised: %v", d)
					}
				}
				if cfg.Global.RouterID == "" && strings.Contains(src, "router_id") {
					t.Errorf("router_id not read")
				}
			})
		}
	}
	if seen == 0 {
		t.Error("no real configuration has a global_defs block")
	}
}
