package lease

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func TestTable(t *testing.T) {
	type step struct {
		ms        int
		op        string // "req", "rel"
		key, node string
		granted   bool
		holder    string
		ttl       time.Duration
	}
	ttl := 3 * time.Second
	cases := []struct {
		name  string
		steps []step
	}{
		{"free key granted, renewed by the holder, refused to others", []step{
			{0, "req", "k", "a", true, "a", ttl},
			{1000, "req", "k", "b", false, "a", 2 * time.Second},
			{2000, "req", "k", "a", true, "a", ttl}, // renewal: now runs to 5000
			{4999, "req", "k", "b", false, "a", time.Millisecond},
			{5000, "req", "k", "b", true, "b", ttl}, // expired exactly
		}},
		{"release frees the key at once, a stranger's release does not", []step{
			{0, "req", "k", "a", true, "a", ttl},
			{100, "rel", "k", "b", false, "", 0},
			{200, "req", "k", "b", false, "a", 2800 * time.Millisecond},
			{300, "rel", "k", "a", false, "", 0},
			{400, "req", "k", "b", true, "b", ttl},
			{500, "rel", "k", "a", false, "", 0}, // late release from the former holder
			{600, "req", "k", "a", false, "b", 2800 * time.Millisecond},
		}},
		{"keys are independent", []step{
			{0, "req", "k1", "a", true, "a", ttl},
			{0, "req", "k2", "b", true, "b", ttl},
		}},
		{"empty key or node refused", []step{
			{0, "req", "", "a", false, "", 0},
			{0, "req", "k", "", false, "", 0},
			{0, "req", "k", "a", true, "a", ttl},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := New(ttl)
			for i, s := range c.steps {
				if s.op == "rel" {
					tb.Release(at(s.ms), s.key, s.node)
					continue
				}
				g, h, d := tb.Request(at(s.ms), s.key, s.node)
				if g != s.granted || h != s.holder || d != s.ttl {
					t.Fatalf("step %d: got (%v, %q, %v), want (%v, %q, %v)", i, g, h, d, s.granted, s.holder, s.ttl)
				}
			}
		})
	}
}

func TestLeases(t *testing.T) {
	tb := New(3 * time.Second)
	tb.Request(at(0), "b", "n1")
	tb.Request(at(1000), "a", "n2")
	got := tb.Leases(at(2000))
	if len(got) != 2 || got[0].Key != "a" || got[1].Key != "b" || !got[0].Expires.Equal(at(4000)) {
		t.Fatalf("leases %+v", got)
	}
	if got := tb.Leases(at(3000)); len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("after b's expiry: %+v", got)
	}
}

// A restarted arbiter restores its state and keeps every recorded lease
// for a full TTL from the restore (the longer of the old and new TTL):
// nobody else gets it meanwhile, the holder can renew it.
func TestRestore(t *testing.T) {
	old := New(5 * time.Second)
	old.Request(at(0), "k1", "a")
	old.Request(at(0), "k2", "b")
	old.Request(at(0), "gone", "c")
	old.Release(at(10), "gone", "c")
	raw, err := json.Marshal(old.State(at(100)))
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	restarted := New(3 * time.Second)
	if err := restarted.Restore(at(60_000), s); err != nil { // a minute later: age unknown
		t.Fatal(err)
	}
	if g, h, _ := restarted.Request(at(64_999), "k1", "z"); g || h != "a" {
		t.Fatalf("k1 given to z before the old TTL ran out from the restore: %v %q", g, h)
	}
	if g, _, _ := restarted.Request(at(61_000), "k2", "b"); !g {
		t.Fatal("the recorded holder could not renew")
	}
	if g, _, _ := restarted.Request(at(65_000), "k1", "z"); !g {
		t.Fatal("k1 not free after the full TTL")
	}
	if g, _, _ := restarted.Request(at(61_000), "gone", "z"); !g {
		t.Fatal("a released lease was restored")
	}
}

func TestRestoreRejects(t *testing.T) {
	cases := []struct {
		name  string
		state State
		want  string
	}{
		{"negative ttl", State{TTL: -1}, "negative ttl"},
		{"empty node", State{TTL: time.Second, Leases: []Held{{Key: "k"}}}, "entry 0: empty key or node"},
		{"duplicate", State{TTL: time.Second, Leases: []Held{{Key: "k", Node: "a"}, {Key: "k", Node: "b"}}}, "recorded twice"},
	}
	for _, c := range cases {
		tb := New(time.Second)
		if err := tb.Restore(at(0), c.state); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if len(tb.Leases(at(0))) != 0 {
			t.Errorf("%s: a rejected state was partly applied", c.name)
		}
	}
	tb := New(time.Second)
	tb.Request(at(0), "k", "a")
	if err := tb.Restore(at(10), State{TTL: time.Second, Leases: []Held{{Key: "k", Node: "b"}}}); err == nil || !strings.Contains(err.Error(), "held by a") {
		t.Errorf("conflict with a live lease: %v", err)
	}
}

func TestZeroTTL(t *testing.T) {
	tb := New(0)
	tb.Request(at(0), "k", "a")
	if g, _, _ := tb.Request(at(1), "k", "b"); g {
		t.Fatal("a zero ttl table excluded nobody")
	}
}
