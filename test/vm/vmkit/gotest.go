package vmkit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Require returns the prepared image (building it on first use), or skips
// t where the harness cannot work: -short, not linux/amd64, no QEMU, or the
// kernel package or a tool cannot be had. Other failures fail t.
func Require(t testing.TB) *Image {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM (about 6 s warm, a minute cold); skipped with -short")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("the VM harness needs linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	// In CI (make test installs QEMU and fetches the kernel with apt)
	// a missing part is a failure: a skip there would hide that the
	// real-kernel tests never ran.
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		skip("qemu-system-x86_64 not found: apt-get install qemu-system-x86 busybox-static cpio kmod xz-utils zstd (make test-deps does, as root)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	im, err := Prepare(ctx, Options{Log: tbLog{t}})
	if errors.Is(err, ErrUnavailable) {
		skip("cannot prepare the VM image: %v", err)
	}
	if err != nil {
		t.Fatalf("prepare the VM image: %v", err)
	}
	return im
}

// GoTestInVM is the building block of a host-side test (one that plain
// `go test ./...`, and so `make test`, runs) for code that needs the VM: it
// builds the tests of the Go package in pkgDir (relative to the calling
// test's directory, e.g. "." or "./ipvssmoke") as a static binary, runs it
// in a fresh VM with args (e.g. "-test.v", "-test.run=^TestX$") and extra
// KEY=VALUE environment, and returns the guest's console output and the
// binary's exit status. It skips t where the harness cannot work (-short,
// not linux/amd64, no QEMU, no kernel package) and fails t when no status
// could be had. The package's tests must guard themselves with
// VIGIL_IN_VM=1, or this test would run them recursively.
func GoTestInVM(t testing.TB, pkgDir string, env []string, args ...string) (string, int) {
	t.Helper()
	return GoTestInVMWith(t, pkgDir, GuestOptions{Env: env}, args...)
}

// GuestOptions are what GoTestInVMWith passes to the guest besides the test
// binary: see the RunOptions fields of the same names.
type GuestOptions struct {
	// Env adds KEY=VALUE pairs to the test binary's environment.
	Env []string
	// HostBinaries are host programs (absolute paths) copied into the
	// guest at the same paths with their libraries and dynamic loader.
	HostBinaries []string
	// HostFiles are extra host files (absolute paths) copied likewise.
	HostFiles []string
}

// GoTestInVMWith is GoTestInVM with host programs and files in the guest,
// e.g. GuestOptions{HostBinaries: []string{"/usr/sbin/ipvsadm"}}. A missing
// host program fails t: check for it (and skip) before calling.
func GoTestInVMWith(t testing.TB, pkgDir string, g GuestOptions, args ...string) (string, int) {
	t.Helper()
	im := Require(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH; it builds the test binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), filepath.Base(mustAbs(t, pkgDir))+".test")
	bctx, bcancel := context.WithTimeout(ctx, 10*time.Minute)
	defer bcancel()
	build := exec.CommandContext(bctx, goTool, "test", "-c", "-o", bin, pkgDir)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go test -c %s: %v\n%s", pkgDir, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("go test -c %s built no test binary (no tests in the package?)", pkgDir)
	}

	var out bytes.Buffer
	res, err := Run(ctx, im, bin, args, RunOptions{
		Stdout: &out, Stderr: &out, Env: g.Env, WorkDir: mustAbs(t, pkgDir),
		HostBinaries: g.HostBinaries, HostFiles: g.HostFiles,
	})
	if err != nil {
		t.Fatalf("run %s in the VM: %v\nguest console:\n%s", pkgDir, err, out.String())
	}
	t.Logf("%s in the VM (kernel %s, %s): exit %d after %s", pkgDir, im.KernelVersion, res.Accel, res.ExitCode, res.Duration.Round(time.Millisecond))
	return out.String(), res.ExitCode
}

func mustAbs(t testing.TB, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tbLog turns Prepare's progress lines into test log lines.
type tbLog struct{ t testing.TB }

func (w tbLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
