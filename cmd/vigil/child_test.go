package main

import (
	"bytes"
	"strings"
	"testing"
)

// The subsystems that run only under vigil run refuse to start alone and
// refuse an unknown log format, each with a clear message and status 2.
func TestChildCommandsRefuse(t *testing.T) {
	for _, name := range []string{"checkd", "lvsd", "agent"} {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{nil, "runs under vigil run (--child)"},
			{[]string{"--child", "--log-format", "text"}, `unknown log format "text"`},
		} {
			var out, errb bytes.Buffer
			code := run(append([]string{"vigil", name}, tc.args...), &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), "vigil "+name+": "+tc.want) {
				t.Errorf("vigil %s %v: exit %d, stderr %q; want 2 and %q", name, tc.args, code, errb.String(), tc.want)
			}
		}
	}
}

// vrrpd and the arbiter also run standalone: an unknown log format is
// refused there with the same message and status 2, before any
// configuration is read (without the check each of these fails later
// with another message: a missing file, no --bind).
func TestStandaloneCommandsRefuseLogFormat(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"vrrpd", "--log-format", "text", "-f", "/nonexistent/keepalived.conf"}, `vigil vrrpd: unknown log format "text" (console or json)`},
		{[]string{"vrrpd", "--child", "--log-format", "text"}, `vigil vrrpd: unknown log format "text" (console or json)`},
		{[]string{"arbiter", "--log-format", "jsn"}, `vigil arbiter: unknown log format "jsn" (console or json)`},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"vigil"}, tc.args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("vigil %v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
