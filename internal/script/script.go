// Package script runs the operator's scripts (notify, track, check) the way
// a daemon must: each in its own process group, killed as a group when its
// timeout passes, always reaped, never blocking the caller beyond the
// timeout. It knows nothing of VRRP or health checks.
package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// Result is how a run ended.
type Result struct {
	// ExitCode is the script's exit status; -1 when it did not exit by
	// itself (killed at timeout, or by a signal).
	ExitCode int
	TimedOut bool
	Signal   syscall.Signal // the signal that ended it, if any
	Duration time.Duration
	// Output holds the first bytes of stdout and stderr, for logs.
	Output []byte
	Err    error // could not start (not found, not executable, bad user)
}

// OK reports whether the script ran and exited 0.
func (r Result) OK() bool { return r.Err == nil && !r.TimedOut && r.ExitCode == 0 }

func (r Result) String() string {
	switch {
	case r.Err != nil:
		return "failed to start: " + r.Err.Error()
	case r.TimedOut:
		return fmt.Sprintf("killed after timeout (%v)", r.Duration.Round(time.Millisecond))
	case r.Signal != 0:
		return "killed by " + r.Signal.String()
	default:
		return "exit status " + strconv.Itoa(r.ExitCode)
	}
}

// Cmd describes one run.
type Cmd struct {
	Args    []string // argv; Args[0] is the program
	Timeout time.Duration
	User    string // run as this user (and its primary group) when set
	Group   string // override the group
	Env     []string
}

// maxOutput bounds what is kept of a script's output.
const maxOutput = 4096

// Run runs the command to completion or timeout. Cancelling ctx kills it
// like a timeout.
func Run(ctx context.Context, c Cmd) Result {
	start := time.Now()
	if len(c.Args) == 0 {
		return Result{ExitCode: -1, Err: errors.New("script: empty command")}
	}
	cmd := exec.Command(c.Args[0], c.Args[1:]...)
	cmd.Env = c.Env
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	attr := &syscall.SysProcAttr{Setpgid: true}
	if c.User != "" {
		cred, err := credential(c.User, c.Group)
		if err != nil {
			return Result{ExitCode: -1, Err: err}
		}
		attr.Credential = cred
	}
	cmd.SysProcAttr = attr
	// Killing the group also kills what the script started, so nothing
	// holds the output pipes open after a timeout.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: -1, Err: fmt.Errorf("script: start %s: %w", c.Args[0], err)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	timedOut := false
	select {
	case err = <-done:
	case <-timeout:
		timedOut = true
	case <-ctx.Done():
		timedOut = true
	}
	if timedOut {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
	}
	r := Result{ExitCode: -1, TimedOut: timedOut, Duration: time.Since(start), Output: out.Bytes()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		switch {
		case ws.Exited():
			r.ExitCode = ws.ExitStatus()
		case ws.Signaled():
			r.Signal = ws.Signal()
		}
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !timedOut && !errors.Is(err, exec.ErrWaitDelay) {
		r.Err = err
	}
	return r
}

// credential resolves a user (and optional group) for running a script.
func credential(userName, group string) (*syscall.Credential, error) {
	u, err := user.Lookup(userName)
	if err != nil {
		return nil, fmt.Errorf("script: user %q: %w", userName, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("script: group %q: %w", group, err)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// limitedBuffer keeps the first maxOutput bytes and discards the rest, so
// a chatty script cannot grow the daemon's memory.
// It must not embed bytes.Buffer: io.Copy would use the embedded ReadFrom
// and bypass the limit.
type limitedBuffer struct{ buf bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxOutput - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Bytes returns what was kept.
func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }
