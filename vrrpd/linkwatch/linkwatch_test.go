package linkwatch

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// watch starts Watch on ns and returns a reader of its events; the
// watch is cancelled, and its channel checked to close, at the end.
func watch(t *testing.T, ns *lab.NS) *reader {
	t.Helper()
	nsh, err := ns.Handle()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	ch, err := Watch(ctx, nsh)
	nsh.Close() // Watch keeps its own copy
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Logf("Watch returned in %v", time.Since(start))
	r := &reader{t: t, ch: ch, state: map[string]Event{}}
	t.Cleanup(func() {
		cancel()
		deadline := time.After(3 * time.Second)
		for {
			select {
			case _, ok := <-ch:
				if !ok {
					return
				}
			case <-deadline:
				t.Error("event channel not closed within 3s of cancelling the context")
				return
			}
		}
	})
	return r
}

type reader struct {
	t     *testing.T
	ch    <-chan Event
	state map[string]Event // by name
	evs   []Event
	log   []string
}

// waitFor reads events until cond holds for the state they describe.
func (r *reader) waitFor(what string, timeout time.Duration, cond func(map[string]Event) bool) {
	r.t.Helper()
	if cond(r.state) {
		return
	}
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-r.ch:
			if !ok {
				r.t.Fatalf("waiting for %s: event channel closed; events: %s", what, strings.Join(r.log, ", "))
			}
			r.evs = append(r.evs, ev)
			r.log = append(r.log, ev.String())
			if ev.Deleted {
				delete(r.state, ev.Name)
			} else {
				r.state[ev.Name] = ev
			}
			if cond(r.state) {
				return
			}
		case <-deadline:
			r.t.Fatalf("no %s within %v; events so far: %s", what, timeout, strings.Join(r.log, ", "))
		}
	}
}

// waitEvent waits for one event equal to want (ignoring Index when 0).
func (r *reader) waitEvent(want Event, timeout time.Duration) {
	r.t.Helper()
	seen := len(r.evs)
	r.waitFor(fmt.Sprintf("event %s", want), timeout, func(map[string]Event) bool {
		for _, ev := range r.evs[seen:] {
			if ev.Name == want.Name && ev.Up == want.Up && ev.Deleted == want.Deleted {
				return true
			}
		}
		return false
	})
}

func up(name string) Event   { return Event{Name: name, Up: true} }
func down(name string) Event { return Event{Name: name} }
func gone(name string) Event { return Event{Name: name, Deleted: true} }

func TestWatch(t *testing.T) {
	l := lab.New(t)
	ns := l.Namespace("node")
	dev := l.Connect(ns, "198.18.0.1/24")
	ns.MustRun("ip", "link", "add", "wa", "type", "veth", "peer", "name", "wb")
	ns.MustRun("ip", "link", "set", "wa", "up")
	ns.MustRun("ip", "link", "set", "wb", "up")
	ns.MustRun("ip", "link", "add", "wdown", "type", "veth", "peer", "name", "wdown1") // admin down

	r := watch(t, ns)
	start := time.Now()
	r.waitFor("initial state of every link", 3*time.Second, func(s map[string]Event) bool {
		return len(s) == 6
	})
	t.Logf("initial state in %v: %s", time.Since(start), strings.Join(r.log, ", "))
	for name, wantUp := range map[string]bool{"lo": true, dev: true, "wa": true, "wb": true, "wdown": false, "wdown1": false} {
		if ev := r.state[name]; ev.Up != wantUp || ev.Index == 0 {
			t.Errorf("initial %s: %+v, want Up=%v", name, ev, wantUp)
		}
	}

	step := func(what string, want Event, cmd ...string) {
		t.Helper()
		start := time.Now()
		ns.MustRun("ip", cmd...)
		r.waitEvent(want, 3*time.Second)
		t.Logf("%s: %s after %v", what, want, time.Since(start))
	}
	step("admin down", down(dev), "link", "set", dev, "down")
	step("admin up", up(dev), "link", "set", dev, "up")
	// Carrier: wa stays admin up but loses its peer.
	step("carrier loss", down("wa"), "link", "set", "wb", "down")
	if ev := r.state["wa"]; ev.Up {
		t.Fatalf("wa after its peer went down: %+v", ev)
	}
	step("carrier back", up("wa"), "link", "set", "wb", "up")
	step("rename", down("wx"), "link", "set", "wdown", "name", "wx")

	// A port leaving a bridge is an AF_BRIDGE RTM_DELLINK for an
	// interface that stays: not a deletion.
	before := len(r.evs)
	ns.MustRun("ip", "link", "add", "br9", "type", "bridge")
	ns.MustRun("ip", "link", "set", "wb", "master", "br9")
	ns.MustRun("ip", "link", "set", "wb", "nomaster")
	ns.MustRun("ip", "link", "set", "wdown1", "up")
	// Events arrive in order: once this one is read, any deletion the
	// bridge churn caused would have been read too.
	step("marker after the bridge churn", up("wx"), "link", "set", "wx", "up")
	for _, ev := range r.evs[before:] {
		if ev.Name == "wb" && ev.Deleted {
			t.Fatalf("wb reported deleted when it left a bridge; events: %s", strings.Join(r.log, ", "))
		}
	}

	step("delete", gone("wa"), "link", "del", "wa")
	r.waitFor("wb deleted with its peer", 3*time.Second, func(s map[string]Event) bool { _, ok := s["wb"]; return !ok })
}

