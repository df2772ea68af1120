package checkd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/smtpalert"
)

// FilePoll is how often FILE_CHECK reads its track_file (keepalived
// watches with inotify; vrrpd polls at the same rate).
const FilePoll = 500 * time.Millisecond

// Env is what building checks needs besides the configuration.
type Env struct {
	// Gate is the script-security policy (enable_script_security,
	// script_user) shared with vrrpd and the tracker; nil builds one from
	// global_defs, without a logger.
	Gate *script.Gate
}

// Checker is one real_server checker, ready to schedule.
type Checker struct {
	// ID is stable while the virtual server, the real server and the
	// checker's place among the server's checkers are, so a restarted or
	// reloaded checkd finds its snapshot: "VS/RS/TYPE[i]".
	ID            string
	VirtualServer string // as messages name it, e.g. "198.18.0.1:80 TCP"
	RealServer    netip.AddrPort
	Type          string
	Health        health.CheckerConfig
	Probe         func(context.Context) probe.Result
	// Start, when set, runs the probe without a goroutine (sched.Check.Start).
	Start func(done func(probe.Result)) (cancel func())
	// Timeout bounds one probe, beyond the probe's own timeouts.
	Timeout time.Duration
}

// RealServer is a real server and the IDs of its checkers, for the
// health.Server that folds them.
type RealServer struct {
	VirtualServer string
	Addr          netip.AddrPort
	Weight        int
	Checkers      []string
	Alpha         map[string]bool // checker ID -> starts DOWN
	// SuspendAddr, when valid, is the virtual address of an ha_suspend
	// virtual server: the checkers pause while this host does not hold it.
	SuspendAddr netip.Addr
	// NotifyUp and NotifyDown run when the server comes alive or dies
	// (nil: none, or refused by the script-security gate).
	NotifyUp, NotifyDown *script.Cmd
	// SMTPAlert: each change of each of its checkers sends keepalived's
	// e-mail, and an omega shutdown one more (the real server's
	// smtp_alert, else smtp_alert_checker, else smtp_alert, else on),
	// when Plan.Mail is set.
	SMTPAlert bool
}

// Plan is the real-server side of what checkd runs for a configuration
// (the vrrp_scripts and track_files vrrpd tracks are checkd/tracker's).
type Plan struct {
	Checkers    []Checker
	RealServers []RealServer
	// Refused lists checkers that will not run, and why
	// (enable_script_security, a missing script, an unreadable SSL file):
	// keepalived drops them too.
	Refused []string
	// Warnings are dangers that do not stop a check (a script writable by
	// others without enable_script_security).
	Warnings []string
	// Mail is where smtp_alert e-mails go; nil when global_defs names no
	// smtp_server or no notification_email.
	Mail *smtpalert.Config
}

// Build turns a resolved configuration into checks. It does not start
// anything; the caller schedules the checks (checkd/sched) with machines
// from their Health configurations.
func Build(cfg *config.Config, env Env) *Plan {
	gate := env.Gate
	if gate == nil {
		gate = &script.Gate{Enforce: cfg.Global.EnableScriptSecurity}
		if su := cfg.Global.ScriptUser; su != nil {
			gate.User, gate.Group = su.User, su.Group
		}
	}
	b := &builder{cfg: cfg, gate: gate, plan: &Plan{}, warned: map[string]bool{}}
	needTLS := false
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			for _, ck := range rs.Checkers {
				needTLS = needTLS || ck.Type == "SSL_GET"
			}
		}
	}
	if needTLS {
		var err error
		if b.tls, err = TLSConfig(cfg.SSL); err != nil {
			b.plan.Refused = append(b.plan.Refused, "SSL_GET checkers: "+err.Error())
		}
	}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			b.realServer(vs, rs)
		}
	}
	if mc, ok := smtpalert.FromGlobal(&cfg.Global); ok {
		b.plan.Mail = &mc
	}
	return b.plan
}

type builder struct {
	cfg    *config.Config
	gate   *script.Gate
	plan   *Plan
	tls    *tls.Config
	warned map[string]bool
}

func (b *builder) realServer(vs *config.VirtualServer, rs *config.RealServer) {
	v := vs.ID()
	addr := netip.AddrPortFrom(rs.Address, rs.Port)
	srv := RealServer{VirtualServer: v, Addr: addr, Weight: rs.Weight, Alpha: map[string]bool{}}
	if vs.HASuspend && vs.Kind() == "address" {
		srv.SuspendAddr = vs.Address.Unmap()
	}
	srv.NotifyUp = b.notify(rs.NotifyUp, fmt.Sprintf("notify_up of real server %s in %s", addr, v))
	srv.NotifyDown = b.notify(rs.NotifyDown, fmt.Sprintf("notify_down of real server %s in %s", addr, v))
	for i, ck := range rs.Checkers {
		base := fmt.Sprintf("%s/%s/%s[%d]", v, addr, ck.Type, i)
		hc := health.CheckerConfig{
			DelayLoop:        ck.DelayLoop.D(),
			Retry:            int(ck.Retry),
			DelayBeforeRetry: ck.DelayBeforeRetry.D(),
			Warmup:           ck.Warmup.D(),
			Alpha:            ck.Alpha,
			Omega:            vs.Omega,
		}
		for j, c := range b.checker(ck, &hc) {
			c.ID, c.VirtualServer, c.RealServer, c.Type, c.Health = base, v, addr, ck.Type, hc
			if j > 0 {
				c.ID = base + ".host[" + strconv.Itoa(j-1) + "]"
			}
			b.plan.Checkers = append(b.plan.Checkers, c)
			srv.Checkers = append(srv.Checkers, c.ID)
			srv.Alpha[c.ID] = hc.Alpha
		}
	}
	srv.SMTPAlert = rsSMTPAlert(&b.cfg.Global, rs)
	b.plan.RealServers = append(b.plan.RealServers, srv)
}

