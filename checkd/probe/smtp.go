package probe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultHelo is keepalived's helo_name default.
const DefaultHelo = "smtpchecker.keepalived.org"

// SMTPTarget is an SMTP_CHECK.
type SMTPTarget struct {
	Conn
	// Helo is the name sent in HELO (default smtpchecker.keepalived.org).
	Helo string
}

// SMTP is SMTP_CHECK (check_smtp.c smtp_engine_thread): the greeting must
// be 220, HELO must draw 250, and QUIT must draw an answer.
//
// keepalived reads only the first line of each reply and requires the
// three digits to be followed by a space or nothing; Vigil reads whole
// replies, so a multi-line greeting ("220-...") and a bare "220" line are
// accepted as RFC 5321 says they are.
func SMTP(ctx context.Context, t SMTPTarget) Result {
	start := time.Now()
	nc, err := t.dial(ctx, "tcp")
	if err != nil {
		return fail(start, "SMTP connect to %s: %s", t.Addr, describe(ctx, err))
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 1024)
	helo := t.Helo
	if helo == "" {
		helo = DefaultHelo
	}
	steps := []struct {
		send string
		want int // 0: any reply
		what string
	}{
		{"", 220, "greeting"},
		{"HELO " + helo + "\r\n", 250, "HELO"},
		{"QUIT\r\n", 0, "QUIT"},
	}
	for _, s := range steps {
		if s.send != "" {
			if _, err := io.WriteString(nc, s.send); err != nil {
				return fail(start, "SMTP %s: write: %s", s.what, describe(ctx, err))
			}
		}
		code, text, err := ReadSMTPReply(br)
		if err != nil {
			if errors.Is(err, errSMTPSyntax) {
				return fail(start, "SMTP %s: %v", s.what, err)
			}
			return fail(start, "SMTP %s: read: %s", s.what, describe(ctx, err))
		}
		if s.want != 0 && code != s.want {
			return fail(start, "SMTP %s: got %d %s, want %d", s.what, code, clip([]byte(text)), s.want)
		}
	}
	return pass(start, "SMTP greeting, HELO and QUIT accepted")
}

var errSMTPSyntax = errors.New("malformed SMTP reply")

// maxSMTPLines bounds a multi-line reply.
const maxSMTPLines = 64

// ReadSMTPReply reads one reply, all its lines, and returns its code and
// the text of its last line.
func ReadSMTPReply(br *bufio.Reader) (int, string, error) {
	first := -1
	for range maxSMTPLines {
		line, err := readLine(br)
		if err != nil {
			return 0, "", err
		}
		code, more, text, err := ParseSMTPLine(line)
		if err != nil {
			return 0, "", err
		}
		if first >= 0 && code != first {
			return 0, "", fmt.Errorf("%w: code %d within a %d reply", errSMTPSyntax, code, first)
		}
		first = code
		if !more {
			return code, text, nil
		}
	}
	return 0, "", fmt.Errorf("%w: more than %d lines", errSMTPSyntax, maxSMTPLines)
}

// readLine reads one line without its CRLF (or LF); lines longer than the
// reader's buffer are an error.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: line longer than %d bytes", errSMTPSyntax, br.Size())
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// ParseSMTPLine splits a reply line (RFC 5321 §4.2): three digits, then
// "-" for a line that more follow, or a space or nothing for the last.
func ParseSMTPLine(line []byte) (code int, more bool, text string, err error) {
	if len(line) < 3 || !allDigits(line[:3]) || line[0] < '2' || line[0] > '5' {
		return 0, false, "", fmt.Errorf("%w %q", errSMTPSyntax, clip(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	switch {
	case len(line) == 3:
		return code, false, "", nil
	case line[3] == '-':
		return code, true, string(line[4:]), nil
	case line[3] == ' ':
		return code, false, string(line[4:]), nil
	}
	return 0, false, "", fmt.Errorf("%w %q", errSMTPSyntax, clip(line))
}
