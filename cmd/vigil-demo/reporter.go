package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
)

// reporter is the demo's lab.TB: Fatalf and Skip print, tear the lab down
// and exit non-zero, so the lab helpers that tests use run the demo too.
type reporter struct {
	verbose  bool
	exiting  atomic.Bool
	mu       sync.Mutex
	cleanups []func()
	once     sync.Once
}

func (r *reporter) Helper() {}

// stopIfExiting parks the caller while a signal or failure tears down
// (exit ends the process), so nothing reports on a half-removed lab.
func (r *reporter) stopIfExiting() {
	if r.exiting.Load() {
		select {}
	}
}

func (r *reporter) Logf(format string, args ...any) {
	if r.verbose {
		fmt.Fprintf(os.Stderr, "  lab: "+format+"\n", args...)
	}
}

func (r *reporter) Fatalf(format string, args ...any) {
	r.stopIfExiting() // a failure caused by the teardown under way: say nothing
	fmt.Fprintf(os.Stderr, "demo: FAIL: "+format+"\n", args...)
	r.exit(1)
}

func (r *reporter) Skip(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"demo: cannot run:"}, args...)...)
	r.exit(2)
}

func (r *reporter) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// teardown runs the cleanups, last registered first, once each.
func (r *reporter) teardown() {
	r.mu.Lock()
	cs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// exit tears down and exits; concurrent callers (a signal during a
// failure) wait for the first, which never returns.
func (r *reporter) exit(code int) {
	r.exiting.Store(true)
	r.once.Do(func() {
		r.teardown()
		fmt.Fprintln(os.Stderr, "vigil-demo: lab torn down")
		os.Exit(code)
	})
	select {}
}
