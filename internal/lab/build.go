package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MainWithVigil builds the vigil binary once for a test package, runs the
// package's tests with its path, and removes it: the TestMain of every
// end-to-end package.
func MainWithVigil(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	*bin = filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", *bin, "github.com/vigil-ha/vigil/cmd/vigil").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build vigil: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
