package script

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		timeout time.Duration
		ok      bool
		code    int
		timed   bool
		errHas  string
	}{
		{"exit 0", []string{"/bin/sh", "-c", "exit 0"}, time.Second, true, 0, false, ""},
		{"exit 3", []string{"/bin/sh", "-c", "exit 3"}, time.Second, false, 3, false, ""},
		{"missing program", []string{"/nonexistent/prog"}, time.Second, false, -1, false, "no such file"},
		{"hang is killed at timeout", []string{"/bin/sh", "-c", "sleep 30"}, 200 * time.Millisecond, false, -1, true, ""},
		{"tcp check form", []string{"/bin/sh", "-c", "exit 1"}, time.Second, false, 1, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(context.Background(), Cmd{Args: tt.args, Timeout: tt.timeout})
			if r.OK() != tt.ok || r.ExitCode != tt.code || r.TimedOut != tt.timed {
				t.Errorf("got %+v (%v)", r, r)
			}
			if tt.errHas != "" && (r.Err == nil || !strings.Contains(strings.ToLower(r.Err.Error()), tt.errHas)) {
				t.Errorf("err %v, want it to mention %q", r.Err, tt.errHas)
			}
			if tt.timed && r.Duration > 5*time.Second {
				t.Errorf("timeout took %v", r.Duration)
			}
		})
	}
}

// A script that starts a child and hangs must leave neither behind: the
// whole process group is killed and reaped.
func TestTimeoutKillsTheWholeGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	r := Run(context.Background(), Cmd{
		Args:    []string{"/bin/sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"},
		Timeout: 300 * time.Millisecond,
	})
	if !r.TimedOut {
		t.Fatalf("want a timeout, got %v", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Signal 0 probes existence; the grandchild is reaped by init
		// once killed, so it must vanish.
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after the group kill", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOutputIsBounded(t *testing.T) {
	r := Run(context.Background(), Cmd{Args: []string{"/bin/sh", "-c", "yes | head -c 100000"}, Timeout: 5 * time.Second})
	if !r.OK() || len(r.Output) != maxOutput {
		t.Fatalf("got %v with %d bytes of output", r, len(r.Output))
	}
}

func TestContextCancelKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	r := Run(ctx, Cmd{Args: []string{"/bin/sh", "-c", "sleep 30"}})
	if !r.TimedOut {
		t.Fatalf("got %v", r)
	}
}

func TestRunAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	r := Run(context.Background(), Cmd{Args: []string{"/usr/bin/id", "-u"}, User: "nobody", Timeout: 5 * time.Second})
	if !r.OK() || strings.TrimSpace(string(r.Output)) != "65534" {
		t.Fatalf("got %v output %q", r, r.Output)
	}
	if r := Run(context.Background(), Cmd{Args: []string{"/bin/true"}, User: "no-such-user-vigil"}); r.Err == nil {
		t.Fatal("unknown user accepted")
	}
}
