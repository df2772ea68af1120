// Package bench measures Vigil's VRRP engine against keepalived in the same
// lab, in the same run: failover time, and CPU and memory at 1, 100 and
// 1,000 instances. Root only (network namespaces); `make bench` runs it.
// See README.md for the method and docs/benchmarks.md for the figures.
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/internal/vrrplab"
)

var (
	buildOnce sync.Once
	buildDir  string
	vigilPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// setup skips unless the lab can run both daemons, and returns the vigil
// binary, built once per run from this tree.
func setup(b *testing.B) string {
	b.Helper()
	lab.Skip(b)
	vrrplab.SkipUnlessKeepalived(b)
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "vigil-bench-")
		if buildErr != nil {
			return
		}
		vigilPath = filepath.Join(buildDir, "vigil")
		out, err := exec.Command("go", "build", "-o", vigilPath, "github.com/vigil-ha/vigil/cmd/vigil").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build vigil: %v\n%s", err, out)
		}
		fmt.Printf("bench: %s, %d CPUs, Go %s, %s\n", hostLine(), runtime.NumCPU(), runtime.Version(), vrrplab.KeepalivedVersion())
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return vigilPath
}

// hostLine names the machine the figures come from: kernel and CPU model.
func hostLine() string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("Linux %s, %s", strings.TrimSpace(string(kernel)), model)
}

// daemons are measured in this order in every scenario.
var daemons = []vrrplab.Daemon{vrrplab.Vigil, vrrplab.Keepalived}

// noNsPerOp hides the default ns/op, which for these one-shot experiments
// is the length of the whole experiment, not a cost per operation.
func noNsPerOp(b *testing.B) { b.ReportMetric(0, "ns/op") }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func maxOf(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ratio is a/b for the tables, "-" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}
