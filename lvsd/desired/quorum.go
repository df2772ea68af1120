package desired

import (
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// step advances the quorum state machine of vs for the servers' current
// liveness, keepalived's update_quorum_state:
//
//   - the live weight is the sum of the alive servers' weights
//     (weigh_live_realservers), not a count;
//   - a block whose quorum is down gains it when the weight reaches
//     quorum + hysteresis;
//   - a block whose quorum is up loses it when the weight is 0 or below
//     quorum - hysteresis;
//   - a block starting (no restored state) begins from set_quorum_states'
//     verdict taken before any server is alive, i.e. down (up only when
//     quorum + hysteresis is 0), then takes the step above with init set:
//     "Starting with quorum up" when the initial servers reach it, and
//     "Starting with quorum down" only when a sorry server is configured
//     (the sorry server is then put in; without one, nothing is reported).
func (e *Engine) step(vs *config.VirtualServer, servers []server) (Event, bool) {
	id := vs.ID()
	sum := liveWeight(servers)
	q, h := int64(vs.Quorum), int64(vs.Hysteresis)
	st, started := e.quorum[id]
	init := !started
	if init {
		st.Up = 0 >= q+h
	}
	threshold := q + h
	if st.Up {
		threshold = q - h
	}
	ev := Event{VirtualServer: id, Init: init, Quorum: vs.Quorum, Hysteresis: vs.Hysteresis, Threshold: threshold, WeightSum: sum}
	fired := false
	switch {
	case !st.Up && sum >= threshold:
		st.Up = true
		ev.Kind, ev.Script, fired = QuorumUp, vs.QuorumUp, true
	case st.Up && (sum == 0 || sum < threshold), init && !st.Up && vs.SorryServer != nil:
		st.Up = false
		ev.Kind, ev.Script, fired = QuorumDown, vs.QuorumDown, true
	}
	e.quorum[id] = st
	return ev, fired
}

// dests lists the destinations of the service at k, in configuration
// order, given the servers' state and the block's quorum:
//
//   - quorum up, or no sorry server: an alive server is present with its
//     weight; a failed one is absent, or present at weight 0 with
//     inhibit_on_failure (ipvs_cmd turns the delete of an inhibited
//     server into an edit to weight 0);
//   - quorum down with a sorry server: every real server is out, as
//     perform_quorum_state removes them (inhibited ones at weight 0), and
//     the sorry server is in at weight 1 (its iweight). Real servers that
//     come and go meanwhile stay out (perform_svr_state changes IPVS only
//     with quorum or without an active sorry server) but still count
//     toward the quorum;
//   - quorum up with sorry_server_inhibit: the sorry server stays at
//     weight 0 (init_service_vs adds it so), else it is absent. A sorry
//     server that is also a real server leaves the real server alone.
//
// A server of the other address family is only listed when tunnelled.
func dests(vs *config.VirtualServer, k ipvs.ServiceKey, servers []server, up bool) []ipvs.Destination {
	sorryIn := !up && vs.SorryServer != nil
	out := make([]ipvs.Destination, 0, len(servers)+1)
	index := map[ipvs.DestKey]int{}
	for _, s := range servers {
		rs := s.rs
		if !fits(rs.Address, rs.Method, k) {
			continue
		}
		d := ipvs.Destination{
			DestKey:    ipvs.DestKey{Addr: rs.Address.Unmap(), Port: destPort(rs.Method, rs.Port, k)},
			Weight:     s.weight,
			Method:     rs.Method,
			UThreshold: rs.UThreshold,
			LThreshold: rs.LThreshold,
		}
		if sorryIn || !s.alive {
			if !rs.InhibitOnFailure {
				continue
			}
			d.Weight = 0
		}
		if _, dup := index[d.DestKey]; dup {
			continue
		}
		index[d.DestKey] = len(out)
		out = append(out, d)
	}
	ss := vs.SorryServer
	if ss == nil {
		return out
	}
	method := ss.Method
	if method == "" {
		method = vs.Method
	}
	if method == "" {
		method = "NAT"
	}
	if !fits(ss.Address, method, k) {
		return out
	}
	d := ipvs.Destination{DestKey: ipvs.DestKey{Addr: ss.Address.Unmap(), Port: destPort(method, ss.Port, k)}, Method: method}
	i, dup := index[d.DestKey]
	switch {
	case sorryIn:
		d.Weight = 1
		if dup {
			out[i] = d
		} else {
			out = append(out, d)
		}
	case ss.Inhibit && !dup:
		out = append(out, d)
	}
	return out
}
