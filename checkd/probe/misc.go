package probe

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/trackfile"
)

// MiscTarget is a MISC_CHECK (or, with Dynamic false, a vrrp_script run).
type MiscTarget struct {
	// Args is the argv run (misc_path split as keepalived splits it).
	Args []string
	// Timeout kills the script's whole process group (misc_timeout,
	// default delay_loop).
	Timeout time.Duration
	// User and Group run the script; empty keeps the daemon's user.
	User, Group string
	// Dynamic is misc_dynamic: exit status 2-255 sets the weight.
	Dynamic bool
	// Env is the environment; nil inherits the daemon's, as vrrpd's
	// scripts do.
	Env []string
}

// Misc is MISC_CHECK (check_misc.c): the script runs in its own process
// group, is killed with everything it started when the timeout passes, and
// is always reaped. Exit status 0 is up with the configured weight; with
// misc_dynamic 2-255 are up with weight status-2; anything else, a
// timeout or a signal is down.
func Misc(ctx context.Context, t MiscTarget) Result {
	start := time.Now()
	r := script.Run(ctx, script.Cmd{Args: t.Args, Timeout: t.Timeout, User: t.User, Group: t.Group, Env: t.Env})
	exited := r.Err == nil && !r.TimedOut && r.Signal == 0 && r.ExitCode >= 0
	ok, weight := health.MiscExit(exited, r.ExitCode, t.Dynamic)
	res := Result{OK: ok, Weight: weight, Latency: time.Since(start), Detail: r.String()}
	if out := strings.TrimSpace(string(r.Output)); out != "" && !ok {
		if len(out) > 200 {
			out = out[:200] + "..."
		}
		res.Detail += ": " + out
	}
	if weight != nil {
		res.Detail += ", weight " + strconv.Itoa(*weight)
	}
	return res
}

// FileTarget is a FILE_CHECK: a track_file and the weight applied to its
// value.
type FileTarget struct {
	Path    string
	Weight  int
	Reverse bool
}

// File is FILE_CHECK: the number in the file (0 when the file is missing
// or holds no number, as keepalived reads it) times the weight adjusts the
// real server's weight; with weight 0, any non-zero value is a failure.
func File(_ context.Context, t FileTarget) Result {
	start := time.Now()
	v := ReadTrackFile(t.Path)
	ok, delta := health.FileWeight(v, t.Weight, t.Reverse)
	res := Result{OK: ok, Latency: time.Since(start)}
	if t.Weight != 0 {
		res.WeightDelta = &delta
	}
	res.Detail = "track_file " + t.Path + " holds " + strconv.FormatInt(v, 10)
	return res
}

// ReadTrackFile reads the number at the start of a track file (see
// internal/trackfile: one reading for checkd and vrrpd).
func ReadTrackFile(path string) int64 { return trackfile.Read(path) }
