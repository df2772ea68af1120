package mysqlpair_test

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// figures is one scenario's outcome on one implementation.
type figures struct {
	Impl, Scenario string
	Samples        int
	// DualWritable sums the sampling intervals that began with both
	// servers writable; DualSamples counts those samples.
	DualWritable time.Duration
	DualSamples  int
	// NoneWritable sums the intervals that began with neither server
	// writable (or answering): the outage.
	NoneWritable time.Duration
	// DemoteLag: from A's VIP removal to the first sample with A not
	// writable (read-only, or down); PromoteLag: from B's VIP arrival to the first sample
	// with B writable (-1: no such event). Sampling bounds both from
	// above, to sampleEvery.
	DemoteLag, PromoteLag time.Duration
	// Settled: who was writable at the window's last sample.
	Settled string
	// Divergent: ids on both servers with different contents.
	Divergent int
	// OldOnly: rows the old primary (A, server 1) accepted that B does
	// not have as they are: not replicated before the failover, lost to
	// the new primary. OldLast: the last of them, after the window's
	// start (-1: none).
	OldOnly int
	OldLast time.Duration
	// NewRows: rows B accepted as a primary (server 2).
	NewRows int
	// Overlap: of the OldOnly rows, those written at or after B's first
	// row as a primary: writes of two primaries at once.
	Overlap int
	// Acked: inserts acknowledged to each writer during the window;
	// WriteErrors: failed attempts since the start.
	AckedA, AckedB, WriteErrors int
}

func writable(ro int) bool { return ro == 0 }

// measure takes a window's figures: the sampler's read_only samples, and
// both servers' tables compared through their unix sockets.
func (b *bed) measure(impl, scenario string, from, to time.Time) figures {
	b.t.Helper()
	f := figures{Impl: impl, Scenario: scenario}
	ss := b.load.sampler.window(from, to)
	f.Samples = len(ss)
	for i, s := range ss {
		end := to
		if i+1 < len(ss) {
			end = ss[i+1].at
		}
		switch {
		case writable(s.a) && writable(s.b):
			f.DualSamples++
			f.DualWritable += end.Sub(s.at)
		case !writable(s.a) && !writable(s.b):
			f.NoneWritable += end.Sub(s.at)
		}
	}
	if len(ss) > 0 {
		f.Settled = who(ss[len(ss)-1])
	}
	f.DemoteLag = lag(b.a.watch.Events(vip), false, from, ss, func(s sample) bool { return !writable(s.a) })
	f.PromoteLag = lag(b.b.watch.Events(vip), true, from, ss, func(s sample) bool { return writable(s.b) })
	for _, w := range b.load.writers {
		n := w.acked(from)
		if w.name == "a" {
			f.AckedA = n
		} else {
			f.AckedB = n
		}
		w.mu.Lock()
		f.WriteErrors += w.errs
		w.mu.Unlock()
	}
	// Both tables at one moment: no insert in flight meanwhile.
	ra, rb := b.tables()
	firstB := ""
	for _, r := range rb {
		if r.server == "2" {
			f.NewRows++
			if firstB == "" || r.at < firstB {
				firstB = r.at
			}
		}
	}
	f.OldLast = -1
	for id, x := range ra {
		y, ok := rb[id]
		if ok && x.content() != y.content() {
			f.Divergent++
		}
		if x.server != "1" || (ok && x.content() == y.content()) {
			continue
		}
		f.OldOnly++
		if at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", x.at, time.Local); err == nil && at.Sub(from) > f.OldLast {
			f.OldLast = at.Sub(from)
		}
		if firstB != "" && x.at >= firstB {
			f.Overlap++
		}
	}
	b.t.Logf("MYSQLPAIR impl=%s scenario=%q dual_writable_ms=%d dual_samples=%d none_writable_ms=%d demote_lag_ms=%d promote_lag_ms=%d samples=%d settled=%s divergent_ids=%d old_only_rows=%d old_last_ms=%d new_primary_rows=%d overlap_rows=%d acked_a=%d acked_b=%d write_errors=%d",
		f.Impl, f.Scenario, f.DualWritable.Milliseconds(), f.DualSamples, f.NoneWritable.Milliseconds(), f.DemoteLag.Milliseconds(), f.PromoteLag.Milliseconds(), f.Samples, f.Settled, f.Divergent, f.OldOnly,
		f.OldLast.Milliseconds(), f.NewRows, f.Overlap, f.AckedA, f.AckedB, f.WriteErrors)
	return f
}

