package mysqlpair_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// cutWindow: how long the cuts of scenario 2 last, and how long after
	// B's promotion scenarios 1 and 3 keep observing.
	cutWindow   = 6 * time.Second
	afterSettle = 2 * time.Second
	// takeoverBound: B's master-down interval (3.6 s) plus a lease (3 s)
	// plus slack for a loaded host.
	takeoverBound = 12 * time.Second
	leaseTTL      = 3 * time.Second
	slack         = time.Second
)

// TestMySQLPair runs the example deployment: Vigil's pair through the
// scenarios (1) the primary's daemon killed, (2) the VRRP link cut, (3)
// the primary isolated, and keepalived's pair with the same scripts
// through (2) and (3), the baseline. Each subtest has its own labs and
// servers; figures are logged as MYSQLPAIR lines and as a table.
func TestMySQLPair(t *testing.T) {
	skipUnlessTools(t, false)
	tmpl := installTemplate(t)
	bd := &board{}
	t.Run("pairs", func(t *testing.T) {
		t.Run("vigil", func(t *testing.T) {
			t.Parallel()
			vigilScenarios(t, tmpl, bd)
		})
		t.Run("vigil-server-crashed", func(t *testing.T) {
			t.Parallel()
			vigilServerCrashed(t, tmpl, bd)
		})
		t.Run("vigil-vrrpd-killed", func(t *testing.T) {
			t.Parallel()
			vigilVrrpdKilled(t, tmpl, bd)
		})
		t.Run("vigil-daemon-killed", func(t *testing.T) {
			t.Parallel()
			vigilDaemonKilled(t, tmpl, bd, false)
		})
		t.Run("vigil-daemon-killed-restarted", func(t *testing.T) {
			t.Parallel()
			vigilDaemonKilled(t, tmpl, bd, true)
		})
		t.Run("keepalived-vrrp-cut", func(t *testing.T) {
			skipUnlessTools(t, true)
			t.Parallel()
			keepalivedScenario(t, tmpl, bd, false)
		})
		t.Run("keepalived-isolate", func(t *testing.T) {
			skipUnlessTools(t, true)
			t.Parallel()
			keepalivedScenario(t, tmpl, bd, true)
		})
	})
	t.Logf("MySQL pair figures (read_only sampled every %v through the unix sockets; tables compared after each window):\n%s", sampleEvery, bd.table())
}

