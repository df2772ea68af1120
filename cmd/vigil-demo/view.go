package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// viewEvery is the live view's period: one line per half second.
const viewEvery = 500 * time.Millisecond

// liveView prints, every viewEvery, who served the client's GETs in that
// slice, how many failed, and each node's VRRP state, effective priority
// and chk_nginx status from `vigil status --json`. Changes of a node's
// state go to the timeline (at the poll's time: within viewEvery).
type liveView struct {
	tl    *timeline
	cli   *client
	nodes []*node
	last  map[string]string
	quit  chan struct{}
	done  chan struct{}
}

func startView(r *reporter, tl *timeline, cli *client, nodes ...*node) *liveView {
	v := &liveView{tl: tl, cli: cli, nodes: nodes, last: map[string]string{}, quit: make(chan struct{}), done: make(chan struct{})}
	fmt.Printf("%s  live view, one line per %d ms: GETs served per node and failed in that slice | each node's VRRP state, priority, chk_nginx\n",
		tl.ms(time.Now()), viewEvery.Milliseconds())
	go v.loop()
	r.Cleanup(v.stop)
	return v
}

func (v *liveView) loop() {
	defer close(v.done)
	t := time.NewTicker(viewEvery)
	defer t.Stop()
	for {
		select {
		case <-v.quit:
			return
		case now := <-t.C:
			v.tick(now)
		}
	}
}

func (v *liveView) stop() {
	select {
	case <-v.quit:
	default:
		close(v.quit)
	}
	<-v.done
}

// tick prints one line: the client's slice, then every node.
func (v *liveView) tick(now time.Time) {
	states := make([]string, len(v.nodes))
	var wg sync.WaitGroup
	for i, n := range v.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i] = describe(n)
		}()
	}
	wg.Wait()
	s := v.cli.takeSlice()
	var b strings.Builder
	for _, n := range v.nodes {
		fmt.Fprintf(&b, "%s %3d  ", n.name, s.served[n.name])
	}
	fmt.Fprintf(&b, "failed %3d", s.failed)
	for i, n := range v.nodes {
		fmt.Fprintf(&b, " | %-40s", n.name+" "+states[i])
		if v.last[n.name] != states[i] {
			v.last[n.name] = states[i]
			v.tl.record(now, "%s: %s (status)", n.name, states[i])
		}
	}
	fmt.Printf("  %s  %s\n", v.tl.ms(now), strings.TrimRight(b.String(), " "))
}

// describe is a node's state in a few words: "MASTER prio 150 chk GOOD",
// "BACKUP prio 100 chk GOOD held: ...", or "down".
func describe(n *node) string {
	st, err := n.status()
	if err != nil {
		return "down"
	}
	state, prio, hold := st.vrrp()
	if state == "" {
		return "vrrpd restarting"
	}
	s := fmt.Sprintf("%s prio %d chk_nginx %s", state, prio, st.check())
	if hold != "" {
		s += " (held)"
	}
	return s
}
