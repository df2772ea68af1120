package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// lvsSharedTestdata is /work/shared/testdata as seen from this package.
const lvsSharedTestdata = "../../shared/testdata"

// lvsBody wraps real_server and other statements in a complete, valid
// virtual server, so each case writes only what it is about. The body
// starts on line 5.
func lvsBody(body string) string {
	return "virtual_server 198.18.0.1 80 {\n" +
		"    lvs_sched rr\n" +
		"    lvs_method NAT\n" +
		"    protocol TCP\n" +
		body + "\n}\n"
}

// lvsRS is lvsBody with one plain real server after the body.
func lvsRS(body string) string {
	return lvsBody(body + "\n    real_server 198.18.0.2 80 {\n    }")
}

func lvsParse(t *testing.T, src string) (*Config, Diagnostics) {
	t.Helper()
	return Parse("test.conf", []byte(src), Options{})
}

func lvsFind(ds Diagnostics, sev Severity, sub string) *Diagnostic {
	for i := range ds {
		if ds[i].Severity == sev && strings.Contains(ds[i].Msg+"\n"+ds[i].Hint, sub) {
			return &ds[i]
		}
	}
	return nil
}

func lvsMustLoad(t *testing.T, src string) *Config {
	t.Helper()
	cfg, ds := lvsParse(t, src)
	if ds.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", ds.Errors().Error())
	}
	return cfg
}

func TestLVSVirtualServerForms(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, vs *VirtualServer)
	}{
		{"IPv4 address and port", lvsRS(""), func(t *testing.T, vs *VirtualServer) {
			if vs.Address != netip.MustParseAddr("198.18.0.1") || vs.Port != 80 || vs.Kind() != "address" || vs.IPFamily != "inet" {
				t.Errorf("got %s family %s", vs, vs.IPFamily)
			}
		}},
		{"IPv6 address", `virtual_server 2001:db8::1 443 {
    lvs_sched wrr
    lvs_method DR
    protocol TCP
    real_server 2001:db8::10 443 {
    }
}`, func(t *testing.T, vs *VirtualServer) {
			if vs.Address != netip.MustParseAddr("2001:db8::1") || vs.Port != 443 || vs.IPFamily != "inet6" || vs.Method != "DR" {
				t.Errorf("got %+v", vs)
			}
		}},
		{"fwmark", `virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    persistence_timeout 900
    real_server 198.18.0.2 {
        TCP_CHECK {
            connect_port 80
        }
    }
}`, func(t *testing.T, vs *VirtualServer) {
			if vs.Fwmark != 7 || vs.Kind() != "fwmark" || vs.Protocol != "" || vs.IPFamily != "inet" {
				t.Errorf("got %+v", vs)
			}
			if vs.PersistenceTimeout.D() != 900*time.Second {
				t.Errorf("persistence %v", vs.PersistenceTimeout)
			}
		}},
		{"group", `virtual_server_group G {
    198.18.0.1 80
}
virtual_server group G {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.0.2 80 {
    }
}`, func(t *testing.T, vs *VirtualServer) {
			if vs.Group != "G" || vs.Kind() != "group" || vs.IPFamily != "inet" || vs.String() != "group G" {
				t.Errorf("got %+v", vs)
			}
		}},
		{"port 0 means none, persistent", `virtual_server 198.18.0.1 0 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    persistence_timeout
    real_server 198.18.0.2 {
    }
}`, func(t *testing.T, vs *VirtualServer) {
			if vs.Port != 0 || vs.PersistenceTimeout.D() != 360*time.Second {
				t.Errorf("port %d persistence %v", vs.Port, vs.PersistenceTimeout)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := lvsMustLoad(t, tt.src)
			if len(cfg.VirtualServers) != 1 {
				t.Fatalf("%d virtual servers", len(cfg.VirtualServers))
			}
			tt.check(t, cfg.VirtualServers[0])
		})
	}
}

// TestLVSDefaults checks that keepalived's defaults are in the model, so a
// dump shows the effective values.
func TestLVSDefaults(t *testing.T) {
	cfg := lvsMustLoad(t, `virtual_server 198.18.0.1 80 {
    protocol TCP
    lvs_sched rr
    real_server 198.18.0.2 {
        TCP_CHECK {
        }
        HTTP_GET {
            url {
                path /
            }
        }
        SSL_GET {
            url {
                path /
            }
        }
        SMTP_CHECK {
        }
        DNS_CHECK {
        }
        MISC_CHECK {
            misc_path /bin/true
        }
        PING_CHECK {
        }
        UDP_CHECK {
        }
    }
}`)
	vs := cfg.VirtualServers[0]
	if vs.DelayLoop.D() != 60*time.Second || vs.ConnectTimeout.D() != 5*time.Second || vs.Quorum != 1 ||
		vs.Hysteresis != 0 || vs.Weight != 1 || vs.Method != "NAT" || vs.Sched != "rr" || vs.PersistenceTimeout != 0 {
		t.Errorf("virtual server defaults: %+v", vs)
	}
	rs := vs.RealServers[0]
	if rs.Port != 80 || rs.Weight != 1 || rs.Method != "NAT" || rs.DelayLoop.D() != 60*time.Second || rs.ConnectTimeout.D() != 5*time.Second {
		t.Errorf("real server defaults: %+v", rs)
	}
	want := map[string]struct {
		retry int
		dbr   time.Duration
	}{
		"TCP_CHECK":  {1, time.Second},
		"HTTP_GET":   {1, 3 * time.Second},
		"SSL_GET":    {1, 3 * time.Second},
		"SMTP_CHECK": {1, time.Second},
		"DNS_CHECK":  {3, 60 * time.Second},
		"MISC_CHECK": {0, time.Second},
		"PING_CHECK": {1, time.Second},
		"UDP_CHECK":  {1, time.Second},
	}
	for _, ck := range rs.Checkers {
		w := want[ck.Type]
		if int(ck.Retry) != w.retry || ck.DelayBeforeRetry.D() != w.dbr || ck.DelayLoop.D() != 60*time.Second || ck.Warmup.D() != 60*time.Second {
			t.Errorf("%s: retry %d delay_before_retry %v delay_loop %v warmup %v", ck.Type, ck.Retry, ck.DelayBeforeRetry, ck.DelayLoop, ck.Warmup)
		}
		if ck.Type != "MISC_CHECK" {
			if ck.ConnectIP != rs.Address || ck.ConnectPort != 80 || ck.ConnectTimeout.D() != 5*time.Second {
				t.Errorf("%s: connection %+v", ck.Type, ck.ConnOpts)
			}
		}
		switch ck.Type {
		case "HTTP_GET", "SSL_GET":
			if ck.HTTP.HTTPProtocol != "1.0" || len(ck.HTTP.URLs[0].StatusCodes) != 1 || ck.HTTP.URLs[0].StatusCodes[0] != (StatusRange{200, 299}) {
				t.Errorf("%s: %+v %+v", ck.Type, ck.HTTP, ck.HTTP.URLs[0])
			}
		case "SMTP_CHECK":
			if ck.SMTP.HeloName != "smtpchecker.keepalived.org" {
				t.Errorf("helo %q", ck.SMTP.HeloName)
			}
		case "DNS_CHECK":
			if ck.DNS.Type != "SOA" || ck.DNS.Name != "." {
				t.Errorf("dns %+v", ck.DNS)
			}
		case "MISC_CHECK":
			if ck.Misc.Timeout.D() != 60*time.Second || ck.ConnectIP.IsValid() {
				t.Errorf("misc %+v conn %+v", ck.Misc, ck.ConnOpts)
			}
		case "UDP_CHECK":
			if ck.UDP.MinReplyLength != 0 || ck.UDP.MaxReplyLength != 255 || ck.UDP.RequireReply {
				t.Errorf("udp %+v", ck.UDP)
			}
		}
	}
	if len(rs.Checkers) != len(want) {
		t.Errorf("%d checkers", len(rs.Checkers))
	}
}

