package core_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// vigil run --metrics-listen serves the daemon's status as Prometheus
// metrics: the vigil_* names and the keepalived exporter's, with checkd's
// vrrp_script status and the Go collectors.
func TestMetricsEndpoint(t *testing.T) {
	c := newCluster(t)
	n := c.a
	text := `vrrp_script chk {
    script "/bin/true"
    interval 1
}
` + strings.Replace(conf(n, 150, "198.18.2.50"), "    virtual_ipaddress {",
		"    track_script {\n        chk\n    }\n    virtual_ipaddress {", 1)
	if err := os.WriteFile(n.conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// node.start's command line plus the flag.
	n.cmd = n.ns.Start(&n.out, &n.out, vigilBin, "run", "-f", n.conf, "--run-dir", n.runDir, "--log-format", "json",
		"--metrics-listen", "127.0.0.1:9650")
	n.watch.Wait(c.vip, true, 15*time.Second)

	// The endpoint listens inside the node's namespace: dial from there.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var conn net.Conn
			err := n.ns.Do(func() error {
				var err error
				conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return conn, err
		},
	}}
	scrape := func() (string, error) {
		resp, err := client.Get("http://127.0.0.1:9650/metrics")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		return string(b), err
	}
	want := []string{
		"vigil_up 1",
		"keepalived_up 1",
		fmt.Sprintf(`vigil_vrrp_state{instance="VI_1",interface="%s",state="MASTER",vrid="51"} 1`, n.ifname),
		fmt.Sprintf(`vigil_vrrp_state{instance="VI_1",interface="%s",state="BACKUP",vrid="51"} 0`, n.ifname),
		fmt.Sprintf(`keepalived_vrrp_state{iname="VI_1",intf="%s",ip_address="198.18.2.50",vrid="51"} 2`, n.ifname),
		fmt.Sprintf(`vigil_vrrp_became_master_total{instance="VI_1",interface="%s",vrid="51"} 1`, n.ifname),
		fmt.Sprintf(`vigil_vrrp_effective_priority{instance="VI_1",interface="%s",vrid="51"} 150`, n.ifname),
		`vigil_child_up{child="vrrpd"} 1`,
		`vigil_child_up{child="checkd"} 1`,
		`vigil_vrrp_script_up{script="chk"} 1`,
		`keepalived_script_status{name="chk"} 1`,
		"# TYPE vigil_vrrp_adverts_sent_total counter",
		"# TYPE go_goroutines gauge",
		"# TYPE process_resident_memory_bytes gauge",
	}
	var body string
	var missing []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		body, err = scrape()
		missing = missing[:0]
		if err != nil {
			missing = append(missing, err.Error())
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("scrape lacks:\n%s\n--- body:\n%s", strings.Join(missing, "\n"), body)
	}
}
