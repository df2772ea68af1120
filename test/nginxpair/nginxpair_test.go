// Package nginxpair_test proves examples/nginx-pair end to end: the nodes'
// configurations are the example's files with the lab's addresses,
// interface and paths substituted, nginx runs for real in each node's
// namespace with the example's site, `vigil run` on both nodes, `vigil
// arbiter -f` on node A's arbiter.conf in a third namespace on the gossip
// net, and a client in a fourth fetches http://VIP/ every 10 ms.
//
// Scenarios (TestNginxPair): nginx stopped on the master (and started
// again), the master's whole daemon killed with SIGKILL, the VRRP path
// between the nodes cut with nftables. Figures go to
// examples/nginx-pair/README.md ("Measured"). Root only; skips otherwise.
// VIGIL_NGINXPAIR_LOGS=1 prints every daemon's log.
package nginxpair_test

import (
	"testing"

	"github.com/vigil-ha/vigil/internal/lab"
)

var vigilBin string

func TestMain(m *testing.M) { lab.MainWithVigil(m, &vigilBin) }