// TestLVSInheritance checks the virtual server -> real server -> checker
// chain of defaults.
func TestLVSInheritance(t *testing.T) {
	cfg := lvsMustLoad(t, lvsBody(`
    delay_loop 10
    connect_timeout 2.5
    retry 4
    delay_before_retry 7
    warmup 0
    weight 3
    inhibit_on_failure
    alpha
    virtualhost vs.example
    real_server 198.18.0.2 80 {
        TCP_CHECK {
        }
    }
    real_server 198.18.0.3 80 {
        weight 0
        delay_loop 20
        retry 5
        alpha false
        inhibit_on_failure off
        virtualhost rs.example
        HTTP_GET {
            retry 0
            delay_loop 30
            connect_timeout 1
            url {
                path /
            }
        }
    }`))
	vs := cfg.VirtualServers[0]
	a, b := vs.RealServers[0], vs.RealServers[1]
	if a.Weight != 3 || !a.InhibitOnFailure || !a.Alpha || a.DelayLoop.D() != 10*time.Second || *a.Retry != 4 {
		t.Errorf("first real server: %+v", a)
	}
	ck := a.Checkers[0]
	if ck.Retry != 4 || ck.DelayBeforeRetry.D() != 7*time.Second || ck.Warmup != 0 || ck.DelayLoop.D() != 10*time.Second ||
		ck.ConnectTimeout.D() != 2500*time.Millisecond || !ck.Alpha {
		t.Errorf("first checker: %+v", ck)
	}
	if b.Weight != 0 || b.InhibitOnFailure || b.Alpha || b.DelayLoop.D() != 20*time.Second || *b.Retry != 5 {
		t.Errorf("second real server: %+v", b)
	}
	ck = b.Checkers[0]
	if ck.Retry != 0 || ck.DelayLoop.D() != 30*time.Second || ck.ConnectTimeout.D() != time.Second || ck.HTTP.Virtualhost != "rs.example" {
		t.Errorf("second checker: %+v %+v", ck, ck.HTTP)
	}
}

func TestLVSVirtualServerOptions(t *testing.T) {
	cfg := lvsMustLoad(t, `virtual_server 198.18.0.1 53 {
    lb_algo sh
    sh-port
    sh-fallback
    flag-3
    ops
    lb_kind TUN type gue port 6080 csum
    persistence_timeout 50
    persistence_granularity 255.255.255.0
    persistence_engine sip
    protocol udp
    ha_suspend
    smtp_alert false
    alpha
    omega
    quorum 2
    hysteresis 1
    quorum_up "/bin/up arg"
    quorum_down /bin/down
    sorry_server 198.18.0.9 53
    sorry_server_inhibit
    sorry_server_lvs_method NAT
    real_server 198.18.0.2 53 {
        weight 2
        uthreshold 100
        lthreshold 10
        notify_up /bin/rs-up
        notify_down "/bin/rs-down x"
        smtp_alert
    }
}`)
	vs := cfg.VirtualServers[0]
	if vs.Sched != "sh" || !vs.SHPort || !vs.SHFallback || !vs.Flag3 || !vs.OPS || vs.Protocol != "UDP" {
		t.Errorf("scheduling: %+v", vs)
	}
	if vs.Method != "TUN" || !reflect.DeepEqual(vs.Tunnel, &Tunnel{Type: "gue", Port: 6080, Checksum: "csum"}) {
		t.Errorf("method %s tunnel %+v", vs.Method, vs.Tunnel)
	}
	if vs.PersistenceTimeout.D() != 50*time.Second || vs.PersistenceGranularity != "255.255.255.0" || vs.PersistenceEngine != "sip" {
		t.Errorf("persistence: %+v", vs)
	}
	if !vs.HASuspend || vs.SMTPAlert == nil || *vs.SMTPAlert || !vs.Alpha || !vs.Omega || vs.Quorum != 2 || vs.Hysteresis != 1 {
		t.Errorf("flags: %+v", vs)
	}
	if vs.QuorumUp == nil || !reflect.DeepEqual(vs.QuorumUp.Args, []string{"/bin/up", "arg"}) || vs.QuorumDown.Command != "/bin/down" {
		t.Errorf("quorum scripts: %+v %+v", vs.QuorumUp, vs.QuorumDown)
	}
	ss := vs.SorryServer
	if ss == nil || ss.Address != netip.MustParseAddr("198.18.0.9") || ss.Port != 53 || !ss.Inhibit || ss.Method != "NAT" || ss.Tunnel != nil {
		t.Errorf("sorry server: %+v", ss)
	}
	rs := vs.RealServers[0]
	if rs.Weight != 2 || rs.UThreshold != 100 || rs.LThreshold != 10 || rs.NotifyUp.Command != "/bin/rs-up" ||
		!reflect.DeepEqual(rs.NotifyDown.Args, []string{"/bin/rs-down", "x"}) || rs.SMTPAlert == nil || !*rs.SMTPAlert {
		t.Errorf("real server: %+v", rs)
	}
	if rs.Method != "TUN" || rs.Tunnel.Type != "gue" {
		t.Errorf("real server inherits the tunnel: %s %+v", rs.Method, rs.Tunnel)
	}
}

