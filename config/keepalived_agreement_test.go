package config_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/config"
)

// The agreement record: for every test configuration, what keepalived -t
// says, what Vigil says, and why the two differ where they do. See the
// header of testdata/agreement.txt for the format and the rule behind the
// Vigil column.
const agreementPath = "testdata/agreement.txt"

// sharedTestdata is /work/shared/testdata as seen from this package when the
// repository is cloned beside ../shared (as CI does).
const sharedTestdata = "../../shared/testdata"

// corpusDirs are the folders whose every file must have a record.
var corpusDirs = []string{
	sharedTestdata + "/keepalived-conf",
	sharedTestdata + "/keepalived-samples",
	"testdata/broken",
}

// keepalivedInterfaces are the interfaces the corpus names. keepalived -t
// fails a file whose interface does not exist on the host, so it runs in a
// private network namespace holding exactly these, the same on every machine.
var keepalivedInterfaces = [][2]string{ // veth pairs, or a bridge when the peer is ""
	{"eth0", "eth1"},
	{"eth2", "eth3"},
	{"eth0.1", "enp0s3"},
	{"br0", ""},
}

const keepalivedTimeout = 20 * time.Second

// noConfigID stands in for "no @ID" on both sides. keepalived and Vigil both
// default the config-id to the host name; pinning one that no file uses
// keeps every verdict the same on every host.
const noConfigID = "vigil-agreement-no-id"

type agreement struct {
	line       int
	path       string // relative to this package
	configID   string // from PATH@ID; "" for none
	keepalived bool   // usable by keepalived -t
	vigil      bool   // usable by config.Load
	msg        string // "" for none
	why        string
}

func (a agreement) name() string {
	n := strings.TrimPrefix(a.path, sharedTestdata+"/")
	n = strings.TrimPrefix(n, "testdata/")
	if a.configID != "" {
		n += "@" + a.configID
	}
	return n
}

// id is the config-id to read the file with.
func (a agreement) id() string {
	if a.configID == "" {
		return noConfigID
	}
	return a.configID
}

func (a agreement) shared() bool { return strings.HasPrefix(a.path, sharedTestdata+"/") }

func verdict(usable bool) string {
	if usable {
		return "usable"
	}
	return "unusable"
}

func readAgreement(t *testing.T) []agreement {
	t.Helper()
	data, err := os.ReadFile(agreementPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []agreement
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		text, why, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) != 4 {
			t.Fatalf("%s:%d: want PATH KEEPALIVED VIGIL MESSAGE, got %d fields", agreementPath, n, len(f))
		}
		a := agreement{line: n, path: f[0], msg: f[3], why: strings.TrimSpace(why)}
		if a.msg == "-" {
			a.msg = ""
		}
		if i := strings.LastIndexByte(a.path, '@'); i > 0 {
			a.path, a.configID = a.path[:i], a.path[i+1:]
		}
		for i, v := range []*bool{&a.keepalived, &a.vigil} {
			switch f[1+i] {
			case "usable":
				*v = true
			case "unusable":
			default:
				t.Fatalf("%s:%d: verdict %q: want usable or unusable", agreementPath, n, f[1+i])
			}
		}
		if prev, dup := seen[a.name()]; dup {
			t.Fatalf("%s:%d: %s already recorded at line %d", agreementPath, n, a.name(), prev)
		}
		seen[a.name()] = n
		out = append(out, a)
	}
	return out
}

func haveShared() bool {
	_, err := os.Stat(sharedTestdata)
	return err == nil
}

const noShared = "../shared (" + sharedTestdata + " from config/) is absent: " +
	"clone the repository beside the project's shared folder to check the real-world files"

// TestKeepalivedAgreement holds Vigil's reader to the recorded verdicts
// and, where keepalived is installed, holds the record to keepalived.
func TestKeepalivedAgreement(t *testing.T) {
	records := readAgreement(t)

	t.Run("record", func(t *testing.T) {
		recorded := map[string]bool{}
		for _, a := range records {
			recorded[a.path] = true
			if a.keepalived != a.vigil && a.why == "" {
				t.Errorf("%s:%d: %s: keepalived says %s, Vigil %s, and no '# reason' says why",
					agreementPath, a.line, a.name(), verdict(a.keepalived), verdict(a.vigil))
			}
			if !a.vigil && a.msg == "" {
				t.Errorf("%s:%d: %s: an unusable verdict needs the message to expect", agreementPath, a.line, a.name())
			}
			if a.shared() && !haveShared() {
				continue
			}
			if _, err := os.Stat(a.path); err != nil {
				t.Errorf("%s:%d: %v", agreementPath, a.line, err)
			}
		}
		for _, dir := range corpusDirs {
			if strings.HasPrefix(dir, sharedTestdata) && !haveShared() {
				continue
			}
			files, err := filepath.Glob(filepath.Join(dir, "*"))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range files {
				if base := filepath.Base(p); base == "README.md" || strings.HasSuffix(base, ".inc") {
					continue // documentation; include-only halves of a test
				}
				if !recorded[filepath.ToSlash(p)] {
					t.Errorf("%s has no line in %s", p, agreementPath)
				}
			}
		}
	})

	t.Run("vigil", func(t *testing.T) {
		for _, a := range records {
			t.Run(a.name(), func(t *testing.T) {
				t.Parallel()
				if a.shared() && !haveShared() {
					t.Skip(noShared)
				}
				checkVigil(t, a)
			})
		}
	})

	t.Run("keepalived", func(t *testing.T) {
		if reason := keepalivedUnavailable(); reason != "" {
			t.Skip(reason)
		}
		for _, a := range records {
			t.Run(a.name(), func(t *testing.T) {
				t.Parallel()
				if a.shared() && !haveShared() {
					t.Skip(noShared)
				}
				checkKeepalived(t, a)
			})
		}
	})
}

