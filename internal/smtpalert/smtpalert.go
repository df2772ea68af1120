// Package smtpalert sends keepalived's alert e-mails (smtp_alert): VRRP
// instance and sync group transitions, real servers going UP or DOWN,
// virtual servers gaining or losing their quorum.
//
// Mail leaves from one goroutine through a bounded queue: Send never
// blocks, a full queue drops the message (logged), and a dead or slow
// server costs at most smtp_connect_timeout per SMTP step, then the
// message is dropped and logged. Nothing is retried: an alert is a
// notification, the log has the facts.
//
// The conversation is keepalived's (core/smtp.c): HELO, MAIL FROM, one
// RCPT TO per recipient, DATA with Date/From/Subject/X-Mailer/To headers,
// QUIT; the subjects are keepalived's, so existing mail filters match.
package smtpalert

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
)

// QueueLen bounds the messages waiting to be sent.
const QueueLen = 64

// Config is where and how alerts are sent.
type Config struct {
	// Server is host:port of the relay.
	Server   string
	HeloName string
	From     string
	To       []string
	// Timeout bounds the connection and each SMTP step
	// (smtp_connect_timeout).
	Timeout time.Duration
	// RouterID is the "[...]" subject prefix (router_id, default the
	// host name).
	RouterID string
}

// FromGlobal derives the sender's configuration from global_defs with
// keepalived's defaults (host name for router_id and HELO,
// keepalived@<host name> for From). ok is false when no mail can be sent:
// no smtp_server or no notification_email.
func FromGlobal(g *config.GlobalDefs) (c Config, ok bool) {
	if g == nil || g.SMTPServer == nil || g.SMTPServer.Host == "" || len(g.NotificationEmail) == 0 {
		return Config{}, false
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	port := g.SMTPServer.Port
	if port == 0 {
		port = 25
	}
	c = Config{
		Server:   net.JoinHostPort(g.SMTPServer.Host, strconv.Itoa(int(port))),
		HeloName: g.SMTPHeloName,
		From:     g.NotificationEmailFrom,
		To:       append([]string(nil), g.NotificationEmail...),
		Timeout:  g.SMTPConnectTimeout.D(),
		RouterID: g.RouterID,
	}
	if c.HeloName == "" {
		c.HeloName = host
	}
	if c.From == "" {
		c.From = "keepalived@" + host
	}
	if c.RouterID == "" {
		c.RouterID = host
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return c, true
}

// Message is one alert.
type Message struct {
	Subject string
	Body    string
}

// Sender queues alerts and sends them one at a time. A nil *Sender is
// valid and sends nothing, so callers need not check whether alerts are
// configured.
type Sender struct {
	cfg Config
	log *zap.Logger
	now func() time.Time

	q    chan Message
	done chan struct{}

	mu      sync.Mutex
	started bool // the worker runs (from the first Send)
	closed  bool
}

// New returns a sender for cfg. The worker starts with the first message.
func New(cfg Config, log *zap.Logger) *Sender {
	if log == nil {
		log = zap.NewNop()
	}
	return &Sender{cfg: cfg, log: log.With(zap.String("part", "smtp_alert")), now: time.Now,
		q: make(chan Message, QueueLen), done: make(chan struct{})}
}

// NewFromGlobal is New(FromGlobal(g)), or nil when global_defs configures
// no mail.
func NewFromGlobal(g *config.GlobalDefs, log *zap.Logger) *Sender {
	c, ok := FromGlobal(g)
	if !ok {
		return nil
	}
	return New(c, log)
}

// Send queues m and returns at once; a full queue drops it (logged).
func (s *Sender) Send(m Message) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if !s.started {
		s.started = true
		go s.run()
	}
	select {
	case s.q <- m:
	default:
		s.log.Warn("SMTP alert queue full; alert dropped", zap.String("subject", m.Subject))
	}
}

// Close stops accepting alerts and waits, up to bound, for the queued ones.
func (s *Sender) Close(bound time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.q)
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	select {
	case <-s.done:
	case <-time.After(bound):
		s.log.Warn("SMTP alerts still queued at exit; not waiting for them", zap.Duration("waited", bound))
	}
}

func (s *Sender) run() {
	defer close(s.done)
	for m := range s.q {
		if err := s.deliver(m); err != nil {
			s.log.Warn("SMTP alert not sent", zap.String("server", s.cfg.Server), zap.String("subject", m.Subject), zap.Error(err))
			continue
		}
		s.log.Info("SMTP alert successfully sent", zap.String("server", s.cfg.Server), zap.String("subject", m.Subject))
	}
}

// deliver runs one SMTP conversation, each step bounded by the timeout.
func (s *Sender) deliver(m Message) error {
	nc, err := net.DialTimeout("tcp", s.cfg.Server, s.cfg.Timeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	c := textproto.NewConn(nc)
	step := func(expect int, format string, args ...any) error {
		if err := nc.SetDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
			return err
		}
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				return err
			}
		}
		if _, _, err := c.ReadResponse(expect); err != nil {
			if format == "" {
				return fmt.Errorf("greeting: %w", err)
			}
			verb, _, _ := strings.Cut(format, " ")
			return fmt.Errorf("%s: %w", verb, err)
		}
		return nil
	}
	if err := step(220, ""); err != nil {
		return err
	}
	if err := step(250, "HELO %s", s.cfg.HeloName); err != nil {
		return err
	}
	if err := step(250, "MAIL FROM:<%s>", s.cfg.From); err != nil {
		return err
	}
	for _, to := range s.cfg.To {
		if err := step(25, "RCPT TO:<%s>", to); err != nil { // 250 or 251
			return err
		}
	}
	if err := step(354, "DATA"); err != nil {
		return err
	}
	if err := nc.SetDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
		return err
	}
	w := c.DotWriter()
	if _, err := w.Write(s.format(m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		return fmt.Errorf("end of data: %w", err)
	}
	_ = step(221, "QUIT")
	return nil
}

