package core

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// checkBinary makes sure a new binary runs and reads our configuration
// before we replace ourselves with it: a broken upgrade is refused, and
// the running daemon is untouched.
func (s *Supervisor) checkBinary(ctx context.Context, bin string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "check-config", "-f", s.opts.ConfigPath, "-i", s.configID()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("core: upgrade refused: %s check-config: %v\n%s", bin, err, out)
	}
	return nil
}

func (s *Supervisor) configID() string {
	if s.opts.ConfigID != "" {
		return s.opts.ConfigID
	}
	h, _ := os.Hostname()
	return h
}

// upgradeTo re-executes the daemon from bin in place, keeping our PID (so
// systemd sees no restart). The children lose their socket and exit
// without releasing anything; the new parent resumes from the run
// directory's snapshot, standing in for vrrpd's masters until its new
// vrrpd resumes them. It runs after the command's reply is sent.
func (s *Supervisor) upgradeTo(bin string) {
	go func() {
		time.Sleep(100 * time.Millisecond) // let the reply reach the CLI
		s.mu.Lock()
		snap := s.vrrpSnap
		s.mu.Unlock()
		if snap != nil {
			// The run directory's copy must be fresh for the new parent.
			snap.Taken = time.Now()
			s.writeVRRPState(snap)
		}
		s.log.Info("Upgrading: re-executing in place", zap.String("binary", bin), zap.Int("pid", os.Getpid()))
		_ = s.log.Sync()
		args := append([]string{"vigil"}, os.Args[1:]...)
		err := syscall.Exec(bin, args, os.Environ())
		// Only reached if the exec failed: carry on as we were.
		s.log.Error("upgrade failed; still running the old binary", zap.String("binary", bin), zap.Error(err))
	}()
}