func TestLVSTunnelOptions(t *testing.T) {
	tests := []struct {
		args, err string
		want      *Tunnel
	}{
		{"TUN", "", &Tunnel{Type: "ipip"}},
		{"TUN type ipip", "", &Tunnel{Type: "ipip"}},
		{"TUN type ipip nocsum", "", &Tunnel{Type: "ipip"}},
		{"TUN type gre", "", &Tunnel{Type: "gre", Checksum: "nocsum"}},
		{"TUN type gre csum", "", &Tunnel{Type: "gre", Checksum: "csum"}},
		{"TUN type gue port 5555 remcsum", "", &Tunnel{Type: "gue", Port: 5555, Checksum: "remcsum"}},
		{"TUN type gue", "needs a port", nil},
		{"TUN port 80", "take no port", nil},
		{"TUN type ipip csum", "ipip tunnels do not support csum", nil},
		{"TUN type gre remcsum", "do not support remcsum", nil},
		{"TUN type vxlan", `unknown value "vxlan"`, nil},
		{"TUN type", "missing tunnel type", nil},
		{"TUN type gue port", "missing tunnel port", nil},
		{"TUN type gue port 0", "out of range", nil},
		{"TUN fast", `unknown tunnel option "fast"`, nil},
		{"DR type gue", "takes no options", nil},
		{"dr", "case-sensitively", nil},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			src := strings.Replace(lvsRS(""), "lvs_method NAT", "lvs_method "+tt.args, 1)
			cfg, ds := lvsParse(t, src)
			if tt.err != "" {
				if lvsFind(ds, Error, tt.err) == nil {
					t.Fatalf("want error %q, got:\n%s", tt.err, ds.Error())
				}
				return
			}
			if ds.HasErrors() {
				t.Fatal(ds.Errors().Error())
			}
			if got := cfg.VirtualServers[0].Tunnel; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tunnel %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLVSGroupEntries(t *testing.T) {
	cfg := lvsMustLoad(t, `virtual_server_group G4 {
    198.18.0.1 80
    198.18.0.10-20 80
    198.18.1.250-198.18.2.10 443
    198.18.3.8/29 8080
    fwmark 5
    fwmark 6 inet
}
virtual_server_group G6 {
    2001:db8::1-ff 80
    2001:db8::/126 80
    fwmark 9 inet6
}
virtual_server group G4 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.18.9.1 80 {
    }
}
virtual_server group G6 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 2001:db8::99 80 {
    }
}`)
	g := cfg.VirtualServerGroups[0]
	type r struct {
		first, last string
		port        uint16
	}
	var got []r
	for _, a := range g.Addresses {
		got = append(got, r{a.First.String(), a.Last.String(), a.Port})
	}
	want := []r{
		{"198.18.0.1", "198.18.0.1", 80},
		{"198.18.0.10", "198.18.0.20", 80},
		{"198.18.1.250", "198.18.2.10", 443},
		{"198.18.3.8", "198.18.3.15", 8080},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("IPv4 entries %v, want %v", got, want)
	}
	if len(g.Fwmarks) != 2 || g.Fwmarks[0].Mark != 5 || g.Fwmarks[0].Family != "" || g.Fwmarks[1].Family != "inet" {
		t.Errorf("fwmarks %+v", g.Fwmarks)
	}
	g6 := cfg.VirtualServerGroups[1]
	if g6.Addresses[0].Last != netip.MustParseAddr("2001:db8::ff") || g6.Addresses[1].Last != netip.MustParseAddr("2001:db8::3") {
		t.Errorf("IPv6 entries %+v %+v", g6.Addresses[0], g6.Addresses[1])
	}
	if cfg.VirtualServers[1].IPFamily != "inet6" {
		t.Errorf("IPv6 group family %q", cfg.VirtualServers[1].IPFamily)
	}
}

func TestLVSGroupEntryErrors(t *testing.T) {
	tests := []struct {
		entry, err string
	}{
		{"198.18.0.5-3 80", "ends before or where it starts"},
		{"198.18.0.1-300 80", "bad range end"},
		{"198.18.0.1-x 80", "bad range end"},
		{"2001:db8::5-2 80", "ends before or where it starts"},
		{"2001:db8::1-10000 80", "bad range end"},
		{"198.18.0.9-198.18.0.1 80", "ends before it starts"},
		{"198.18.0.1-2001:db8::1 80", "bad range end"},
		{"198.18.0.1-198.18.0 80", "not an IP address"},
		{"198.18.0.9/29 80", "host bits set"},
		{"198.18.0.0/0 80", "not a valid address block"},
		{"198.18.0.0/33 80", "not a valid address block"},
		{"198.18.0.300 80", "not an IP address"},
		{"198.18.0.1 70000", "out of range"},
		{"198.18.0.1 80 90", "at most a port"},
		{"fwmark 0", "out of range"},
		{"fwmark", "needs 1 argument"},
		{"fwmark 3 ipv4", `unknown value "ipv4"`},
		{"fwmark 3 inet extra", "at most 2 arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.entry, func(t *testing.T) {
			src := "virtual_server_group G {\n    198.18.0.200 80\n    " + tt.entry + "\n}\n"
			_, ds := lvsParse(t, src)
			d := lvsFind(ds, Error, tt.err)
			if d == nil {
				t.Fatalf("want error %q, got:\n%s", tt.err, ds.Error())
			}
			if d.Pos.Line != 3 {
				t.Errorf("error at %s, want line 3", d.Pos)
			}
		})
	}
}

func TestCheckerOptions(t *testing.T) {
	cfg := lvsMustLoad(t, `SSL {
    password secret
    ca /etc/ssl/ca.pem
    certificate /etc/ssl/client.pem
    key /etc/ssl/client.key
}
track_file tf1 {
    file /run/weight
    weight 5
}
virtual_server 198.18.0.1 443 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server 198.18.0.2 443 {
        SSL_GET {
            connect_ip 198.18.0.3
            connect_port 8443
            bindto 198.18.0.1
            bind_port 5000
            bind_if eth0
            connect_timeout 0.5
            fwmark 12
            retry 2
            delay_before_retry 1.5
            warmup 3
            delay_loop 4
            alpha
            log_all_failures
            http_protocol 1.0c
            virtualhost www.example.com
            enable_sni
            sni_name sni.example.com
            tls_compliant
            fast_recovery yes
            url {
                path /health
                digest 9B3A0C85A887A256D6939DA88AABD8CD
                status_code 200 301-302
                status_code 404
                virtualhost other.example.com
            }
            url {
                path /second
            }
        }
        SMTP_CHECK {
            helo_name mail.example.com
            connect_port 25
            host {
                connect_ip 198.18.0.4
                retry 7
            }
        }
        DNS_CHECK {
            type aaaa
            name example.com
            connect_port 53
        }
        MISC_CHECK {
            misc_path "/bin/check --fast"
            misc_timeout 9
            misc_dynamic
            user nobody nogroup
            retry 1
        }
        UDP_CHECK {
            connect_port 161
            payload Ab12f 3 456 546443123
            require_reply 0a xX
            min_reply_length 2
            max_reply_length 1000
        }
        FILE_CHECK {
            track_file tf1
        }
        FILE_CHECK {
            track_file tf1
            weight -3 reverse
        }
    }
}`)
	if s := cfg.SSL; s == nil || s.Password != "secret" || s.CA != "/etc/ssl/ca.pem" || s.Certificate != "/etc/ssl/client.pem" || s.Key != "/etc/ssl/client.key" {
		t.Errorf("SSL %+v", cfg.SSL)
	}
	cks := cfg.VirtualServers[0].RealServers[0].Checkers
	ssl := cks[0]
	wantConn := ConnOpts{
		ConnectIP: netip.MustParseAddr("198.18.0.3"), ConnectPort: 8443, BindTo: netip.MustParseAddr("198.18.0.1"),
		BindPort: 5000, BindIf: "eth0", ConnectTimeout: Duration(500 * time.Millisecond), Fwmark: 12,
	}
	if ssl.ConnOpts != wantConn {
		t.Errorf("connection %+v", ssl.ConnOpts)
	}
	if ssl.Retry != 2 || ssl.DelayBeforeRetry.D() != 1500*time.Millisecond || ssl.Warmup.D() != 3*time.Second ||
		ssl.DelayLoop.D() != 4*time.Second || !ssl.Alpha || !ssl.LogAllFailures {
		t.Errorf("common %+v", ssl)
	}
	h := ssl.HTTP
	if h.HTTPProtocol != "1.0C" || h.Virtualhost != "www.example.com" || !h.EnableSNI || h.SNIName != "sni.example.com" || !h.TLSCompliant || !h.FastRecovery {
		t.Errorf("http %+v", h)
	}
	u := h.URLs[0]
	if u.Path != "/health" || u.Digest != "9b3a0c85a887a256d6939da88aabd8cd" || u.Virtualhost != "other.example.com" ||
		!reflect.DeepEqual(u.StatusCodes, []StatusRange{{200, 200}, {301, 302}, {404, 404}}) {
		t.Errorf("url %+v", u)
	}
	if h.URLs[1].Path != "/second" || !reflect.DeepEqual(h.URLs[1].StatusCodes, []StatusRange{{200, 299}}) {
		t.Errorf("second url %+v", h.URLs[1])
	}
	smtp := cks[1]
	if smtp.SMTP.HeloName != "mail.example.com" || len(smtp.SMTP.Hosts) != 1 || smtp.Retry != 7 {
		t.Errorf("smtp %+v %+v", smtp, smtp.SMTP)
	}
	if host := smtp.SMTP.Hosts[0]; host.ConnectIP != netip.MustParseAddr("198.18.0.4") || host.ConnectPort != 25 || host.ConnectTimeout.D() != 5*time.Second {
		t.Errorf("smtp host %+v", host)
	}
	if dns := cks[2].DNS; dns.Type != "AAAA" || dns.Name != "example.com" {
		t.Errorf("dns %+v", dns)
	}
	misc := cks[3]
	if m := misc.Misc; !reflect.DeepEqual(m.Path.Args, []string{"/bin/check", "--fast"}) || m.Timeout.D() != 9*time.Second || !m.Dynamic ||
		m.User != "nobody" || m.Group != "nogroup" || misc.Retry != 1 || misc.ConnectIP.IsValid() {
		t.Errorf("misc %+v %+v", misc, misc.Misc)
	}
	udp := cks[4].UDP
	// keepalived's man page: "Ab12f 3 456 546443123" is AB 12 0F 03 45 06 54 64 43 12 03.
	if udp.Payload != "ab120f0345065464431203" || udp.ReplyData != "0axx" || !udp.RequireReply || udp.MinReplyLength != 2 || udp.MaxReplyLength != 1000 {
		t.Errorf("udp %+v", udp)
	}
	f1, f2 := cks[5].File, cks[6].File
	if f1.TrackFile != "tf1" || f1.Weight == nil || *f1.Weight != 5 || f1.Reverse {
		t.Errorf("file check inherits the track_file weight: %+v", f1)
	}
	if *f2.Weight != -3 || !f2.Reverse {
		t.Errorf("file check weight: %+v", f2)
	}
}

func TestLVSErrors(t *testing.T) {
	tests := []struct {
		name, src, err, pos string // pos: "line:col", or "" to skip
	}{
		// Header forms.
		{"bad address", "virtual_server 198.18.0.300 80 {\n}", "not an IP address", "1:16"},
		{"port 70000", "virtual_server 198.18.0.1 70000 {\n}", "out of range", "1:27"},
		{"no argument", "virtual_server {\n}", "needs 1 argument", "1:1"},
		{"too many", "virtual_server 198.18.0.1 80 90 {\n}", "at most 2", "1:30"},
		{"fwmark 0", "virtual_server fwmark 0 {\n}", "out of range", "1:23"},
		{"fwmark too big", "virtual_server fwmark 4294967296 {\n}", "out of range", ""},
		{"fwmark missing", "virtual_server fwmark {\n}", "exactly one mark", ""},
		{"group missing", "virtual_server group {\n}", "exactly one group name", ""},
		{"no block", "virtual_server 198.18.0.1 80\n", "needs a { } block", ""},
		// Values.
		{"scheduler", lvsRS("    lb_algo fastest"), `unknown value "fastest"`, "5:13"},
		{"scheduler case", strings.Replace(lvsRS(""), "lvs_sched rr", "lvs_sched RR", 1), "case-sensitively: write rr", "2:15"},
		{"method", lvsRS("    lb_kind ROUTE"), `unknown value "ROUTE"`, ""},
		{"protocol", lvsRS("    protocol ICMP"), `unknown value "ICMP"`, ""},
		{"delay_loop 0", lvsRS("    delay_loop 0"), "out of range", ""},
		{"delay_loop text", lvsRS("    delay_loop often"), "not a number", "5:16"},
		{"connect_timeout too big", lvsRS("    connect_timeout 5000"), "out of range", ""},
		{"vs retry 0", lvsRS("    retry 0"), "out of range", ""},
		{"quorum 0", lvsRS("    quorum 0"), "out of range", ""},
		{"hysteresis negative", lvsRS("    hysteresis -1"), "out of range", ""},
		{"vs weight 0", lvsRS("    weight 0"), "out of range", ""},
		{"persistence too long", lvsRS("    persistence_timeout 2678401"), "out of range", ""},
		{"granularity bad", lvsRS("    persistence_granularity 300.1.1.1"), "not an IPv4 netmask", ""},
		{"granularity length", lvsRS("    persistence_granularity 129"), "out of range", ""},
		{"granularity family", lvsRS("    persistence_granularity 64"), "does not suit IPv4", ""},
		{"ip_family conflict", lvsRS("    ip_family inet6"), "conflicts", ""},
		{"sh-port without sh", lvsRS("    sh-port"), "only applies to the sh scheduler", "5:5"},
		{"mh-fallback without mh", lvsRS("    mh-fallback"), "only applies to the mh scheduler", ""},
		{"duplicate quorum_up", lvsRS("    quorum_up /a\n    quorum_up /b"), "already given at line 5", "6:5"},
		{"quorum above weights", lvsRS("    quorum 3"), "exceeds the real servers' total weight 1", "5:12"},
		{"hysteresis not below quorum", lvsRS("    quorum 1\n    hysteresis 1"), "not below its quorum", ""},
		// Real servers.
		{"real server port", lvsBody("    real_server 198.18.0.2 70000 {\n    }"), "out of range", "5:28"},
		{"real server address", lvsBody("    real_server 198.18.0.x 80 {\n    }"), "not an IP address", ""},
		{"real server weight", lvsBody("    real_server 198.18.0.2 80 {\n        weight 2147483648\n    }"), "out of range", ""},
		{"real server weight negative", lvsBody("    real_server 198.18.0.2 80 {\n        weight -1\n    }"), "out of range", ""},
		{"real server retry 0", lvsBody("    real_server 198.18.0.2 80 {\n        retry 0\n    }"), "out of range", ""},
		{"duplicate real server", lvsBody("    real_server 198.18.0.2 80 {\n    }\n    real_server 198.18.0.2 80 {\n    }"),
			"defined twice in virtual server 198.18.0.1:80 (first at line 5)", "7:5"},
		{"duplicate real server after port default", lvsBody("    real_server 198.18.0.2 80 {\n    }\n    real_server 198.18.0.2 {\n    }"),
			"defined twice", ""},
		{"duplicate notify_up", lvsBody("    real_server 198.18.0.2 80 {\n        notify_up /a\n        notify_up /b\n    }"), "already given", ""},
		{"real server family", lvsBody("    real_server 2001:db8::2 80 {\n    }"), "is IPv6 but virtual server 198.18.0.1:80 is IPv4", "5:5"},
		{"IPv4 real server of an IPv6 service", "virtual_server 2001:db8::1 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}",
			"is IPv4 but virtual server [2001:db8::1]:80 is IPv6", "5:2"},
		{"sorry server family", lvsRS("    sorry_server 2001:db8::9 80"), "sorry server 2001:db8::9 is IPv6", ""},
		{"DR port change", lvsBody("    real_server 198.18.0.2 81 {\n        lvs_method DR\n    }"), "port 81 differs", ""},
		{"no real servers", lvsBody(""), "has no real servers", "1:1"},
		{"no port, not persistent", "virtual_server 198.18.0.1 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}",
			"no port", ""},
		{"sorry inhibit differs", lvsBody("    sorry_server 198.18.0.2 80\n    real_server 198.18.0.2 80 {\n        inhibit_on_failure\n    }"),
			"different inhibit setting", ""},
		// Groups.
		{"undefined group", "virtual_server group NOPE {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}",
			"virtual_server_group NOPE is not defined", "1:22"},
		{"empty group", "virtual_server_group G {\n}", "has no entries", "1:1"},
		{"duplicate group", "virtual_server_group G {\n 198.18.0.1 80\n}\nvirtual_server_group G {\n 198.18.0.2 80\n}", "defined twice (first at line 1)", "4:1"},
		{"group families and bare fwmark", "virtual_server_group G {\n 198.18.0.1 80\n 2001:db8::1 80\n fwmark 1\n}", "fwmark without family", ""},
		{"mixed group, direct server", "virtual_server_group G {\n 198.18.0.1 80\n 2001:db8::1 80\n}\nvirtual_server group G {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}",
			"not tunnelled", ""},
		// Duplicate virtual servers.
		{"duplicate virtual server", lvsRS("") + lvsRS(""), "virtual server 198.18.0.1:80 TCP is defined twice (first at line 1)", "9:1"},
		{"duplicate fwmark", "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n real_server 198.18.0.2 {\n }\n}\n" +
			"virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n real_server 198.18.0.3 {\n }\n}", "fwmark 1 is defined twice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := lvsParse(t, tt.src)
			d := lvsFind(ds, Error, tt.err)
			if d == nil {
				t.Fatalf("want error containing %q, got:\n%s", tt.err, ds.Error())
			}
			if d.Hint == "" {
				t.Errorf("error %q has no hint", d.Msg)
			}
			if tt.pos != "" && fmt.Sprintf("%d:%d", d.Pos.Line, d.Pos.Col) != tt.pos {
				t.Errorf("error at %d:%d, want %s", d.Pos.Line, d.Pos.Col, tt.pos)
			}
		})
	}
}

