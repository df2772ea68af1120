package kernel

// Tests named TestGuest* need a kernel with IPVS: they skip on the host and
// run in Debian's kernel under QEMU, driven by TestKernelInVM
// (vm_host_test.go), all in one boot. Each starts from an empty table.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// inVM skips outside the VM harness and fails inside a guest without IPVS
// (a skip there would pass silently).
func inVM(t testing.TB) {
	t.Helper()
	if os.Getenv("VIGIL_IN_VM") != "1" {
		t.Skip("runs only inside the VM harness: go test ./lvsd/kernel runs it there (TestKernelInVM)")
	}
	if _, err := os.Stat(procIPVS); err != nil {
		t.Fatalf("IPVS is missing in the guest kernel (%v): did /init load the ip_vs modules?", err)
	}
}

// flush empties the kernel's table with a raw moby handle, independent of
// the code under test.
func flush(t testing.TB) {
	t.Helper()
	h, err := mipvs.New("")
	if err != nil {
		t.Fatalf("raw moby handle: %v", err)
	}
	defer h.Close()
	if err := h.Flush(); err != nil {
		t.Fatalf("flush the IPVS table: %v", err)
	}
}

// openBackend returns a New backend on an empty table, flushed and closed
// again at the end of the test.
func openBackend(t testing.TB) *Backend {
	t.Helper()
	inVM(t)
	flush(t)
	b, err := New()
	if err != nil {
		t.Fatalf("New in the guest: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		flush(t)
	})
	return b
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func apply(t testing.TB, ctx context.Context, b ipvs.Backend, ops ...ipvs.Op) {
	t.Helper()
	for _, op := range ops {
		if err := b.Apply(ctx, op); err != nil {
			t.Fatalf("Apply %s: %v", op, err)
		}
	}
}

var allScheds = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"}

func a4(s string) netip.Addr { return netip.MustParseAddr(s) }

func tcp(addr string, port uint16) ipvs.ServiceKey {
	return ipvs.ServiceKey{Protocol: "TCP", Addr: a4(addr), Port: port, Family: familyOf(addr)}
}

func familyOf(addr string) string {
	if a4(addr).Is4() {
		return "inet"
	}
	return "inet6"
}

func dest(addr string, port uint16, w int, method string) ipvs.Destination {
	return ipvs.Destination{DestKey: ipvs.DestKey{Addr: a4(addr), Port: port}, Weight: w, Method: method}
}

// entry is a service with its destinations, the unit the table tests
// apply and compare.
type entry struct {
	svc   ipvs.Service
	dests []ipvs.Destination
}

// guestTable is every scheduler, every forwarding method, fwmark services
// of both families, IPv6 (2001:2::/48, the IPv6 benchmarking range),
// persistence with netmasks, UDP and SCTP, and scheduler flags.
func guestTable() []entry {
	var es []entry
	for i, s := range allScheds {
		es = append(es, entry{
			svc: ipvs.Service{ServiceKey: tcp(fmt.Sprintf("198.18.0.%d", i+1), 80), Sched: s, Netmask: 0xffffffff},
			dests: []ipvs.Destination{
				dest(fmt.Sprintf("198.18.1.%d", i+1), 8080, 1, "NAT"),
				dest(fmt.Sprintf("198.18.2.%d", i+1), 8080, 2, "NAT"),
			},
		})
	}
	es = append(es,
		entry{
			svc: ipvs.Service{ServiceKey: tcp("198.18.0.100", 443), Sched: "wlc", Netmask: 0xffffffff},
			dests: []ipvs.Destination{
				dest("198.18.3.1", 443, 1, "DR"),
				dest("198.18.3.2", 443, 3, "TUN"),
				{DestKey: ipvs.DestKey{Addr: a4("198.18.3.3"), Port: 8443}, Weight: 0, Method: "NAT", UThreshold: 500, LThreshold: 50},
			},
		},
		entry{
			svc:   ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: 1, Family: "inet"}, Sched: "rr", Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest("198.18.4.1", 0, 1, "DR"), dest("198.18.4.2", 0, 1, "TUN")},
		},
		entry{
			svc:   ipvs.Service{ServiceKey: ipvs.ServiceKey{FWMark: 2, Family: "inet6"}, Sched: "wrr", Netmask: 128},
			dests: []ipvs.Destination{dest("2001:2::4:1", 0, 5, "DR"), dest("2001:2::4:2", 0, 1, "TUN")},
		},
		entry{
			svc:   ipvs.Service{ServiceKey: tcp("2001:2::100", 80), Sched: "sed", Netmask: 128},
			dests: []ipvs.Destination{dest("2001:2::5:1", 80, 1, "NAT"), dest("2001:2::5:2", 8080, 2, "DR")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: tcp("198.18.0.101", 80), Sched: "wlc",
				Flags: ipvs.FlagPersistent, Timeout: 600, Netmask: 0xffffff00},
			dests: []ipvs.Destination{dest("198.18.6.1", 80, 1, "NAT")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: tcp("2001:2::101", 80), Sched: "lc",
				Flags: ipvs.FlagPersistent, Timeout: 30, Netmask: 64},
			dests: []ipvs.Destination{dest("2001:2::6:1", 80, 1, "NAT")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "UDP", Addr: a4("198.18.0.53"), Port: 53, Family: "inet"},
				Sched: "rr", Flags: ipvs.FlagOnePacket, Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest("198.18.7.1", 53, 1, "NAT"), dest("198.18.7.2", 53, 1, "DR")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "SCTP", Addr: a4("198.18.0.102"), Port: 3868, Family: "inet"},
				Sched: "rr", Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest("198.18.8.1", 3868, 1, "NAT")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: tcp("198.18.0.103", 80), Sched: "sh",
				Flags: ipvs.FlagSched1 | ipvs.FlagSched2, Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest("198.18.9.1", 80, 1, "DR"), dest("198.18.9.2", 80, 1, "DR")},
		},
		entry{
			svc: ipvs.Service{ServiceKey: tcp("198.18.0.104", 80), Sched: "mh",
				Flags: ipvs.FlagSched1 | ipvs.FlagSched2, Netmask: 0xffffffff},
			dests: []ipvs.Destination{dest("198.18.9.3", 80, 1, "DR")},
		},
	)
	return es
}

