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