func TestCheckerErrors(t *testing.T) {
	rs := func(body string) string {
		return lvsBody("    real_server 198.18.0.2 80 {\n" + body + "\n    }")
	}
	fw := func(body string) string {
		return "virtual_server fwmark 3 {\n lvs_sched rr\n lvs_method DR\n real_server 198.18.0.2 {\n" + body + "\n }\n}"
	}
	tests := []struct {
		name, src, err string
	}{
		{"digest length", rs("HTTP_GET {\nurl {\npath /\ndigest abc\n}\n}"), "has 3 characters, not 32"},
		{"digest hex", rs("HTTP_GET {\nurl {\npath /\ndigest 9b3a0c85a887a256d6939da88aabd8cg\n}\n}"), `"g" is not a hex digit`},
		{"digest twice", rs("HTTP_GET {\nurl {\npath /\ndigest 9b3a0c85a887a256d6939da88aabd8cd\ndigest 9b3a0c85a887a256d6939da88aabd8cd\n}\n}"), "digest given twice"},
		{"status code low", rs("HTTP_GET {\nurl {\npath /\nstatus_code 99\n}\n}"), `"99" is not a status code`},
		{"status code reversed", rs("HTTP_GET {\nurl {\npath /\nstatus_code 299-200\n}\n}"), `"299-200"`},
		{"status code text", rs("HTTP_GET {\nurl {\npath /\nstatus_code ok\n}\n}"), `"ok"`},
		{"status code 600", rs("HTTP_GET {\nurl {\npath /\nstatus_code 200-600\n}\n}"), `"200-600"`},
		{"no url", rs("HTTP_GET {\nconnect_timeout 3\n}"), "has no url block"},
		{"url without path", rs("SSL_GET {\nurl {\nstatus_code 200\n}\n}"), "url has no path"},
		{"http_protocol", rs("HTTP_GET {\nhttp_protocol 2\nurl {\npath /\n}\n}"), `unknown value "2"`},
		{"misc without path", rs("MISC_CHECK {\nmisc_timeout 3\n}"), "has no misc_path"},
		{"misc timeout", rs("MISC_CHECK {\nmisc_path /bin/x\nmisc_timeout 1.5\n}"), "not a number"},
		{"misc has no connection options (unknown keyword, a warning)", rs("MISC_CHECK {\nmisc_path /bin/x\n}\nMISC_CHECK {\nmisc_path /bin/y\nconnect_port 80\n}"), ""},
		{"connect_port 0", rs("TCP_CHECK {\nconnect_port 0\n}"), "out of range"},
		{"bind_port 70000", rs("TCP_CHECK {\nbind_port 70000\n}"), "out of range"},
		{"connect_ip", rs("TCP_CHECK {\nconnect_ip nowhere\n}"), "not an IP address"},
		{"bindto family", rs("TCP_CHECK {\nbindto 2001:db8::1\n}"), "does not match the family"},
		{"link-local needs bind_if", rs("TCP_CHECK {\nconnect_ip fe80::1\nbindto fe80::2\n}"), "needs bind_if"},
		{"bind_if too long", rs("TCP_CHECK {\nbind_if abcdefghijklmnopq\n}"), "too long"},
		{"checker retry negative", rs("TCP_CHECK {\nretry -1\n}"), "out of range"},
		{"checker delay_loop 0", rs("TCP_CHECK {\ndelay_loop 0\n}"), "out of range"},
		{"nothing to connect to", fw("TCP_CHECK {\n}"), "TCP_CHECK has no port to connect to"},
		{"nothing to connect to, HTTP", fw("HTTP_GET {\nurl {\npath /\n}\n}"), "HTTP_GET has no port"},
		{"smtp host without port", fw("SMTP_CHECK {\nconnect_port 25\nhost {\nconnect_ip 198.18.0.5\n}\n}"), ""},
		{"dns type", rs("DNS_CHECK {\ntype PTR\n}"), `unknown value "PTR"`},
		{"dns name label", rs("DNS_CHECK {\nname ..x\n}"), "empty label"},
		{"dns name twice", rs("DNS_CHECK {\nname a.example\nname b.example\n}"), "name given twice"},
		{"udp payload", rs("UDP_CHECK {\npayload 12 zz\n}"), `"z" is not a hex digit`},
		{"udp payload mask", rs("UDP_CHECK {\npayload 1x\n}"), `"x" is not a hex digit`},
		{"udp lengths", rs("UDP_CHECK {\nmin_reply_length 10\nmax_reply_length 5\n}"), "exceeds max_reply_length 5"},
		{"udp length range", rs("UDP_CHECK {\nmax_reply_length 65536\n}"), "out of range"},
		{"file check without track_file", rs("FILE_CHECK {\n}"), "has no track_file"},
		{"file check unknown track_file", rs("FILE_CHECK {\ntrack_file nope\n}"), "track_file nope is not defined"},
		{"file check weight option", rs("FILE_CHECK {\ntrack_file nope\nweight 2 backwards\n}"), `unknown value "backwards"`},
		{"checker with arguments", rs("TCP_CHECK now {\n}"), "takes no arguments"},
		{"checker without block", rs("TCP_CHECK"), "needs a { } block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := lvsParse(t, tt.src)
			if tt.err == "" {
				if ds.HasErrors() {
					t.Fatalf("unexpected errors:\n%s", ds.Errors().Error())
				}
				return
			}
			d := lvsFind(ds, Error, tt.err)
			if d == nil {
				t.Fatalf("want error containing %q, got:\n%s", tt.err, ds.Error())
			}
			if !d.Pos.IsValid() || d.Pos.File != "test.conf" {
				t.Errorf("error %q has no position", d.Msg)
			}
		})
	}
}

