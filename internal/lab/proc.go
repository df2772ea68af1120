package lab

import (
	"os/exec"
	"syscall"
	"time"
)

// Proc is a started daemon a test stops as a process group: NS.Start
// gives each command its own group, so a signal reaches the daemon's
// children too (vigil run's subsystems, nginx's workers).
type Proc struct {
	pid  int
	done chan struct{}
}

// Track waits for cmd in the background, so Done and Kill can tell when
// it has exited.
func Track(cmd *exec.Cmd) *Proc {
	p := &Proc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p
}

// Pid is the process (and process group) id.
func (p *Proc) Pid() int { return p.pid }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill signals the process group and waits up to 15 s for the leader to
// exit; past that it reports an error and sends SIGKILL. A nil or exited
// Proc is left alone.
func (p *Proc) Kill(t interface{ Errorf(string, ...any) }, sig syscall.Signal) {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.pid, sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("pid %d did not exit within 15s of %v", p.pid, sig)
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}
