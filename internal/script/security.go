package script

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
)

// Unsafe reports why running program would let a non-root user change what
// root runs: the file, or any directory on its path, is owned by a
// non-root user or writable by group or others. keepalived's
// enable_script_security refuses such scripts; "" means safe.
func Unsafe(program string) string {
	path := program
	if !filepath.IsAbs(path) {
		p, err := exec.LookPath(program)
		if err != nil {
			return fmt.Sprintf("%s: not found", program)
		}
		path = p
	}
	path, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Sprintf("%s: %v", program, err)
	}
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Sprintf("%s: %v", p, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && st.Uid != 0 {
			return fmt.Sprintf("%s is owned by uid %d, not root", p, st.Uid)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			return fmt.Sprintf("%s is writable by group or others (mode %v)", p, fi.Mode().Perm())
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}

// DefaultUser is keepalived's default script user: keepalived_script when
// that user exists, else root (empty: no switch).
func DefaultUser() string {
	if _, err := user.Lookup("keepalived_script"); err == nil {
		return "keepalived_script"
	}
	return ""
}

// Missing reports why program cannot be executed at all (not found, not
// a regular file, no execute permission); "" when it can. Such a program
// is no security risk, it just fails every time: callers say so plainly
// instead of warning that someone could change it.
func Missing(program string) string {
	if _, err := exec.LookPath(program); err != nil {
		return err.Error()
	}
	return ""
}
