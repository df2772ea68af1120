// Package metrics exports the daemon's status as Prometheus metrics: a
// vigil_* family and the names of the community keepalived exporter
// (docs/metrics.md). The collector keeps no state: each scrape asks the
// parent for its status (the same document `vigil status` prints) and
// turns it into constant metrics.
package metrics

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/agent"
	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/vrrpd"
)

// Source returns the daemon's status: core.Status, or anything that
// marshals to the same JSON.
type Source func(ctx context.Context) (any, error)

// status is the part of core.Status's JSON the collector reads.
type status struct {
	Children []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Restarts int    `json:"restarts"`
	} `json:"children"`
	VRRP     *vrrpd.Status  `json:"vrrp"`
	LVS      *lvsd.Status   `json:"lvs"`
	Agent    *agent.Status  `json:"agent"`
	Checks   *checkd.Status `json:"checks"`
	Backends []ipc.Backend  `json:"real_servers"`
	StandIn  *struct {
		Sent   uint64 `json:"sent"`
		Errors uint64 `json:"errors"`
	} `json:"stand_in"`
}

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src     Source
	timeout time.Duration
	log     *zap.Logger
	now     func() time.Time
}

// NewCollector returns a collector that asks src for the status on each
// scrape, bounded by timeout.
func NewCollector(src Source, timeout time.Duration, log *zap.Logger) *Collector {
	if log == nil {
		log = zap.NewNop()
	}
	return &Collector{src: src, timeout: timeout, log: log, now: time.Now}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	instLabels = []string{"instance", "interface", "vrid"}
	kaLabels   = []string{"iname", "intf", "vrid"}
	svcLabels  = []string{"protocol", "service"}
	dstLabels  = []string{"protocol", "service", "real_server"}
	chkLabels  = []string{"checker", "virtual_server", "real_server", "type"}

	// vigil_*
	dUp            = desc("vigil_up", "1 if the daemon's status could be read within the scrape timeout.")
	dChildUp       = desc("vigil_child_up", "1 while the subsystem's child process runs.", "child")
	dChildRestarts = desc("vigil_child_restarts_total", "Restarts of the subsystem's child process.", "child")
	dStandInSent   = desc("vigil_stand_in_adverts_sent_total", "Adverts the parent sent for an absent vrrpd.")
	dStandInErrors = desc("vigil_stand_in_advert_errors_total", "Adverts the parent failed to send for an absent vrrpd.")

	dVRRPState        = desc("vigil_vrrp_state", "1 for the instance's current VRRP state, 0 for the others.", append(instLabels, "state")...)
	dVRRPPriority     = desc("vigil_vrrp_priority", "Configured priority.", instLabels...)
	dVRRPEffPriority  = desc("vigil_vrrp_effective_priority", "Effective priority (after tracking).", instLabels...)
	dVRRPMasterPrio   = desc("vigil_vrrp_master_priority", "Priority of the master last heard (0: none).", instLabels...)
	dVRRPHeld         = desc("vigil_vrrp_held", "1 while the arbiter agent holds the instance as BACKUP.", instLabels...)
	dVRRPWaiting      = desc("vigil_vrrp_waiting", "1 while a held BACKUP would be MASTER but for the hold.", instLabels...)
	dVRRPTransitions  = desc("vigil_vrrp_transitions_total", "State transitions (a resume after restart is not one).", instLabels...)
	dVRRPBecame       = desc("vigil_vrrp_became_master_total", "Transitions into MASTER.", instLabels...)
	dVRRPReleased     = desc("vigil_vrrp_released_master_total", "Transitions out of MASTER.", instLabels...)
	dVRRPSent         = desc("vigil_vrrp_adverts_sent_total", "Adverts sent.", instLabels...)
	dVRRPRcvd         = desc("vigil_vrrp_adverts_received_total", "Adverts received and accepted.", instLabels...)
	dVRRPPriZeroSent  = desc("vigil_vrrp_priority_zero_sent_total", "Priority-0 adverts sent.", instLabels...)
	dVRRPPriZeroRcvd  = desc("vigil_vrrp_priority_zero_received_total", "Priority-0 adverts received.", instLabels...)
	dVRRPDropped      = desc("vigil_vrrp_adverts_dropped_total", "Adverts for the instance dropped, by reason.", append(instLabels, "reason")...)
	dVRRPGARPs        = desc("vigil_vrrp_garps_total", "Gratuitous ARP / unsolicited NA bursts queued.", instLabels...)
	dVRRPSendErrors   = desc("vigil_vrrp_send_error_streak", "Consecutive failed advert sends (0 once one succeeds).", instLabels...)
	dVRRPLastTrans    = desc("vigil_vrrp_last_transition_timestamp_seconds", "Time of the last state transition (absent before the first).", instLabels...)
	dVRRPPacketsDrops = desc("vigil_vrrp_packets_dropped_total", "Packets dropped before they could be matched to an instance, by reason.", "reason")

	dScriptUp      = desc("vigil_vrrp_script_up", "1 while the vrrp_script counts as succeeding.", "script")
	dScriptRunning = desc("vigil_vrrp_script_running", "1 while the vrrp_script's command runs.", "script")
	dCheckerUp     = desc("vigil_checker_up", "1 while the real-server checker's verdict is up.", chkLabels...)
	dCheckerProbes = desc("vigil_checker_probes_total", "Completed probes.", chkLabels...)
	dCheckerFails  = desc("vigil_checker_probe_failures_total", "Failed probes.", chkLabels...)
	dCheckerLat    = desc("vigil_checker_probe_duration_seconds", "Probe durations.", chkLabels...)
	dRSUp          = desc("vigil_real_server_up", "1 while checkd's verdict on the real server is alive.", "virtual_server", "real_server")
	dRSWeight      = desc("vigil_real_server_weight", "The real server's effective weight as checkd reports it.", "virtual_server", "real_server")

	dLVSError     = desc("vigil_lvs_error", "1 while lvsd reports an error (IPVS missing, failed operations).")
	dLVSSyncs     = desc("vigil_lvs_syncs_total", "lvsd's reconciliations of the IPVS tables.")
	dLVSOps       = desc("vigil_lvs_operations_total", "IPVS operations lvsd applied.")
	dSvcConns     = desc("vigil_ipvs_service_connections_total", "Connections scheduled by the IPVS service.", svcLabels...)
	dSvcInPkts    = desc("vigil_ipvs_service_in_packets_total", "Incoming packets of the IPVS service.", svcLabels...)
	dSvcOutPkts   = desc("vigil_ipvs_service_out_packets_total", "Outgoing packets of the IPVS service.", svcLabels...)
	dSvcInBytes   = desc("vigil_ipvs_service_in_bytes_total", "Incoming bytes of the IPVS service.", svcLabels...)
	dSvcOutBytes  = desc("vigil_ipvs_service_out_bytes_total", "Outgoing bytes of the IPVS service.", svcLabels...)
	dDstConns     = desc("vigil_ipvs_destination_connections_total", "Connections scheduled to the destination.", dstLabels...)
	dDstInPkts    = desc("vigil_ipvs_destination_in_packets_total", "Incoming packets of the destination.", dstLabels...)
	dDstOutPkts   = desc("vigil_ipvs_destination_out_packets_total", "Outgoing packets of the destination.", dstLabels...)
	dDstInBytes   = desc("vigil_ipvs_destination_in_bytes_total", "Incoming bytes of the destination.", dstLabels...)
	dDstOutBytes  = desc("vigil_ipvs_destination_out_bytes_total", "Outgoing bytes of the destination.", dstLabels...)
	dDstActive    = desc("vigil_ipvs_destination_active_connections", "Active connections of the destination.", dstLabels...)
	dDstInactive  = desc("vigil_ipvs_destination_inactive_connections", "Inactive connections of the destination.", dstLabels...)
	dDstWeight    = desc("vigil_ipvs_destination_weight", "The destination's weight in the kernel.", dstLabels...)
	dGossipMember = desc("vigil_gossip_member_up", "1 while the gossip member is alive.", "member", "role")
	dArbHeld      = desc("vigil_arbiter_hold", "1 while the agent's rules hold the instance as BACKUP.", "instance")
	dArbLease     = desc("vigil_arbiter_lease_valid", "1 while this node believes in its arbiter lease for the instance.", "instance")
	dArbGrants    = desc("vigil_arbiter_lease_grants", "Arbiters whose grant is still valid.", "instance")
	dArbArbiters  = desc("vigil_arbiter_arbiters", "Arbiters configured.", "instance")
	dArbPeers     = desc("vigil_arbiter_peers_alive", "Peers whose heartbeat is fresh.", "instance")

	// keepalived exporter names (mehdy/keepalived-exporter).
	kUp          = desc("keepalived_up", "Status")
	kState       = desc("keepalived_vrrp_state", "State of vrrp", append(kaLabels, "ip_address")...)
	kExcluded    = desc("keepalived_vrrp_excluded_state", "State of vrrp with excluded VIP", append(kaLabels, "ip_address")...)
	kRcvd        = desc("keepalived_advertisements_received_total", "Advertisements received", kaLabels...)
	kSent        = desc("keepalived_advertisements_sent_total", "Advertisements sent", kaLabels...)
	kBecome      = desc("keepalived_become_master_total", "Became master", kaLabels...)
	kRelease     = desc("keepalived_release_master_total", "Released master", kaLabels...)
	kPktLen      = desc("keepalived_packet_length_errors_total", "Packet length errors", kaLabels...)
	kInterval    = desc("keepalived_advertisements_interval_errors_total", "Advertisement interval errors", kaLabels...)
	kTTL         = desc("keepalived_ip_ttl_errors_total", "TTL errors", kaLabels...)
	kType        = desc("keepalived_invalid_type_received_total", "Invalid type errors", kaLabels...)
	kAddrList    = desc("keepalived_address_list_errors_total", "Address list errors", kaLabels...)
	kAuthInvalid = desc("keepalived_authentication_invalid_total", "Authentication invalid", kaLabels...)
	kAuthMis     = desc("keepalived_authentication_mismatch_total", "Authentication mismatch", kaLabels...)
	kAuthFail    = desc("keepalived_authentication_failure_total", "Authentication failure", kaLabels...)
	kPriZeroRcvd = desc("keepalived_priority_zero_received_total", "Priority zero received", kaLabels...)
	kPriZeroSent = desc("keepalived_priority_zero_sent_total", "Priority zero sent", kaLabels...)
	kScript      = desc("keepalived_script_status", "Tracker Script Status", "name")
	kScriptState = desc("keepalived_script_state", "Tracker Script State", "name")
)

