package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// scratchPrefix names the run's directory: vigil-demo-<pid>-<random>, so
// a later run can tell the leftovers of a killed run (its pid gone) from a
// run still going.
const scratchPrefix = "vigil-demo-"

// scratchBase holds the run's directory: /run, which only root can write,
// so enable_script_security (the example sets it) accepts the scripts
// installed there; /tmp is writable by all.
const scratchBase = "/run"

// scratch is the run's directory: every file the demo writes (the nodes'
// keepalived.conf and run dirs, nginx's configuration, logs and page, the
// arbiter's state) lives under it, and it goes when the demo ends.
type scratch struct {
	dir string
}

// newScratch sweeps the directories of dead runs and makes this run's.
func newScratch(r *reporter) *scratch {
	sweepScratch()
	dir, err := os.MkdirTemp(scratchBase, fmt.Sprintf("%s%d-", scratchPrefix, os.Getpid()))
	if err != nil {
		r.Fatalf("scratch directory: %v", err)
	}
	r.Cleanup(func() { _ = os.RemoveAll(dir) })
	// nginx's workers drop root for nobody: they must reach their page.
	if err := os.Chmod(dir, 0o755); err != nil {
		r.Fatalf("scratch directory: %v", err)
	}
	return &scratch{dir: dir}
}

// mkdir makes a directory (mode 0755) for one part of the lab.
func (s *scratch) mkdir(r *reporter, name string) string {
	dir := filepath.Join(s.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		r.Fatalf("scratch directory: %v", err)
	}
	return dir
}

// sweepScratch removes the directories of runs whose process is gone (a
// demo killed before it could clean up; the lab sweeps its namespaces the
// same way).
func sweepScratch() {
	entries, err := os.ReadDir(scratchBase)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), scratchPrefix)
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || !e.IsDir() || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pidText)); err == nil {
			continue // that run is still going
		}
		_ = os.RemoveAll(filepath.Join(scratchBase, e.Name()))
	}
}