// lag is the time from the first VIP event (added or removed, as given)
// after from to the first sample at or after it that satisfies ok; -1
// without such an event or sample.
func lag(evs []lab.AddrEvent, added bool, from time.Time, ss []sample, ok func(sample) bool) time.Duration {
	for _, e := range evs {
		if e.Added != added || !e.At.After(from) {
			continue
		}
		for _, s := range ss {
			if !s.at.Before(e.At) && ok(s) {
				return s.at.Sub(e.At)
			}
		}
		return -1
	}
	return -1
}

// tables reads both servers' tables with the writers paused (resumed
// also when a read fails the test).
func (b *bed) tables() (ra, rb map[string]row) {
	b.t.Helper()
	b.load.pause()
	defer b.load.resume()
	if strings.TrimSpace(b.b.db.rootSQL(b.t, "SHOW SLAVE STATUS")) != "" {
		// B still replicates: let it apply what A has, so only rows
		// that cannot reach it count as missing.
		pos := strings.TrimSpace(b.a.db.rootSQL(b.t, "SELECT @@gtid_binlog_pos"))
		b.b.db.rootSQL(b.t, fmt.Sprintf("SELECT MASTER_GTID_WAIT('%s', 2)", pos))
	}
	return b.a.db.rows(b.t), b.b.db.rows(b.t)
}

func who(s sample) string {
	switch {
	case writable(s.a) && writable(s.b):
		return "A+B"
	case writable(s.a):
		return "A"
	case writable(s.b):
		return "B"
	}
	return "none"
}

// row is one line of the writers' table.
type row struct{ writer, seq, server, at string }

func (r row) content() string { return r.writer + "/" + r.seq }

// rows reads the whole table as the probe user over the socket.
func (s *server) rows(t *testing.T) map[string]row {
	t.Helper()
	m, err := s.probe()
	if err != nil {
		t.Fatalf("%s: probe login: %v", s.n.name, err)
	}
	defer m.Close()
	m.deadline = 10 * time.Second
	res, err := m.Query("SELECT id, writer, seq, server, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f') FROM appdb.writes")
	if err != nil {
		t.Fatalf("%s: reading the table: %v", s.n.name, err)
	}
	out := map[string]row{}
	for _, r := range res.Rows {
		if len(r) == 5 {
			out[r[0]] = row{writer: r[1], seq: r[2], server: r[3], at: r[4]}
		}
	}
	return out
}

// assertNeverTwo: at most one server writable at every sample.
func assertNeverTwo(t *testing.T, f figures) {
	t.Helper()
	if f.DualSamples != 0 {
		t.Errorf("%s: both servers writable in %d samples (%v)", f.Scenario, f.DualSamples, f.DualWritable)
	}
	if f.Samples < 20 {
		t.Errorf("%s: only %d read_only samples; the sampler did not run", f.Scenario, f.Samples)
	}
}

// board collects every subtest's figures for the closing table.
type board struct {
	mu   sync.Mutex
	rows []figures
}

func (bd *board) add(f figures) {
	bd.mu.Lock()
	bd.rows = append(bd.rows, f)
	bd.mu.Unlock()
}

func (bd *board) table() string {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	rows := append([]figures{}, bd.rows...)
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Impl != rows[j].Impl {
			return rows[i].Impl > rows[j].Impl // vigil first
		}
		return rows[i].Scenario < rows[j].Scenario
	})
	var sb strings.Builder
	sb.WriteString("| implementation | scenario | both writable | samples both writable | none writable | VIP removal to A not writable | writable at the end | divergent ids | old primary's rows B lacks | the last of them after the cut | rows B wrote as primary | rows of two primaries at once |\n")
	sb.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range rows {
		last := "-"
		if f.OldLast >= 0 {
			last = fmt.Sprintf("%d ms", f.OldLast.Milliseconds())
		}
		demote := "-"
		if f.DemoteLag >= 0 {
			demote = fmt.Sprintf("%d ms", f.DemoteLag.Milliseconds())
		}
		fmt.Fprintf(&sb, "| %s | %s | %d ms | %d of %d | %d ms | %s | %s | %d | %d | %s | %d | %d |\n", f.Impl, f.Scenario,
			f.DualWritable.Milliseconds(), f.DualSamples, f.Samples, f.NoneWritable.Milliseconds(), demote, f.Settled, f.Divergent, f.OldOnly, last, f.NewRows, f.Overlap)
	}
	return sb.String()
}