var allDescs = []*prometheus.Desc{
	dUp, dChildUp, dChildRestarts, dStandInSent, dStandInErrors,
	dVRRPState, dVRRPPriority, dVRRPEffPriority, dVRRPMasterPrio, dVRRPHeld, dVRRPWaiting, dVRRPTransitions,
	dVRRPBecame, dVRRPReleased, dVRRPSent, dVRRPRcvd, dVRRPPriZeroSent, dVRRPPriZeroRcvd, dVRRPDropped,
	dVRRPGARPs, dVRRPSendErrors, dVRRPLastTrans, dVRRPPacketsDrops,
	dScriptUp, dScriptRunning, dCheckerUp, dCheckerProbes, dCheckerFails, dCheckerLat, dRSUp, dRSWeight,
	dLVSError, dLVSSyncs, dLVSOps, dSvcConns, dSvcInPkts, dSvcOutPkts, dSvcInBytes, dSvcOutBytes,
	dDstConns, dDstInPkts, dDstOutPkts, dDstInBytes, dDstOutBytes, dDstActive, dDstInactive, dDstWeight,
	dGossipMember, dArbHeld, dArbLease, dArbGrants, dArbArbiters, dArbPeers,
	kUp, kState, kExcluded, kRcvd, kSent, kBecome, kRelease, kPktLen, kInterval, kTTL, kType, kAddrList,
	kAuthInvalid, kAuthMis, kAuthFail, kPriZeroRcvd, kPriZeroSent, kScript, kScriptState,
}

