package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dist summarises a sample (milliseconds in this package).
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Summarise sorts xs in place and returns nearest-rank percentiles.
func Summarise(xs []float64) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(xs)))) - 1
		return xs[max(0, min(i, len(xs)-1))]
	}
	return Dist{N: len(xs), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: xs[len(xs)-1]}
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// procStat reads a process's parent and its CPU time (utime+stime) in
// seconds from /proc/PID/stat.
func procStat(pid int) (ppid int, cpu float64, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, err
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return ppid, float64(ut+st) / clockTicks, nil
}

// TreeCPU is the CPU seconds of pid and its descendants, by pid.
func TreeCPU(root int) (map[int]float64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	parent := map[int]int{}
	cpu := map[int]float64{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pp, c, err := procStat(pid)
		if err != nil {
			continue // gone meanwhile
		}
		parent[pid], cpu[pid] = pp, c
	}
	if _, ok := cpu[root]; !ok {
		return nil, fmt.Errorf("process %d is gone", root)
	}
	out := map[int]float64{}
	for pid, c := range cpu {
		// Walk up at most 64 levels to see whether root is an ancestor.
		for p, n := pid, 0; p > 0 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				out[pid] = c
				break
			}
		}
	}
	return out, nil
}

// cpuDelta is the CPU seconds spent between two TreeCPU samples, by
// process present in the second (one that started meanwhile counts from 0).
func cpuDelta(a, b map[int]float64) (total float64, byPID map[int]float64) {
	byPID = map[int]float64{}
	for pid, c := range b {
		d := c - a[pid]
		byPID[pid] = d
		total += d
	}
	return total, byPID
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