// TestLVSWarnings covers what keepalived accepts after substituting a
// default or ignoring a setting that means nothing in its context.
func TestLVSWarnings(t *testing.T) {
	tests := []struct {
		name, src, warn string
		check           func(t *testing.T, vs *VirtualServer)
	}{
		{"no scheduler", strings.Replace(lvsRS(""), "    lvs_sched rr\n", "", 1), "no lvs_sched; keepalived uses wlc",
			func(t *testing.T, vs *VirtualServer) {
				if vs.Sched != "wlc" {
					t.Errorf("sched %q", vs.Sched)
				}
			}},
		{"no method", strings.Replace(lvsRS(""), "    lvs_method NAT\n", "", 1), "no lvs_method; keepalived uses NAT",
			func(t *testing.T, vs *VirtualServer) {
				if vs.Method != "NAT" || vs.RealServers[0].Method != "NAT" {
					t.Errorf("method %q", vs.Method)
				}
			}},
		{"no protocol", strings.Replace(lvsRS(""), "    protocol TCP\n", "", 1), "no protocol; keepalived uses UDP",
			func(t *testing.T, vs *VirtualServer) {
				if vs.Protocol != "UDP" {
					t.Errorf("protocol %q", vs.Protocol)
				}
			}},
		{"protocol on fwmark", "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}",
			"no effect on fwmark", func(t *testing.T, vs *VirtualServer) {
				if vs.Protocol != "" {
					t.Errorf("protocol %q", vs.Protocol)
				}
			}},
		{"ops on TCP", lvsRS("    ops"), "one-packet scheduling needs UDP", func(t *testing.T, vs *VirtualServer) {
			if vs.OPS {
				t.Error("ops kept")
			}
		}},
		{"ha_suspend on fwmark", "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method NAT\n ha_suspend\n real_server 198.18.0.2 80 {\n }\n}",
			"cannot be used with fwmarks", func(t *testing.T, vs *VirtualServer) {
				if vs.HASuspend {
					t.Error("ha_suspend kept")
				}
			}},
		{"persistence 0", lvsRS("    persistence_timeout 0"), "persistence_timeout 0 is ignored", func(t *testing.T, vs *VirtualServer) {
			if vs.PersistenceTimeout != 0 {
				t.Errorf("persistence %v", vs.PersistenceTimeout)
			}
		}},
		{"granularity implies persistence", lvsRS("    persistence_granularity 255.255.0.0"), "", func(t *testing.T, vs *VirtualServer) {
			if vs.PersistenceTimeout.D() != 360*time.Second {
				t.Errorf("persistence %v", vs.PersistenceTimeout)
			}
		}},
		{"granularity not contiguous", lvsRS("    persistence_granularity 255.0.255.0"), "not a contiguous netmask", nil},
		{"fwmark DR real server port", "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n real_server 198.18.0.2 80 {\n }\n}",
			"which fwmark virtual server fwmark 1 ignores with DR", func(t *testing.T, vs *VirtualServer) {
				if vs.RealServers[0].Port != 0 {
					t.Errorf("port %d", vs.RealServers[0].Port)
				}
			}},
		{"nb_get_retry", lvsBody("    real_server 198.18.0.2 80 {\n        HTTP_GET {\n            nb_get_retry 4\n            url {\n                path /\n            }\n        }\n    }"),
			"nb_get_retry is deprecated", func(t *testing.T, vs *VirtualServer) {
				if vs.RealServers[0].Checkers[0].Retry != 4 {
					t.Errorf("retry %d", vs.RealServers[0].Checkers[0].Retry)
				}
			}},
		{"hashed", lvsRS("    hashed"), "hashed is not implemented", nil},
		{"snmp_name", lvsRS("    snmp_name web"), "SNMP is not implemented", nil},
		{"regex", lvsBody("    real_server 198.18.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                regex \"^OK\"\n            }\n        }\n    }"),
			"regex is not implemented", nil},
		{"BFD_CHECK", lvsBody("    real_server 198.18.0.2 80 {\n        BFD_CHECK {\n            name b1\n        }\n    }"),
			"BFD_CHECK is not implemented", nil},
		{"smtp host", lvsBody("    real_server 198.18.0.2 25 {\n        SMTP_CHECK {\n            host {\n                connect_ip 198.18.0.3\n            }\n        }\n    }"),
			"host blocks are deprecated", nil},
		{"sorry inhibit alone", lvsRS("    sorry_server_inhibit"), "without a sorry_server", nil},
		{"thresholds", lvsBody("    real_server 198.18.0.2 80 {\n        uthreshold 10\n        lthreshold 10\n    }"), "not below uthreshold", nil},
		{"SNI on HTTP_GET", lvsBody("    real_server 198.18.0.2 80 {\n        HTTP_GET {\n            enable_sni\n            url {\n                path /\n            }\n        }\n    }"),
			"no effect on HTTP_GET", nil},
		{"two dynamic misc", lvsBody("    real_server 198.18.0.2 80 {\n        MISC_CHECK {\n            misc_path /a\n            misc_dynamic\n        }\n        MISC_CHECK {\n            misc_path /b\n            misc_dynamic\n        }\n    }"),
			"more than one dynamic MISC_CHECK", nil},
		{"tunnelled real server of another family", lvsBody("    real_server 2001:db8::2 80 {\n        lvs_method TUN\n    }"), "", nil},
		{"tunnelled IPv4 real server of an IPv6 service", "virtual_server 2001:db8::1 80 {\n lvs_sched rr\n lvs_method TUN\n protocol TCP\n real_server 198.18.0.2 80 {\n }\n}", "", nil},
		{"keyword in the wrong block", lvsBody("    real_server 198.18.0.2 80 {\n        lb_kind DR\n    }"), "belongs in: virtual_server", nil},
		{"SSL twice", "SSL {\n}\nSSL {\n key /k\n}\n", "SSL block given twice", nil},
		{"group port mismatch with DR", "virtual_server_group G {\n 198.18.0.1 80\n}\nvirtual_server group G {\n lvs_sched rr\n lvs_method DR\n protocol TCP\n real_server 198.18.0.2 81 {\n }\n}",
			"does not match group G entry", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds := lvsParse(t, tt.src)
			if ds.HasErrors() {
				t.Fatalf("unexpected errors:\n%s", ds.Errors().Error())
			}
			if tt.warn != "" && lvsFind(ds, Warning, tt.warn) == nil {
				t.Fatalf("want warning %q, got:\n%s", tt.warn, ds.Error())
			}
			if tt.check != nil {
				tt.check(t, cfg.VirtualServers[0])
			}
		})
	}
}