// NotifyTimeout bounds a real server's notify script; keepalived has no
// limit, but a hung script must not hold later notifications forever.
const NotifyTimeout = 30 * time.Second

// notify resolves a notify_up/notify_down script, or nil when there is
// none or the security gate refuses it (recorded in Refused).
func (b *builder) notify(sc *config.Script, usedBy string) *script.Cmd {
	if sc == nil || len(sc.Args) == 0 {
		return nil
	}
	if why := b.allowed(sc.Args[0], usedBy); why != "" {
		b.plan.Refused = append(b.plan.Refused, usedBy+": "+why)
		return nil
	}
	user, group := b.gate.RunAs("", "")
	return &script.Cmd{Args: sc.Args, Timeout: NotifyTimeout, User: user, Group: group}
}

func conn(co config.ConnOpts) probe.Conn {
	return probe.Conn{
		Addr:    netip.AddrPortFrom(co.ConnectIP, co.ConnectPort),
		BindTo:  co.BindTo,
		BindIf:  co.BindIf,
		Fwmark:  co.Fwmark,
		Timeout: co.ConnectTimeout.D(), BindPort: co.BindPort,
	}
}

// checker builds the probes of one checker block: one, or for an
// SMTP_CHECK with host blocks one per host after the first.
func (b *builder) checker(ck *config.Checker, hc *health.CheckerConfig) []Checker {
	co := conn(ck.ConnOpts)
	to := co.Timeout
	if to <= 0 {
		to = probe.DefaultTimeout
	}
	one := func(p func(context.Context) probe.Result, timeout time.Duration) []Checker {
		return []Checker{{Probe: p, Timeout: timeout}}
	}
	switch ck.Type {
	case "TCP_CHECK":
		out := one(func(ctx context.Context) probe.Result { return probe.TCP(ctx, co) }, to+time.Second)
		out[0].Start = func(done func(probe.Result)) func() { return probe.StartTCP(co, done) }
		return out
	case "PING_CHECK":
		return one(func(ctx context.Context) probe.Result { return probe.Ping(ctx, co) }, to+time.Second)
	case "HTTP_GET", "SSL_GET":
		t := httpTarget(ck, co)
		if ck.Type == "SSL_GET" {
			if b.tls == nil {
				b.refuse(ck, "no usable TLS client configuration")
				return nil
			}
			t.TLS = b.tls
		}
		return one(func(ctx context.Context) probe.Result { return probe.HTTP(ctx, t) }, 4*to*time.Duration(max(len(t.URLs), 1)))
	case "SMTP_CHECK":
		targets := []probe.Conn{co}
		for _, h := range ck.SMTP.Hosts {
			targets = append(targets, conn(h.ConnOpts))
		}
		var out []Checker
		for _, c := range targets {
			t := probe.SMTPTarget{Conn: c, Helo: ck.SMTP.HeloName}
			out = append(out, Checker{Probe: func(ctx context.Context) probe.Result { return probe.SMTP(ctx, t) }, Timeout: 6 * to})
		}
		return out
	case "DNS_CHECK":
		t := probe.DNSTarget{Conn: co, Type: ck.DNS.Type, Name: ck.DNS.Name}
		return one(func(ctx context.Context) probe.Result { return probe.DNS(ctx, t) }, 2*to)
	case "UDP_CHECK":
		t, err := udpTarget(ck, co)
		if err != nil {
			b.refuse(ck, err.Error())
			return nil
		}
		return one(func(ctx context.Context) probe.Result { return probe.UDP(ctx, t) }, 2*to)
	case "MISC_CHECK":
		if ck.Misc.Path == nil || len(ck.Misc.Path.Args) == 0 {
			b.refuse(ck, "no misc_path")
			return nil
		}
		if why := b.allowed(ck.Misc.Path.Args[0], fmt.Sprintf("MISC_CHECK at line %d", ck.Pos.Line)); why != "" {
			b.refuse(ck, why)
			return nil
		}
		user, group := b.gate.RunAs(ck.Misc.User, ck.Misc.Group)
		t := probe.MiscTarget{Args: ck.Misc.Path.Args, Timeout: ck.Misc.Timeout.D(), User: user, Group: group, Dynamic: ck.Misc.Dynamic}
		hc.FromStart = true
		return one(func(ctx context.Context) probe.Result { return probe.Misc(ctx, t) }, t.Timeout+5*time.Second)
	case "FILE_CHECK":
		tf := b.trackFile(ck.File.TrackFile)
		if tf == nil {
			b.refuse(ck, "track_file "+ck.File.TrackFile+" is not defined")
			return nil
		}
		t := probe.FileTarget{Path: tf.File, Weight: tf.Weight, Reverse: ck.File.Reverse}
		if ck.File.Weight != nil {
			t.Weight = *ck.File.Weight
		}
		// "There is no concept of the checker running ... we know the
		// state of the checker immediately" (check_file.c): no alpha, no
		// retries, read on every change (here: every FilePoll).
		*hc = health.CheckerConfig{DelayLoop: FilePoll, Omega: hc.Omega}
		return one(func(ctx context.Context) probe.Result { return probe.File(ctx, t) }, time.Second)
	}
	b.refuse(ck, "checker type not supported")
	return nil
}

