package ipvssmoke

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/ipvs"
)

// inVM skips the test outside the VM harness, and fails it inside when the
// guest has no IPVS: moby/ipvs only logs that, then misbehaves.
func inVM(t *testing.T) {
	t.Helper()
	if os.Getenv("VIGIL_IN_VM") != "1" {
		t.Skip("runs only inside the VM harness: go test ./test/vm (see test/vm/README.md)")
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		t.Fatalf("IPVS is missing in the guest kernel (%v): did /init load the ip_vs modules? See the console output above", err)
	}
}

func newHandle(t *testing.T) *ipvs.Handle {
	t.Helper()
	h, err := ipvs.New("")
	if err != nil {
		t.Fatalf("ipvs.New: %v", err)
	}
	t.Cleanup(func() {
		// Leave an empty table to the next test, even after a failure.
		if err := h.Flush(); err != nil {
			t.Errorf("flush the IPVS table: %v", err)
		}
		h.Close()
	})
	return h
}

var (
	vip   = net.ParseIP("192.0.2.10").To4()
	real1 = net.ParseIP("198.51.100.1").To4()
	real2 = net.ParseIP("198.51.100.2").To4()
)

func service(sched string) *ipvs.Service {
	return &ipvs.Service{
		AddressFamily: syscall.AF_INET,
		Protocol:      syscall.IPPROTO_TCP,
		Address:       vip,
		Port:          80,
		SchedName:     sched,
		Netmask:       0xffffffff,
	}
}

