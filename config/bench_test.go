package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLargeConfig writes a configuration of n VRRP instances spread over
// include files of perInclude instances each, plus the scripts they track,
// the shape of a large real deployment.
func writeLargeConfig(tb testing.TB, dir string, n, perInclude int) string {
	tb.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "instances"), 0o755); err != nil {
		tb.Fatal(err)
	}
	main := `global_defs {
    router_id bench
    vrrp_garp_master_delay 1
}
vrrp_script chk_nginx {
    script "/usr/bin/pgrep nginx"
    interval 2
    weight -20
    fall 2
    rise 2
}
include instances/*.conf
`
	if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(main), 0o644); err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		iface, vrid := i/250, i%250+1
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state BACKUP
    interface eth%d
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s%d
    }
    virtual_ipaddress {
        198.18.%d.%d/16 dev eth%d
        198.19.%d.%d/16 dev eth%d label eth%d:v
    }
    track_script {
        chk_nginx weight -30
    }
    notify_master "/etc/keepalived/notify.sh master %d"
}
`, i, iface, vrid, 50+i%100, i%1000, i/250, vrid, iface, i/250, vrid, iface, iface, i)
		if (i+1)%perInclude == 0 || i == n-1 {
			name := filepath.Join(dir, "instances", fmt.Sprintf("%05d.conf", i/perInclude))
			if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
				tb.Fatal(err)
			}
			b.Reset()
		}
	}
	return filepath.Join(dir, "keepalived.conf")
}

// BenchmarkLoad10kInstances reads a 10,000-instance configuration spread
// over 100 include files. Target: under 100 ms per read.
func BenchmarkLoad10kInstances(b *testing.B) {
	path := writeLargeConfig(b, b.TempDir(), 10000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cfg, diags := Load(path, Options{})
		if diags.HasErrors() {
			b.Fatalf("unexpected errors:\n%v", diags.Errors().Error())
		}
		if len(cfg.Files) != 101 {
			b.Fatalf("read %d files, want 101", len(cfg.Files))
		}
	}
}

// TestLargeConfigLoads keeps the benchmark's input honest: it must load
// with every instance present and no errors.
func TestLargeConfigLoads(t *testing.T) {
	path := writeLargeConfig(t, t.TempDir(), 1000, 100)
	_, diags := Load(path, Options{})
	if diags.HasErrors() {
		t.Fatalf("errors:\n%v", diags.Errors().Error())
	}
}
