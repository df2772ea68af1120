package vmkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds one boot-test-poweroff cycle. A run takes about 6 s
// under software emulation here, but one under heavy host load took 121 s.
const DefaultTimeout = 300 * time.Second

// MaxTestdata caps the testdata/ tree copied into the guest (it lives in the
// guest's RAM, 512 MiB in all).
const MaxTestdata = 64 << 20

var (
	// ErrNoMarker means the guest ended without printing the exit marker
	// with this run's nonce: the kernel did not boot, /init failed, the
	// guest crashed, or the test binary powered the machine off itself.
	ErrNoMarker = errors.New("the guest printed no " + Marker + " line with this run's nonce (kernel panic, crash or hang: see the console output above)")
	// ErrTimeout means the run exceeded its time limit and QEMU was killed.
	ErrTimeout = errors.New("VM run timed out; QEMU was killed")
)

// RunOptions tune Run. The zero value is usable.
type RunOptions struct {
	// Stdout receives the guest console (the kernel's messages and the test
	// binary's output), streamed line by line; nil means os.Stdout.
	Stdout io.Writer
	// Stderr receives QEMU's own messages; nil means os.Stderr.
	Stderr io.Writer
	// Timeout defaults to $VIGIL_VM_TIMEOUT (a Go duration), else
	// DefaultTimeout.
	Timeout time.Duration
	// Env adds KEY=VALUE pairs to the test binary's environment in the
	// guest, after the host's VIGIL_* variables (VIGIL_VM_* excepted), which
	// are always passed on. VIGIL_IN_VM=1 is always set.
	Env []string
	// WorkDir, if set, is the host directory whose testdata/ subtree is
	// copied into the guest's working directory (/vmtest/work), as go test
	// runs a test binary in its package directory.
	WorkDir string
	// HostBinaries are absolute paths of host programs, dynamically linked
	// ones included, copied into the guest at the same paths together with
	// every library `ldd` lists and the dynamic loader, each at the path ldd
	// prints with the content of the resolved file (see HostClosure). The
	// guest's PATH is /usr/sbin:/usr/bin:/sbin:/bin, as on the host.
	HostBinaries []string
	// HostFiles are absolute paths of extra host files (data, configuration)
	// copied into the guest at the same paths, symlinks resolved.
	HostFiles []string
}

// Result describes a finished run.
type Result struct {
	ExitCode int           // the test binary's exit status in the guest
	Accel    string        // "tcg" or "kvm"
	Duration time.Duration // QEMU start to exit
}