// vrrpStates are the states vigil_vrrp_state enumerates.
var vrrpStates = []string{"INIT", "BACKUP", "MASTER", "FAULT", "STOPPED"}

// keepalivedState is keepalived's number for a state (vrrp.h: INIT 0,
// BACKUP 1, MASTER 2, FAULT 3); STOPPED shows as INIT.
func keepalivedState(s string) float64 {
	switch s {
	case "BACKUP":
		return 1
	case "MASTER":
		return 2
	case "FAULT":
		return 3
	}
	return 0
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the status and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.read(ctx)
	up := 1.0
	if err != nil {
		c.log.Warn("metrics: status not read", zap.Error(err))
		up = 0
	}
	gauge(ch, dUp, up)
	gauge(ch, kUp, up)
	if err != nil {
		return
	}
	for _, ch2 := range st.Children {
		gauge(ch, dChildUp, b2f(ch2.State == "running"), ch2.Name)
		counter(ch, dChildRestarts, float64(ch2.Restarts), ch2.Name)
	}
	if st.StandIn != nil {
		counter(ch, dStandInSent, float64(st.StandIn.Sent))
		counter(ch, dStandInErrors, float64(st.StandIn.Errors))
	}
	if st.VRRP != nil {
		c.vrrp(ch, st.VRRP)
	}
	if st.Checks != nil {
		checks(ch, st.Checks)
	}
	for _, b := range st.Backends {
		gauge(ch, dRSUp, b2f(b.Alive), b.VirtualServer, b.Server.String())
		gauge(ch, dRSWeight, float64(b.Weight), b.VirtualServer, b.Server.String())
	}
	if st.LVS != nil {
		lvs(ch, st.LVS)
	}
	if st.Agent != nil {
		c.agent(ch, st.Agent)
	}
}