// loaded starts the writers and waits until both have written.
func (b *bed) loaded() {
	b.t.Helper()
	b.startLoad()
	from := time.Now()
	deadline := from.Add(15 * time.Second)
	for {
		ws := b.load.writers
		if ws[0].acked(from) >= 5 && ws[1].acked(from) >= 5 {
			// Past A's second gratuitous ARP burst (garp_master_delay,
			// 5 s after it became MASTER): landing in a scenario's
			// window, it would pull the client back to A at a moment
			// decided by the bed's start-up, not by the scenario.
			time.Sleep(time.Until(b.aMaster.Add(6 * time.Second)))
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("writers not writing through the VIP within 15s: a %d (%s), b %d (%s)",
				ws[0].acked(from), ws[0].lastErr(), ws[1].acked(from), ws[1].lastErr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *writer) lastErr() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// untilBWritable waits for a sample with B writable, then afterSettle.
func (b *bed) untilBWritable(what string) {
	b.t.Helper()
	if !b.load.sampler.waitSample(takeoverBound, func(s sample) bool { return writable(s.b) }) {
		b.t.Errorf("%s: B not writable within %v", what, takeoverBound)
		return
	}
	// promote.sh forgot the replication source: a primary must not
	// start replicating from the old one again.
	if st := strings.TrimSpace(b.b.db.rootSQL(b.t, "SHOW SLAVE STATUS")); st != "" {
		b.t.Errorf("%s: B is writable but still has a replication source:\n%s", what, st)
	}
	time.Sleep(afterSettle)
}

func vigilScenarios(t *testing.T, tmpl string, bd *board) {
	b := newBed(t, tmpl, false)
	b.loaded()

	// check_mysql.sh's invariant: a writable server on a host without
	// the VIP is demoted within a check interval or two.
	b.b.db.rootSQL(t, "SET GLOBAL read_only=OFF")
	at := time.Now()
	b.waitFor(4*time.Second, "check_mysql.sh on B demotes a writable server without the VIP", func() bool {
		return b.b.db.readOnly() == 1
	})
	t.Logf("B made writable by hand: read-only again after %v", time.Since(at).Round(10*time.Millisecond))

	from := time.Now()
	// (2) VRRP link cut (replication with it): B's master-down timer
	// fires, the gossip path says A is MASTER: B stays held, read-only.
	// After the heal B catches up: nothing A accepted is lost.
	b.cutVRRP(true)
	time.Sleep(cutWindow)
	b.cutVRRP(false)
	b.waitReplicated(30 * time.Second)
	f := b.measure("vigil", "2 VRRP link cut (and heal)", from, time.Now())
	bd.add(f)
	b.assertQuiet(f, from)
	if f.OldOnly != 0 {
		t.Errorf("2: B lacks %d of A's rows after the heal", f.OldOnly)
	}

	// (3) the primary isolated on both networks: A loses quorum and
	// demotes (notify_backup and notify_fence) before its lease can
	// expire; B takes the lease and the VIP and promotes. The writer on
	// A writes to A until then; replication is cut, so those rows are
	// lost to B (asynchronous replication), but they all precede B's
	// first write and A stops within a lease.
	from = time.Now()
	b.isolate(b.a, true)
	b.untilBWritable("3 isolate the primary")
	f = b.measure("vigil", "3 primary isolated", from, time.Now())
	bd.add(f)
	assertNeverTwo(t, f)
	if f.Settled != "B" {
		t.Errorf("3: writable at the end: %s, want B", f.Settled)
	}
	if f.Overlap != 0 {
		t.Errorf("3: the old primary accepted %d rows B lacks at or after B's first write: two primaries at once", f.Overlap)
	}
	if f.OldLast > leaseTTL+slack {
		t.Errorf("3: the isolated primary accepted writes until %v after the cut; want within the lease (%v, +%v)", f.OldLast, leaseTTL, slack)
	}
	if f.NewRows == 0 || f.AckedB == 0 {
		t.Errorf("3: B wrote %d rows as primary, writer b got %d acknowledged: no takeover seen", f.NewRows, f.AckedB)
	}
	if !strings.Contains(b.a.out.String(), "Fenced by the arbiter") {
		t.Errorf("3: A's log has no fence by the arbiter")
	}
}

// vigilServerCrashed is (4): A's mariadbd killed. check_mysql.sh fails
// twice, A goes to FAULT and gives the VIP up, B takes the lease and the
// VIP and promotes. Rows A acknowledged in the last moments before the
// crash can be lost (not yet replicated), as with any asynchronous
// replica. A's server restarted comes up read-only (the
// example's my.cnf) and stays so: A rejoins VRRP as BACKUP (nopreempt).
func vigilServerCrashed(t *testing.T, tmpl string, bd *board) {
	b := newBed(t, tmpl, false)
	b.loaded()
	from := time.Now()
	b.a.db.cmd.Kill(t, syscall.SIGKILL)
	b.untilBWritable("4 primary's server crashed")
	b.a.db.start(t)
	restarted := time.Now()
	if ro := b.a.db.readOnly(); ro != 1 {
		t.Errorf("4: A's restarted server has read_only %d, want 1", ro)
	}
	b.waitFor(15*time.Second, "A's instance back to BACKUP after its server returned", func() bool {
		return strings.Count(b.a.out.String(), "(MYSQL) Entering BACKUP STATE") >= 2
	})
	time.Sleep(time.Second)
	f := b.measure("vigil", "4 primary's server killed (and restarted)", from, time.Now())
	bd.add(f)
	assertNeverTwo(t, f)
	// A row A acknowledged just before it died may not have reached B
	// (asynchronous replication): B's id for it then holds another row.
	// What must hold: none of A's rows B lacks is later than B's first.
	if f.Settled != "B" || f.Overlap != 0 {
		t.Errorf("4: writable at the end %s, %d of A's unreplicated rows at or after B's first; want B, 0", f.Settled, f.Overlap)
	}
	if f.NewRows == 0 {
		t.Errorf("4: B wrote no row as the primary")
	}
	for _, s := range b.load.sampler.window(restarted, time.Now()) {
		if s.a == 0 || s.b != 0 {
			t.Errorf("4: after A's server came back, read_only A=%d B=%d at %s; want A read-only, B writable",
				s.a, s.b, s.at.Format("15:04:05.000"))
			break
		}
	}
}

// vigilVrrpdKilled is (1b): kill -9 of A's vrrpd child only. The parent
// stands in with adverts and restarts it, the child resumes MASTER:
// nothing should move and no script should run. (With a track_script, as
// here, the resumed vrrpd used to report INIT first, its agent gave the
// lease away and the VIP moved: fixed in vrrpd, and failed here since.)
func vigilVrrpdKilled(t *testing.T, tmpl string, bd *board) {
	b := newBed(t, tmpl, false)
	b.loaded()
	var vrrpd int
	for pid, role := range vigilPIDs(t, b.a.ns) {
		if role == "vrrpd" {
			vrrpd = pid
		}
	}
	if vrrpd == 0 {
		t.Fatalf("no vrrpd child among A's vigil processes %v", vigilPIDs(t, b.a.ns))
	}
	from := time.Now()
	if err := syscall.Kill(vrrpd, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitFor(10*time.Second, "A's vrrpd restarted", func() bool {
		for pid, role := range vigilPIDs(t, b.a.ns) {
			if role == "vrrpd" && pid != vrrpd {
				return true
			}
		}
		return false
	})
	time.Sleep(cutWindow)
	if b.load.sampler.waitSample(time.Second, func(s sample) bool { return writable(s.b) }) {
		time.Sleep(afterSettle) // it moved: let B's promotion settle
	}
	f := b.measure("vigil", "1b kill -9 of the primary's vrrpd child", from, time.Now())
	bd.add(f)
	assertNeverTwo(t, f)
	if f.Divergent != 0 || (f.Settled != "A" && f.Settled != "B") {
		t.Errorf("1b: %d divergent ids, writable at the end %s; want 0, one server", f.Divergent, f.Settled)
	}
	moved := ""
	for _, n := range []*node{b.a, b.b} {
		for _, e := range n.watch.Events(vip) {
			if e.At.After(from) {
				moved += fmt.Sprintf(" %s %s at %s;", map[bool]string{true: "added on", false: "removed from"}[e.Added], n.name, e.At.Format("15:04:05.000"))
			}
		}
	}
	if moved == "" {
		b.assertQuiet(f, from)
		return
	}
	t.Errorf("1b: after A's vrrpd was killed the VIP moved:%s primary at the end: %s; nothing should move", moved, f.Settled)
}

// assertQuiet: A writable at every sample, B never, no VIP event.
func (b *bed) assertQuiet(f figures, from time.Time) {
	b.t.Helper()
	assertNeverTwo(b.t, f)
	for _, s := range b.load.sampler.window(from, time.Now()) {
		if s.a != 0 || s.b != 1 {
			b.t.Errorf("%s: at %s read_only A=%d B=%d, want A writable and B read-only throughout",
				f.Scenario, s.at.Format("15:04:05.000"), s.a, s.b)
			break
		}
	}
	for _, n := range []*node{b.a, b.b} {
		for _, e := range n.watch.Events(vip) {
			if e.At.After(from) {
				b.t.Errorf("%s: the VIP moved on %s (added=%v at %s)", f.Scenario, n.name, e.Added, e.At.Format("15:04:05.000"))
			}
		}
	}
	if f.Divergent != 0 || f.Settled != "A" {
		b.t.Errorf("%s: %d divergent ids, writable at the end %s; want 0, A", f.Scenario, f.Divergent, f.Settled)
	}
}

// vigilDaemonKilled is (1): kill -9 of every vigil process on A, then the
// drop-in's ExecStopPost as systemd runs it. The VIP stays on A's
// interface (nobody removes it) but A's server is read-only; B takes over
// once A's lease has expired and promotes.
func vigilDaemonKilled(t *testing.T, tmpl string, bd *board, restart bool) {
	b := newBed(t, tmpl, false)
	b.loaded()
	stopPost := execStopPost(t, b.a)
	pids := vigilPIDs(t, b.a.ns)
	if len(pids) < 3 {
		t.Fatalf("A runs %d vigil processes %v; want the parent and its children", len(pids), pids)
	}
	from := time.Now()
	for pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case <-b.a.cmd.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("A's vigil parent did not exit after SIGKILL")
	}
	b.waitFor(5*time.Second, "every vigil process on A gone", func() bool { return len(vigilPIDs(t, b.a.ns)) == 0 })
	// systemd: the main process exited on a signal; ExecStopPost runs.
	runStopPost(t, b.a, stopPost, from)
	if ro := b.a.db.readOnly(); ro != 1 {
		t.Errorf("A's read_only is %d after ExecStopPost, want 1", ro)
	}
	name := "1 kill -9 of the primary's daemon + ExecStopPost"
	if restart {
		// vigil.service's Restart=on-failure, RestartSec=500ms: the
		// new parent finds a fresh snapshot and resumes.
		name += " + systemd's restart"
		time.Sleep(500 * time.Millisecond)
		b.startNode(b.a)
		time.Sleep(takeoverBound)
		f := b.measure("vigil", name, from, time.Now())
		bd.add(f)
		assertNeverTwo(t, f)
		if (f.Settled != "A" && f.Settled != "B") || f.Divergent != 0 || f.OldOnly != 0 {
			t.Errorf("%s: writable at the end %s, %d divergent ids, %d of A's rows missing on B; want one server, 0, 0",
				name, f.Settled, f.Divergent, f.OldOnly)
		}
		return
	}
	b.untilBWritable("1 daemon killed")
	f := b.measure("vigil", name, from, time.Now())
	bd.add(f)
	assertNeverTwo(t, f)
	if f.Settled != "B" || f.Divergent != 0 || f.OldOnly != 0 {
		t.Errorf("1: writable at the end %s, %d divergent ids, %d of A's rows missing on B; want B, 0, 0", f.Settled, f.Divergent, f.OldOnly)
	}
	if f.AckedB == 0 {
		t.Errorf("1: writer b got nothing acknowledged after the takeover")
	}
}

// execStopPost reads the drop-in's ExecStopPost= lines as systemd would
// (the prefixes -@:+! stripped; "-" noted: its failure is ignored), for
// node n's paths.
func execStopPost(t *testing.T, n *node) []stopPost {
	t.Helper()
	var out []stopPost
	for _, l := range strings.Split(n.forNode(readExample(t, "vigil.service.d/mysql-pair.conf")), "\n") {
		l = strings.TrimSpace(l)
		v, ok := strings.CutPrefix(l, "ExecStopPost=")
		if !ok {
			continue
		}
		p := stopPost{}
		for len(v) > 0 && strings.ContainsRune("-@:+!", rune(v[0])) {
			p.ignoreFailure = p.ignoreFailure || v[0] == '-'
			v = v[1:]
		}
		if strings.ContainsAny(v, "\"'$%\\") {
			t.Fatalf("ExecStopPost %q: quoting and specifiers are beyond this test's parser", v)
		}
		p.args = strings.Fields(v)
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("the drop-in has no ExecStopPost=")
	}
	return out
}

type stopPost struct {
	args          []string
	ignoreFailure bool
}

// runStopPost runs the commands in order in n's namespace, with the
// environment systemd gives them after a SIGKILL of the main process; a
// failure stops the rest unless the command had "-".
func runStopPost(t *testing.T, n *node, cmds []stopPost, from time.Time) {
	t.Helper()
	for _, c := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns.Name}, c.args...)...)
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"SERVICE_RESULT=signal", "EXIT_CODE=killed", "EXIT_STATUS=KILL"}
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("ExecStopPost %v ran %v after the kill: err %v: %s", c.args, time.Since(from).Round(time.Millisecond), err, strings.TrimSpace(string(out)))
		if err != nil {
			if !c.ignoreFailure {
				t.Errorf("ExecStopPost %v failed: %v", c.args, err)
				return
			}
		}
	}
}