// Run boots im with the static test binary and its arguments and returns its
// exit status, read only from the marker line with this run's nonce. The
// error is non-nil when there is no status (no marker, timeout, ctx ended).
func Run(ctx context.Context, im *Image, binary string, args []string, opt RunOptions) (Result, error) {
	res := Result{ExitCode: -1}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
		if s := os.Getenv("VIGIL_VM_TIMEOUT"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return res, fmt.Errorf("VIGIL_VM_TIMEOUT=%q: want a positive Go duration such as 300s", s)
			}
			opt.Timeout = d
		}
	}
	if err := checkTestBinary(binary); err != nil {
		return res, err
	}
	qemu, err := lookTool("qemu-system-x86_64")
	if err != nil {
		return res, err
	}

	nonceBytes := make([]byte, 16)
	if _, err := rand.Read(nonceBytes); err != nil {
		return res, err
	}
	nonce := hex.EncodeToString(nonceBytes)

	tmp, err := os.MkdirTemp("", "vigil-vm-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	hostFiles, err := HostClosure(ctx, opt.HostBinaries, opt.HostFiles)
	if err != nil {
		return res, err
	}
	initrd := filepath.Join(tmp, "initrd")
	if err := buildRunInitrd(initrd, im, binary, args, nonce, opt, hostFiles); err != nil {
		return res, err
	}

	accelArgs, accel := chooseAccel()
	res.Accel = accel
	qargs := append(accelArgs,
		"-machine", "pc", "-smp", "1", "-m", "512M",
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-no-reboot",
		"-kernel", im.VmlinuxPath(), "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1")

	runCtx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, qemu, qargs...)
	cmd.Stdin = nil // /dev/null: the serial console takes no input
	mw := &markerWriter{out: opt.Stdout, nonce: nonce}
	cmd.Stdout = mw
	// Through mw's lock: Stderr may be the same unsynchronised buffer.
	cmd.Stderr = &lockedWriter{mu: &mw.mu, w: opt.Stderr}
	// Its own process group, so a terminal's ^C reaches only us (we kill
	// QEMU); killed with us should we die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second

	// Once the marker is out, /init only syncs and powers off: give that a
	// short grace, then kill QEMU rather than wait for the full timeout.
	var graceTimer *time.Timer
	var graceMu sync.Mutex
	mw.onMarker = func() {
		graceMu.Lock()
		defer graceMu.Unlock()
		graceTimer = time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start %s: %w", qemu, err)
	}
	waitErr := cmd.Wait()
	res.Duration = time.Since(start)
	graceMu.Lock()
	if graceTimer != nil {
		graceTimer.Stop()
	}
	graceMu.Unlock()
	mw.flush()

	rc, ok := mw.result()
	switch {
	case ok:
		res.ExitCode = rc
		return res, nil
	case ctx.Err() != nil:
		return res, fmt.Errorf("VM run interrupted (%v); QEMU was killed", context.Cause(ctx))
	case runCtx.Err() == context.DeadlineExceeded:
		return res, fmt.Errorf("%w after %s (VIGIL_VM_TIMEOUT changes the limit)", ErrTimeout, opt.Timeout)
	case waitErr != nil:
		return res, fmt.Errorf("%w; qemu-system-x86_64: %v", ErrNoMarker, waitErr)
	default:
		return res, ErrNoMarker
	}
}

// checkTestBinary refuses anything but a static x86-64 ELF executable: the
// guest has no C library or dynamic loader.
func checkTestBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("test binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("test binary %s is for %v; the VM is x86-64", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("test binary %s is dynamically linked; the guest has no C library: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// chooseAccel uses KVM only where a real KVM module (kvm_intel, kvm_amd) is
// loaded: this machine kind has a /dev/kvm backed by kvm_pvm, which cannot
// boot a stock kernel. VIGIL_VM_ACCEL=tcg forces software emulation.
func chooseAccel() ([]string, string) {
	tcg := []string{"-accel", "tcg", "-cpu", "max"}
	if os.Getenv("VIGIL_VM_ACCEL") == "tcg" {
		return tcg, "tcg"
	}
	for _, m := range []string{"/sys/module/kvm_intel", "/sys/module/kvm_amd"} {
		if _, err := os.Stat(m); err != nil {
			continue
		}
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return []string{"-accel", "kvm", "-cpu", "host"}, "kvm"
		}
	}
	return tcg, "tcg"
}

// buildRunInitrd writes a copy of the base initramfs followed by an
// uncompressed archive holding /vmtest: the binary, its run script, the
// nonce and testdata/, then the host files.
func buildRunInitrd(path string, im *Image, binary string, args []string, nonce string, opt RunOptions, hostFiles []HostFile) error {
	return writeFileAtomic(path, 0o600, func(w io.Writer) error {
		base, err := os.Open(im.InitrdPath())
		if err != nil {
			return err
		}
		n, err := io.Copy(w, base)
		base.Close()
		if err != nil {
			return err
		}
		if n%4 != 0 {
			return fmt.Errorf("%s is %d bytes, not padded to 4: rebuild it (go run ./test/vm/cmd/vmprep -refresh)", im.InitrdPath(), n)
		}
		script, err := runScript(args, guestEnv(opt.Env))
		if err != nil {
			return err
		}
		c := newCpioWriter(w)
		c.Dir("vmtest", 0o755)
		bin, err := os.Open(binary)
		if err != nil {
			return err
		}
		defer bin.Close()
		st, err := bin.Stat()
		if err != nil {
			return err
		}
		c.FileFrom("vmtest/test", 0o755, st.Size(), bin)
		c.File("vmtest/nonce", 0o600, []byte(nonce+"\n"))
		c.File("vmtest/run", 0o755, []byte(script))
		c.Dir("vmtest/work", 0o755)
		if opt.WorkDir != "" {
			if err := addTestdata(c, opt.WorkDir); err != nil {
				return err
			}
		}
		if err := addHostFiles(c, hostFiles); err != nil {
			return err
		}
		return c.Close()
	})
}

