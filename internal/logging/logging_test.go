package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Every line carries the subsystem's name: JSON's "logger" key (a
// sub-logger's name extends it), the console's third column.
func TestNameOnEveryLine(t *testing.T) {
	var b bytes.Buffer
	log := NewTo(&b, "vrrpd", JSON, false)
	log.Info("(VI_1) Entering MASTER STATE")
	log.Named("memberlist").Warn("suspect")
	log.Debug("not at info level")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"vrrpd", "vrrpd.memberlist"} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if m["logger"] != want || m["ts"] == nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("line %q: logger %v, want %q (and ts, level, msg)", lines[i], m["logger"], want)
		}
	}

	b.Reset()
	NewTo(&b, "checkd", Console, true).Debug("TCP_CHECK on service 10.0.0.1:80 failed.")
	f := strings.Split(strings.TrimSpace(b.String()), "\t")
	if len(f) < 4 || f[1] != "DEBUG" || f[2] != "checkd" || f[3] != "TCP_CHECK on service 10.0.0.1:80 failed." {
		t.Errorf("console line %q, want TIME\\tDEBUG\\tcheckd\\tMESSAGE", b.String())
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"", "console", "json"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("text"); err == nil {
		t.Error("ParseFormat accepted text")
	}
}

// Auto is console on a terminal, JSON otherwise; an explicit format wins.
func TestResolve(t *testing.T) {
	_, pts := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	saved := os.Stderr
	defer func() { os.Stderr = saved }()
	for _, tc := range []struct {
		stderr *os.File
		in     Format
		want   Format
	}{
		{pts, Auto, Console}, {w, Auto, JSON}, {pts, JSON, JSON}, {w, Console, Console},
	} {
		os.Stderr = tc.stderr
		if got := Resolve(tc.in); got != tc.want {
			t.Errorf("Resolve(%q) with stderr %s = %q, want %q", tc.in, tc.stderr.Name(), got, tc.want)
		}
	}
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (ptmx, pts *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return ptmx, pts
}
