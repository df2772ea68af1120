package probe

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpResponder plays a scripted SMTP server: the greeting, then one reply
// per command received; it records the commands.
type smtpResponder struct {
	mu   sync.Mutex
	cmds []string
}

func startSMTP(t *testing.T, greeting string, replies map[string]string, release <-chan struct{}) (*tcpServer, *smtpResponder) {
	t.Helper()
	r := &smtpResponder{}
	srv := startTCP(t, func(c net.Conn) {
		if greeting == "" {
			<-release
			return
		}
		io.WriteString(c, greeting)
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			r.mu.Lock()
			r.cmds = append(r.cmds, line)
			r.mu.Unlock()
			verb := strings.ToUpper(strings.Fields(line + " x")[0])
			reply, ok := replies[verb]
			if !ok {
				reply = "500 what?\r\n"
			}
			if reply == "hang" {
				<-release
				return
			}
			io.WriteString(c, reply)
			if verb == "QUIT" {
				return
			}
		}
	})
	return srv, r
}

func TestSMTP(t *testing.T) {
	ctx := testCtx(t)
	good := map[string]string{"HELO": "250 mail.example.test\r\n", "QUIT": "221 bye\r\n"}
	tests := []struct {
		name     string
		greeting string
		replies  map[string]string
		ok       bool
		detail   string
	}{
		{"up", "220 mail.example.test ESMTP\r\n", good, true, "accepted"},
		{"multi-line greeting", "220-mail.example.test ESMTP\r\n220-more\r\n220 ready\r\n", good, true, "accepted"},
		{"bare code", "220\r\n", good, true, "accepted"},
		{"LF-only line ends", "220 hi\n", map[string]string{"HELO": "250 ok\n", "QUIT": "221 bye\n"}, true, "accepted"},
		{"service not available", "421 busy\r\n", good, false, "greeting: got 421"},
		{"HELO refused", "220 hi\r\n", map[string]string{"HELO": "501 no\r\n", "QUIT": "221 bye\r\n"}, false, "HELO: got 501"},
		{"QUIT unanswered (closed)", "220 hi\r\n", map[string]string{"HELO": "250 ok\r\n", "QUIT": ""}, false, "QUIT"},
		{"not SMTP", "SSH-2.0-OpenSSH\r\n", good, false, "malformed SMTP reply"},
		{"mixed codes in one reply", "220-a\r\n250 b\r\n", good, false, "malformed"},
		{"slow greeting: timeout", "", good, false, "timeout"},
		{"slow HELO answer: timeout", "220 hi\r\n", map[string]string{"HELO": "hang"}, false, "HELO: read: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv, rec := startSMTP(t, tt.greeting, tt.replies, release)
			t.Cleanup(func() { close(release) })
			r := SMTP(ctx, SMTPTarget{Conn: Conn{Addr: srv.addr(t), Timeout: 300 * time.Millisecond}, Helo: "director.example.test"})
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got ok=%v %q, want ok=%v ~%q", r.OK, r.Detail, tt.ok, tt.detail)
			}
			if r.Latency > 3*time.Second {
				t.Errorf("took %v", r.Latency)
			}
			if tt.ok {
				rec.mu.Lock()
				got := strings.Join(rec.cmds, "")
				rec.mu.Unlock()
				if got != "HELO director.example.test\r\nQUIT\r\n" {
					t.Errorf("commands %q", got)
				}
			}
		})
	}
	if r := SMTP(ctx, SMTPTarget{Conn: Conn{Addr: refusedAddr(t)}}); r.OK || !strings.Contains(r.Detail, "refused") {
		t.Errorf("refused: %+v", r)
	}
}

func TestSMTPDefaultHelo(t *testing.T) {
	srv, rec := startSMTP(t, "220 hi\r\n", map[string]string{"HELO": "250 ok\r\n", "QUIT": "221 bye\r\n"}, nil)
	if r := SMTP(testCtx(t), SMTPTarget{Conn: Conn{Addr: srv.addr(t)}}); !r.OK {
		t.Fatalf("%+v", r)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.cmds) == 0 || rec.cmds[0] != "HELO smtpchecker.keepalived.org\r\n" {
		t.Errorf("commands %q", rec.cmds)
	}
}

func TestParseSMTPLine(t *testing.T) {
	tests := []struct {
		line string
		code int
		more bool
		text string
		err  bool
	}{
		{"220 mail ready", 220, false, "mail ready", false},
		{"250-PIPELINING", 250, true, "PIPELINING", false},
		{"221", 221, false, "", false},
		{"554 ", 554, false, "", false},
		{"22", 0, false, "", true},
		{"2200 x", 0, false, "", true},
		{"abc def", 0, false, "", true},
		{"099 low", 0, false, "", true},
		{"", 0, false, "", true},
	}
	for _, tt := range tests {
		code, more, text, err := ParseSMTPLine([]byte(tt.line))
		if (err != nil) != tt.err || code != tt.code || more != tt.more || text != tt.text {
			t.Errorf("%q: %d %v %q %v", tt.line, code, more, text, err)
		}
	}
}
