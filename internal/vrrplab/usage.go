package vrrplab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// Usage is what a daemon's processes (the main one and its descendants,
// e.g. keepalived's parent and VRRP child) have used, read from /proc.
type Usage struct {
	At    time.Time
	Procs int
	// CPU is utime+stime summed over the processes (/proc/PID/stat,
	// 10 ms ticks; it includes threads that have exited).
	CPU time.Duration
	// Exec is the scheduler's run time summed over every thread
	// (/proc/PID/task/TID/schedstat, ns); zero where the kernel lacks it.
	Exec time.Duration
	// RSS is VmRSS summed over the processes, in bytes.
	RSS int64
}

// Usage samples the daemon's processes now.
func (n *Node) Usage() Usage {
	n.tb.Helper()
	u, err := TreeUsage(n.Pid())
	if err != nil {
		n.tb.Fatalf("vrrplab %s: %v", n.NS.Role, err)
	}
	return u
}

// CPUPercent is the CPU used between two samples as a percentage of one
// core. It uses the scheduler's nanosecond run time when the kernel
// reports it, else the tick counts.
func CPUPercent(from, to Usage) float64 {
	wall := to.At.Sub(from.At)
	if wall <= 0 {
		return 0
	}
	used := to.CPU - from.CPU
	if to.Exec > 0 && from.Exec > 0 && to.Procs == from.Procs {
		used = to.Exec - from.Exec
	}
	return 100 * float64(used) / float64(wall)
}

// TreeUsage sums the usage of pid and every process descending from it.
func TreeUsage(pid int) (Usage, error) {
	u := Usage{At: time.Now()}
	if pid <= 0 {
		return u, fmt.Errorf("no process")
	}
	pids, err := tree(pid)
	if err != nil {
		return u, err
	}
	for _, p := range pids {
		st, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		u.Procs++
		u.CPU += time.Duration(st.utime+st.stime) * clockTick
		u.RSS += vmRSS(p)
		u.Exec += execTime(p)
	}
	if u.Procs == 0 {
		return u, fmt.Errorf("process %d is gone", pid)
	}
	return u, nil
}

type procStat struct {
	ppid         int
	utime, stime int64
}

// readStat parses /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted after its last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	var st procStat
	st.ppid, _ = strconv.Atoi(f[1])
	st.utime, _ = strconv.ParseInt(f[11], 10, 64)
	st.stime, _ = strconv.ParseInt(f[12], 10, 64)
	return st, nil
}

// tree returns pid and its descendants (by parent pid).
func tree(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(p)
		if err != nil {
			continue
		}
		children[st.ppid] = append(children[st.ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < 4096; i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

func vmRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "1234 kB"
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// execTime sums the first field of every thread's schedstat (ns on CPU).
func execTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}
