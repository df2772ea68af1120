package vrrpd

import (
	"container/heap"
	"time"
)

// timerHeap orders instances by their next deadline, so a node with
// thousands of instances finds due timers without scanning them all on
// every packet. Entries are invalidated lazily: each step re-pushes the
// instance with a new generation, and older entries are skipped.
type timerHeap []timerEntry

type timerEntry struct {
	at  time.Time
	in  *instance
	gen uint64
}

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// schedule records an instance's current deadline after a step.
func (e *Engine) schedule(in *instance) {
	in.timerGen++
	if d := in.m.Deadline(); !d.IsZero() {
		heap.Push(&e.timers, timerEntry{at: d, in: in, gen: in.timerGen})
	}
}

// fireTimers delivers Timeout to every instance whose deadline has passed.
func (e *Engine) fireTimers(now time.Time) {
	for e.timers.Len() > 0 {
		top := e.timers[0]
		if top.gen != top.in.timerGen {
			heap.Pop(&e.timers) // superseded
			continue
		}
		if top.at.After(now) {
			return
		}
		heap.Pop(&e.timers)
		e.step(top.in, now, timeoutEvent)
	}
}

// nextDeadline is the earliest pending deadline, zero if none.
func (e *Engine) nextDeadline() time.Time {
	for e.timers.Len() > 0 {
		top := e.timers[0]
		if top.gen == top.in.timerGen {
			return top.at
		}
		heap.Pop(&e.timers)
	}
	return time.Time{}
}