// TestLVSFamilies covers keepalived's address-family rules for fwmark
// services and tunnelled servers.
func TestLVSFamilies(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"from real servers", " real_server 2001:db8::2 {\n TCP_CHECK {\n connect_port 80\n }\n }", "inet6"},
		{"ip_family", " ip_family inet6\n real_server 198.18.0.2 {\n lvs_method TUN\n }", "inet6"},
		{"tunnelled, same family", " real_server 2001:db8::2 {\n lvs_method TUN\n }", "inet6"},
		{"tunnelled, mixed", " real_server 2001:db8::2 {\n lvs_method TUN\n }\n real_server 198.18.0.2 {\n lvs_method TUN\n }", "inet"},
		{"granularity", " persistence_granularity 64\n real_server 2001:db8::2 {\n }", "inet6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := lvsMustLoad(t, "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n"+tt.body+"\n}")
			if got := cfg.VirtualServers[0].IPFamily; got != tt.want {
				t.Errorf("family %q, want %q", got, tt.want)
			}
		})
	}
	_, ds := lvsParse(t, "virtual_server fwmark 1 {\n lvs_sched rr\n lvs_method DR\n real_server 2001:db8::2 {\n }\n real_server 198.18.0.2 {\n }\n}")
	if lvsFind(ds, Error, "is IPv4 but virtual server fwmark 1 is IPv6") == nil {
		t.Errorf("mixed untunnelled real servers accepted:\n%s", ds.Error())
	}
}

