package lvsd

import (
	"os"
	"strings"
	"testing"

	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

// TestDaemonInVM runs this package's TestGuest* tests in one boot of
// Debian's kernel under QEMU and checks that each passed there (a skip in
// the guest would also exit 0).
func TestDaemonInVM(t *testing.T) {
	if os.Getenv("VIGIL_IN_VM") == "1" {
		t.Skip("the host-side driver does not run in the guest")
	}
	t.Parallel()
	out, rc := vmkit.GoTestInVM(t, ".", nil, "-test.v", "-test.count=1", "-test.timeout=4m", "-test.run=^TestGuest")
	if rc != 0 || !strings.Contains(out, "--- PASS: TestGuestDaemon ") {
		t.Fatalf("the guest tests exited %d or TestGuestDaemon did not pass; guest console:\n%s", rc, out)
	}
}
