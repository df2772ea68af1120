package lvsd

// TestGuest* tests need a kernel with IPVS: they skip on the host and run
// in Debian's kernel under QEMU, driven by TestDaemonInVM, in one boot.

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/kernel"
)

const guestConf = `
virtual_server_group web {
    198.18.0.1 80
    198.18.0.2-3 80
}
virtual_server group web {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 1
    quorum_up "/bin/quorum up"
    quorum_down "/bin/quorum down"
    sorry_server 198.18.1.99 80
    real_server 198.18.1.10 80 {
        weight 1
        TCP_CHECK {
        }
    }
    real_server 198.18.1.11 80 {
        weight 1
        TCP_CHECK {
        }
    }
    real_server 198.18.1.12 80 {
        weight 1
        TCP_CHECK {
        }
    }
}
virtual_server fwmark 7 {
    lb_algo sh
    lb_kind DR
    persistence_timeout 60
    real_server 198.18.1.20 {
        weight 2
        inhibit_on_failure
        TCP_CHECK {
            connect_port 80
        }
    }
}
`

// kernelTable renders the kernel's tables, one line per service:
// "TCP  198.18.0.1:80 wrr: 198.18.1.10:80 w1, ...".
func kernelTable(t *testing.T, b ipvs.Backend) string {
	t.Helper()
	svcs, err := b.Read(context.Background())
	if err != nil {
		t.Fatalf("read the kernel's tables: %v", err)
	}
	var lines []string
	for _, s := range svcs {
		var ds []string
		for _, d := range s.Dests {
			ds = append(ds, fmt.Sprintf("%s w%d", d.DestKey, d.Weight))
		}
		slices.Sort(ds)
		lines = append(lines, fmt.Sprintf("%s %s: %s", s.ServiceKey, s.Sched, strings.Join(ds, ", ")))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func webTable(dests string) string {
	var lines []string
	for _, a := range []string{"198.18.0.1", "198.18.0.2", "198.18.0.3"} {
		lines = append(lines, "TCP  "+a+":80 wrr: "+dests)
	}
	return strings.Join(lines, "\n")
}

func TestGuestDaemon(t *testing.T) {
	if os.Getenv("VIGIL_IN_VM") != "1" {
		t.Skip("runs only inside the VM harness (TestDaemonInVM)")
	}
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		t.Fatalf("no IPVS in the guest: %v", err)
	}
	ctx := context.Background()
	raw, err := mipvs.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.Flush()
	// Someone else's service, which lvsd must never touch.
	foreign := &mipvs.Service{Address: netip.MustParseAddr("198.18.9.9").AsSlice(), Protocol: 17, Port: 53, SchedName: "rr", AddressFamily: 2, Netmask: 0xffffffff}
	if err := raw.NewService(foreign); err != nil {
		t.Fatal(err)
	}
	kb, err := kernel.New()
	if err != nil {
		t.Fatal(err)
	}
	var scripts scriptLog
	cfg := parse(t, guestConf)
	d := New(Options{Config: cfg, Backend: kb, RunScript: scripts.run})
	fw := "FWM  7 sh: 198.18.1.20:0 w2"
	foreignLine := "UDP  198.18.9.9:53 rr: "
	want := func(step, table string) {
		t.Helper()
		if _, err := d.Sync(ctx); err != nil {
			t.Fatalf("%s: sync: %v", step, err)
		}
		lines := strings.Split(table, "\n")
		slices.Sort(lines)
		table = strings.Join(lines, "\n")
		if got := kernelTable(t, kb); got != table {
			t.Fatalf("%s: kernel tables\n%s\nwant\n%s", step, got, table)
		}
		if ops, err := d.Sync(ctx); err != nil || len(ops) != 0 {
			t.Fatalf("%s: a second sync applied %v %v", step, ops, err)
		}
	}
	all3 := "198.18.1.10:80 w1, 198.18.1.11:80 w1, 198.18.1.12:80 w1"
	want("start", webTable(all3)+"\n"+foreignLine+"\n"+fw)

	web := "group web TCP"
	set := func(rs string, alive bool) {
		vs := web
		if strings.HasPrefix(rs, "198.18.1.20") {
			vs = "fwmark 7"
		}
		d.SetVerdict(ipc.Backend{VirtualServer: vs, Server: netip.MustParseAddrPort(rs), Alive: alive, Weight: map[bool]int{true: 1, false: 1}[alive], Decided: true})
	}
	set("198.18.1.10:80", false)
	want("one down: removed, quorum 2-1 kept", webTable("198.18.1.11:80 w1, 198.18.1.12:80 w1")+"\n"+foreignLine+"\n"+fw)
	set("198.18.1.11:80", false)
	want("two down: weight 1 is not below quorum-hysteresis 1", webTable("198.18.1.12:80 w1")+"\n"+foreignLine+"\n"+fw)
	set("198.18.1.12:80", false)
	want("all down: the sorry server", webTable("198.18.1.99:80 w1")+"\n"+foreignLine+"\n"+fw)
	set("198.18.1.10:80", true)
	want("one back: 1 < quorum+hysteresis 3, still sorry", webTable("198.18.1.99:80 w1")+"\n"+foreignLine+"\n"+fw)
	set("198.18.1.11:80", true)
	set("198.18.1.12:80", true)
	want("all back: quorum regained", webTable(all3)+"\n"+foreignLine+"\n"+fw)
	d.SetVerdict(ipc.Backend{VirtualServer: "fwmark 7", Server: netip.MustParseAddrPort("198.18.1.20:0"), Alive: false, Weight: 2, Decided: true})
	want("inhibit_on_failure: weight 0, kept", webTable(all3)+"\n"+foreignLine+"\n"+strings.Replace(fw, "w2", "w0", 1))
	if got := strings.Join(scripts.all(), ";"); got != "/bin/quorum up;/bin/quorum down;/bin/quorum up" {
		t.Errorf("quorum scripts ran %q, want up at start (keepalived: \"Starting with quorum up\"), then down, then up", got)
	}

	// Restart: a new daemon and a new kernel handle resume without a change.
	st := d.State()
	if err := d.Stop(ctx, false); err != nil {
		t.Fatal(err)
	}
	_ = kb.Close()
	kb2, err := kernel.New()
	if err != nil {
		t.Fatal(err)
	}
	defer kb2.Close()
	d2 := New(Options{Config: cfg, Backend: kb2, Restore: &st, RunScript: scripts.run})
	d2.SetVerdict(ipc.Backend{VirtualServer: "fwmark 7", Server: netip.MustParseAddrPort("198.18.1.20:0"), Alive: false, Weight: 2, Decided: true})
	if ops, err := d2.Sync(ctx); err != nil || len(ops) != 0 {
		t.Fatalf("the resumed daemon applied %v (err %v); want nothing", ops, err)
	}

	// Behind our back: a destination deleted; the next sync restores it.
	svc := &mipvs.Service{Address: netip.MustParseAddr("198.18.0.2").AsSlice(), Protocol: 6, Port: 80, AddressFamily: 2}
	if err := raw.DelDestination(svc, &mipvs.Destination{Address: netip.MustParseAddr("198.18.1.11").AsSlice(), Port: 80, AddressFamily: 2}); err != nil {
		t.Fatal(err)
	}
	ops, err := d2.Sync(ctx)
	if err != nil || len(ops) != 1 || ops[0].Kind != ipvs.AddDest {
		t.Fatalf("repair applied %v (err %v); want one add-dest", ops, err)
	}

	// Stop with release: ours go, the foreign service stays.
	if err := d2.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := kernelTable(t, kb2); got != foreignLine {
		t.Fatalf("after release the kernel holds\n%s\nwant only\n%s", got, foreignLine)
	}
}
