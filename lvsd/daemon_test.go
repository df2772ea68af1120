package lvsd

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

const daemonConf = `
virtual_server 198.18.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    quorum_up "/bin/true up"
    quorum_down "/bin/true down"
    sorry_server 198.18.0.99 80
    real_server 198.18.0.10 80 {
        weight 1
        TCP_CHECK {
        }
    }
    real_server 198.18.0.11 80 {
        weight 1
        TCP_CHECK {
        }
    }
}
virtual_server 198.18.0.2 443 {
    lb_algo wlc
    lb_kind DR
    protocol TCP
    real_server 198.18.0.20 443 {
        weight 5
        inhibit_on_failure
        TCP_CHECK {
        }
    }
}
`

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse("test.conf", []byte(text), config.Options{})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	return cfg
}

type scriptLog struct {
	mu  sync.Mutex
	ran []string
}

func (s *scriptLog) run(c script.Cmd) {
	s.mu.Lock()
	s.ran = append(s.ran, strings.Join(c.Args, " "))
	s.mu.Unlock()
}

func (s *scriptLog) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ran)
}

func verdict(vs, rs string, alive bool, weight int) ipc.Backend {
	return ipc.Backend{VirtualServer: vs, Server: netip.MustParseAddrPort(rs), Alive: alive, Weight: weight, Decided: true}
}

func kinds(ops []ipvs.Op) string {
	var s []string
	for _, op := range ops {
		s = append(s, op.String())
	}
	return strings.Join(s, "\n")
}

func TestDaemonLifecycle(t *testing.T) {
	ctx := context.Background()
	foreign := ipvs.ServiceState{Service: ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "UDP", Addr: netip.MustParseAddr("198.18.9.9"), Port: 53, Family: "inet"}, Sched: "rr"}}
	fake := ipvs.NewFake(foreign)
	var scripts scriptLog
	cfg := parse(t, daemonConf)
	d := New(Options{Config: cfg, Backend: fake, RunScript: scripts.run})

	// Cold start: no verdicts yet, every server counts alive.
	ops, err := d.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ops); got != 5 { // 2 services + 3 destinations
		t.Fatalf("cold start applied %d ops, want 5:\n%s", got, kinds(ops))
	}
	if ops, _ := d.Sync(ctx); len(ops) != 0 {
		t.Fatalf("a second Sync applied:\n%s", kinds(ops))
	}

	// One real server of the quorum-2 service dies: quorum lost, the sorry
	// server comes in; the inhibited server drops to weight 0. An Update
	// does it without reading the tables back.
	d.SetVerdict(verdict("198.18.0.1:80 TCP", "198.18.0.10:80", false, 1))
	d.SetVerdict(verdict("198.18.0.2:443 TCP", "198.18.0.20:443", false, 5))
	fake.FailRead(errors.New("no reads expected"))
	ops, err = d.Update(ctx)
	fake.FailRead(nil)
	if err != nil {
		t.Fatal(err)
	}
	text := kinds(ops)
	for _, want := range []string{"add-dest TCP  198.18.0.1:80 -> 198.18.0.99:80", "update-dest TCP  198.18.0.2:443 -> 198.18.0.20:443 w0"} {
		if !strings.Contains(text, want) {
			t.Errorf("after failures, ops lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "del-service") {
		t.Errorf("a failure removed a service:\n%s", text)
	}
	st := d.State()
	if err := d.Stop(ctx, false); err != nil {
		t.Fatal(err)
	}

	// A restarted lvsd resumes: nothing to apply, no quorum script again.
	before := len(scripts.all())
	d2 := New(Options{Config: cfg, Backend: fake, Restore: &st, RunScript: scripts.run})
	for _, b := range []ipc.Backend{verdict("198.18.0.1:80 TCP", "198.18.0.10:80", false, 1), verdict("198.18.0.2:443 TCP", "198.18.0.20:443", false, 5)} {
		d2.SetVerdict(b)
	}
	if ops, err := d2.Sync(ctx); err != nil || len(ops) != 0 {
		t.Fatalf("resumed Sync applied %v:\n%s", err, kinds(ops))
	}
	_ = d2.Stop(ctx, false)
	if got := scripts.all(); len(got) != before {
		t.Errorf("the resumed daemon ran quorum scripts again: %v", got[before:])
	}
	if !slices.Contains(scripts.all(), "/bin/true down") {
		t.Errorf("quorum_down did not run: %v", scripts.all())
	}

	// A reload without the second virtual server removes its service only.
	cfg3 := parse(t, daemonConf[:strings.Index(daemonConf, "virtual_server 198.18.0.2")])
	d3 := New(Options{Config: cfg3, Backend: fake, Restore: &st, RunScript: scripts.run})
	ops, err = d3.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if text := kinds(ops); !strings.Contains(text, "del-service TCP  198.18.0.2:443") || strings.Contains(text, "198.18.9.9") {
		t.Errorf("reload ops:\n%s", text)
	}
	// Stop with release removes ours and leaves the foreign service.
	if err := d3.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	left, _ := fake.Read(ctx)
	if len(left) != 1 || left[0].ServiceKey.Port != 53 {
		t.Errorf("after release the kernel holds %+v, want only the foreign service", left)
	}
}

func TestDaemonWithoutIPVS(t *testing.T) {
	d := New(Options{Config: parse(t, daemonConf), BackendErr: ipvs.ErrNoIPVS})
	_, err := d.Sync(context.Background())
	if !errors.Is(err, ipvs.ErrNoIPVS) {
		t.Fatalf("Sync without IPVS = %v, want ErrNoIPVS", err)
	}
	if st := d.Status(context.Background()); !strings.Contains(st.Error, "no IPVS") {
		t.Errorf("status error %q does not say IPVS is missing", st.Error)
	}
	_ = d.Stop(context.Background(), true)
}
