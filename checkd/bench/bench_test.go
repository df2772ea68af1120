//go:build linux

package bench

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/test/vm/vmkit"
)

// TestMain turns a re-executed test binary into the Vigil checker process.
func TestMain(m *testing.M) {
	if os.Getenv(RoleEnv) == "vigil" {
		// VIGIL_BENCH_CPUPROFILE=FILE profiles the Vigil checker process.
		if p := os.Getenv("VIGIL_BENCH_CPUPROFILE"); p != "" {
			f, err := os.Create(p)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "vigil checker: cpu profile:", err)
				os.Exit(1)
			}
		}
		err := RunVigil(os.Getenv(ConfEnv), os.Stdin, os.Stdout)
		pprof.StopCPUProfile()
		if err != nil {
			fmt.Fprintln(os.Stderr, "vigil checker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ---- fast unit tests (plain go test) ----------------------------------------

func TestConfigPlan(t *testing.T) {
	vips, reals := Layout(250)
	if len(vips) != 3 || len(Flatten(reals)) != 300 {
		t.Fatalf("Layout(250): %d virtual servers, %d real servers; want 3, 300", len(vips), len(Flatten(reals)))
	}
	text := Config(vips, reals)
	cfg, diags := config.Parse("bench.conf", []byte(text), config.Options{})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags.Errors())
	}
	plan := checkd.Build(cfg, checkd.Env{})
	if len(plan.Checkers) != 300 || len(plan.Refused) > 0 {
		t.Fatalf("plan: %d checkers, refused %v; want 300", len(plan.Checkers), plan.Refused)
	}
	seen := map[netip.AddrPort]bool{}
	for _, c := range plan.Checkers {
		if c.Type != "TCP_CHECK" || c.Health.DelayLoop != DelayLoop || seen[c.RealServer] {
			t.Fatalf("checker %+v", c)
		}
		seen[c.RealServer] = true
	}
	for _, a := range Flatten(reals) {
		if !seen[a] {
			t.Fatalf("no checker for %s", a)
		}
	}
	// keepalived reads the same file (its config test needs no IPVS).
	if kp, err := exec.LookPath("keepalived"); err == nil {
		f := filepath.Join(t.TempDir(), "k.conf")
		os.WriteFile(f, []byte(text), 0o644)
		if out, err := exec.Command(kp, "-t", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("keepalived -t: %v\n%s", err, out)
		}
	}
}

func TestTargetsReport(t *testing.T) {
	var addrs []netip.AddrPort
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, netip.MustParseAddrPort(ln.Addr().String()))
		ln.Close() // free a port for Listen below
	}
	tg, err := Listen(addrs)
	if err != nil {
		t.Skipf("listen again on freed ports: %v", err)
	}
	defer tg.Close()
	from := time.Now()
	for round := range 3 {
		for i, a := range addrs {
			if i == 2 {
				continue // never checked
			}
			c, err := net.DialTimeout("tcp", a.String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			// The listener closes it: wait for EOF, so the accept is recorded.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatal("read data from a target")
			}
			c.Close()
		}
		_ = round
	}
	if n := tg.Seen(from); n != 2 {
		t.Fatalf("Seen = %d, want 2", n)
	}
	r := tg.Report(from, time.Now().Add(time.Second), time.Second)
	if r.Accepts != 6 || r.Never != 1 || r.Interval.N != 4 || r.Targets != 3 {
		t.Fatalf("report %+v", r)
	}
	if r.Lateness.Max > 0 {
		t.Fatalf("immediate reconnects are early, not late: %+v", r.Lateness)
	}
	tg.Reset()
	if tg.Seen(from) != 0 {
		t.Fatal("Reset kept accepts")
	}
}

func TestSummariseAndCPU(t *testing.T) {
	var xs []float64
	for i := 100; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	if d := Summarise(xs); d.P50 != 50 || d.P99 != 99 || d.Max != 100 || d.N != 100 {
		t.Fatalf("Summarise = %+v", d)
	}
	if (Summarise(nil) != Dist{}) {
		t.Fatal("Summarise(nil) not zero")
	}
	cpu, err := TreeCPU(os.Getpid())
	if err != nil || len(cpu) == 0 {
		t.Fatalf("TreeCPU(self) = %v, %v", cpu, err)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Fatal("TreeCPU of no process: no error")
	}
}

// ---- the benchmark (VIGIL_BENCH_CHECKD=1) ------------------------------------

func benchOn(t *testing.T) {
	t.Helper()
	if os.Getenv("VIGIL_BENCH_CHECKD") != "1" {
		t.Skip("the checkd benchmark runs for minutes: VIGIL_BENCH_CHECKD=1 (checkd/bench/README.md)")
	}
}

func envSizes(t *testing.T, key, def string) []int {
	t.Helper()
	s := os.Getenv(key)
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 50000 {
			t.Fatalf("%s=%q: want sizes such as 10000,2000 (at most 50000)", key, s)
		}
		out = append(out, n)
	}
	return out
}

func envDuration(t *testing.T, key string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 10*time.Minute {
		t.Fatalf("%s=%q: want a duration up to 10m", key, s)
	}
	return d
}

