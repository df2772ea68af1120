package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// statusNow is the fixed time the fixtures' leases are measured from.
var statusNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// TestRenderStatusGolden renders fixed status answers of the control
// socket and compares them with the golden tables in testdata
// (go test -run TestRenderStatusGolden -update rewrites them).
func TestRenderStatusGolden(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		opts     statusOptions
	}{
		{"full", "status-full.json", statusOptions{}},
		{"full-stats", "status-full.json", statusOptions{Stats: true}},
		{"degraded", "status-degraded.json", statusOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.opts.Now = statusNow
			var out bytes.Buffer
			if err := renderStatus(&out, raw, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "status-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Errorf("vigil status for %s differs from %s:\n--- got:\n%s\n--- want:\n%s", tc.in, golden, out.String(), want)
			}
		})
	}
}

// TestStatusFixturesMatchTheTypes decodes the fixtures strictly: a field
// renamed in core, vrrpd, checkd, lvsd or the agent fails here rather
// than leaving a golden test that renders a stale shape.
func TestStatusFixturesMatchTheTypes(t *testing.T) {
	for _, in := range []string{"status-full.json", "status-degraded.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			t.Fatal(err)
		}
		var st statusView
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}

// TestRenderStatusSections checks the parts the operator relies on, so a
// golden file rewritten with -update cannot silently lose them.
func TestRenderStatusSections(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "status-full.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := renderStatus(&out, raw, statusOptions{Now: statusNow}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"vigil pid 4242, up 1h2m3s, config /etc/vigil/keepalived.conf\n",
		"2 instances (1 MASTER, 1 BACKUP), 2/3 VIPs here, 1 arbiter hold, 1 peer alive, 2/4 checks up, 1/2 real servers up, 1 IPVS service, 4/4 children running\n",
		"BACKUP (held: no lease: 0/1 arbiter grants)", // vrrpd's hold
		"10.0.0.2 (prio 100)",               // the peer master
		"yes: no lease: 0/1 arbiter grants", // the agent's hold
		"valid 2.3s (1/1 grants)",           // the lease, from Now
		"lb2",                               // a gossip peer
		"suspect",
		"chk_db", "BAD", "HTTP_GET", "12.71ms", // checks: verdict and mean latency (1.5 s / 118)
		"TCP  10.0.0.50:80 wrr", "-> 10.0.1.11:8080", // IPVS
		"killed by signal 9",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("vigil status lacks %q:\n%s", want, s)
		}
	}
	// JSON passes the daemon's answer through.
	out.Reset()
	if err := renderStatus(&out, []byte(" {\"pid\":1} \n"), statusOptions{JSON: true}); err != nil || out.String() != "{\"pid\":1}\n" {
		t.Errorf("--json: %q, %v", out.String(), err)
	}
	if err := renderStatus(&out, []byte("not json"), statusOptions{}); err == nil {
		t.Error("renderStatus accepted a non-JSON answer")
	}
}

// TestWatchStatus: a terminal gets each frame after an ANSI clear; a pipe
// gets dated, separated snapshots; an unreachable daemon is a frame, not
// the end of the watch; only the context (Ctrl-C) ends it.
func TestWatchStatus(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "status-degraded.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		fetch := func() ([]byte, error) {
			calls++
			switch calls {
			case 2:
				return nil, errors.New("is vigil running? connection refused")
			case 4:
				cancel()
			}
			return raw, nil
		}
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() { done <- watchStatus(ctx, &out, tty, 10*time.Millisecond, fetch, statusOptions{}) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("watchStatus did not end when its context was cancelled")
		}
		s := out.String()
		if calls != 4 {
			t.Errorf("tty=%v: %d fetches, want 4 (the watch must outlive a failed fetch)", tty, calls)
		}
		if n := strings.Count(s, "vigil pid 99"); n != 3 {
			t.Errorf("tty=%v: %d status frames, want 3:\n%s", tty, n, s)
		}
		if !strings.Contains(s, "vigil status: is vigil running? connection refused\n") {
			t.Errorf("tty=%v: the failed fetch is not shown:\n%s", tty, s)
		}
		clears := strings.Count(s, ansiClear)
		if tty && clears != 4 {
			t.Errorf("terminal: %d screen clears, want 4", clears)
		}
		if !tty {
			if clears != 0 || strings.Contains(s, "\x1b") {
				t.Errorf("pipe: ANSI escapes in the output:\n%q", s)
			}
			if n := strings.Count(s, "\n--- "); n != 3 || !strings.HasPrefix(s, "--- ") {
				t.Errorf("pipe: want 4 frames each under a '--- TIME' line:\n%s", s)
			}
		}
	}
}

func TestParseInterval(t *testing.T) {
	for in, want := range map[string]time.Duration{"2s": 2 * time.Second, "500ms": 500 * time.Millisecond, "5": 5 * time.Second, "0.5": 500 * time.Millisecond} {
		if got, err := parseInterval(in); err != nil || got != want {
			t.Errorf("parseInterval(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "10ms", "0", "-1s"} {
		if _, err := parseInterval(in); err == nil {
			t.Errorf("parseInterval(%q) accepted", in)
		}
	}
}