func addOps(es []entry) []ipvs.Op {
	var ops []ipvs.Op
	for _, e := range es {
		ops = append(ops, ipvs.Op{Kind: ipvs.AddService, Service: e.svc})
		for _, d := range e.dests {
			ops = append(ops, ipvs.Op{Kind: ipvs.AddDest, Service: e.svc, Dest: d})
		}
	}
	return ops
}

// render formats settings only (no counters) in Read's order, so a table
// compares with one line per difference in the failure message.
func render(states []ipvs.ServiceState) string {
	var sb strings.Builder
	for _, s := range states {
		fmt.Fprintf(&sb, "%s fam=%s sched=%s flags=%#x timeout=%d mask=%#x pe=%q\n",
			s.ServiceKey, s.Family, s.Sched, s.Flags, s.Timeout, s.Netmask, s.PEName)
		for _, d := range s.Dests {
			fmt.Fprintf(&sb, "  -> %s w=%d %s u=%d l=%d\n", d.DestKey, d.Weight, d.Method, d.UThreshold, d.LThreshold)
		}
	}
	return sb.String()
}

func renderEntries(es []entry) string {
	states := make([]ipvs.ServiceState, 0, len(es))
	for _, e := range es {
		st := ipvs.ServiceState{Service: e.svc}
		for _, d := range e.dests {
			st.Dests = append(st.Dests, ipvs.DestState{Destination: d})
		}
		states = append(states, st)
	}
	sortStates(states)
	return render(states)
}

