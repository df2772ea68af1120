package probe

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

// Each exit status, with and without misc_dynamic.
func TestMiscExitCodes(t *testing.T) {
	ctx := testCtx(t)
	for _, code := range []int{0, 1, 2, 3, 10, 127, 255} {
		for _, dynamic := range []bool{false, true} {
			t.Run(fmt.Sprintf("exit %d dynamic %v", code, dynamic), func(t *testing.T) {
				r := Misc(ctx, MiscTarget{Args: sh(fmt.Sprintf("exit %d", code)), Timeout: 5 * time.Second, Dynamic: dynamic})
				wantOK := code == 0 || (dynamic && code >= 2)
				if r.OK != wantOK {
					t.Errorf("ok %v, want %v (%s)", r.OK, wantOK, r.Detail)
				}
				switch {
				case dynamic && code >= 2:
					if r.Weight == nil || *r.Weight != code-2 {
						t.Errorf("weight %v, want %d", r.Weight, code-2)
					}
				case r.Weight != nil:
					t.Errorf("weight %d, want the configured one", *r.Weight)
				}
				if !strings.Contains(r.Detail, "exit status "+strconv.Itoa(code)) {
					t.Errorf("detail %q", r.Detail)
				}
			})
		}
	}
}

func TestMiscFailures(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name   string
		args   []string
		detail string
	}{
		{"killed by a signal", sh("kill -TERM $$"), "killed by terminated"},
		{"missing program", []string{"/nonexistent/check.sh"}, "failed to start"},
		{"output shown on failure", sh("echo backend says no; exit 1"), "backend says no"},
	}
	for _, tt := range tests {
		r := Misc(ctx, MiscTarget{Args: tt.args, Timeout: 5 * time.Second, Dynamic: true})
		if r.OK || !strings.Contains(r.Detail, tt.detail) {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}

// A hung script is killed at misc_timeout with everything it started, and
// reaped: no zombie and no orphan remain.
func TestMiscHungScriptKilled(t *testing.T) {
	dir := t.TempDir()
	pidf, kidf := filepath.Join(dir, "pid"), filepath.Join(dir, "kid")
	start := time.Now()
	r := Misc(testCtx(t), MiscTarget{
		Args:    sh(fmt.Sprintf("echo $$ > %s; sleep 60 & echo $! > %s; wait", pidf, kidf)),
		Timeout: 300 * time.Millisecond,
	})
	took := time.Since(start)
	if r.OK || !strings.Contains(r.Detail, "killed after timeout") {
		t.Fatalf("got %+v", r)
	}
	if took < 250*time.Millisecond || took > 3*time.Second {
		t.Errorf("killed after %v, misc_timeout 300ms", took)
	}
	for _, f := range []string{pidf, kidf} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		waitGone(t, pid)
	}
}

// waitGone waits (bounded) until pid no longer exists, zombie or not.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still exists: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Cancelling the probe (checkd stopping) kills the script too.
func TestMiscCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(100*time.Millisecond, cancel)
	r := Misc(ctx, MiscTarget{Args: sh("sleep 60"), Timeout: time.Minute})
	if r.OK || r.Latency > 5*time.Second {
		t.Errorf("%+v", r)
	}
}

func TestMiscUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	r := Misc(testCtx(t), MiscTarget{Args: sh("test \"$(id -u)\" = " + u.Uid), Timeout: 5 * time.Second, User: "nobody"})
	if !r.OK {
		t.Errorf("not run as nobody: %+v", r)
	}
	r = Misc(testCtx(t), MiscTarget{Args: sh("true"), Timeout: 5 * time.Second, User: "no-such-user-vigil"})
	if r.OK || !strings.Contains(r.Detail, "no-such-user-vigil") {
		t.Errorf("unknown user: %+v", r)
	}
}

func TestFileCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weight")
	tests := []struct {
		content string // "" = no file
		weight  int
		reverse bool
		ok      bool
		delta   string // "" = none
	}{
		{"", 0, false, true, ""},
		{"0\n", 0, false, true, ""},
		{"1\n", 0, false, false, ""},
		{"5\n", 3, false, true, "15"},
		{"5 trailing words\n", 3, true, true, "-15"},
		{"-2147483648\n", 1, false, false, "-2147483648"},
		{"not a number", 2, false, true, "0"},
		{"  +7", 1, false, true, "7"},
	}
	for _, tt := range tests {
		os.Remove(path)
		if tt.content != "" {
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := File(context.Background(), FileTarget{Path: path, Weight: tt.weight, Reverse: tt.reverse})
		delta := ""
		if r.WeightDelta != nil {
			delta = strconv.FormatInt(*r.WeightDelta, 10)
		}
		if r.OK != tt.ok || delta != tt.delta {
			t.Errorf("%q weight %d reverse %v: %+v delta %q", tt.content, tt.weight, tt.reverse, r, delta)
		}
	}
}
