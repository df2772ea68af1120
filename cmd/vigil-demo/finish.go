package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// finish stops the client and the live view, adds the VIP moves and the
// failed windows to the timeline, prints it with the totals and the
// verdict, and reports whether Vigil behaved.
func (d *demo) finish() bool {
	d.view.stop()
	d.cli.stop()
	end := time.Now()
	d.recordVIPMoves()
	d.checkFailures()
	both, longest := d.dualHold(end)
	d.expect(longest <= handoverOverlap, "the VIP never on both nodes for more than %d ms (it was for %d ms)",
		handoverOverlap.Milliseconds(), longest.Milliseconds())

	served, failed := d.cli.totals()
	total := failed
	var per []string
	for _, n := range demoNodes {
		total += served[n]
		per = append(per, fmt.Sprintf("%s %d", n, served[n]))
	}
	fmt.Printf("\ntimeline (ms since the start; \"(status)\" lines are from the live view's polls, within %d ms):\n", viewEvery.Milliseconds())
	d.tl.print()
	fmt.Printf("\nGETs: %d, served by %s; failed %d\n", total, strings.Join(per, ", "), failed)
	fmt.Printf("both nodes held the VIP: %d ms in all, %d ms at most at once (a handover: the old master drops it on the new one's first advert)\n",
		both.Milliseconds(), longest.Milliseconds())
	if len(d.problems) > 0 {
		fmt.Printf("demo: FAIL: %s\n", strings.Join(d.problems, "; "))
		return false
	}
	fmt.Printf("demo: PASS: no split brain; the vrrpd crash and the VRRP cut moved nothing and failed no GET; %s; "+
		"%d of %d GETs failed, all while nginx or its host was down and the VIP not yet moved\n", strings.Join(d.figures, ", "), failed, total)
	return true
}

// recordVIPMoves puts every VIP change the kernels reported on the
// timeline.
func (d *demo) recordVIPMoves() {
	for _, n := range []*node{d.a, d.b} {
		for _, e := range n.watch.Events(d.vip) {
			if e.Added {
				d.tl.record(e.At, "VIP %s up on %s (kernel)", d.vip, n.name)
			} else {
				d.tl.record(e.At, "VIP %s removed from %s (kernel)", d.vip, n.name)
			}
		}
	}
}

// checkFailures puts every failed window on the timeline and flags the
// ones outside an expected outage.
func (d *demo) checkFailures() {
	for _, w := range d.cli.failures() {
		expected := slices.ContainsFunc(d.allowed, func(a window) bool {
			// A GET started just before the failure may fail by it.
			return !w.from.Before(a.from.Add(-fetchTimeout)) && !w.to.After(a.to.Add(fetchInterval))
		})
		note := ""
		if !expected {
			note = fmt.Sprintf(" UNEXPECTED: %v", w.err)
			d.problems = append(d.problems, fmt.Sprintf("%d GETs failed at %s outside an outage", w.count, d.tl.ms(w.from)))
		}
		d.tl.record(w.from, "client: %d GETs failed until %s (%d ms)%s", w.count, d.tl.ms(w.to), w.to.Sub(w.from).Milliseconds(), note)
	}
}

// handoverOverlap is the most both nodes may hold the VIP at once: in a
// VRRP handover the new master adds it and adverts, the old one drops it
// when that advert arrives (a few ms). A split brain lasts seconds.
const handoverOverlap = 200 * time.Millisecond

// dualHold is how long both nodes held the VIP at once, in all and at
// most in one stretch, from the kernels' address events. A dead host's
// address is gone with it (nobody can reach it), whatever its namespace
// still says.
func (d *demo) dualHold(end time.Time) (total, longest time.Duration) {
	type change struct {
		at   time.Time
		node int
		has  bool
	}
	var cs []change
	for i, n := range []*node{d.a, d.b} {
		for _, e := range n.watch.Events(d.vip) {
			if n.died.IsZero() || e.At.Before(n.died) {
				cs = append(cs, change{e.At, i, e.Added})
			}
		}
		if !n.died.IsZero() {
			cs = append(cs, change{n.died, i, false})
		}
	}
	slices.SortStableFunc(cs, func(a, b change) int { return a.at.Compare(b.at) })
	var holds [2]bool
	var since time.Time
	add := func(to time.Time) {
		total += to.Sub(since)
		longest = max(longest, to.Sub(since))
	}
	for _, c := range cs {
		was := holds[0] && holds[1]
		holds[c.node] = c.has
		switch now := holds[0] && holds[1]; {
		case now && !was:
			since = c.at
		case was && !now:
			add(c.at)
		}
	}
	if holds[0] && holds[1] {
		add(end)
	}
	return total, longest
}
