package vrrpd_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kill -9 of the master's vrrpd, restarted with its state file, moves no
// VIP: the address never leaves the interface, the backup never takes
// over, and the client loses no probe.
func TestRestartFromStateFileIsHitless(t *testing.T) {
	p := newPair(t)
	stateFile := filepath.Join(p.a.dir, "vrrpd.state")
	confA := instanceConf(p.a, 3, 150, "1", "")
	start := func() {
		path := filepath.Join(p.a.dir, "keepalived.conf")
		if err := os.WriteFile(path, []byte(confA), 0o644); err != nil {
			t.Fatal(err)
		}
		p.a.cmd = p.a.ns.Start(&p.a.out, &p.a.out, vigilBin, "vrrpd", "-f", path, "--log-format", "json", "--state-file", stateFile)
	}
	start()
	p.b.startVigil(t, instanceConf(p.b, 3, 100, "1", ""))
	p.watchA.Wait(p.vip, true, 10*time.Second)
	probe := p.client.StartProbe(p.service, 10*time.Millisecond)
	time.Sleep(1500 * time.Millisecond) // let a snapshot reach the state file

	const restarts = 10
	for i := 0; i < restarts; i++ {
		p.a.kill(t, syscall.SIGKILL)
		start()
		// Wait for the new vrrpd to say it resumed (bounded).
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(p.a.out.String(), "Resuming MASTER STATE") < i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("restart %d: vrrpd did not resume MASTER:\n%s", i+1, p.a.out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(4 * time.Second) // a full master-down interval after the last restart
	probe.Stop()
	n, fails := probe.Result()
	t.Logf("%d restarts; probe: %d connects, %d failed", restarts, n, len(fails))
	if len(fails) != 0 {
		t.Errorf("%d client connects failed across hitless restarts", len(fails))
	}
	for _, ev := range p.watchA.Events(p.vip) {
		if !ev.Added {
			t.Errorf("the VIP was removed from the master at %v", ev.At)
		}
	}
	if p.watchB.Has(p.vip) || strings.Contains(p.b.out.String(), "Entering MASTER STATE") {
		t.Errorf("the backup took over during the restarts:\n%s", p.b.out.String())
	}
}
