// Command vmprep prepares, once, the kernel and base initramfs that the VM
// test harness boots (see test/vm/README.md), under the repository's
// .cache/vm/. A warm cache makes it return at once.
//
//	go run ./test/vm/cmd/vmprep [-refresh] [-cache DIR] [-timeout 20m]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

func main() {
	refresh := flag.Bool("refresh", false, "ask apt for the current kernel package and rebuild the image")
	cache := flag.String("cache", "", "cache directory (default $VIGIL_VM_CACHE, else .cache/vm in the repository)")
	timeout := flag.Duration("timeout", 20*time.Minute, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: vmprep [-refresh] [-cache DIR] [-timeout D]\n\n"+
			"Downloads Debian's kernel package with apt-get download (never installs it),\n"+
			"extracts vmlinux and builds the base initramfs for the VM tests. Idempotent.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	start := time.Now()
	im, err := vmkit.Prepare(ctx, vmkit.Options{CacheDir: *cache, Refresh: *refresh, Log: os.Stderr})
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmprep: %v\n", err)
		if errors.Is(err, vmkit.ErrUnavailable) {
			fmt.Fprintln(os.Stderr, "vmprep: on Debian as root, `make test-deps` installs the tools the VM tests need")
		}
		os.Exit(1)
	}
	fmt.Printf("kernel   %s (%s, built %s)\nvmlinux  %s\ninitrd   %s\nmodules  %d\nready in %s\n",
		im.KernelVersion, im.Package, im.Built.Format(time.RFC3339), im.VmlinuxPath(), im.InitrdPath(),
		len(im.Modules), time.Since(start).Round(time.Millisecond))
}
