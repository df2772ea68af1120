package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/checkd/tracker"
	"github.com/vigil-ha/vigil/core"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/metrics"
	"github.com/vigil-ha/vigil/vrrpd"
)

func raw(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixedStatus is a node with one MASTER instance, a checker, a vrrp_script
// and an IPVS service.
func fixedStatus(t *testing.T) core.Status {
	in := vrrpd.InstanceStatus{Name: "VI_1", VRID: 51, Interface: "eth0", Family: 4, State: "MASTER",
		Priority: 100, EffectivePriority: 90,
		VIPs:         []netip.Addr{netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.101")},
		ExcludedVIPs: []netip.Addr{netip.MustParseAddr("198.18.0.200")}}
	in.Stats.AdvertsSent = 120
	in.Stats.AdvertsReceived = 7
	in.Stats.Transitions = 2
	in.Stats.BecameMaster = 1
	in.Stats.PriorityZeroReceived = 1
	in.Stats.GARPs = 3
	in.Stats.Drops = map[string]uint64{"auth_failure": 4, "interval_mismatch": 2}
	vr := vrrpd.Status{Instances: []vrrpd.InstanceStatus{in}, Drops: map[string]uint64{"bad_ttl": 5}}

	ck := checkd.Status{
		Scripts: []tracker.ScriptStatus{{Name: "chk_nginx", Status: "BAD", Up: false}},
		RunnerStatus: checkd.RunnerStatus{LatencyBounds: []float64{0.001, 0.01, 0.1},
			Checkers: []checkd.CheckerStatus{{ID: "vs/rs/TCP_CHECK[0]", VirtualServer: "198.18.0.100:80 TCP",
				RealServer: netip.MustParseAddrPort("198.18.1.1:80"), Type: "TCP_CHECK", Up: true, HasRun: true,
				Probes: 10, Failures: 1, LatencySum: 0.05, LatencyBuckets: []uint64{2, 9, 10}}}},
	}
	lv := lvsd.Status{Syncs: 3, Ops: 4, Services: []ipvs.ServiceState{{
		Service: ipvs.Service{ServiceKey: ipvs.ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.100"), Port: 80, Family: "inet"}, Sched: "wrr"},
		Stats:   ipvs.Stats{Conns: 42, InBytes: 1000},
		Dests: []ipvs.DestState{{Destination: ipvs.Destination{DestKey: ipvs.DestKey{Addr: netip.MustParseAddr("198.18.1.1"), Port: 80}, Weight: 1, Method: "NAT"},
			ActiveConns: 2, Stats: ipvs.Stats{Conns: 40}}},
	}}}
	return core.Status{
		Children: []core.ChildStatus{{Name: "vrrpd", State: "running", Restarts: 2}, {Name: "checkd", State: "backoff", Restarts: 5}},
		VRRP:     raw(t, vr), Checks: raw(t, ck), LVS: raw(t, lv),
		Backends: []ipc.Backend{{VirtualServer: "198.18.0.100:80 TCP", Server: netip.MustParseAddrPort("198.18.1.1:80"), Alive: true, Weight: 1, Decided: true}},
	}
}

func TestCollector(t *testing.T) {
	st := fixedStatus(t)
	c := metrics.NewCollector(func(context.Context) (any, error) { return st, nil }, time.Second, nil)
	want := `
# HELP keepalived_advertisements_sent_total Advertisements sent
# TYPE keepalived_advertisements_sent_total counter
keepalived_advertisements_sent_total{iname="VI_1",intf="eth0",vrid="51"} 120
# HELP keepalived_authentication_failure_total Authentication failure
# TYPE keepalived_authentication_failure_total counter
keepalived_authentication_failure_total{iname="VI_1",intf="eth0",vrid="51"} 4
# HELP keepalived_script_status Tracker Script Status
# TYPE keepalived_script_status gauge
keepalived_script_status{name="chk_nginx"} 0
# HELP keepalived_up Status
# TYPE keepalived_up gauge
keepalived_up 1
# HELP keepalived_vrrp_excluded_state State of vrrp with excluded VIP
# TYPE keepalived_vrrp_excluded_state gauge
keepalived_vrrp_excluded_state{iname="VI_1",intf="eth0",ip_address="198.18.0.200",vrid="51"} 2
# HELP keepalived_vrrp_state State of vrrp
# TYPE keepalived_vrrp_state gauge
keepalived_vrrp_state{iname="VI_1",intf="eth0",ip_address="198.18.0.100",vrid="51"} 2
keepalived_vrrp_state{iname="VI_1",intf="eth0",ip_address="198.18.0.101",vrid="51"} 2
# HELP vigil_checker_probe_duration_seconds Probe durations.
# TYPE vigil_checker_probe_duration_seconds histogram
vigil_checker_probe_duration_seconds_bucket{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP",le="0.001"} 2
vigil_checker_probe_duration_seconds_bucket{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP",le="0.01"} 9
vigil_checker_probe_duration_seconds_bucket{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP",le="0.1"} 10
vigil_checker_probe_duration_seconds_bucket{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP",le="+Inf"} 10
vigil_checker_probe_duration_seconds_sum{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP"} 0.05
vigil_checker_probe_duration_seconds_count{checker="vs/rs/TCP_CHECK[0]",real_server="198.18.1.1:80",type="TCP_CHECK",virtual_server="198.18.0.100:80 TCP"} 10
# HELP vigil_child_restarts_total Restarts of the subsystem's child process.
# TYPE vigil_child_restarts_total counter
vigil_child_restarts_total{child="checkd"} 5
vigil_child_restarts_total{child="vrrpd"} 2
# HELP vigil_child_up 1 while the subsystem's child process runs.
# TYPE vigil_child_up gauge
vigil_child_up{child="checkd"} 0
vigil_child_up{child="vrrpd"} 1
# HELP vigil_ipvs_destination_connections_total Connections scheduled to the destination.
# TYPE vigil_ipvs_destination_connections_total counter
vigil_ipvs_destination_connections_total{protocol="TCP",real_server="198.18.1.1:80",service="198.18.0.100:80"} 40
# HELP vigil_ipvs_service_connections_total Connections scheduled by the IPVS service.
# TYPE vigil_ipvs_service_connections_total counter
vigil_ipvs_service_connections_total{protocol="TCP",service="198.18.0.100:80"} 42
# HELP vigil_real_server_up 1 while checkd's verdict on the real server is alive.
# TYPE vigil_real_server_up gauge
vigil_real_server_up{real_server="198.18.1.1:80",virtual_server="198.18.0.100:80 TCP"} 1
# HELP vigil_vrrp_adverts_dropped_total Adverts for the instance dropped, by reason.
# TYPE vigil_vrrp_adverts_dropped_total counter
vigil_vrrp_adverts_dropped_total{instance="VI_1",interface="eth0",reason="auth_failure",vrid="51"} 4
vigil_vrrp_adverts_dropped_total{instance="VI_1",interface="eth0",reason="interval_mismatch",vrid="51"} 2
# HELP vigil_vrrp_effective_priority Effective priority (after tracking).
# TYPE vigil_vrrp_effective_priority gauge
vigil_vrrp_effective_priority{instance="VI_1",interface="eth0",vrid="51"} 90
# HELP vigil_vrrp_packets_dropped_total Packets dropped before they could be matched to an instance, by reason.
# TYPE vigil_vrrp_packets_dropped_total counter
vigil_vrrp_packets_dropped_total{reason="bad_ttl"} 5
# HELP vigil_vrrp_state 1 for the instance's current VRRP state, 0 for the others.
# TYPE vigil_vrrp_state gauge
vigil_vrrp_state{instance="VI_1",interface="eth0",state="BACKUP",vrid="51"} 0
vigil_vrrp_state{instance="VI_1",interface="eth0",state="FAULT",vrid="51"} 0
vigil_vrrp_state{instance="VI_1",interface="eth0",state="INIT",vrid="51"} 0
vigil_vrrp_state{instance="VI_1",interface="eth0",state="MASTER",vrid="51"} 1
vigil_vrrp_state{instance="VI_1",interface="eth0",state="STOPPED",vrid="51"} 0
`
	names := []string{"keepalived_advertisements_sent_total", "keepalived_authentication_failure_total", "keepalived_script_status",
		"keepalived_up", "keepalived_vrrp_excluded_state", "keepalived_vrrp_state", "vigil_checker_probe_duration_seconds",
		"vigil_child_restarts_total", "vigil_child_up", "vigil_ipvs_destination_connections_total", "vigil_ipvs_service_connections_total",
		"vigil_real_server_up", "vigil_vrrp_adverts_dropped_total", "vigil_vrrp_effective_priority", "vigil_vrrp_packets_dropped_total",
		"vigil_vrrp_state"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// Every metric is well-formed and conventionally named.
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// A status that cannot be read yields up 0 and nothing else.
func TestCollectorDown(t *testing.T) {
	c := metrics.NewCollector(func(context.Context) (any, error) { return nil, errors.New("no") }, time.Second, nil)
	want := `
# HELP keepalived_up Status
# TYPE keepalived_up gauge
keepalived_up 0
# HELP vigil_up 1 if the daemon's status could be read within the scrape timeout.
# TYPE vigil_up gauge
vigil_up 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
