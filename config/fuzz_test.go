package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary text to the whole reader: it must never panic,
// every finding must carry a position, and the model must stay dumpable.
// Includes of any name resolve to the input itself, exercising loop
// detection and nesting limits.
func FuzzLoad(f *testing.F) {
	for _, dir := range []string{"../../shared/testdata/keepalived-conf", "../../shared/testdata/keepalived-samples", "testdata/broken"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"vrrp_instance X {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 198.18.0.1/24 }\n}\n",
		"$A=x {\n$A\n@a b\n@^a c\ninclude *.conf\n",
		"a { b { c { d { e { f { g } } } } } }\n}}}{{{\n\"unterminated\n",
		"virtual_server 198.18.0.1 80 { real_server 198.18.0.2 80 { HTTP_GET { url { path / } } } }\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		opts := Options{
			ReadFile: func(string) ([]byte, error) { return data, nil },
			Glob:     func(string) ([]string, error) { return []string{"/fuzz/inc.conf"}, nil },
		}
		cfg, diags := Parse("/fuzz/main.conf", data, opts)
		for _, d := range diags {
			if !d.Pos.IsValid() {
				t.Fatalf("diagnostic without a position: %v", d)
			}
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Fatalf("model does not marshal: %v", err)
		}
	})
}