func checkVigil(t *testing.T, a agreement) {
	_, diags := config.Load(a.path, config.Options{ConfigID: a.id()})
	for _, d := range diags {
		if d.Pos.File == "" || d.Pos.Line <= 0 || d.Pos.Col <= 0 {
			t.Errorf("diagnostic does not name file:line:col: %v", d)
		}
	}
	if got := !diags.HasErrors(); got != a.vigil {
		t.Errorf("%s:%d: Vigil finds this %s, recorded %s; diagnostics:\n%s",
			agreementPath, a.line, verdict(got), verdict(a.vigil), indent(diags.Error()))
	}
	// A broken file of our corpus has one mistake: Vigil must report it
	// once, not as a cascade (an invalid value also reported "missing").
	if errs := diags.Errors(); !a.vigil && strings.HasPrefix(a.path, "testdata/broken/") && len(errs) != 1 {
		t.Errorf("%s:%d: want exactly one error, got %d:\n%s", agreementPath, a.line, len(errs), indent(errs.Error()))
	}
	if a.msg == "" {
		return
	}
	pool, kind := diags, "diagnostic"
	if !a.vigil {
		pool, kind = diags.Errors(), "error"
	}
	want := strings.ToLower(a.msg)
	if !slices.ContainsFunc(pool, func(d config.Diagnostic) bool {
		return strings.Contains(strings.ToLower(d.Msg), want)
	}) {
		t.Errorf("%s:%d: no %s mentions %q; diagnostics:\n%s",
			agreementPath, a.line, kind, a.msg, indent(diags.Error()))
	}
}

// keepalivedUnavailable says why keepalived cannot give its verdicts here,
// or "" when it can.
func keepalivedUnavailable() string {
	if _, err := exec.LookPath("keepalived"); err != nil {
		return "keepalived is not on PATH, so the recorded keepalived verdicts go unchecked " +
			"(make test installs it on Debian: apt-get install keepalived)"
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not on PATH; it is needed to run keepalived -t in a private network namespace"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), keepalivedTimeout)
	defer cancel()
	out, err := netnsCommand(ctx, "true").CombinedOutput()
	if err != nil {
		return "cannot build a private network namespace for keepalived -t (needs root, or unprivileged user namespaces): " +
			strings.TrimSpace(string(out)) + " " + err.Error()
	}
	return ""
}

// netnsCommand runs argv in a new network namespace holding
// keepalivedInterfaces, so no host interface, address or route is visible
// to the command or touched by it.
func netnsCommand(ctx context.Context, argv ...string) *exec.Cmd {
	var script strings.Builder
	script.WriteString("set -e\nip link set lo up\n")
	for _, p := range keepalivedInterfaces {
		if p[1] == "" {
			script.WriteString("ip link add '" + p[0] + "' type bridge\n")
		} else {
			script.WriteString("ip link add '" + p[0] + "' type veth peer name '" + p[1] + "'\n")
		}
	}
	script.WriteString(`exec "$@"` + "\n")
	args := []string{"-n"}
	if os.Geteuid() != 0 {
		args = append(args, "-r") // a user namespace lends the rights to build it
	}
	args = append(args, "sh", "-c", script.String(), "vigil-netns")
	cmd := exec.CommandContext(ctx, "unshare", append(args, argv...)...)
	cmd.WaitDelay = time.Second
	return cmd
}

func checkKeepalived(t *testing.T, a agreement) {
	abs, err := filepath.Abs(a.path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), keepalivedTimeout)
	defer cancel()
	cmd := netnsCommand(ctx, "keepalived", "-t", "-f", abs, "-i", a.id())
	cmd.Dir = filepath.Dir(abs)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("keepalived -t -f %s did not finish in %v:\n%s", a.path, keepalivedTimeout, indent(string(out)))
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running keepalived: %v", err)
	}
	if got := err == nil; got != a.keepalived {
		t.Errorf("%s:%d: keepalived -t finds this %s (%v), recorded %s; its output:\n%s",
			agreementPath, a.line, verdict(got), err, verdict(a.keepalived), indent(string(out)))
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (none)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