// TestLVSDetachedBodies checks that a virtual server or real server with a
// bad header still has its body read, so all mistakes show in one run, and
// that nothing of it reaches the model.
func TestLVSDetachedBodies(t *testing.T) {
	cfg, ds := lvsParse(t, "virtual_server 198.18.0.300 80 {\n lvs_sched bogus\n real_server 198.18.0.2 99999 {\n weight x\n }\n}")
	for _, want := range []string{"not an IP address", `unknown value "bogus"`, "out of range", `"x" is not a number`} {
		if lvsFind(ds, Error, want) == nil {
			t.Errorf("missing error %q in:\n%s", want, ds.Error())
		}
	}
	if len(cfg.VirtualServers) != 0 {
		t.Errorf("bad virtual server in the model: %+v", cfg.VirtualServers)
	}
}

// TestLVSNoPanic feeds every prefix of a configuration using all the
// blocks of this area: the reader must never panic.
func TestLVSNoPanic(t *testing.T) {
	src := `SSL { key /k }
virtual_server_group G { 198.18.0.1-3 80
 fwmark 1 inet }
virtual_server group G { lb_algo sh sh-port lb_kind TUN type gue port 9 csum
 persistence_granularity 255.255.255.0 quorum 2 hysteresis 9 sorry_server 198.18.0.9
 real_server 198.18.0.2 80 { weight 3 notify_up "/x y"
  HTTP_GET { url { path / digest 00 status_code 200-299 } }
  SMTP_CHECK { host { connect_ip fe80::1 } }
  UDP_CHECK { payload 0a require_reply xx }
  FILE_CHECK { track_file t weight 1 reverse }
  MISC_CHECK { misc_path "/bin/x" user }
  DNS_CHECK { type A name x }
 }
}
virtual_server fwmark 4 { real_server 2001:db8::1 { lvs_method TUN } }
`
	words := strings.Fields(src)
	for i := range words {
		for _, cut := range []string{strings.Join(words[:i], " "), strings.Join(words[:i], "\n")} {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic on %q: %v", cut, r)
					}
				}()
				Parse("p.conf", []byte(cut), Options{})
			}()
		}
	}
}

