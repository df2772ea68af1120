//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Checker kinds.
const (
	Vigil      = "vigil"
	Keepalived = "keepalived"
)

// RoleEnv, set to "vigil" in a re-executed benchmark binary, makes it the
// Vigil checker process (RunVigil) instead of running tests; ConfEnv names
// its configuration.
const (
	RoleEnv = "VIGIL_BENCH_ROLE"
	ConfEnv = "VIGIL_BENCH_CONF"
)

// PhaseOptions describe one checker run against the targets.
type PhaseOptions struct {
	Kind    string // Vigil or Keepalived
	Where   string // "host" or "vm-tcg", for the report
	Conf    string // the configuration file both checkers read
	Targets *Targets
	// Self is the benchmark binary, re-executed with RoleEnv=vigil.
	Self string
	// KeepalivedPath is keepalived's binary; WorkDir holds its pid files.
	KeepalivedPath, WorkDir string
	// ReadyTimeout bounds the start-up (until 99% of the targets have been
	// checked once); Warmup follows it, then the measured Window.
	ReadyTimeout, Warmup, Window time.Duration
	Log                          io.Writer
}

// PhaseResult is one checker's figures.
type PhaseResult struct {
	Checker  string  `json:"checker"`
	Where    string  `json:"where"`
	N        int     `json:"n"`
	StartupS float64 `json:"startup_s"` // start until 99% of the targets were checked
	// Ready is false when the checker had not checked 99% of the targets
	// by ReadyTimeout (it cannot keep up): measured from then on anyway.
	Ready   bool    `json:"ready"`
	WindowS float64 `json:"window_s"`
	// CPU of the checker's processes (utime+stime from /proc/PID/stat) over
	// the window, as seconds and as percent of one CPU.
	CPUSeconds float64 `json:"cpu_s"`
	CPUPercent float64 `json:"cpu_pct"`
	Processes  int     `json:"processes"`
	// CPU of the benchmark process itself (the listeners) over the window.
	TargetsCPUPercent float64      `json:"targets_cpu_pct"`
	Targets           TargetReport `json:"targets"`
	Probes            *ProbeReport `json:"probes,omitempty"` // Vigil only
}

