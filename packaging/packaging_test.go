package packaging_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDebWalkthrough follows the README's install path on this machine
// without touching its /usr, /etc or dpkg database: `make deb` builds the
// package the README and docs/operations.md describe (dpkg-deb -c / -I),
// dpkg installs it into a scratch root (its own database; the maintainer
// scripts run with DPKG_ROOT set), both units pass systemd-analyze verify
// against that root, the sample configuration passes vigil check-config
// the way the unit's ExecStartPre runs it, before and after the arbiter
// sample is put in place, and dpkg removes and purges it again.
//
// What comes after the install is tested where it runs: scraping
// `vigil run --metrics-listen` in core/metrics_test.go
// (TestMetricsEndpoint), `vigil status` and the logs in core/logs_test.go
// (TestRunLogs), sd_notify against a fake NOTIFY_SOCKET in
// core/sdnotify_e2e_test.go (TestSystemdNotify).
func TestDebWalkthrough(t *testing.T) {
	need(t)
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	deb := makeDeb(t, repo)

	t.Run("contents", func(t *testing.T) { checkContents(t, deb) })
	t.Run("control", func(t *testing.T) { checkControl(t, deb) })

	root := t.TempDir()
	install(t, root, deb)
	t.Run("files", func(t *testing.T) { checkInstalled(t, repo, root) })
	t.Run("systemd-analyze", func(t *testing.T) { verifyUnits(t, repo, root) })
	t.Run("unit-flags", func(t *testing.T) { checkUnitFlags(t, root) })
	t.Run("check-config", func(t *testing.T) { checkSample(t, root) })
	t.Run("remove-purge", func(t *testing.T) { removePurge(t, root) })
}

// need skips unless the walk-through can run here.
func need(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: dpkg installs into a scratch root as root (run make test as root)")
	}
	for _, tool := range []string{"make", "git", "dpkg", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (Debian's dpkg, make and git)", tool)
		}
	}
}

// run runs a command, failing the test with its output when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// makeDeb runs the Makefile's deb target as an operator does, its output
// redirected into a directory of its own under bin/ (the package keeps
// the name the Makefile gives it), and returns the package's path.
func makeDeb(t *testing.T, repo string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	// Relative to the repository: the Makefile prefixes DEB_ROOT with
	// $(CURDIR). Unique, so parallel runs and other builds never meet.
	out := filepath.Join("bin", "pkgtest-"+hex.EncodeToString(b[:]))
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(repo, out)) })
	start := time.Now()
	run(t, repo, nil, "make", "--no-print-directory", "deb",
		"BIN="+out+"/vigil", "DEB_ROOT="+out+"/root",
		// Recursively expanded by make: the Makefile's own VERSION and
		// DEB_ARCH name the file, as in bin/vigil_VERSION_ARCH.deb.
		"DEB="+out+"/vigil_$(VERSION)_$(DEB_ARCH).deb")
	t.Logf("make deb: %s", time.Since(start).Round(100*time.Millisecond))
	debs, _ := filepath.Glob(filepath.Join(repo, out, "vigil_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb left %v in %s, want one vigil_VERSION_ARCH.deb", debs, out)
	}
	name := filepath.Base(debs[0])
	m := regexp.MustCompile(`^vigil_([0-9][A-Za-z0-9.+~]*)_([a-z0-9]+)\.deb$`).FindStringSubmatch(name)
	if m == nil || m[2] != runtime.GOARCH {
		t.Fatalf("package name %q is not vigil_VERSION_%s.deb", name, runtime.GOARCH)
	}
	if v := strings.TrimSpace(run(t, "", nil, "dpkg-deb", "-f", debs[0], "Version")); v != m[1] {
		t.Fatalf("package %s says Version %q", name, v)
	}
	return debs[0]
}

// The files the README and docs/operations.md list, with their modes;
// nothing else but directories.
var wantFiles = map[string]string{
	"./usr/sbin/vigil":                              "-rwxr-xr-x",
	"./lib/systemd/system/vigil.service":            "-rw-r--r--",
	"./lib/systemd/system/vigil-arbiter.service":    "-rw-r--r--",
	"./etc/keepalived/keepalived.conf.vigil-sample": "-rw-r--r--",
	"./etc/keepalived/arbiter.conf.vigil-sample":    "-rw-------", // holds the secret
}

func checkContents(t *testing.T, deb string) {
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run(t, "", nil, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line) // mode owner size date time path
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		if f[1] != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", f[5], f[1])
		}
		if strings.HasPrefix(f[0], "d") {
			continue
		}
		got[f[5]] = f[0]
	}
	for path, mode := range wantFiles {
		if got[path] != mode {
			t.Errorf("package: %s has mode %q, want %q", path, got[path], mode)
		}
	}
	for path := range got {
		if _, ok := wantFiles[path]; !ok {
			t.Errorf("package holds %s, which the README does not list", path)
		}
	}
}

func checkControl(t *testing.T, deb string) {
	info := run(t, "", nil, "dpkg-deb", "-I", deb)
	for _, want := range []string{" conffiles", " control", " postinst", " postrm",
		" Package: vigil\n", " Depends: iproute2\n", " Suggests: ipvsadm\n", " Architecture: " + runtime.GOARCH + "\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	ctl := t.TempDir()
	run(t, "", nil, "dpkg-deb", "-e", deb, ctl)
	conf, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	want := "/etc/keepalived/keepalived.conf.vigil-sample\n/etc/keepalived/arbiter.conf.vigil-sample\n"
	if string(conf) != want {
		t.Errorf("conffiles %q, want %q (the samples, nothing else: keepalived.conf is the operator's)", conf, want)
	}
}

// install makes root a scratch system with its own dpkg database, in which
// iproute2 (the package's one dependency) counts as installed, and
// installs the package there. The maintainer scripts run outside a chroot
// (the scratch root has no shell) with DPKG_ROOT set, so they leave the
// running systemd alone.
func install(t *testing.T, root, deb string) {
	t.Helper()
	admin := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"info", "updates"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	standIn := "Package: iproute2\nStatus: install ok installed\nPriority: important\nSection: net\n" +
		"Maintainer: stand-in\nArchitecture: " + runtime.GOARCH + "\nVersion: 6.1.0-3\nDescription: stand-in for the host's iproute2\n\n"
	if err := os.WriteFile(filepath.Join(admin, "status"), []byte(standIn), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(admin, "info", "iproute2.list"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkg(t, root, "-i", deb)
	if st := run(t, "", nil, "dpkg-query", "--admindir="+admin, "-W", "-f", "${Status}", "vigil"); st != "install ok installed" {
		t.Fatalf("after dpkg -i the scratch database says %q, want install ok installed (postinst failed?)", st)
	}
}

func dpkg(t *testing.T, root string, args ...string) string {
	t.Helper()
	base := []string{"--root=" + root, "--log=" + filepath.Join(root, "dpkg.log"), "--force-script-chrootless"}
	return run(t, "", nil, "dpkg", append(base, args...)...)
}

// checkInstalled compares the installed units and samples with the
// repository's: make install copies them unchanged.
func checkInstalled(t *testing.T, repo, root string) {
	for src, dst := range map[string]string{
		"packaging/systemd/vigil.service":         "lib/systemd/system/vigil.service",
		"packaging/systemd/vigil-arbiter.service": "lib/systemd/system/vigil-arbiter.service",
		"packaging/keepalived.conf":               "etc/keepalived/keepalived.conf.vigil-sample",
		"packaging/arbiter.conf":                  "etc/keepalived/arbiter.conf.vigil-sample",
	} {
		a, err := os.ReadFile(filepath.Join(repo, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil {
			t.Fatalf("installed: %v", err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("/%s differs from %s", dst, src)
		}
	}
	out := run(t, "", nil, filepath.Join(root, "usr/sbin/vigil"), "help")
	for _, cmd := range []string{"run", "check-config", "status", "arbiter"} {
		if !regexp.MustCompile(`(?m)^\s+` + cmd + `\s`).MatchString(out) {
			t.Errorf("installed vigil help lacks %s:\n%s", cmd, out)
		}
	}
}

// verifyUnits runs systemd-analyze verify on both units inside the
// scratch root. systemd is not PID 1 here, so --root is what makes it
// work: it resolves ExecStart's /usr/sbin/vigil and the units' targets
// there. The root gets this machine's stock units (sysinit.target,
// network-online.target, ...) and /bin/kill (ExecReload) for that.
func verifyUnits(t *testing.T, repo, root string) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze (package systemd)")
	}
	stock := "/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(stock, "sysinit.target")); err != nil {
		t.Skipf("no stock systemd units in %s to verify against", stock)
	}
	units := filepath.Join(root, "lib/systemd/system")
	run(t, "", nil, "cp", "-an", stock+"/.", units+"/") // -n: never over ours
	kill, err := exec.LookPath("kill")
	if err != nil {
		t.Skip("no kill binary (procps) for ExecReload")
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "", nil, "cp", kill, filepath.Join(root, "bin/kill"))

	verify := func() (string, error) {
		return runErr(root, nil, sa, "verify", "--root="+root,
			"/lib/systemd/system/vigil.service", "/lib/systemd/system/vigil-arbiter.service")
	}
	// Any line is a finding: systemd-analyze exits 0 on an unknown key or
	// a bad value and only prints it.
	if out, err := verify(); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	verifyMetricsDropIn(t, repo, root, verify)
	// It does look inside the root: without the binary both units fail.
	bin := filepath.Join(root, "usr/sbin/vigil")
	if err := os.Rename(bin, bin+".away"); err != nil {
		t.Fatal(err)
	}
	out, err := verify()
	if rerr := os.Rename(bin+".away", bin); rerr != nil {
		t.Fatal(rerr)
	}
	if err == nil || !strings.Contains(out, "vigil.service: Command /usr/sbin/vigil is not executable") ||
		!strings.Contains(out, "vigil-arbiter.service: Command /usr/sbin/vigil is not executable") {
		t.Fatalf("systemd-analyze verify without /usr/sbin/vigil in the root: %v\n%s\nwant both units refused", err, out)
	}
}

// metricsDropIn is the `systemctl edit vigil` drop-in the README and the
// operations guide give for metrics.
const metricsDropIn = "[Service]\nExecStart=\nExecStart=/usr/sbin/vigil run -f /etc/keepalived/keepalived.conf " +
	"--run-dir /run/vigil --log-format json --metrics-listen 127.0.0.1:9650\n"

// verifyMetricsDropIn: the documented drop-in is the packaged ExecStart
// plus the flag, and the unit with it passes verify (without the empty
// ExecStart= systemd refuses it: a service has one command).
func verifyMetricsDropIn(t *testing.T, repo, root string, verify func() (string, error)) {
	t.Helper()
	for _, doc := range []string{"README.md", "docs/operations.md"} {
		b, err := os.ReadFile(filepath.Join(repo, doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "```ini\n"+metricsDropIn+"```") {
			t.Errorf("%s does not give the metrics drop-in:\n%s", doc, metricsDropIn)
		}
	}
	start := strings.Join(unitLine(t, root, "vigil.service", "ExecStart"), " ")
	if !strings.Contains(metricsDropIn, "\nExecStart="+start+" --metrics-listen ") {
		t.Errorf("the documented drop-in is not the unit's ExecStart (%s) plus --metrics-listen", start)
	}
	dir := filepath.Join(root, "etc/systemd/system/vigil.service.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dropIn := filepath.Join(dir, "override.conf")
	if err := os.WriteFile(dropIn, []byte(metricsDropIn), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if out, err := verify(); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify with the metrics drop-in: %v\n%s", err, out)
	}
	bad := strings.Replace(metricsDropIn, "ExecStart=\n", "", 1)
	if err := os.WriteFile(dropIn, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil || !strings.Contains(out, "more than one ExecStart=") {
		t.Fatalf("a drop-in without the empty ExecStart= passed verify (%v):\n%s", err, out)
	}
}

// unitLine returns the arguments of key= in an installed unit.
func unitLine(t *testing.T, root, unit, key string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", unit))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("%s has no %s=", unit, key)
	return nil
}

// checkUnitFlags: every flag the units pass is one the installed binary
// knows (a renamed flag would only show when systemd starts the unit).
func checkUnitFlags(t *testing.T, root string) {
	bin := filepath.Join(root, "usr/sbin/vigil")
	for _, u := range []struct{ unit, key string }{
		{"vigil.service", "ExecStartPre"},
		{"vigil.service", "ExecStart"},
		{"vigil-arbiter.service", "ExecStart"},
	} {
		args := unitLine(t, root, u.unit, u.key)
		if args[0] != "/usr/sbin/vigil" || len(args) < 2 {
			t.Errorf("%s %s=%v does not run /usr/sbin/vigil SUBCOMMAND", u.unit, u.key, args)
			continue
		}
		help := run(t, "", nil, bin, args[1], "--help")
		for _, a := range args[2:] {
			if strings.HasPrefix(a, "-") && !regexp.MustCompile(`(^|[ ,])`+regexp.QuoteMeta(a)+`\b`).MatchString(help) {
				t.Errorf("%s %s= passes %s, which vigil %s --help does not list:\n%s", u.unit, u.key, a, args[1], help)
			}
		}
	}
}

// checkSample follows the README: the sample becomes keepalived.conf,
// then checks as the unit's ExecStartPre checks it; then the arbiter
// sample goes in place (0600) and the file checks clean, --strict too.
// The sample's include names /etc/keepalived: the copy names the scratch
// root's instead, the one edit a scratch root needs.
func checkSample(t *testing.T, root string) {
	etc := filepath.Join(root, "etc/keepalived")
	sample, err := os.ReadFile(filepath.Join(etc, "keepalived.conf.vigil-sample"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sample, []byte("include /etc/keepalived/arbiter*.conf")) {
		t.Fatalf("the sample no longer includes /etc/keepalived/arbiter*.conf; update this test and the docs")
	}
	conf := bytes.ReplaceAll(sample, []byte("include /etc/keepalived/"), []byte("include "+etc+"/"))
	if err := os.WriteFile(filepath.Join(etc, "keepalived.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	// ExecStartPre, its paths in the scratch root.
	pre := unitLine(t, root, "vigil.service", "ExecStartPre")
	for i, a := range pre {
		if strings.HasPrefix(a, "/") {
			pre[i] = filepath.Join(root, a)
		}
	}
	out := run(t, "", nil, pre[0], pre[1:]...)
	if !strings.Contains(out, "configuration OK: 1 vrrp_instance(s), 0 virtual_server(s), 1 warning(s)") ||
		!strings.Contains(out, "arbiter*.conf\" matches no file") {
		t.Errorf("%v without arbiter.conf: want OK with the one optional-include warning:\n%s", pre, out)
	}
	run(t, "", nil, "install", "-m", "0600", filepath.Join(etc, "arbiter.conf.vigil-sample"), filepath.Join(etc, "arbiter.conf"))
	bin := filepath.Join(root, "usr/sbin/vigil")
	out = run(t, "", nil, bin, "check-config", "--strict", "-f", filepath.Join(etc, "keepalived.conf"))
	if !strings.Contains(out, "configuration OK: 1 vrrp_instance(s), 0 virtual_server(s), 0 warning(s)") {
		t.Errorf("with the arbiter sample in place: %s", out)
	}
	out = run(t, "", nil, bin, "check-config", "--strict", "-f", filepath.Join(etc, "arbiter.conf"))
	if !strings.Contains(out, "configuration OK") {
		t.Errorf("the arbiter host's file: %s", out)
	}
}

// removePurge: dpkg -r keeps the samples (conffiles) and the operator's
// files; -P removes the samples only.
func removePurge(t *testing.T, root string) {
	etc := filepath.Join(root, "etc/keepalived")
	exists := func(p string) bool { _, err := os.Stat(filepath.Join(root, p)); return err == nil }
	dpkg(t, root, "-r", "vigil")
	if exists("usr/sbin/vigil") || exists("lib/systemd/system/vigil.service") {
		t.Error("dpkg -r left the binary or the unit")
	}
	if !exists("etc/keepalived/keepalived.conf.vigil-sample") {
		t.Error("dpkg -r removed a conffile")
	}
	dpkg(t, root, "-P", "vigil")
	left, _ := filepath.Glob(filepath.Join(etc, "*"))
	for i := range left {
		left[i] = filepath.Base(left[i])
	}
	slices.Sort(left)
	if fmt.Sprint(left) != "[arbiter.conf keepalived.conf]" {
		t.Errorf("after dpkg -P /etc/keepalived holds %v, want the operator's arbiter.conf and keepalived.conf only", left)
	}
}