func httpTarget(ck *config.Checker, co probe.Conn) probe.HTTPTarget {
	h := ck.HTTP
	t := probe.HTTPTarget{Conn: co, SNIName: h.SNIName, EnableSNI: h.EnableSNI, Protocol: h.HTTPProtocol}
	for _, u := range h.URLs {
		pu := probe.URL{Path: u.Path, Digest: u.Digest, Host: u.Virtualhost}
		if pu.Host == "" {
			pu.Host = h.Virtualhost
		}
		for _, r := range u.StatusCodes {
			pu.Status = append(pu.Status, probe.StatusRange{Min: r.Min, Max: r.Max})
		}
		t.URLs = append(t.URLs, pu)
	}
	return t
}

func udpTarget(ck *config.Checker, co probe.Conn) (probe.UDPTarget, error) {
	u := ck.UDP
	t := probe.UDPTarget{Conn: co, RequireReply: u.RequireReply, MinReplyLength: u.MinReplyLength, MaxReplyLength: u.MaxReplyLength}
	var err error
	if u.Payload != "" {
		if t.Payload, _, err = probe.DecodeHexMask(u.Payload); err != nil {
			return t, fmt.Errorf("payload: %w", err)
		}
	}
	if u.ReplyData != "" {
		if t.ReplyData, t.ReplyMask, err = probe.DecodeHexMask(u.ReplyData); err != nil {
			return t, fmt.Errorf("require_reply: %w", err)
		}
	}
	return t, nil
}

func (b *builder) trackFile(name string) *config.TrackFile {
	for _, tf := range b.cfg.TrackFiles {
		if tf.Name == name {
			return tf
		}
	}
	return nil
}

func (b *builder) refuse(ck *config.Checker, why string) {
	b.plan.Refused = append(b.plan.Refused, fmt.Sprintf("%s at line %d: %s", ck.Type, ck.Pos.Line, why))
}

// allowed applies the script-security gate and says why a program is
// refused ("" when it may run); an unsafe program the gate lets run is
// recorded as a warning.
func (b *builder) allowed(program, usedBy string) string {
	why := script.Unsafe(program)
	if !b.gate.Allowed(program, usedBy) {
		if why == "" {
			why = "refused by the script-security gate"
		}
		return "refused by enable_script_security: " + why
	}
	if why != "" && script.Missing(program) == "" && !b.warned[program] {
		b.warned[program] = true
		b.plan.Warnings = append(b.plan.Warnings, fmt.Sprintf("script %s could be changed by a non-root user (%s); set enable_script_security in global_defs to refuse it", program, why))
	}
	return ""
}

// TLSConfig is the TLS client configuration of SSL_GET checkers from the
// SSL block. As keepalived's, it does not verify servers: the CA file is
// loaded (and must be readable) but not used to reject certificates; the
// certificate and key, when given, are presented to servers that ask. An
// encrypted key (password) is not supported.
func TLSConfig(ssl *config.SSLConfig) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if ssl == nil {
		return cfg, nil
	}
	if ssl.CA != "" {
		pem, err := os.ReadFile(ssl.CA)
		if err != nil {
			return nil, fmt.Errorf("SSL ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SSL ca %s: no PEM certificate", ssl.CA)
		}
		cfg.RootCAs = pool
	}
	switch {
	case ssl.Certificate != "" && ssl.Key != "":
		if ssl.Password != "" {
			return nil, errors.New("SSL password: encrypted keys are not supported; decrypt the key file")
		}
		cert, err := tls.LoadX509KeyPair(ssl.Certificate, ssl.Key)
		if err != nil {
			return nil, fmt.Errorf("SSL certificate/key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case ssl.Certificate != "" || ssl.Key != "":
		return nil, errors.New("SSL: certificate and key go together")
	}
	return cfg, nil
}

// rsSMTPAlert resolves keepalived's smtp_alert for a real server: its own
// setting, else global smtp_alert_checker, else smtp_alert, else on.
func rsSMTPAlert(g *config.GlobalDefs, rs *config.RealServer) bool {
	for _, b := range []*bool{rs.SMTPAlert, g.SMTPAlertChecker, g.SMTPAlert} {
		if b != nil {
			return *b
		}
	}
	return true
}
