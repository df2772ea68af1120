package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-ha/vigil/arbiter/server"
)

// ArbiterCollector turns a `vigil arbiter`'s status into metrics at each
// scrape, like Collector does for a node: the leases it holds for the
// nodes, its vote counters and the gossip members it sees.
type ArbiterCollector struct {
	status func() server.Status
}

// NewArbiterCollector reads status at every scrape.
func NewArbiterCollector(status func() server.Status) *ArbiterCollector {
	return &ArbiterCollector{status: status}
}

var (
	arbUp        = desc("vigil_arbiter_server_up", "1 while the arbiter answers.")
	arbLeaseTTL  = desc("vigil_arbiter_server_lease_ttl_seconds", "Length of the leases this arbiter grants.")
	arbLeases    = desc("vigil_arbiter_server_leases", "Leases held now.")
	arbRemaining = desc("vigil_arbiter_server_lease_remaining_seconds", "Time left on a lease, by instance key and holder.", "key", "holder")
	arbRequests  = desc("vigil_arbiter_server_lease_requests_total", "Lease requests (grants, renewals and refusals).")
	arbGrants    = desc("vigil_arbiter_server_lease_grants_total", "Lease requests granted (renewals included).")
	arbDenials   = desc("vigil_arbiter_server_lease_denials_total", "Lease requests refused: another node held the lease.")
	arbSaveErrs  = desc("vigil_arbiter_server_state_save_errors_total", "Failed writes of the lease state file (the grant was withdrawn).")
	arbMember    = desc("vigil_gossip_member_up", "1 for a gossip member seen alive, 0 otherwise.", "member", "role")
)

// Describe implements prometheus.Collector.
func (c *ArbiterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{arbUp, arbLeaseTTL, arbLeases, arbRemaining, arbRequests, arbGrants, arbDenials, arbSaveErrs, arbMember} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *ArbiterCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	ch <- prometheus.MustNewConstMetric(arbUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(arbLeaseTTL, prometheus.GaugeValue, st.LeaseTTL.Seconds())
	ch <- prometheus.MustNewConstMetric(arbLeases, prometheus.GaugeValue, float64(len(st.Leases)))
	for _, l := range st.Leases {
		ch <- prometheus.MustNewConstMetric(arbRemaining, prometheus.GaugeValue, l.Remaining.Seconds(), l.Key, l.Holder)
	}
	ch <- prometheus.MustNewConstMetric(arbRequests, prometheus.CounterValue, float64(st.Requests))
	ch <- prometheus.MustNewConstMetric(arbGrants, prometheus.CounterValue, float64(st.Grants))
	ch <- prometheus.MustNewConstMetric(arbDenials, prometheus.CounterValue, float64(st.Denials))
	ch <- prometheus.MustNewConstMetric(arbSaveErrs, prometheus.CounterValue, float64(st.SaveErrors))
	for _, m := range st.Members {
		up := 0.0
		if m.State == "alive" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(arbMember, prometheus.GaugeValue, up, m.Name, string(m.Role))
	}
}

// ArbiterHandler serves /metrics for a `vigil arbiter`.
func ArbiterHandler(status func() server.Status) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewArbiterCollector(status), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
