// Command vigil-demo shows Vigil in front of a real nginx pair, end to end,
// in a throwaway lab of network namespaces. It deploys examples/nginx-pair
// as it stands (keepalived-{a,b}.conf with chk_nginx at weight -60, the
// arbiter blocks, the nginx site, check_nginx.sh), rewriting only the
// interface, the addresses and the paths: two nodes run nginx (each
// serving a page that names it) and `vigil run`, and `vigil arbiter`
// runs on a third namespace behind a second network. A client GETs
// http://VIP/ every 10 ms; a live view prints who serves every half
// second. The acts: the master's VRRP engine is killed (nothing moves),
// the VRRP link is cut (no split brain), nginx stops on the master (the
// VIP follows the healthy nginx) and comes back (the VIP returns), and
// the master's host dies (the backup takes over). A timeline in
// milliseconds and a verdict close it. Everything is torn down
// afterwards, also on failure and on Ctrl-C; the namespaces and files a
// killed run left behind are swept by the next.
//
// It builds nothing: it runs the vigil binary given by -vigil. It needs
// root (network namespaces), nginx and curl. `make demo` builds the
// binary, installs what is missing and runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// runBound caps the whole demo (the lab included).
const runBound = 55 * time.Second

func main() {
	vigil := flag.String("vigil", "./bin/vigil", "the vigil `binary` to run on both nodes and the arbiter")
	examples := flag.String("examples", "examples/nginx-pair", "the nginx pair's example `directory` (its check_nginx.sh is the health check)")
	verbose := flag.Bool("v", false, "print the lab's log lines and the daemons' output")
	flag.Parse()

	bin, err := preflight(*vigil, *examples)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vigil-demo: %v\n", err)
		os.Exit(2)
	}
	r := &reporter{verbose: *verbose}
	sigs := make(chan os.Signal, 1)
	// SIGPIPE too: `make demo | head` must not kill the demo before it
	// has torn the lab down.
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\nvigil-demo: %v: tearing the lab down\n", s)
		code := 130
		if sig, ok := s.(syscall.Signal); ok {
			code = 128 + int(sig)
		}
		r.exit(code)
	}()
	watchdog := time.AfterFunc(runBound, func() { r.Fatalf("the demo ran longer than %v", runBound) })
	defer watchdog.Stop()

	began := time.Now()
	ok := run(r, bin, *examples, acts)
	r.stopIfExiting()
	r.teardown()
	fmt.Printf("lab torn down: namespaces, links, processes and files removed (demo took %.1f s)\n", time.Since(began).Seconds())
	if !ok {
		os.Exit(1)
	}
}

// preflight checks what the demo needs and returns the vigil binary's
// absolute path.
func preflight(vigil, examples string) (string, error) {
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("needs root: it creates network namespaces, veth links and a bridge (run: sudo make demo)")
	}
	for tool, pkg := range map[string]string{"ip": "iproute2", "nft": "nftables", "nginx": "nginx-light", "curl": "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("needs %s (Debian package %s; make demo installs it)", tool, pkg)
		}
	}
	bin, err := filepath.Abs(vigil)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return "", fmt.Errorf("vigil binary: %w (build it with make build, or pass -vigil)", err)
	}
	for _, f := range exampleFiles {
		if _, err := os.Stat(filepath.Join(examples, f)); err != nil {
			return "", fmt.Errorf("the nginx pair example: %w (run from the repository root, or pass -examples)", err)
		}
	}
	return bin, nil
}

// run sets the pair up, plays the acts and prints the timeline; it
// reports whether Vigil behaved.
func run(r *reporter, bin, examples string, play []act) bool {
	fmt.Printf("Vigil demo: an nginx pair behind one VIP, with an arbiter\n\n")
	d := setup(r, bin, examples)
	if r.verbose {
		r.Cleanup(d.dumpOutputs)
	}
	for i, a := range play {
		fmt.Printf("\n%s  act %d: %s\n%s  expected: %s\n", d.tl.ms(time.Now()), i+1, a.title, d.tl.ms(time.Now()), a.expect)
		d.tl.record(time.Now(), "act %d: %s", i+1, a.title)
		a.run(d)
		r.stopIfExiting()
	}
	return d.finish()
}

// dumpOutputs prints what the daemons said (with -v).
func (d *demo) dumpOutputs() {
	for _, n := range []*node{d.a, d.b} {
		fmt.Printf("--- %s: vigil run output:\n%s--- %s: nginx error log:\n%s", n.name, n.out.String(), n.name, n.web.errorLog())
	}
}
