// Command vmexec runs a statically linked test binary inside Debian's stock
// kernel under QEMU and exits with the binary's exit status. It is made for
// `go test -exec`:
//
//	CGO_ENABLED=0 go test -exec "go run github.com/vigil-ha/vigil/test/vm/cmd/vmexec" ./lvsd/...
//
// or by hand: vmexec TESTBINARY [ARGS...]. The first run prepares the
// cache as vmprep does. Exit status: the guest's, parsed only from the
// marker line with this run's nonce; 125 when the harness itself failed
// (no marker, timeout, missing tools). Environment: VIGIL_VM_TIMEOUT (Go
// duration, default 300s), VIGIL_VM_ACCEL=tcg, VIGIL_VM_CACHE,
// VIGIL_VM_HOST_BINARIES and VIGIL_VM_HOST_FILES (colon-separated absolute
// paths of host programs and files to copy into the guest, see
// vmkit.RunOptions); the host's
// other VIGIL_* variables are passed to the test binary. See
// test/vm/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

// harnessFailed is the exit status when no guest status could be had.
const harnessFailed = 125

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "-help" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: vmexec TESTBINARY [ARGS...]   (for go test -exec; the binary must be built with CGO_ENABLED=0)")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func run(binary string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	pctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	im, err := vmkit.Prepare(pctx, vmkit.Options{Log: os.Stderr})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmexec: preparing the VM image: %v\n", err)
		return harnessFailed
	}
	wd, _ := os.Getwd()
	res, err := vmkit.Run(ctx, im, binary, args, vmkit.RunOptions{
		WorkDir:      wd,
		HostBinaries: pathList(os.Getenv("VIGIL_VM_HOST_BINARIES")),
		HostFiles:    pathList(os.Getenv("VIGIL_VM_HOST_FILES")),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmexec: %v\n", err)
		return harnessFailed
	}
	if res.ExitCode != 0 {
		fmt.Fprintf(os.Stderr, "vmexec: test binary exited %d in the guest (kernel %s, %s, %s)\n",
			res.ExitCode, im.KernelVersion, res.Accel, res.Duration.Round(100*time.Millisecond))
	}
	return res.ExitCode
}

// pathList splits a colon-separated list, dropping empty entries.
func pathList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ":") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
