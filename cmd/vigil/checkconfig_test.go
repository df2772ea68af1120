package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfig(t *testing.T) {
	good := "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 7\n priority 100\n virtual_ipaddress {\n  198.18.0.7/24\n }\n}\n"
	warnOnly := good + "no_such_keyword 1\n"
	bad := "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 7\n priority 300\n virtual_ipaddress {\n  198.18.0.7/24\n }\n}\n"
	tests := []struct {
		name       string
		conf       string
		args       []string
		code       int
		stderrHas  []string
		stdoutJSON bool
	}{
		{name: "usable", conf: good, code: 0, stderrHas: []string{"configuration OK: 1 vrrp_instance(s)"}},
		{name: "warnings are not fatal", conf: warnOnly, code: 0, stderrHas: []string{":9:1: warning: unknown keyword \"no_such_keyword\""}},
		{name: "strict makes warnings fatal", conf: warnOnly, args: []string{"--strict"}, code: 1, stderrHas: []string{"treated as errors by --strict"}},
		{name: "error names file:line:col", conf: bad, code: 1, stderrHas: []string{":4:11: error: priority 300 is out of range 1-255", "configuration unusable: 1 error(s)"}},
		{name: "dump json", conf: good, args: []string{"--dump", "json"}, code: 0, stdoutJSON: true},
		{name: "dump needs a known format", conf: good, args: []string{"--dump", "yaml"}, code: 2, stderrHas: []string{"only json"}},
		{name: "missing file", conf: "", args: []string{"-f", "/nonexistent/k.conf"}, code: 1, stderrHas: []string{"cannot read configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"vigil", "check-config"}
			if tt.conf != "" {
				args = append(args, "-f", writeConf(t, tt.conf))
			}
			args = append(args, tt.args...)
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tt.code, errb.String())
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
			if tt.stdoutJSON {
				var m map[string]any
				if err := json.Unmarshal(out.Bytes(), &m); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
				}
				if _, ok := m["vrrp_instance"]; !ok {
					t.Errorf("dump lacks vrrp_instance: %s", out.String())
				}
			} else if out.Len() > 0 {
				t.Errorf("unexpected stdout: %s", out.String())
			}
		})
	}
}
