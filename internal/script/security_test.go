package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnsafe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create root-owned files")
	}
	if got := Unsafe("/bin/true"); got != "" {
		t.Errorf("/bin/true reported unsafe: %s", got)
	}
	dir := t.TempDir() // 0700, root-owned: safe up to /tmp, which is 1777
	script := filepath.Join(dir, "chk.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Unsafe(script); !strings.Contains(got, "/tmp is writable by group or others") {
		t.Errorf("a script under /tmp should be unsafe because of /tmp, got %q", got)
	}
	safeDir, err := os.MkdirTemp("/root", "vigil-script-")
	if err != nil {
		t.Skip("cannot create a directory under /root")
	}
	defer os.RemoveAll(safeDir)
	ok := filepath.Join(safeDir, "ok.sh")
	if err := os.WriteFile(ok, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Unsafe(ok); got != "" {
		t.Errorf("%s reported unsafe: %s", ok, got)
	}
	if err := os.Chmod(ok, 0o777); err != nil {
		t.Fatal(err)
	}
	if got := Unsafe(ok); !strings.Contains(got, "writable by group or others") {
		t.Errorf("world-writable script not reported: %q", got)
	}
	if err := os.Chown(ok, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ok, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Unsafe(ok); !strings.Contains(got, "owned by uid 65534") {
		t.Errorf("non-root owned script not reported: %q", got)
	}
	if got := Unsafe("no-such-program-vigil"); !strings.Contains(got, "not found") {
		t.Errorf("missing program: %q", got)
	}
}
