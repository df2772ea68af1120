package nginxpair_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleDir holds the files under test: what an operator copies.
const exampleDir = "../../examples/nginx-pair"

// The example's addresses (documentation ranges), the lab's in their
// place. Only the addresses, interface and paths change: the rest of each
// file is proven as shipped.
const (
	exVIP     = "192.0.2.10/24"
	exGossipA = "198.51.100.11:7946"
	exGossipB = "198.51.100.12:7946"
	exArbiter = "198.51.100.10:7946"
	exIface   = "interface eth0"
	exEtc     = "/etc/keepalived/"
	exWebRoot = "root /var/www/nginx-pair;"
)

// example reads one file of examples/nginx-pair.
func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exampleDir, name))
	if err != nil {
		t.Fatalf("read the example: %v", err)
	}
	return string(b)
}

// substitute replaces each old string (which must occur) and checks that
// none of the example's own addresses, interface or paths is left over,
// so a file that gains an address the test does not know fails here
// rather than reaching for a documentation address.
func substitute(t *testing.T, name, text string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("%s: %q not found; the example changed, update the test's substitutions", name, pairs[i])
		}
	}
	out := strings.NewReplacer(pairs...).Replace(text)
	for _, left := range []string{"192.0.2.", "198.51.100.", "eth0", "/etc/keepalived/", "/var/www/"} {
		for _, line := range strings.Split(out, "\n") {
			code, _, _ := strings.Cut(line, "!")
			code, _, _ = strings.Cut(code, "#")
			if strings.Contains(code, left) {
				t.Fatalf("%s: %q left after substitution: %q", name, left, line)
			}
		}
	}
	return out
}

// nodeFiles renders a node's keepalived.conf and arbiter.conf from the
// example into dir (whose check_nginx.sh and notify.sh are copies of the
// example's). which is "a" or "b".
type nodeFiles struct {
	Keepalived, Arbiter string // paths
}

func renderNode(t *testing.T, which, dir, vif, vip, gossipA, gossipB, arbiter string) nodeFiles {
	t.Helper()
	kname, aname := "keepalived-"+which+".conf", "arbiter-"+which+".conf"
	f := nodeFiles{Keepalived: filepath.Join(dir, "keepalived.conf"), Arbiter: filepath.Join(dir, "arbiter.conf")}
	k := substitute(t, kname, example(t, kname),
		exVIP, vip,
		exIface, "interface "+vif,
		exEtc, dir+"/")
	a := substitute(t, aname, example(t, aname),
		exGossipA, gossipA,
		exGossipB, gossipB,
		exArbiter, arbiter)
	write(t, f.Keepalived, k, 0o644)
	write(t, f.Arbiter, a, 0o600)
	for _, s := range []string{"check_nginx.sh", "notify.sh"} {
		write(t, filepath.Join(dir, s), example(t, s), 0o755)
	}
	return f
}

// renderSite renders the example's nginx site with its root at webRoot.
func renderSite(t *testing.T, webRoot string) string {
	t.Helper()
	return substitute(t, "nginx/nginx-pair.conf", example(t, "nginx/nginx-pair.conf"), exWebRoot, "root "+webRoot+";")
}

// nginxConf is the test's own nginx.conf around the example's site: every
// path nginx writes inside dir, in the foreground.
func nginxConf(dir, site string) string {
	return fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events {
    worker_connections 512;
}
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[2]s;
}
`, dir, site)
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
