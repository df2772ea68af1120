package checkd

import (
	"os"
	"runtime/debug"
)

// gcPercent is checkd's garbage-collection target. Every probe allocates a
// little (its outcome, the scheduler's bookkeeping) while the live heap,
// the checkers themselves, stays small and fixed: at the default of 100
// the collector would run about once a second at 10,000 checks a second,
// each time walking every checker. Four times the live heap is a few
// megabytes more for a quarter of that work.
const gcPercent = 400

// TuneRuntime sets the garbage collector for a checker process, unless
// GOGC says otherwise. The daemon's checkd child and the benchmark call it.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
