package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-ha/vigil/arbiter/gossip"
	"github.com/vigil-ha/vigil/arbiter/server"
)

func TestArbiterCollector(t *testing.T) {
	st := server.Status{Node: "arb1", Cluster: "web", LeaseTTL: 3 * time.Second,
		Leases:   []server.LeaseStatus{{Key: "inet-51", Holder: "a", Remaining: 2500 * time.Millisecond}},
		Members:  []gossip.Member{{Name: "a", Role: gossip.RoleNode, State: "alive"}, {Name: "b", Role: gossip.RoleNode, State: "dead"}},
		Requests: 10, Grants: 8, Denials: 2}
	c := NewArbiterCollector(func() server.Status { return st })
	want := `
# HELP vigil_arbiter_server_lease_denials_total Lease requests refused: another node held the lease.
# TYPE vigil_arbiter_server_lease_denials_total counter
vigil_arbiter_server_lease_denials_total 2
# HELP vigil_arbiter_server_lease_remaining_seconds Time left on a lease, by instance key and holder.
# TYPE vigil_arbiter_server_lease_remaining_seconds gauge
vigil_arbiter_server_lease_remaining_seconds{holder="a",key="inet-51"} 2.5
# HELP vigil_gossip_member_up 1 for a gossip member seen alive, 0 otherwise.
# TYPE vigil_gossip_member_up gauge
vigil_gossip_member_up{member="a",role="node"} 1
vigil_gossip_member_up{member="b",role="node"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"vigil_arbiter_server_lease_denials_total", "vigil_arbiter_server_lease_remaining_seconds", "vigil_gossip_member_up"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
}
