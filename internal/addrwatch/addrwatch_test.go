package addrwatch

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// The watch sees an address appear and disappear in a namespace.
func TestWatch(t *testing.T) {
	l := lab.New(t)
	ns := l.Namespace("w")
	ifname := l.Connect(ns, "198.18.7.1/24")
	vip := netip.MustParseAddr("198.18.7.50")
	var mu sync.Mutex
	var sets []map[netip.Addr]bool
	changed := make(chan struct{}, 16)
	var w *Watch
	if err := ns.Do(func() (err error) {
		w, err = Start(context.Background(), func(m map[netip.Addr]bool) {
			mu.Lock()
			sets = append(sets, m)
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	has := func() (bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		last := sets[len(sets)-1]
		return last[netip.MustParseAddr("198.18.7.1")], last[vip]
	}
	if own, v := has(); !own || v {
		t.Fatalf("initial set: own address %v, VIP %v; want true, false", own, v)
	}
	wait := func(want bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			if _, v := has(); v == want {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("VIP present=%v not seen within 5s", want)
			}
		}
	}
	ns.MustRun("ip", "addr", "add", vip.String()+"/32", "dev", ifname)
	wait(true)
	ns.MustRun("ip", "addr", "del", vip.String()+"/32", "dev", ifname)
	wait(false)
}