func (c *Collector) read(ctx context.Context) (*status, error) {
	v, err := c.src(ctx)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var st status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (c *Collector) vrrp(ch chan<- prometheus.Metric, v *vrrpd.Status) {
	for _, in := range v.Instances {
		l := []string{in.Name, in.Interface, strconv.Itoa(int(in.VRID))}
		for _, s := range vrrpStates {
			gauge(ch, dVRRPState, b2f(in.State == s), append(l, s)...)
		}
		gauge(ch, dVRRPPriority, float64(in.Priority), l...)
		gauge(ch, dVRRPEffPriority, float64(in.EffectivePriority), l...)
		gauge(ch, dVRRPMasterPrio, float64(in.MasterPriority), l...)
		gauge(ch, dVRRPHeld, b2f(in.Held), l...)
		gauge(ch, dVRRPWaiting, b2f(in.Waiting), l...)
		s := in.Stats
		counter(ch, dVRRPTransitions, float64(s.Transitions), l...)
		counter(ch, dVRRPBecame, float64(s.BecameMaster), l...)
		counter(ch, dVRRPReleased, float64(s.ReleasedMaster), l...)
		counter(ch, dVRRPSent, float64(s.AdvertsSent), l...)
		counter(ch, dVRRPRcvd, float64(s.AdvertsReceived), l...)
		counter(ch, dVRRPPriZeroSent, float64(s.PriorityZeroSent), l...)
		counter(ch, dVRRPPriZeroRcvd, float64(s.PriorityZeroReceived), l...)
		for reason, n := range s.Drops {
			counter(ch, dVRRPDropped, float64(n), append(l, reason)...)
		}
		counter(ch, dVRRPGARPs, float64(s.GARPs), l...)
		gauge(ch, dVRRPSendErrors, float64(s.SendErrors), l...)
		if !s.LastTransition.IsZero() {
			gauge(ch, dVRRPLastTrans, float64(s.LastTransition.UnixNano())/1e9, l...)
		}

		// keepalived's names: one state series per VIP (ip_address ""
		// without VIPs), the counters per instance.
		ks := keepalivedState(in.State)
		for _, a := range in.VIPs {
			gauge(ch, kState, ks, append(l, a.String())...)
		}
		if len(in.VIPs) == 0 {
			gauge(ch, kState, ks, append(l, "")...)
		}
		for _, a := range in.ExcludedVIPs {
			gauge(ch, kExcluded, ks, append(l, a.String())...)
		}
		d := s.Drops
		counter(ch, kRcvd, float64(s.AdvertsReceived), l...)
		counter(ch, kSent, float64(s.AdvertsSent), l...)
		counter(ch, kBecome, float64(s.BecameMaster), l...)
		counter(ch, kRelease, float64(s.ReleasedMaster), l...)
		counter(ch, kPktLen, float64(d["too_short"]+d["truncated"]), l...)
		counter(ch, kInterval, float64(d["interval_mismatch"]), l...)
		counter(ch, kTTL, float64(d["bad_ttl"]), l...)
		counter(ch, kType, float64(d["bad_type"]), l...)
		counter(ch, kAddrList, float64(d["address_list_mismatch"]), l...)
		// Vigil counts an unknown and a different auth type alike, as
		// a mismatch: keepalived's invalid_authtype stays 0.
		counter(ch, kAuthInvalid, 0, l...)
		counter(ch, kAuthMis, float64(d["auth_type_mismatch"]), l...)
		counter(ch, kAuthFail, float64(d["auth_failure"]), l...)
		counter(ch, kPriZeroRcvd, float64(s.PriorityZeroReceived), l...)
		counter(ch, kPriZeroSent, float64(s.PriorityZeroSent), l...)
	}
	for reason, n := range v.Drops {
		counter(ch, dVRRPPacketsDrops, float64(n), reason)
	}
}

func checks(ch chan<- prometheus.Metric, s *checkd.Status) {
	for _, sc := range s.Scripts {
		gauge(ch, dScriptUp, b2f(sc.Up), sc.Name)
		gauge(ch, dScriptRunning, b2f(sc.Running), sc.Name)
		// keepalived_exporter: status BAD 0, GOOD 1; state idle 0,
		// running 1. INIT counts as its trackers count it.
		gauge(ch, kScript, b2f(sc.Up), sc.Name)
		gauge(ch, kScriptState, b2f(sc.Running), sc.Name)
	}
	for _, k := range s.Checkers {
		l := []string{k.ID, k.VirtualServer, k.RealServer.String(), k.Type}
		gauge(ch, dCheckerUp, b2f(k.Up), l...)
		counter(ch, dCheckerProbes, float64(k.Probes), l...)
		counter(ch, dCheckerFails, float64(k.Failures), l...)
		if len(k.LatencyBuckets) != len(s.LatencyBounds) {
			continue
		}
		buckets := make(map[float64]uint64, len(s.LatencyBounds))
		for i, b := range s.LatencyBounds {
			buckets[b] = k.LatencyBuckets[i]
		}
		if m, err := prometheus.NewConstHistogram(dCheckerLat, k.Probes, k.LatencySum, buckets, l...); err == nil {
			ch <- m
		}
	}
}

// serviceLabels names an IPVS service: protocol ("TCP", "UDP", "SCTP",
// "FWM") and address:port (the mark for FWM).
func serviceLabels(k ipvs.ServiceKey) []string {
	if k.FWMark != 0 {
		return []string{"FWM", strconv.FormatUint(uint64(k.FWMark), 10)}
	}
	return []string{k.Protocol, ipvs.DestKey{Addr: k.Addr, Port: k.Port}.String()}
}

func lvs(ch chan<- prometheus.Metric, s *lvsd.Status) {
	gauge(ch, dLVSError, b2f(s.Error != ""))
	counter(ch, dLVSSyncs, float64(s.Syncs))
	counter(ch, dLVSOps, float64(s.Ops))
	for _, svc := range s.Services {
		l := serviceLabels(svc.ServiceKey)
		counter(ch, dSvcConns, float64(svc.Stats.Conns), l...)
		counter(ch, dSvcInPkts, float64(svc.Stats.InPkts), l...)
		counter(ch, dSvcOutPkts, float64(svc.Stats.OutPkts), l...)
		counter(ch, dSvcInBytes, float64(svc.Stats.InBytes), l...)
		counter(ch, dSvcOutBytes, float64(svc.Stats.OutBytes), l...)
		for _, d := range svc.Dests {
			dl := append(append([]string{}, l...), d.DestKey.String())
			counter(ch, dDstConns, float64(d.Stats.Conns), dl...)
			counter(ch, dDstInPkts, float64(d.Stats.InPkts), dl...)
			counter(ch, dDstOutPkts, float64(d.Stats.OutPkts), dl...)
			counter(ch, dDstInBytes, float64(d.Stats.InBytes), dl...)
			counter(ch, dDstOutBytes, float64(d.Stats.OutBytes), dl...)
			gauge(ch, dDstActive, float64(d.ActiveConns), dl...)
			gauge(ch, dDstInactive, float64(d.InactiveConns), dl...)
			gauge(ch, dDstWeight, float64(d.Weight), dl...)
		}
	}
}

func (c *Collector) agent(ch chan<- prometheus.Metric, a *agent.Status) {
	now := c.now()
	for _, m := range a.Members {
		gauge(ch, dGossipMember, b2f(m.State == "alive"), m.Name, string(m.Role))
	}
	for _, in := range a.Instances {
		d := in.Decision
		gauge(ch, dArbHeld, b2f(d.Held), in.Name)
		gauge(ch, dArbLease, b2f(d.LeaseValidUntil.After(now)), in.Name)
		gauge(ch, dArbGrants, float64(d.Grants), in.Name)
		gauge(ch, dArbArbiters, float64(d.Arbiters), in.Name)
		gauge(ch, dArbPeers, float64(len(d.PeersAlive)), in.Name)
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