// runSizes runs the given checkers at each size and prints one
// "BENCHRESULT <json>" line per phase.
func runSizes(t *testing.T, where string, kinds []string, sizes []int) []PhaseResult {
	t.Helper()
	// One descriptor per target here, a few thousand for the checker's
	// connections in flight.
	need := uint64(2048)
	for _, n := range sizes {
		need = max(need, uint64(n)+2048)
	}
	if lim, err := RaiseFileLimit(1 << 20); err != nil || lim < need {
		t.Fatalf("RLIMIT_NOFILE %d (%v): the benchmark needs %d descriptors or more", lim, err, need)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	window := envDuration(t, "VIGIL_BENCH_WINDOW", 20*time.Second)
	warmup := envDuration(t, "VIGIL_BENCH_WARMUP", 5*time.Second)
	var all []PhaseResult
	for _, n := range sizes {
		vips, reals := Layout(n)
		dir := t.TempDir()
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(Config(vips, reals)), 0o644); err != nil {
			t.Fatal(err)
		}
		tg, err := Listen(Flatten(reals))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range kinds {
			r, err := RunPhase(PhaseOptions{
				Kind: kind, Where: where, Conf: conf, Targets: tg, Self: self,
				KeepalivedPath: "/usr/sbin/keepalived", WorkDir: dir,
				ReadyTimeout: envDuration(t, "VIGIL_BENCH_READY_TIMEOUT", 90*time.Second), Warmup: warmup, Window: window,
				Log: os.Stdout,
			})
			if err != nil {
				tg.Close()
				t.Fatalf("%s N=%d: %v", kind, len(tg.Addrs), err)
			}
			b, _ := json.Marshal(r)
			fmt.Printf("BENCHRESULT %s\n", b)
			fmt.Println(Summary(r))
			all = append(all, r)
		}
		tg.Close()
	}
	return all
}

// TestCheckdBenchHost: Vigil alone on the host (no IPVS here, so no
// keepalived), targets on 127.1.0.0/16 loopback.
func TestCheckdBenchHost(t *testing.T) {
	benchOn(t)
	if os.Getenv("VIGIL_IN_VM") == "1" {
		t.Skip("the host part")
	}
	res := runSizes(t, "host", []string{Vigil}, envSizes(t, "VIGIL_BENCH_HOST_N", "10000"))
	writeResults(t, "host", res)
}

// TestCheckdBenchGuest runs inside the IPVS VM: keepalived's checker, then
// Vigil's, on the same targets, at each size.
func TestCheckdBenchGuest(t *testing.T) {
	benchOn(t)
	if os.Getenv("VIGIL_IN_VM") != "1" {
		t.Skip("runs inside the VM (TestCheckdBenchVM starts it)")
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		t.Fatalf("no IPVS in the guest: %v", err)
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Fatalf("keepalived was not copied into the guest: %v", err)
	}
	logClock(t)
	runSizes(t, "vm-tcg", []string{Keepalived, Vigil}, envSizes(t, "VIGIL_BENCH_VM_N", "10000,2000,200"))
}

// logClock records what reading the time costs here: with a clocksource
// the vDSO cannot read (anything but tsc), every clock_gettime is a system
// call, which a Go program makes far more often than keepalived does.
func logClock(t *testing.T) {
	cs, _ := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	const n = 20000
	start := time.Now()
	for range n {
		_ = time.Now()
	}
	perNow := time.Since(start) / n
	start = time.Now()
	for range n {
		_ = syscall.Getppid()
	}
	perCall := time.Since(start) / n
	t.Logf("guest clock: clocksource %s, time.Now %v, getppid %v", strings.TrimSpace(string(cs)), perNow, perCall)
}

// TestCheckdBenchVM boots the IPVS VM with keepalived copied in and runs
// TestCheckdBenchGuest there.
func TestCheckdBenchVM(t *testing.T) {
	benchOn(t)
	if os.Getenv("VIGIL_IN_VM") == "1" {
		t.Skip("the host side of the VM run")
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err != nil {
		t.Skipf("no /usr/sbin/keepalived on the host to copy into the VM: %v", err)
	}
	if os.Getenv("VIGIL_VM_TIMEOUT") == "" {
		t.Setenv("VIGIL_VM_TIMEOUT", "40m")
	}
	out, rc := vmkit.GoTestInVMWith(t, ".", vmkit.GuestOptions{HostBinaries: []string{"/usr/sbin/keepalived"}},
		"-test.v", "-test.count=1", "-test.timeout=39m", "-test.run=^TestCheckdBenchGuest$")
	var res []PhaseResult
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "guest clock:") {
			t.Log(strings.TrimSpace(l))
		}
		if j, ok := strings.CutPrefix(strings.TrimSpace(l), "BENCHRESULT "); ok {
			var r PhaseResult
			if err := json.Unmarshal([]byte(j), &r); err != nil {
				t.Errorf("bad result line %q: %v", l, err)
				continue
			}
			res = append(res, r)
		}
	}
	if rc != 0 || !strings.Contains(out, "--- PASS: TestCheckdBenchGuest") {
		t.Fatalf("guest exit %d; console:\n%s", rc, out)
	}
	for _, r := range res {
		t.Log(Summary(r))
	}
	writeResults(t, "vm", res)
}

// writeResults saves the results as JSON in $VIGIL_BENCH_OUT/checkd-WHERE.json.
func writeResults(t *testing.T, where string, res []PhaseResult) {
	dir := os.Getenv("VIGIL_BENCH_OUT")
	if dir == "" {
		return
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "checkd-"+where+".json")
	if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("results in %s", p)
}
