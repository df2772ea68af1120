package vrrpd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// notifyRecorder writes a notify script that appends its arguments, one run a
// line, to a log; it returns the script's path and the log's.
func notifyRecorder(t *testing.T, dir, name string) (script, log string) {
	t.Helper()
	script = filepath.Join(dir, name+".sh")
	log = filepath.Join(dir, name+".log")
	body := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\n", log)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, log
}

// notifyConf is the notify part of an instance: one recorder for every
// keepalived notify keyword, each told which keyword ran it.
func notifyConf(script string) string {
	var b strings.Builder
	for _, kw := range []string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"} {
		fmt.Fprintf(&b, "    %s \"%s %s\"\n", kw, script, kw)
	}
	return b.String()
}

// waitLines waits until the log has n lines. Scripts leave no event to
// await but the file, so this polls it, bounded.
func waitLines(t *testing.T, path string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(data) == 0 {
			lines = nil
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("notify log has %d lines after %v, want %d:\n%s", len(lines), timeout, n, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notifyTransitions is what keepalived runs for each state: the state's own
// script, then the generic one with INSTANCE, name, state and priority.
func notifyTransitions(prio int, states ...string) []string {
	var out []string
	for _, s := range states {
		out = append(out, "notify_"+strings.ToLower(s), fmt.Sprintf("notify INSTANCE VI_1 %s %d", s, prio))
	}
	return out
}

func TestE2ENotifyScripts(t *testing.T) {
	const ivs = "0.2"
	t.Run("transitions in order with keepalived's arguments", func(t *testing.T) {
		t.Parallel()
		g := newLAN(t, 2, false)
		a, b := g.nodes[0], g.nodes[1]
		scriptA, logA := notifyRecorder(t, g.dir, "a")
		scriptB, logB := notifyRecorder(t, g.dir, "b")
		startSettled(t, g.vip, a, instanceConf(a.node, 3, 150, ivs, notifyConf(scriptA)), 150,
			b, instanceConf(b.node, 3, 100, ivs, notifyConf(scriptB)))
		waitLines(t, logA, 4, 5*time.Second)

		g.l.SetPort(a.ifname, false) // A loses carrier: FAULT
		b.watch.Wait(g.vip, true, 5*time.Second)
		waitLines(t, logA, 6, 5*time.Second)
		g.l.SetPort(a.ifname, true) // back: BACKUP, then it preempts
		a.watch.Wait(g.vip, true, 5*time.Second)
		b.watch.Wait(g.vip, false, 5*time.Second)

		wantA := notifyTransitions(150, "BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER")
		if got := waitLines(t, logA, len(wantA), 5*time.Second); !slices.Equal(got, wantA) {
			t.Errorf("A's notify runs:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantA, "\n  "))
		}
		wantB := notifyTransitions(100, "BACKUP", "MASTER", "BACKUP")
		if got := waitLines(t, logB, len(wantB), 5*time.Second); !slices.Equal(got, wantB) {
			t.Errorf("B's notify runs:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(wantB, "\n  "))
		}
	})

	t.Run("notify_stop and notify STOP on a graceful stop", func(t *testing.T) {
		t.Parallel()
		g := newLAN(t, 1, false)
		a := g.nodes[0]
		script, log := notifyRecorder(t, g.dir, "a")
		// A stop script takes a moment (it stops a service); keepalived
		// forks notify_stop and notify at once and both run to the end.
		slow := filepath.Join(g.dir, "slow.sh")
		body := fmt.Sprintf("#!/bin/sh\nsleep 0.3\necho \"$*\" >> %s\n", log)
		if err := os.WriteFile(slow, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		conf := notifyConf(script)
		conf = strings.Replace(conf, "notify_stop \""+script, "notify_stop \""+slow, 1)
		a.start(t, instanceConf(a.node, 3, 150, ivs, conf))
		a.watch.Wait(g.vip, true, 10*time.Second)
		waitLines(t, log, 4, 5*time.Second)
		a.kill(t, syscall.SIGTERM)
		want := notifyTransitions(150, "BACKUP", "MASTER", "STOP")
		// The scripts may outlive the daemon (they run in their own process
		// groups), so wait for them, bounded.
		if got := waitLines(t, log, len(want), 3*time.Second); !slices.Equal(got, want) {
			t.Errorf("notify runs:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})

	t.Run("a hung notify_master does not delay adverts", func(t *testing.T) {
		t.Parallel()
		const iv = 100 * time.Millisecond
		g := newLAN(t, 2, false)
		a, b := g.nodes[0], g.nodes[1]
		wire := g.client.Capture(g.clientIf, lab.EtherTypeIPv4)
		startSettled(t, g.vip, a, instanceConf(a.node, 3, 150, "0.1", "    notify_master \"/bin/sleep 30\"\n"), 150,
			b, instanceConf(b.node, 3, 100, "0.1", ""))
		if !processRunning(t, a.ns, "/bin/sleep 30", 2*time.Second) {
			t.Fatal("notify_master is not running")
		}
		master := time.Now()
		// B would take over 361 ms after a missed advert; two seconds of
		// watching cover five of its master-down intervals.
		neverHolds(t, b, g.vip, master, 2*time.Second, "B took over while A's notify_master hung")
		if !processRunning(t, a.ns, "/bin/sleep 30", 0) {
			t.Fatal("notify_master is no longer running: the window proved nothing")
		}
		// Every advert of the window on the wire, none missing: a gap of a
		// master-down interval (3.6 intervals) would hand the VIP to B; 3
		// allows for a stall of the test host itself.
		var maxGap time.Duration
		var ads []vrrpFrame
		for _, v := range adverts(wire.Frames(), a.addr) {
			if !v.at.Before(master) && !v.at.After(master.Add(2*time.Second)) {
				ads = append(ads, v)
			}
		}
		for i := 1; i < len(ads); i++ {
			maxGap = max(maxGap, ads[i].at.Sub(ads[i-1].at))
		}
		t.Logf("%d adverts from A in 2s while its notify_master slept, largest gap %v", len(ads), maxGap)
		if maxGap >= 3*iv || len(ads) < 15 {
			t.Errorf("adverts from A while its notify_master slept: %d in 2s, largest gap %v (want ≥15, gaps < %v)", len(ads), maxGap, 3*iv)
		}
	})
}

// processRunning reports whether a process with exactly this command line runs
// in ns, waiting (bounded) for it to appear.
func processRunning(t *testing.T, ns *lab.NS, cmdline string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _ := exec.Command("ip", "netns", "pids", ns.Name).Output()
		for _, pid := range strings.Fields(string(out)) {
			data, err := os.ReadFile("/proc/" + pid + "/cmdline")
			if err == nil && strings.Join(strings.Split(strings.TrimRight(string(data), "\x00"), "\x00"), " ") == cmdline {
				return true
			}
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
