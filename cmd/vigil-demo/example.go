package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// example is the nginx pair of examples/nginx-pair as the demo deploys
// it: its files, rewritten only where the lab differs from the hosts the
// README describes (the interface, the addresses and the paths), the way
// an operator adapts them. A rewrite whose text the file no longer holds
// stops the demo, so the demo keeps running the example as it stands.
type example struct {
	dir    string // the example's directory (-examples)
	etc    string // where the scripts are installed, as /etc/keepalived
	check  string // the installed check_nginx.sh
	arbAdr netip.Addr
}

// The README's documentation addresses, replaced by the lab's.
const (
	exampleVIP      = "192.0.2.10/24"
	exampleGossipA  = "198.51.100.11"
	exampleGossipB  = "198.51.100.12"
	exampleArbiter  = "198.51.100.10"
	exampleEtc      = "/etc/keepalived/"
	exampleNotify   = `notify "/etc/keepalived/notify.sh"`
	exampleInclude  = "include /etc/keepalived/arbiter.conf"
	exampleWWW      = "root /var/www/nginx-pair;"
	exampleIface    = "interface eth0"
	exampleSiteFile = "nginx/nginx-pair.conf"
)

// exampleFiles are the files of the example the demo deploys.
var exampleFiles = []string{"keepalived-a.conf", "keepalived-b.conf", "arbiter-a.conf", "arbiter-b.conf", "check_nginx.sh", exampleSiteFile}

// rewrite replaces old (which must occur) with new.
type rewrite struct{ old, new string }

// installExample copies check_nginx.sh into a directory only root can
// write (enable_script_security refuses a script others could change).
func installExample(r *reporter, s *scratch, dir string, arbiter netip.Addr) *example {
	e := &example{dir: dir, etc: s.mkdir(r, "etc-keepalived"), arbAdr: arbiter}
	body, err := os.ReadFile(filepath.Join(dir, "check_nginx.sh"))
	if err != nil {
		r.Fatalf("example: %v", err)
	}
	e.check = filepath.Join(e.etc, "check_nginx.sh")
	if err := os.WriteFile(e.check, body, 0o755); err != nil {
		r.Fatalf("example: %v", err)
	}
	return e
}

// render reads one of the example's files and applies the rewrites.
func (e *example) render(r *reporter, name string, rws ...rewrite) string {
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		r.Fatalf("example: %v", err)
	}
	text := string(b)
	for _, rw := range rws {
		if !strings.Contains(text, rw.old) {
			r.Fatalf("example: %s no longer holds %q, which the demo rewrites for the lab (update cmd/vigil-demo/example.go)",
				filepath.Join(e.dir, name), rw.old)
		}
		text = strings.ReplaceAll(text, rw.old, rw.new)
	}
	return text
}

// keepalivedConf is the node's keepalived.conf (keepalived-a.conf or
// -b.conf) for the lab, including the node's arbiter.conf at arbiterPath.
// notify.sh is left out: it writes to the host's syslog, which the demo
// leaves alone.
func (e *example) keepalivedConf(r *reporter, n *node, arbiterPath string) string {
	return e.render(r, "keepalived-"+n.side+".conf",
		rewrite{exampleIface, "interface " + n.ifLAN},
		rewrite{exampleVIP, vip.String()},
		rewrite{exampleNotify, "! notify.sh left out by the demo (it logs to the host's syslog)"},
		rewrite{exampleEtc + "check_nginx.sh", e.check},
		rewrite{exampleInclude, "include " + arbiterPath})
}

// arbiterConf is arbiter-a.conf or -b.conf on the lab's gossip net.
func (e *example) arbiterConf(r *reporter, side string) string {
	return e.render(r, "arbiter-"+side+".conf",
		rewrite{exampleGossipA, gossA.Addr().String()},
		rewrite{exampleGossipB, gossB.Addr().String()},
		rewrite{exampleArbiter, e.arbAdr.String()})
}

// site is the nginx site with its root in www.
func (e *example) site(r *reporter, www string) string {
	return e.render(r, exampleSiteFile, rewrite{exampleWWW, fmt.Sprintf("root %s;", www)})
}