// addTestdata copies WORKDIR/testdata into the archive under vmtest/work.
func addTestdata(c *cpioWriter, workDir string) error {
	root := filepath.Join(workDir, "testdata")
	st, err := os.Stat(root)
	if err != nil || !st.IsDir() {
		return nil
	}
	var total int64
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(workDir, p)
		if err != nil {
			return err
		}
		name := "vmtest/work/" + filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			c.Dir(name, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.Symlink(name, target)
		case info.Mode().IsRegular():
			if total += info.Size(); total > MaxTestdata {
				return fmt.Errorf("%s holds more than %d MiB, too much for the VM's RAM", root, MaxTestdata>>20)
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			c.FileFrom(name, uint32(info.Mode().Perm()), info.Size(), f)
		}
		return c.err
	})
}

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// guestEnv is the environment passed on to the test binary: the host's
// VIGIL_* variables except the runner's own VIGIL_VM_* settings, then extra.
func guestEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VIGIL_") && !strings.HasPrefix(k, "VIGIL_VM_") && k != "VIGIL_IN_VM" {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	return append(env, extra...)
}

// runScript is /vmtest/run: the environment, then exec of the binary with
// its arguments, every word single-quoted for sh.
func runScript(args, env []string) (string, error) {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by test/vm/vmkit for one run.\nexport VIGIL_IN_VM=1\n")
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return "", fmt.Errorf("environment entry %q is not KEY=VALUE", kv)
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	b.WriteString("cd /vmtest/work || exit 125\nexec /vmtest/test")
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return b.String(), nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// markerWriter passes the guest console through line by line (CR LF turned
// into LF) and watches for "VMTEST-EXIT=<rc> <nonce>" ending a line. Only a
// line with this run's nonce counts, so a test's own output cannot fake a
// status; the nonce file is deleted before the test binary starts.
type markerWriter struct {
	out      io.Writer
	nonce    string
	onMarker func()

	mu      sync.Mutex
	partial []byte
	rc      int
	found   bool
}

func (m *markerWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.partial = append(m.partial, p...)
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			break
		}
		m.line(m.partial[:i])
		m.partial = m.partial[i+1:]
	}
	// Pass on a long partial line (progress output) without waiting for
	// its end; the marker always comes on a line of its own.
	if len(m.partial) > 64<<10 {
		_, _ = m.out.Write(m.partial)
		m.partial = m.partial[:0]
	}
	return len(p), nil
}

// lockedWriter writes to w under mu, the lock of the markerWriter that
// writes the guest console, so that both may share one io.Writer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (m *markerWriter) line(l []byte) {
	l = bytes.TrimRight(l, "\r")
	_, _ = m.out.Write(append(l[:len(l):len(l)], '\n'))
	if rc, ok := parseMarker(string(l), m.nonce); ok && !m.found {
		m.rc, m.found = rc, true
		if m.onMarker != nil {
			m.onMarker()
		}
	}
}

func (m *markerWriter) flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.partial) > 0 {
		m.line(m.partial)
		m.partial = nil
	}
}

func (m *markerWriter) result() (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rc, m.found
}

// parseMarker reads "VMTEST-EXIT=<rc> <nonce>" at the end of a line (a
// kernel message may have been printed on the same line before it).
func parseMarker(line, nonce string) (int, bool) {
	i := strings.LastIndex(line, Marker)
	if i < 0 || nonce == "" {
		return 0, false
	}
	f := strings.Fields(line[i+len(Marker):])
	if len(f) != 2 || f[1] != nonce {
		return 0, false
	}
	rc, err := strconv.Atoi(f[0])
	if err != nil || rc < 0 || rc > 255 {
		return 0, false
	}
	return rc, true
}