// TestLVSJSONRoundTrip checks the model survives JSON, as the supervisor
// hands it to the health-check process.
func TestLVSJSONRoundTrip(t *testing.T) {
	cfg := lvsMustLoad(t, `virtual_server_group G {
    198.18.0.1-5 80
    fwmark 2 inet
}
virtual_server group G {
    lb_algo rr
    lb_kind TUN type gre csum
    protocol TCP
    real_server 198.18.0.2 80 {
        HTTP_GET {
            url {
                path /
                status_code 200 300-399
            }
        }
    }
}`)
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	u := back.VirtualServers[0].RealServers[0].Checkers[0].HTTP.URLs[0]
	if !reflect.DeepEqual(u.StatusCodes, []StatusRange{{200, 200}, {300, 399}}) {
		t.Errorf("status codes %v", u.StatusCodes)
	}
	if back.VirtualServerGroups[0].Addresses[0].Last != netip.MustParseAddr("198.18.0.5") {
		t.Errorf("group %+v", back.VirtualServerGroups[0].Addresses[0])
	}
	if back.VirtualServers[0].Tunnel.Type != "gre" || back.VirtualServers[0].DelayLoop.D() != time.Minute {
		t.Errorf("virtual server %+v", back.VirtualServers[0])
	}
	if strings.Contains(string(raw), `"address":""`) {
		t.Errorf("empty address in JSON: %s", raw)
	}
}

// TestLVSRealConfigs loads every shared real-world and sample file that
// has virtual servers: none may draw an error.
func TestLVSRealConfigs(t *testing.T) {
	dir := lvsSharedTestdata
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s not present (it sits beside the repository in the development workplace): %v", dir, err)
	}
	var files []string
	for _, pat := range []string{"keepalived-conf/*.conf", "keepalived-samples/keepalived.conf.*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "virtual_server") && !strings.Contains(string(data), "SSL") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, ds := Load(f, Options{})
			if ds.HasErrors() {
				t.Errorf("errors:\n%s", ds.Errors().Error())
			}
			if strings.Contains(string(data), "\nvirtual_server ") && len(cfg.VirtualServers) == 0 {
				t.Errorf("no virtual server read")
			}
		})
		n++
	}
	if n < 15 {
		t.Errorf("only %d files with virtual servers found", n)
	}
}
