package kernel

import (
	"os"
	"strings"
	"testing"

	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

// guestTests are the guest tests TestKernelInVM expects to pass: a test
// that skipped in the guest would also exit 0, so each is checked by name.
var guestTests = []string{
	"TestGuestTable",
	"TestGuestErrors",
	"TestGuestRecover",
	"TestGuestRestart",
	"TestGuestTraffic",
	"TestGuestReconcile",
}

// TestKernelInVM runs every TestGuest* test of this package in one boot of
// Debian's kernel under QEMU (test/vm) and checks that each passed there.
// It skips where the harness cannot run (no QEMU, -short), like every VM
// test; in the guest it is not selected, so it cannot recurse.
func TestKernelInVM(t *testing.T) {
	if os.Getenv("VIGIL_IN_VM") == "1" {
		t.Skip("the host-side driver does not run in the guest")
	}
	out, rc := vmkit.GoTestInVM(t, ".", nil, "-test.v", "-test.count=1", "-test.timeout=4m", "-test.run=^TestGuest")
	if rc != 0 {
		t.Fatalf("the guest tests exited %d; guest console:\n%s", rc, out)
	}
	for _, name := range guestTests {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Fatalf("guest output lacks %q; guest console:\n%s", "--- PASS: "+name, out)
		}
	}
	if !strings.Contains(out, "\nPASS\n") {
		t.Fatalf("guest output lacks the final PASS; guest console:\n%s", out)
	}
}
