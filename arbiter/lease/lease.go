// Package lease is the arbiter side of Vigil's split-brain protection: a
// table of per-instance ownership leases. At most one node holds a key at
// a time; the holder renews it; it is granted elsewhere only after it
// expired, counted from the arbiter's receipt of the last renewal. Because
// the holder counts from its own send time (earlier), it always stops
// believing in the lease before the arbiter hands it to someone else.
//
// The table has no clock and no goroutines: every call takes the time, so
// the server owns the clock and the tests use a fake one.
package lease

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Lease is one live lease, for status output.
type Lease struct {
	Key     string
	Node    string
	Expires time.Time
}

// Table holds the leases of one arbiter. The zero value is not usable; use
// New. A Table is not safe for concurrent use: the server serialises calls.
type Table struct {
	ttl    time.Duration
	leases map[string]Lease
}

// DefaultTTL is the lease length New uses for a ttl that is not positive:
// a zero-length lease would exclude nobody.
const DefaultTTL = 3 * time.Second

// New returns an empty table granting leases of length ttl (DefaultTTL when
// ttl is not positive).
func New(ttl time.Duration) *Table {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Table{ttl: ttl, leases: map[string]Lease{}}
}

// TTL is the length of the leases the table grants.
func (t *Table) TTL() time.Duration { return t.ttl }

// Request asks for key on behalf of node. It is granted when the key is
// free, its lease expired, or node already holds it (a renewal): the lease
// then runs until now+ttl and ttl is the table's lease length. Otherwise it
// is refused, holder names the current holder and ttl is how long its lease
// still runs (a hint for retrying). An empty key or node is refused with
// an empty holder: there is nothing sensible to grant.
func (t *Table) Request(now time.Time, key, node string) (granted bool, holder string, ttl time.Duration) {
	if key == "" || node == "" {
		return false, "", 0
	}
	if l, ok := t.leases[key]; ok && l.Node != node && now.Before(l.Expires) {
		return false, l.Node, l.Expires.Sub(now)
	}
	t.leases[key] = Lease{Key: key, Node: node, Expires: now.Add(t.ttl)}
	return true, node, t.ttl
}

// Release gives key back when node holds it, so that another node need not
// wait for the expiry. A release by anyone else is ignored: a late release
// from a former holder must not free the current holder's lease.
func (t *Table) Release(now time.Time, key, node string) {
	if l, ok := t.leases[key]; ok && l.Node == node {
		delete(t.leases, key)
	}
}

// Leases lists the unexpired leases at now, by key, and forgets the
// expired ones.
func (t *Table) Leases(now time.Time) []Lease {
	out := make([]Lease, 0, len(t.leases))
	for k, l := range t.leases {
		if !now.Before(l.Expires) {
			delete(t.leases, k)
			continue
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// State is what a table saves across restarts of the arbiter. Expiry times
// are not saved: the arbiter's clock after a restart (or on another host)
// need not agree with the one that wrote them, so a restored lease always
// runs a full TTL from the restore.
type State struct {
	// TTL is the lease length the leases were granted with: a holder may
	// believe in its lease that long after its last renewal, whatever the
	// restarted table's TTL is.
	TTL    time.Duration `json:"ttl"`
	Leases []Held        `json:"leases"`
}

// Held is a recorded lease in a State.
type Held struct {
	Key  string `json:"key"`
	Node string `json:"node"`
}

// State returns the table's unexpired leases at now, to be saved after
// every change (a grant to a new holder at least) so that a restart never
// forgets a holder.
func (t *Table) State(now time.Time) State {
	s := State{TTL: t.ttl}
	for _, l := range t.Leases(now) {
		s.Leases = append(s.Leases, Held{Key: l.Key, Node: l.Node})
	}
	return s
}

// Restore loads a saved state into the table at now. The age of the saved
// leases is unknown, so every one of them is treated as renewed at now: it
// is held for max(saved TTL, table TTL) from now, and the holder can renew
// it while nobody else gets it. Entries with an empty key or node are
// rejected (the whole state is then not applied), as are duplicate keys.
func (t *Table) Restore(now time.Time, s State) error {
	if s.TTL < 0 {
		return fmt.Errorf("lease: restore: negative ttl %v", s.TTL)
	}
	ttl := max(s.TTL, t.ttl)
	restored := make(map[string]Lease, len(s.Leases))
	for i, h := range s.Leases {
		if h.Key == "" || h.Node == "" {
			return fmt.Errorf("lease: restore: entry %d: %w", i, errEmpty)
		}
		if _, dup := restored[h.Key]; dup {
			return fmt.Errorf("lease: restore: entry %d: key %q recorded twice", i, h.Key)
		}
		restored[h.Key] = Lease{Key: h.Key, Node: h.Node, Expires: now.Add(ttl)}
	}
	for k, l := range restored {
		if cur, ok := t.leases[k]; ok && cur.Node != l.Node && now.Before(cur.Expires) {
			// A lease granted since the start conflicts with the saved
			// one: two nodes may each believe they hold the key, and no
			// choice between them keeps both promises. Restore belongs
			// before the first request; refuse.
			return fmt.Errorf("lease: restore: key %q is held by %s, saved holder %s", k, cur.Node, l.Node)
		}
	}
	for k, l := range restored {
		t.leases[k] = l
	}
	return nil
}

var errEmpty = errors.New("empty key or node")