func sortStates(states []ipvs.ServiceState) {
	for i := range states {
		ds := states[i].Dests
		for a := 1; a < len(ds); a++ {
			for c := a; c > 0 && compareDest(ds[c-1].DestKey, ds[c].DestKey) > 0; c-- {
				ds[c-1], ds[c] = ds[c], ds[c-1]
			}
		}
	}
	for a := 1; a < len(states); a++ {
		for c := a; c > 0 && compareService(states[c-1].ServiceKey, states[c].ServiceKey) > 0; c-- {
			states[c-1], states[c] = states[c], states[c-1]
		}
	}
}

func wantTable(t *testing.T, ctx context.Context, b ipvs.Backend, es []entry) []ipvs.ServiceState {
	t.Helper()
	got, err := b.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if g, w := render(got), renderEntries(es); g != w {
		t.Fatalf("Read differs from what was applied:\n--- got\n%s--- want\n%s", g, w)
	}
	if n := procServices(t); n != len(es) {
		t.Fatalf("/proc/net/ip_vs lists %d services, Read %d", n, len(es))
	}
	return got
}

// procServices counts the services in /proc/net/ip_vs, the kernel's own
// listing, independent of netlink.
func procServices(t *testing.T) int {
	t.Helper()
	f, err := os.Open(procIPVS)
	if err != nil {
		t.Fatalf("read %s: %v", procIPVS, err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) > 0 && (fl[0] == "TCP" || fl[0] == "UDP" || fl[0] == "SCTP" || fl[0] == "FWM") {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", procIPVS, err)
	}
	return n
}

// TestGuestTable creates, updates and deletes services and destinations
// covering the model (see guestTable) and checks after each step that Read
// returns exactly what was applied.
func TestGuestTable(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	if got, err := b.Read(ctx); err != nil || len(got) != 0 {
		t.Fatalf("fresh table: Read = %d services, %v; want none", len(got), err)
	}
	es := guestTable()
	apply(t, ctx, b, addOps(es)...)
	wantTable(t, ctx, b, es)

	// Update every service (scheduler, flags, persistence) and every
	// destination (weight, method, thresholds) in place.
	var ops []ipvs.Op
	for i := range es {
		e := &es[i]
		e.svc.Sched = allScheds[(i+5)%len(allScheds)]
		e.svc.Flags = ipvs.FlagPersistent
		e.svc.Timeout = uint32(60 + i)
		if e.svc.Family == "inet6" {
			e.svc.Netmask = 96
		} else {
			e.svc.Netmask = 0xffff0000
		}
		ops = append(ops, ipvs.Op{Kind: ipvs.UpdateService, Service: e.svc})
		for j := range e.dests {
			d := &e.dests[j]
			d.Weight += 10
			d.Method = []string{"NAT", "DR", "TUN"}[(i+j)%3]
			d.UThreshold, d.LThreshold = uint32(100*(j+1)), uint32(10*(j+1))
			ops = append(ops, ipvs.Op{Kind: ipvs.UpdateDest, Service: e.svc, Dest: *d})
		}
	}
	apply(t, ctx, b, ops...)
	wantTable(t, ctx, b, es)

	// Delete the first destination of every service, then every other
	// service (their remaining destinations go with them).
	ops = ops[:0]
	for i := range es {
		e := &es[i]
		ops = append(ops, ipvs.Op{Kind: ipvs.DelDest, Service: e.svc, Dest: e.dests[0]})
		e.dests = e.dests[1:]
	}
	apply(t, ctx, b, ops...)
	wantTable(t, ctx, b, es)
	var kept []entry
	for i, e := range es {
		if i%2 == 0 {
			apply(t, ctx, b, ipvs.Op{Kind: ipvs.DelService, Service: ipvs.Service{ServiceKey: e.svc.ServiceKey}})
			continue
		}
		kept = append(kept, e)
	}
	wantTable(t, ctx, b, kept)
	for _, e := range kept {
		apply(t, ctx, b, ipvs.Op{Kind: ipvs.DelService, Service: e.svc})
	}
	wantTable(t, ctx, b, nil)
}

// TestGuestErrors checks that the kernel's refusals come back as errors
// naming the operation and wrapping the errno, without a retry loop.
func TestGuestErrors(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	svc := ipvs.Service{ServiceKey: tcp("198.18.0.1", 80), Sched: "rr", Netmask: 0xffffffff}
	apply(t, ctx, b, ipvs.Op{Kind: ipvs.AddService, Service: svc})

	for _, c := range []struct {
		op    ipvs.Op
		errno syscall.Errno
		text  string
	}{
		{ipvs.Op{Kind: ipvs.AddService, Service: svc}, syscall.EEXIST, "lvsd: add service TCP  198.18.0.1:80: "},
		{ipvs.Op{Kind: ipvs.DelDest, Service: svc, Dest: dest("198.18.1.1", 80, 1, "NAT")}, syscall.ENOENT, "lvsd: delete destination 198.18.1.1:80 of TCP  198.18.0.1:80: "},
		{ipvs.Op{Kind: ipvs.UpdateService, Service: ipvs.Service{ServiceKey: tcp("198.18.0.2", 80), Sched: "rr"}}, syscall.ESRCH, "lvsd: update service"},
		{ipvs.Op{Kind: ipvs.AddService, Service: ipvs.Service{ServiceKey: tcp("198.18.0.3", 80), Sched: "nosuchsched"}}, syscall.ENOENT, "lvsd: add service"},
	} {
		before := b.reopens
		err := b.Apply(ctx, c.op)
		if b.reopens != before {
			t.Errorf("Apply %s reopened the handle for the kernel's own answer %v", c.op, err)
		}
		if !errors.Is(err, c.errno) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("Apply %s = %v; want %v in an error containing %q", c.op, err, c.errno, c.text)
		}
	}
	if err := b.Apply(ctx, ipvs.Op{Kind: ipvs.AddService, Service: ipvs.Service{ServiceKey: tcp("198.18.0.4", 80), Sched: "rr", PEName: "sip"}}); err == nil || !strings.Contains(err.Error(), "moby/ipvs v1.1.0") {
		t.Errorf("a persistence engine was accepted: %v", err)
	}
	wantTable(t, ctx, b, []entry{{svc: svc}})
}