// format is the message: keepalived's headers, then the body.
func (s *Sender) format(m Message) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: %s\r\n", s.now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s\r\n", s.cfg.From)
	fmt.Fprintf(&b, "Subject: %s\r\n", oneLine(m.Subject))
	b.WriteString("X-Mailer: Vigil\r\n")
	fmt.Fprintf(&b, "To: %s\r\n\r\n", strings.Join(s.cfg.To, ", "))
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// VRRP state words as keepalived mails them.
const (
	Master = "MASTER"
	Backup = "BACKUP"
	Fault  = "FAULT"
)

// vrrpBody is keepalived's body for a state.
func vrrpBody(state string) string {
	if state == Master {
		return "=> VRRP Instance is now owning VRRP VIPs <="
	}
	return "=> VRRP Instance is no longer owning VRRP VIPs <="
}

// Instance queues "[router] VRRP Instance NAME - Entering STATE state".
// detail (why, priority, ...) is added to the body when not empty.
func (s *Sender) Instance(name, state, detail string) {
	if s == nil {
		return
	}
	s.Send(Message{Subject: fmt.Sprintf("[%s] VRRP Instance %s - Entering %s state", s.cfg.RouterID, name, state),
		Body: withDetail(vrrpBody(state), detail)})
}

// Group queues "[router] VRRP Group NAME - Entering STATE state".
func (s *Sender) Group(name, state string) {
	if s == nil {
		return
	}
	s.Send(Message{Subject: fmt.Sprintf("[%s] VRRP Group %s - Entering %s state", s.cfg.RouterID, name, state),
		Body: "=> All VRRP group instances are now in " + state + " state <="})
}

// Checker queues the mail of one checker of real server rs changing
// state, as keepalived sends it (one per checker, not per server):
// "[router] Realserver RS of virtual server VS - UP|DOWN", UP or DOWN
// being the checker's new state, and the body keepalived words for the
// checker's type. why is the failure (for the types whose body carries
// one); detail is added below the body when not empty.
func (s *Sender) Checker(vs, rs, checkType string, up bool, why, detail string) {
	if s == nil {
		return
	}
	word := "DOWN"
	if up {
		word = "UP"
	}
	s.Send(Message{Subject: fmt.Sprintf("[%s] Realserver %s of virtual server %s - %s", s.cfg.RouterID, rs, vs, word),
		Body: withDetail("=> "+checkerLine(checkType, up, why)+" <=", detail)})
}

// RealServerShutdown queues the mail of a live real server taken down
// because the daemon stops (omega): "[router] Realserver RS of virtual
// server VS - DOWN", "=> Shutting down <=".
func (s *Sender) RealServerShutdown(vs, rs string) {
	if s == nil {
		return
	}
	s.Send(Message{Subject: fmt.Sprintf("[%s] Realserver %s of virtual server %s - DOWN", s.cfg.RouterID, rs, vs),
		Body: "=> Shutting down <="})
}

// checkerLine is keepalived's (2.2) body line for a checker of checkType
// succeeding (up) or failing: TCP, UDP, ICMP (PING_CHECK) and MISC name
// themselves, DNS_CHECK with a colon, the others (HTTP_GET, SSL_GET,
// SMTP_CHECK, ...) say CHECK and, on failure, why.
func checkerLine(checkType string, up bool, why string) string {
	result := "failed"
	if up {
		result = "succeed" // sic: keepalived's word, which mail filters match
	}
	switch checkType {
	case "TCP_CHECK", "UDP_CHECK", "MISC_CHECK":
		return strings.TrimSuffix(checkType, "_CHECK") + " CHECK " + result + " on service"
	case "PING_CHECK":
		return "ICMP CHECK " + result + " on service"
	case "DNS_CHECK":
		return "DNS_CHECK: " + result + " on service"
	}
	if up || why == "" {
		return "CHECK " + result + " on service"
	}
	return "CHECK failed on service : " + oneLine(why)
}

// VirtualServer queues "[router] Virtualserver VS - UP|DOWN", the mail of
// a virtual server's quorum being gained (up) or lost; what is the
// transition in words (e.g. "Lost quorum 2+0=2 <= 1"), the body's line.
func (s *Sender) VirtualServer(vs string, up bool, what string) {
	if s == nil {
		return
	}
	word := "DOWN"
	if up {
		word = "UP"
	}
	s.Send(Message{Subject: fmt.Sprintf("[%s] Virtualserver %s - %s", s.cfg.RouterID, vs, word),
		Body: "=> " + what + " <="})
}

func withDetail(body, detail string) string {
	if detail == "" {
		return body
	}
	return body + "\n\n" + detail
}
