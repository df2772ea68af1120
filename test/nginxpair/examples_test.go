package nginxpair_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-ha/vigil/internal/lab"
)

// TestExampleFilesCheck: both nodes' files, rendered as the end-to-end
// test renders them, pass `vigil check-config --strict` (no error, no
// warning), and keepalived 2.2.7's `keepalived -t` accepts node A's file
// with the include left out; with it, keepalived warns about every line
// of the arbiter block (Vigil's, not keepalived's) and exits 5. Both run
// in a namespace that has the interface the files name.
func TestExampleFilesCheck(t *testing.T) {
	l := lab.New(t)
	ns := l.Namespace("check")
	ifname := l.Connect(ns, "198.18.20.1/24")
	for _, which := range []string{"a", "b"} {
		dir := scratchDir(t) // not under /tmp: enable_script_security
		f := renderNode(t, which, dir, ifname, "198.18.20.50/24", "198.18.21.1:7946", "198.18.21.2:7946", "198.18.21.10:7946")
		out, err := ns.Run(vigilBin, "check-config", "--strict", "-f", f.Keepalived)
		if err != nil || !strings.Contains(out, "configuration OK: 1 vrrp_instance(s), 0 virtual_server(s), 0 warning(s)") {
			t.Errorf("vigil check-config --strict on node %s's keepalived.conf: %v\n%s", which, err, out)
		}
		if which != "a" {
			continue
		}
		if _, err := exec.LookPath("keepalived"); err != nil {
			t.Log("keepalived not installed: keepalived -t not run")
			continue
		}
		k, _ := os.ReadFile(f.Keepalived)
		bare := filepath.Join(dir, "keepalived-no-arbiter.conf")
		write(t, bare, regexp.MustCompile(`(?m)^include .*$`).ReplaceAllString(string(k), ""), 0o644)
		if out, err := ns.Run("keepalived", "-t", "-l", "-D", "-f", bare); err != nil {
			t.Errorf("keepalived -t on node A's file without the arbiter include: %v\n%s", err, out)
		}
		out, err = ns.Run("keepalived", "-t", "-l", "-D", "-f", f.Keepalived)
		if err == nil || !strings.Contains(out, "Unknown keyword 'arbiter'") {
			t.Errorf("keepalived -t with the arbiter block: %v, want it to refuse the unknown keyword\n%s", err, out)
		}
		t.Logf("keepalived -t with the arbiter include: %v; first lines:\n%s", err, firstLines(out, 3))
	}
}

// TestExampleNodesDiffer: node B's files are node A's with exactly the
// lines A marks "! B: VALUE" changed to that value (and B marks them
// "! A: VALUE" back), so the README's "lines that differ" are the truth.
func TestExampleNodesDiffer(t *testing.T) {
	for _, pair := range [][2]string{{"keepalived-a.conf", "keepalived-b.conf"}, {"arbiter-a.conf", "arbiter-b.conf"}} {
		a, b := strings.Split(example(t, pair[0]), "\n"), strings.Split(example(t, pair[1]), "\n")
		if len(a) != len(b) {
			t.Errorf("%s has %d lines, %s %d", pair[0], len(a), pair[1], len(b))
			continue
		}
		marked := 0
		for i := range a {
			if strings.HasPrefix(a[i], "!") || a[i] == b[i] {
				continue // comment lines name the node in prose
			}
			av, aMark, okA := strings.Cut(a[i], "! B: ")
			bv, bMark, okB := strings.Cut(b[i], "! A: ")
			fa, fb := strings.Fields(av), strings.Fields(bv)
			if !okA || !okB || len(fa) != 2 || len(fb) != 2 || fa[0] != fb[0] ||
				strings.TrimSpace(aMark) != fb[1] || strings.TrimSpace(bMark) != fa[1] {
				t.Errorf("%s:%d differs from %s without matching marks:\n  %s\n  %s", pair[0], i+1, pair[1], a[i], b[i])
				continue
			}
			marked++
		}
		if marked == 0 {
			t.Errorf("%s and %s do not differ at all", pair[0], pair[1])
		}
	}
}

func firstLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}