// TestGuestRecover breaks the backend's handle in the three ways moby can
// break, and checks that the next operations succeed on a recreated handle:
// a closed socket, moby's family id reset to 0 (a first lookup that failed:
// requests are then silently acknowledged and dumps come back empty) and a
// stale family id (ip_vs reloaded under a new id: ENOENT).
func TestGuestRecover(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	fam, err := resolveFamily()
	if err != nil {
		t.Fatal(err)
	}
	mobyMu.Lock()
	linked := mobyFamily()
	mobyMu.Unlock()
	if linked != fam || fam == 0 {
		t.Fatalf("moby's family id (through go:linkname) is %d, the kernel's %d", linked, fam)
	}
	es := []entry{{
		svc:   ipvs.Service{ServiceKey: tcp("198.18.0.1", 80), Sched: "rr", Netmask: 0xffffffff},
		dests: []ipvs.Destination{dest("198.18.1.1", 80, 1, "NAT")},
	}}
	apply(t, ctx, b, addOps(es)...)

	// 1. The socket closed behind the backend's back.
	mobyMu.Lock()
	b.h.Close()
	mobyMu.Unlock()
	es[0].dests = append(es[0].dests, dest("198.18.1.2", 80, 1, "NAT"))
	apply(t, ctx, b, ipvs.Op{Kind: ipvs.AddDest, Service: es[0].svc, Dest: es[0].dests[1]})
	if b.reopens != 1 {
		t.Errorf("after a closed socket: %d reopens, want 1", b.reopens)
	}
	wantTable(t, ctx, b, es)

	// 2. moby's family id is 0: Read must still see the table, not an
	// empty one.
	mobyMu.Lock()
	setMobyFamily(0)
	mobyMu.Unlock()
	wantTable(t, ctx, b, es)

	// Prove the linkname reaches moby's variable: a raw handle with id 0
	// reads nothing.
	mobyMu.Lock()
	setMobyFamily(0)
	h, err := mipvs.New("")
	if err != nil {
		mobyMu.Unlock()
		t.Fatal(err)
	}
	raw, rerr := h.GetServices()
	h.Close()
	setMobyFamily(fam)
	mobyMu.Unlock()
	if rerr != nil || len(raw) != 0 {
		t.Logf("raw moby handle with family id 0: %d services, %v", len(raw), rerr)
	} else {
		t.Logf("raw moby handle with family id 0 reads an empty table without error (the failure this backend guards against)")
	}

	// 3. A stale id, as after rmmod ip_vs; modprobe ip_vs: the kernel
	// answers ENOENT, the backend resolves the id again and retries.
	mobyMu.Lock()
	const stale = 0x3ff0
	setMobyFamily(stale)
	b.family = stale
	mobyMu.Unlock()
	es[0].dests[0].Weight = 7
	apply(t, ctx, b, ipvs.Op{Kind: ipvs.UpdateDest, Service: es[0].svc, Dest: es[0].dests[0]})
	if b.reopens != 2 {
		t.Errorf("after a stale family id: %d reopens, want 2", b.reopens)
	}
	mobyMu.Lock()
	linked = mobyFamily()
	mobyMu.Unlock()
	if linked != fam {
		t.Errorf("moby's family id is %d after recovery, want %d", linked, fam)
	}
	wantTable(t, ctx, b, es)

	// 4. A request that outlives its deadline is abandoned (the watchdog
	// closes the socket) instead of hanging, and the next call reopens.
	// 1,000 dumps cannot finish within 1 ms, so the watchdog fires
	// while they run, and the dump in flight fails on the closed socket.
	mobyMu.Lock()
	b.opTimeout = time.Millisecond
	err = b.call(ctx, func(h *mipvs.Handle) error {
		for range 1000 {
			if _, err := h.GetServices(); err != nil {
				return err
			}
		}
		return nil
	})
	b.opTimeout = DefaultOpTimeout
	dropped := b.h == nil
	mobyMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "abandoned") || !dropped {
		t.Errorf("a call past its deadline = %v (handle dropped: %v), want an abandoned request and a dropped handle", err, dropped)
	}
	wantTable(t, ctx, b, es)

	// Closed means closed.
	b.Close()
	if _, err := b.Read(ctx); !errors.Is(err, errClosed) {
		t.Errorf("Read after Close = %v, want errClosed", err)
	}
}

// TestGuestRestart checks that a second backend, opened after the first is
// closed (lvsd restarting without flushing), reads the same table.
func TestGuestRestart(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	es := guestTable()
	apply(t, ctx, b, addOps(es)...)
	first := wantTable(t, ctx, b, es)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := New()
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	defer b2.Close()
	second := wantTable(t, ctx, b2, es)
	if g, w := fmt.Sprint(counters(second)), fmt.Sprint(counters(first)); g != w {
		t.Fatalf("counters after restart:\n got  %s\n want %s", g, w)
	}
}

// counters lists each entry's cumulative counters and connection counts;
// the rate estimates move on their own every 2 s and are left out.
func counters(states []ipvs.ServiceState) []string {
	var out []string
	for _, s := range states {
		st := s.Stats
		out = append(out, fmt.Sprintf("%s conns=%d pkts=%d/%d bytes=%d/%d", s.ServiceKey, st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes))
		for _, d := range s.Dests {
			st := d.Stats
			out = append(out, fmt.Sprintf("  %s conns=%d pkts=%d/%d bytes=%d/%d", d.DestKey, st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes))
		}
	}
	return out
}
