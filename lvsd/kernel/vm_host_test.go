package kernel

import (
	"os"
	"strconv"
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
	"TestGuestBatch",
	"TestGuestBatchPartialFailure",
	"TestGuestBatchRecover",
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

// BenchmarkApplyInVM boots the VM once and runs TestGuestBench there:
// 1,000 services × 10 real servers applied from empty through this
// backend, one weight change reconciled, and the same table restored by
// ipvsadm -R (the host's /usr/sbin/ipvsadm, copied into the guest). The
// guest's figures are reported as custom metrics (ms, ops, ratio); ns/op
// is the whole VM run. Only go test -bench runs it (make bench).
func BenchmarkApplyInVM(b *testing.B) {
	if os.Getenv("VIGIL_IN_VM") == "1" {
		b.Skip("the host-side driver does not run in the guest")
	}
	g := vmkit.GuestOptions{Env: []string{"VIGIL_LVSD_BENCH=1"}}
	if _, err := os.Stat(ipvsadmPath); err == nil {
		g.HostBinaries = []string{ipvsadmPath}
	} else {
		b.Logf("no %s on the host: the guest measures without the ipvsadm -R comparison", ipvsadmPath)
	}
	for b.Loop() {
		out, rc := vmkit.GoTestInVMWith(b, ".", g, "-test.v", "-test.count=1", "-test.timeout=5m", "-test.run=^TestGuestBench$")
		if rc != 0 || !strings.Contains(out, "--- PASS: TestGuestBench ") {
			b.Fatalf("the guest benchmark exited %d; guest console:\n%s", rc, out)
		}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "BENCH-NOTE ") {
				b.Log(line)
			}
			f := strings.Fields(line)
			if len(f) != 4 || f[0] != "BENCH" {
				continue
			}
			v, err := strconv.ParseFloat(f[2], 64)
			if err != nil {
				b.Fatalf("unreadable figure %q", line)
			}
			b.Log(line)
			b.ReportMetric(v, f[1]+"-"+f[3])
		}
	}
}
