package core_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A reload that removes the arbiter block stops the agent and lets its
// holds go: a node that was held for lack of quorum (no peer, no arbiter
// reachable) becomes MASTER once the protection is configured away.
func TestReloadWithoutArbiterReleasesHolds(t *testing.T) {
	c := newCluster(t)
	plain := conf(c.a, 150, c.vip.String())
	// Neither the peer nor the arbiter exists: with require_quorum the
	// backup may never take over.
	guarded := plain + `arbiter {
    node_name a
    bind 198.18.2.1:7946
    peer 198.18.2.97:7946
    arbiter 198.18.2.98:7946
    secret "reload test"
    require_quorum
}
`
	c.a.start(guarded)
	deadline := time.Now().Add(15 * time.Second)
	held := false
	for !held && time.Now().Before(deadline) {
		out, err := c.a.vigil("status", "--json")
		held = err == nil && strings.Contains(out, `"held":true`)
		if !held {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !held {
		t.Fatal("the node without quorum is not held by its agent")
	}
	time.Sleep(5 * time.Second) // past the master-down interval: held, it stays BACKUP
	if c.a.watch.Has(c.vip) {
		t.Fatal("the node took the VIP without quorum")
	}

	if err := os.WriteFile(c.a.conf, []byte(plain), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.a.vigil("reload"); err != nil {
		t.Fatalf("vigil reload: %v\n%s", err, out)
	}
	c.a.watch.Wait(c.vip, true, 10*time.Second)
	for _, ch := range c.a.status().Children {
		if ch.Name == "agent" {
			t.Errorf("the agent still runs after its block was removed (%s)", ch.State)
		}
	}
}
