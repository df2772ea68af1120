package kernel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// inNS runs fn on a fresh OS thread switched into ns. The thread is never
// unlocked, so Go discards it when the goroutine ends and no other
// goroutine can inherit its namespace.
func inNS(ns netns.NsHandle, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			done <- fmt.Errorf("enter namespace: %w", err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// newNS creates a network namespace (held by the returned handle only; it
// disappears when the handle is closed and nothing else uses it).
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends up in ns
		var err error
		ns, err = netns.New()
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("create a network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// link connects the director (this namespace) to ns with a veth pair:
// name in the director with dirAddr, its peer in ns with nsAddr and a
// default route through dirAddr (the NAT return path).
func link(t *testing.T, ns netns.NsHandle, name, dirAddr, nsAddr string) {
	t.Helper()
	peer := name + "p"
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth %s: %v", name, err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(veth) })
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("find %s: %v", name, err)
	}
	a, _ := netlink.ParseAddr(dirAddr + "/24")
	if err := netlink.AddrAdd(l, a); err != nil {
		t.Fatalf("address %s on %s: %v", dirAddr, name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		t.Fatalf("up %s: %v", name, err)
	}

	nh, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink handle in the namespace of %s: %v", peer, err)
	}
	defer nh.Close()
	pl, err := nh.LinkByName(peer)
	if err != nil {
		t.Fatalf("find %s: %v", peer, err)
	}
	a, _ = netlink.ParseAddr(nsAddr + "/24")
	if err := nh.AddrAdd(pl, a); err != nil {
		t.Fatalf("address %s on %s: %v", nsAddr, peer, err)
	}
	lo, err := nh.LinkByName("lo")
	if err != nil {
		t.Fatalf("find lo next to %s: %v", peer, err)
	}
	for _, l := range []netlink.Link{pl, lo} {
		if err := nh.LinkSetUp(l); err != nil {
			t.Fatalf("up %s: %v", l.Attrs().Name, err)
		}
	}
	if err := nh.RouteAdd(&netlink.Route{LinkIndex: pl.Attrs().Index, Gw: net.ParseIP(dirAddr)}); err != nil {
		t.Fatalf("default route via %s: %v", dirAddr, err)
	}
}

// serveName listens on addr inside ns and answers every connection with
// name, until the test ends.
func serveName(t *testing.T, ns netns.NsHandle, addr, name string) {
	t.Helper()
	var ln net.Listener
	if err := inNS(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = io.WriteString(c, name+"\n")
			_ = c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
}

func setSysctl(t *testing.T, path, v string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	t.Cleanup(func() { _ = os.WriteFile(path, bytes.TrimSpace(old), 0o644) })
}

// TestGuestTraffic sends real TCP connections through an IPVS NAT service:
// a client namespace, the director (the guest's root namespace, VIP
// 198.18.0.100) and two backend namespaces, each answering its own name.
// Both backends must get connections, all N must be answered, and the
// kernel's per-destination connection counters must match what the
// client saw. Then lvsd "restarts": a second backend opened after the
// first is closed reads the same entries and counters.
func TestGuestTraffic(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	const (
		vip = "198.18.0.100"
		n   = 20
	)
	client, be1, be2 := newNS(t), newNS(t), newNS(t)
	link(t, client, "vgc", "198.18.10.1", "198.18.10.2")
	link(t, be1, "vgb1", "198.18.11.1", "198.18.11.2")
	link(t, be2, "vgb2", "198.18.12.1", "198.18.12.2")
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	va, _ := netlink.ParseAddr(vip + "/32")
	if err := netlink.AddrAdd(lo, va); err != nil {
		t.Fatalf("VIP on lo: %v", err)
	}
	t.Cleanup(func() { _ = netlink.AddrDel(lo, va) })
	setSysctl(t, "/proc/sys/net/ipv4/ip_forward", "1")
	serveName(t, be1, "198.18.11.2:8080", "be1")
	serveName(t, be2, "198.18.12.2:8080", "be2")

	svc := ipvs.Service{ServiceKey: tcp(vip, 80), Sched: "rr", Netmask: 0xffffffff}
	d1, d2 := dest("198.18.11.2", 8080, 1, "NAT"), dest("198.18.12.2", 8080, 1, "NAT")
	apply(t, ctx, b,
		ipvs.Op{Kind: ipvs.AddService, Service: svc},
		ipvs.Op{Kind: ipvs.AddDest, Service: svc, Dest: d1},
		ipvs.Op{Kind: ipvs.AddDest, Service: svc, Dest: d2})

	counts := map[string]int{}
	for i := range n {
		var reply []byte
		err := inNS(client, func() error {
			c, err := net.DialTimeout("tcp4", vip+":80", 5*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
				return err
			}
			reply, err = io.ReadAll(io.LimitReader(c, 64))
			return err
		})
		if err != nil {
			t.Fatalf("connection %d to %s:80 from the client namespace: %v", i, vip, err)
		}
		counts[strings.TrimSpace(string(reply))]++
	}
	t.Logf("%d connections: %v", n, counts)
	if counts["be1"] == 0 || counts["be2"] == 0 || counts["be1"]+counts["be2"] != n {
		t.Fatalf("answers per backend %v; want both > 0, summing to %d", counts, n)
	}

	first := quiet(t, ctx, b, n)
	if len(first) != 1 || len(first[0].Dests) != 2 {
		t.Fatalf("Read after traffic: %s", render(first))
	}
	if got := first[0].Stats.Conns; got != n {
		t.Errorf("service counter: %d connections, want %d", got, n)
	}
	for _, d := range first[0].Dests {
		name := map[string]string{"198.18.11.2": "be1", "198.18.12.2": "be2"}[d.Addr.String()]
		if got := d.Stats.Conns; got != uint64(counts[name]) {
			t.Errorf("destination %s (%s): kernel counts %d connections, the client saw %d", d.DestKey, name, got, counts[name])
		}
		if d.Stats.InPkts == 0 || d.Stats.OutPkts == 0 || d.Stats.InBytes == 0 || d.Stats.OutBytes == 0 {
			t.Errorf("destination %s: packet counters not moving: %+v", d.DestKey, d.Stats)
		}
		t.Logf("%s: %s active=%d inactive=%d", d.DestKey, counters([]ipvs.ServiceState{{Dests: []ipvs.DestState{d}}})[1], d.ActiveConns, d.InactiveConns)
	}

	// Restart without flush: the second backend sees the same.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := New()
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	defer b2.Close()
	second, err := b2.Read(ctx)
	if err != nil {
		t.Fatalf("Read with the second backend: %v", err)
	}
	if g, w := render(second), render(first); g != w {
		t.Fatalf("entries after restart:\n--- got\n%s--- want\n%s", g, w)
	}
	if g, w := strings.Join(counters(second), "\n"), strings.Join(counters(first), "\n"); g != w {
		t.Fatalf("counters after restart:\n--- got\n%s\n--- want\n%s", g, w)
	}
}

// estimatorPeriod is how often the kernel folds its per-CPU IPVS counters
// into the totals that netlink reports (ip_vs_est.c, 2 s): a Read shows
// counters as of the last fold.
const estimatorPeriod = 2 * time.Second

// quiet reads the table until the service has counted conns connections
// and its counters then stay unchanged for longer than one estimator
// period (so every packet of the closed connections is in), bounded in
// tries and time.
func quiet(t *testing.T, ctx context.Context, b ipvs.Backend, conns uint64) []ipvs.ServiceState {
	t.Helper()
	var (
		prev   string
		stable time.Time
	)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for try := 0; try < 300 && time.Now().Before(deadline); try++ {
		st, err := b.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		cur := strings.Join(counters(st), "\n")
		switch {
		case len(st) == 0 || st[0].Stats.Conns < conns:
			prev = ""
		case cur != prev:
			prev, stable = cur, time.Now()
		case time.Since(stable) > estimatorPeriod+500*time.Millisecond:
			return st
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	t.Fatalf("IPVS counters did not settle at %d connections within 30 s; last:\n%s", conns, prev)
	return nil
}