// tail keeps the last bytes written to it, and counts lines.
type tail struct {
	mu    sync.Mutex
	buf   []byte
	lines int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines += bytes.Count(p, []byte{'\n'})
	t.buf = append(t.buf, p...)
	if len(t.buf) > 32<<10 {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-16<<10:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// RunPhase starts one checker, waits until it checks 99% of the targets,
// lets it warm up, measures it over the window and stops it.
func RunPhase(o PhaseOptions) (PhaseResult, error) {
	res := PhaseResult{Checker: o.Kind, Where: o.Where, N: len(o.Targets.Addrs)}
	o.Targets.Reset()
	logs := &tail{}
	var cmd *exec.Cmd
	switch o.Kind {
	case Vigil:
		cmd = exec.Command(o.Self)
		cmd.Env = append(os.Environ(), RoleEnv+"=vigil", ConfEnv+"="+o.Conf)
	case Keepalived:
		// -C: the checker only; -n: no daemon; -l -G: log to the console,
		// not syslog (the VM has none).
		cmd = exec.Command(o.KeepalivedPath, "-n", "-l", "-G", "-C", "-f", o.Conf,
			"-p", filepath.Join(o.WorkDir, "keepalived.pid"), "-c", filepath.Join(o.WorkDir, "checkers.pid"))
		cmd.Stdout = logs
	default:
		return res, fmt.Errorf("unknown checker %q", o.Kind)
	}
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdin io.WriteCloser
	lines := make(chan string, 4)
	if o.Kind == Vigil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			return res, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return res, err
		}
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if l := sc.Text(); strings.HasPrefix(l, "READY ") || strings.HasPrefix(l, "RESULT ") {
					lines <- l
				} else {
					logs.Write([]byte(l + "\n"))
				}
			}
		}()
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start %s: %w", o.Kind, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	kill := func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
			stopped = true
		}
	}
	defer kill()
	fail := func(format string, a ...any) (PhaseResult, error) {
		return res, fmt.Errorf("%s: %s; its output ends:\n%s", o.Kind, fmt.Sprintf(format, a...), logs.String())
	}

	// Start-up: until 99% of the targets have been connected to.
	need := (len(o.Targets.Addrs)*99 + 99) / 100
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(o.ReadyTimeout)
	for ready := false; !ready; {
		select {
		case err := <-exited:
			stopped = true
			return fail("exited during start-up (%v)", err)
		case <-deadline:
			fmt.Fprintf(o.Log, "%s %s N=%d: only %d targets checked within %s of the start: it does not keep up; measuring anyway\n",
				o.Where, o.Kind, res.N, o.Targets.Seen(start), o.ReadyTimeout)
			ready = true
		case <-tick.C:
			res.Ready = o.Targets.Seen(start) >= need
			ready = res.Ready
		}
	}
	res.StartupS = time.Since(start).Seconds()
	fmt.Fprintf(o.Log, "%s %s N=%d: start-up %.1fs (99%% of the targets checked: %v); warm-up %s, window %s\n", o.Where, o.Kind, res.N, res.StartupS, res.Ready, o.Warmup, o.Window)
	select {
	case err := <-exited:
		stopped = true
		return fail("exited during warm-up (%v)", err)
	case <-time.After(o.Warmup):
	}

	// The window.
	c0, err := TreeCPU(cmd.Process.Pid)
	if err != nil {
		return res, err
	}
	var ru0, ru1 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	select {
	case err := <-exited:
		stopped = true
		return fail("exited during the window (%v)", err)
	case <-time.After(o.Window):
	}
	c1, err := TreeCPU(cmd.Process.Pid)
	t1 := time.Now()
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru1)
	if err != nil {
		return res, err
	}
	total, byPID := cpuDelta(c0, c1)
	res.WindowS = t1.Sub(t0).Seconds()
	res.CPUSeconds, res.Processes = total, len(byPID)
	res.CPUPercent = 100 * total / res.WindowS
	res.TargetsCPUPercent = 100 * (tvSec(ru1.Utime) + tvSec(ru1.Stime) - tvSec(ru0.Utime) - tvSec(ru0.Stime)) / res.WindowS
	res.Targets = o.Targets.Report(t0, t1, DelayLoop)

	// Stop.
	switch o.Kind {
	case Vigil:
		fmt.Fprintf(stdin, "WINDOW %d %d\n", t0.UnixNano(), t1.UnixNano())
		stdin.Close()
		timeout := time.After(60 * time.Second)
		for res.Probes == nil {
			select {
			case l, ok := <-lines:
				if !ok {
					return fail("ended without a RESULT line")
				}
				if j, found := strings.CutPrefix(l, "RESULT "); found {
					res.Probes = &ProbeReport{}
					if err := json.Unmarshal([]byte(j), res.Probes); err != nil {
						return fail("bad RESULT line %q: %v", l, err)
					}
				}
			case <-timeout:
				return fail("no RESULT line within 60 s of the window's end")
			}
		}
	case Keepalived:
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case err := <-exited:
		stopped = true
		var ee *exec.ExitError
		if err != nil && !(o.Kind == Keepalived && errors.As(err, &ee)) {
			return fail("exit: %v", err)
		}
	case <-time.After(120 * time.Second):
		return fail("did not exit within 120 s of being stopped")
	}
	if o.Kind == Keepalived {
		fmt.Fprintf(o.Log, "keepalived wrote %d log lines\n", logs.lines)
	}
	return res, nil
}

func tvSec(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// RaiseFileLimit lifts RLIMIT_NOFILE to want (as far as the hard limit, or
// beyond it as root) for this process and the checkers it starts.
func RaiseFileLimit(want uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur >= want {
		// Set it anyway: Go restores the limit it found at start-up for
		// child processes unless the program sets one itself.
		return rl.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	nl := syscall.Rlimit{Cur: want, Max: max(want, rl.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
		nl = syscall.Rlimit{Cur: rl.Max, Max: rl.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nl); err != nil {
			return rl.Cur, err
		}
	}
	return nl.Cur, nil
}

// Summary is one line of figures for logs.
func Summary(r PhaseResult) string {
	s := fmt.Sprintf("%s %-10s N=%5d ready=%-5v CPU %6.1f%% (%d procs)  interval p50 %.0f p99 %.0f max %.0f ms  checks/s %.0f  coverage min %.3f mean %.3f  never %d  targets-CPU %.1f%%  startup %.1fs",
		r.Where, r.Checker, r.N, r.Ready, r.CPUPercent, r.Processes, r.Targets.Interval.P50, r.Targets.Interval.P99, r.Targets.Interval.Max,
		r.Targets.PerSec, r.Targets.Coverage.Min, r.Targets.Coverage.Mean, r.Targets.Never, r.TargetsCPUPercent, r.StartupS)
	if p := r.Probes; p != nil {
		s += fmt.Sprintf("  probe latency p50 %.2f p99 %.2f max %.1f ms (%d probes, %d failed)", p.Latency.P50, p.Latency.P99, p.Latency.Max, p.Probes, p.Failed)
	}
	return s
}
