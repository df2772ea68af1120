package vrrpd_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A vrrp_sync_group moves together: one member's FAULT takes the group,
// so both VIPs fail over although only one member tracks the script.
func TestSyncGroupMovesTogether(t *testing.T) {
	p := newPair(t)
	vip2 := netip.MustParseAddr("198.18.1.60")
	flag := filepath.Join(t.TempDir(), "healthy")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	notifyLog := filepath.Join(t.TempDir(), "group-notify")
	conf := func(n *node, prio int, track bool) string {
		script := ""
		if track {
			script = fmt.Sprintf(`vrrp_script chk {
    script "/bin/test -e %s"
    interval 1
    fall 1
    rise 1
}
`, flag)
		}
		group := fmt.Sprintf(`vrrp_sync_group VG {
    group {
        VI_1
        VI_2
    }
    notify "/bin/sh -c 'echo $1 $2 $3 >> %s' notify"
}
`, notifyLog)
		inst := func(name string, vrid int, vip string, tracked bool) string {
			tr := ""
			if tracked {
				tr = "    track_script {\n        chk\n    }\n"
			}
			return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface %s
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s/24
    }
%s}
`, name, n.ifname, vrid, prio, vip, tr)
		}
		return script + group + inst("VI_1", 51, "198.18.1.50", track) + inst("VI_2", 52, "198.18.1.60", false)
	}
	p.a.startVigil(t, conf(p.a, 150, true))
	p.b.startVigil(t, conf(p.b, 100, false))
	p.watchA.Wait(p.vip, true, 10*time.Second)
	p.watchA.Wait(vip2, true, 10*time.Second)

	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now()
	p.watchB.Wait(p.vip, true, 10*time.Second)
	took := p.watchB.Wait(vip2, true, 10*time.Second).Sub(failedAt)
	p.watchA.Wait(p.vip, false, 5*time.Second)
	p.watchA.Wait(vip2, false, 5*time.Second)
	t.Logf("both VIPs moved %v after the tracked script started failing", took)
	if !strings.Contains(p.a.out.String(), "(VI_2) Entering FAULT STATE") {
		t.Errorf("VI_2 did not follow VI_1 into FAULT:\n%s", p.a.out.String())
	}
	// Group notify scripts run asynchronously; give the queue a bounded
	// moment to write.
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(notifyLog)
		if strings.Contains(string(data), "GROUP VG FAULT") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group notify did not report GROUP VG FAULT; got:\n%s", data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Recovery: the group comes back and preempts.
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.watchA.Wait(p.vip, true, 15*time.Second)
	p.watchA.Wait(vip2, true, 15*time.Second)
}