// procEntries reads /proc/net/ip_vs, the kernel's own view, independent of
// the netlink library under test: "TCP  C000020A:0050 wrr" service lines,
// each followed by "  -> C6336401:1F90      Masq    1      0          0"
// (newest first; returned sorted under their service).
func procEntries(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("/proc/net/ip_vs")
	if err != nil {
		t.Fatalf("read the kernel's IPVS table: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		switch {
		case len(fl) >= 3 && (fl[0] == "TCP" || fl[0] == "UDP" || fl[0] == "SCTP" || fl[0] == "FWM"):
			out = append(out, strings.Join(fl[:3], " "))
		case len(fl) >= 4 && fl[0] == "->" && fl[1] != "RemoteAddress:Port":
			out = append(out, fmt.Sprintf("-> %s %s %s", fl[1], fl[2], fl[3]))
			// Keep the destinations of one service in address order.
			for i := len(out) - 1; i > 0 && strings.HasPrefix(out[i-1], "->") && out[i-1] > out[i]; i-- {
				out[i-1], out[i] = out[i], out[i-1]
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read /proc/net/ip_vs: %v", err)
	}
	return out
}

func wantProc(t *testing.T, want ...string) {
	t.Helper()
	got := procEntries(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("/proc/net/ip_vs:\n got  %q\n want %q", got, want)
	}
}

// TestIPVSSmoke creates a service with two destinations, reads them back,
// changes a weight and the scheduler, and deletes everything, checking each
// step through netlink and through /proc/net/ip_vs.
func TestIPVSSmoke(t *testing.T) {
	inVM(t)
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		t.Logf("guest kernel %s", strings.TrimSpace(string(b)))
	}
	h := newHandle(t)
	if svcs, err := h.GetServices(); err != nil || len(svcs) != 0 {
		t.Fatalf("fresh guest: GetServices = %d services, %v; want none", len(svcs), err)
	}

	svc := service("wrr")
	if err := h.NewService(svc); err != nil {
		t.Fatalf("NewService: %v", err)
	}
	svcs, err := h.GetServices()
	if err != nil {
		t.Fatalf("GetServices: %v", err)
	}
	if len(svcs) != 1 {
		t.Fatalf("GetServices: %d services, want 1", len(svcs))
	}
	got := svcs[0]
	if !got.Address.Equal(vip) || got.Port != 80 || got.Protocol != syscall.IPPROTO_TCP || got.SchedName != "wrr" {
		t.Fatalf("service read back as %s:%d proto %d sched %q, want %s:80 TCP wrr", got.Address, got.Port, got.Protocol, got.SchedName, vip)
	}

	d1 := &ipvs.Destination{AddressFamily: syscall.AF_INET, Address: real1, Port: 8080, Weight: 1, ConnectionFlags: ipvs.ConnectionFlagMasq}
	d2 := &ipvs.Destination{AddressFamily: syscall.AF_INET, Address: real2, Port: 8080, Weight: 2, ConnectionFlags: ipvs.ConnectionFlagMasq}
	for _, d := range []*ipvs.Destination{d1, d2} {
		if err := h.NewDestination(svc, d); err != nil {
			t.Fatalf("NewDestination %s: %v", d.Address, err)
		}
	}
	checkDests(t, h, svc, map[string]int{"198.51.100.1": 1, "198.51.100.2": 2})
	wantProc(t,
		"TCP C000020A:0050 wrr",
		"-> C6336401:1F90 Masq 1",
		"-> C6336402:1F90 Masq 2")

	d1.Weight = 5
	if err := h.UpdateDestination(svc, d1); err != nil {
		t.Fatalf("UpdateDestination weight 5: %v", err)
	}
	checkDests(t, h, svc, map[string]int{"198.51.100.1": 5, "198.51.100.2": 2})

	svc.SchedName = "rr"
	if err := h.UpdateService(svc); err != nil {
		t.Fatalf("UpdateService to rr: %v", err)
	}
	if got, err := h.GetService(svc); err != nil || got.SchedName != "rr" {
		t.Fatalf("GetService after UpdateService: %+v, %v; want scheduler rr", got, err)
	}
	wantProc(t,
		"TCP C000020A:0050 rr",
		"-> C6336401:1F90 Masq 5",
		"-> C6336402:1F90 Masq 2")

	if err := h.DelDestination(svc, d1); err != nil {
		t.Fatalf("DelDestination %s: %v", d1.Address, err)
	}
	checkDests(t, h, svc, map[string]int{"198.51.100.2": 2})
	if err := h.DelDestination(svc, d2); err != nil {
		t.Fatalf("DelDestination %s: %v", d2.Address, err)
	}
	checkDests(t, h, svc, map[string]int{})
	if err := h.DelService(svc); err != nil {
		t.Fatalf("DelService: %v", err)
	}
	if svcs, err := h.GetServices(); err != nil || len(svcs) != 0 {
		t.Fatalf("after DelService: %d services, %v; want none", len(svcs), err)
	}
	wantProc(t)
}

func checkDests(t *testing.T, h *ipvs.Handle, svc *ipvs.Service, want map[string]int) {
	t.Helper()
	dests, err := h.GetDestinations(svc)
	if err != nil {
		t.Fatalf("GetDestinations: %v", err)
	}
	got := map[string]int{}
	for _, d := range dests {
		got[d.Address.String()] = d.Weight
		if d.Port != 8080 || d.ConnectionFlags&ipvs.ConnectionFlagFwdMask != ipvs.ConnectionFlagMasq {
			t.Errorf("destination %s: port %d flags %#x, want 8080 masquerading", d.Address, d.Port, d.ConnectionFlags)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("destinations (address: weight) = %v, want %v", got, want)
	}
}

// TestSchedulers creates and deletes a service with every scheduler the
// guest loads, proving each module is there.
func TestSchedulers(t *testing.T) {
	inVM(t)
	h := newHandle(t)
	for _, sched := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh"} {
		svc := service(sched)
		if err := h.NewService(svc); err != nil {
			t.Errorf("NewService with scheduler %s: %v", sched, err)
			continue
		}
		if got, err := h.GetService(svc); err != nil || got.SchedName != sched {
			t.Errorf("scheduler %s read back as %+v, %v", sched, got, err)
		}
		if err := h.DelService(svc); err != nil {
			t.Fatalf("DelService (scheduler %s): %v", sched, err)
		}
	}
}

// TestForgedMarker checks the harness itself: run with
// VIGIL_VMTEST_SELFTEST=forge, it prints exit markers with a made-up nonce and
// fails; the runner must report the failure, not the forged status.
func TestForgedMarker(t *testing.T) {
	if os.Getenv("VIGIL_VMTEST_SELFTEST") != "forge" {
		t.Skip("harness self-test; vm_test.go runs it with VIGIL_VMTEST_SELFTEST=forge")
	}
	fmt.Printf("\nVMTEST-EXIT=0\nVMTEST-EXIT=0 %s\n", strings.Repeat("0", 32))
	t.Fatal("deliberate failure: the runner must report exit status 1 despite the forged markers above")
}