// keepalivedScenario runs (2) or (3) against keepalived with the same
// configuration minus the arbiter block, and the same scripts. Its
// figures are the baseline; what is asserted is only that the
// measurement worked.
func keepalivedScenario(t *testing.T, tmpl string, bd *board, isolate bool) {
	b := newBed(t, tmpl, true)
	b.loaded()
	from := time.Now()
	name := "2 VRRP link cut"
	if isolate {
		name = "3 primary isolated"
		b.isolate(b.a, true)
		b.untilBWritable(name)
	} else {
		b.cutVRRP(true)
		time.Sleep(cutWindow)
	}
	f := b.measure("keepalived", name, from, time.Now())
	bd.add(f)
	if f.Samples < 20 || f.AckedA+f.AckedB == 0 {
		t.Errorf("%s: %d samples, %d+%d inserts acknowledged: the measurement did not run", name, f.Samples, f.AckedA, f.AckedB)
	}
	if os.Getenv("VIGIL_MYSQLPAIR_LOGS") != "" {
		t.Logf("keepalived A:\n%s", tail(b.a.out.String(), 40))
		t.Logf("client neigh: %s; writer b last error: %s", b.client.MustRun("ip", "neigh"), b.load.writers[1].lastErr())
		t.Logf("A MAC %s B MAC %s", b.a.ns.MAC(b.a.vif), b.b.ns.MAC(b.b.vif))
		t.Logf("B rows by writer/server: %s", b.b.db.rootSQL(t, "SELECT writer, server, COUNT(*), MIN(at), MAX(at) FROM appdb.writes WHERE at > NOW() - INTERVAL 8 SECOND GROUP BY writer, server"))
		t.Logf("A rows by writer/server: %s", b.a.db.rootSQL(t, "SELECT writer, server, COUNT(*), MIN(at), MAX(at) FROM appdb.writes WHERE at > NOW() - INTERVAL 8 SECOND GROUP BY writer, server"))
	}
}

func (b *bed) waitFor(timeout time.Duration, what string, ok func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			b.t.Fatalf("not within %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
