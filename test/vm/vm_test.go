package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

// TestIPVSSmokeInVM builds the IPVS smoke test as a static binary, runs it
// in Debian's kernel under QEMU and checks that it really ran and passed
// there (a skip inside the guest would also exit 0). The same boot runs the
// host's dynamically linked ipvsadm in the guest (vmkit's HostBinaries).
func TestIPVSSmokeInVM(t *testing.T) {
	t.Parallel()
	im := vmkit.Require(t)
	wants := []string{
		"guest kernel " + im.KernelVersion,
		"--- PASS: TestIPVSSmoke",
		"--- PASS: TestSchedulers",
		"\nPASS\n",
	}
	var g vmkit.GuestOptions
	const ipvsadm = "/usr/sbin/ipvsadm"
	if _, err := os.Stat(ipvsadm); err == nil {
		g.HostBinaries = []string{ipvsadm}
		g.Env = []string{"VIGIL_VMTEST_IPVSADM=1"}
		wants = append(wants, "--- PASS: TestIpvsadmHostBinary")
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v (make test-deps installs ipvsadm)", ipvsadm, err)
	} else {
		t.Logf("%s: %v; the guest runs no host binary (apt-get install ipvsadm)", ipvsadm, err)
	}
	out, rc := vmkit.GoTestInVMWith(t, "./ipvssmoke", g, "-test.v", "-test.count=1", "-test.timeout=3m")
	if rc != 0 {
		t.Fatalf("the smoke test exited %d in the VM, want 0; guest console:\n%s", rc, out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Fatalf("guest output lacks %q; guest console:\n%s", want, out)
		}
	}
}

// TestVmexecForgedMarker runs the vmexec command itself, as go test -exec
// does, on a test that prints forged exit markers and fails: vmexec must
// exit with the test's real status, 1.
func TestVmexecForgedMarker(t *testing.T) {
	t.Parallel()
	vmkit.Require(t) // prepares the image, or skips saying why
	dir := t.TempDir()
	smoke, vmexec := filepath.Join(dir, "ipvssmoke.test"), filepath.Join(dir, "vmexec")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"test", "-c", "-o", smoke, "./ipvssmoke"},
		{"build", "-o", vmexec, "./cmd/vmexec"},
	} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}

	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, vmexec, smoke, "-test.v", "-test.run=^TestForgedMarker$")
	cmd.Dir = "ipvssmoke"
	cmd.Env = append(os.Environ(), "VIGIL_VMTEST_SELFTEST=forge")
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("vmexec: %v\n%s", err, buf.String())
	}
	if rc := cmd.ProcessState.ExitCode(); rc != 1 || !strings.Contains(buf.String(), "--- FAIL: TestForgedMarker") {
		t.Fatalf("vmexec exited %d, want 1 (the test's own failure, despite the forged markers); output:\n%s", rc, buf.String())
	}
}