// TestResyncAfterOverflow makes the kernel drop notifications (a tiny
// socket buffer and a reader that does not read) and checks that the
// watch recovers: it resubscribes and reports the state as it is,
// including an interface deleted while notifications were lost.
func TestResyncAfterOverflow(t *testing.T) {
	l := lab.New(t)
	ns := l.Namespace("node")
	ns.MustRun("ip", "link", "add", "wa", "type", "veth", "peer", "name", "wb")
	ns.MustRun("ip", "link", "add", "wc", "type", "veth", "peer", "name", "wd")
	for _, n := range []string{"wa", "wb", "wc", "wd"} {
		ns.MustRun("ip", "link", "set", n, "up")
	}
	resubs := resubscriptions.Load()
	old := receiveBuffer
	receiveBuffer = 1024
	r := watch(t, ns)
	t.Cleanup(func() { receiveBuffer = old }) // runs after the watch is closed
	r.waitFor("initial state", 3*time.Second, func(s map[string]Event) bool { return len(s) == 5 })

	// Not reading: the event channel, the library's channel and then the
	// socket fill up.
	var script strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&script, "link set wa down\nlink set wa up\n")
	}
	script.WriteString("link del wc\nlink set wa down\n")
	batch := t.TempDir() + "/batch"
	if err := os.WriteFile(batch, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ns.MustRun("ip", "-batch", batch)

	r.waitFor("wc/wd deleted and wa down after the overflow", 5*time.Second, func(s map[string]Event) bool {
		_, c := s["wc"]
		_, d := s["wd"]
		a, ok := s["wa"]
		return !c && !d && ok && !a.Up
	})
	r.waitFor("wb down (its peer wa is down)", time.Second, func(s map[string]Event) bool { return !s["wb"].Up })
	if n := resubscriptions.Load() - resubs; n == 0 {
		t.Fatal("the socket never overflowed: the resubscription path was not exercised")
	} else {
		t.Logf("%d resubscription(s); %d events after 402 link changes: %s", n, len(r.log), strings.Join(r.log, ", "))
	}
}

func TestApplyAndResync(t *testing.T) {
	w := &watcher{known: map[int]Event{}}
	evs := w.resync([]Event{{Name: "lo", Index: 1, Up: true}, {Name: "eth0", Index: 2, Up: true}})
	if len(evs) != 2 {
		t.Fatalf("initial: %v", evs)
	}
	if w.apply(Event{Name: "eth0", Index: 2, Up: true}) {
		t.Fatal("an unchanged state is news")
	}
	if !w.apply(Event{Name: "eth0", Index: 2}) {
		t.Fatal("down is not news")
	}
	if w.apply(Event{Name: "eth9", Index: 9, Deleted: true}) {
		t.Fatal("deletion of an unknown interface is news")
	}
	evs = w.resync([]Event{{Name: "eth0", Index: 2, Up: true}, {Name: "eth1", Index: 3}})
	want := []Event{{Name: "lo", Index: 1, Deleted: true}, {Name: "eth0", Index: 2, Up: true}, {Name: "eth1", Index: 3}}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("resync = %v, want %v", evs, want)
	}
}
