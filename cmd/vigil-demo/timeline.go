package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// timeline collects what happened, in milliseconds since the demo's
// start: the acts' steps, VIP moves (the kernel's address events), state
// changes the live view saw and the client's failed windows. Steps are
// printed as they happen too; print replays the whole in order.
type timeline struct {
	t0     time.Time
	mu     sync.Mutex
	events []event
}

type event struct {
	at   time.Time
	what string
}

func newTimeline() *timeline { return &timeline{t0: time.Now()} }

// ms renders t as the timeline's column.
func (tl *timeline) ms(t time.Time) string {
	return fmt.Sprintf("t=%6d ms", t.Sub(tl.t0).Milliseconds())
}

// record keeps an event for the final timeline without printing it.
func (tl *timeline) record(at time.Time, format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.events = append(tl.events, event{at: at, what: fmt.Sprintf(format, args...)})
}

// say prints a step now and keeps it for the timeline.
func (tl *timeline) say(at time.Time, format string, args ...any) {
	tl.record(at, format, args...)
	fmt.Printf("%s  %s\n", tl.ms(at), fmt.Sprintf(format, args...))
}

// print writes every event in time order (stable: steps recorded at the
// same moment keep their order).
func (tl *timeline) print() {
	tl.mu.Lock()
	evs := slices.Clone(tl.events)
	tl.mu.Unlock()
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	for _, e := range evs {
		fmt.Printf("  %s  %s\n", tl.ms(e.at), e.what)
	}
}
