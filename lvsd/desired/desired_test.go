package desired

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/plan"
)

func load(t *testing.T, name string) *config.Config {
	t.Helper()
	cfg, ds := config.Load(filepath.Join("testdata", name), config.Options{})
	if ds.HasErrors() {
		t.Fatalf("%s: %v", name, ds)
	}
	return cfg
}

// verdicts builds checkd verdicts: "vsID|addr:port" -> alive, weight.
func verdicts(vs []verdict) map[string]ipc.Backend {
	m := map[string]ipc.Backend{}
	for _, v := range vs {
		b := ipc.Backend{VirtualServer: v.vs, Server: netip.MustParseAddrPort(v.rs), Alive: v.alive, Weight: v.weight, Decided: true}
		m[b.Key()] = b
	}
	return m
}

type verdict struct {
	vs, rs string
	alive  bool
	weight int
}

func destStrings(ds []ipvs.Destination) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s w%d %s", d.DestKey, d.Weight, d.Method)
		if d.UThreshold != 0 || d.LThreshold != 0 {
			out[i] += fmt.Sprintf(" u%d l%d", d.UThreshold, d.LThreshold)
		}
	}
	return out
}

func find(t *testing.T, ds []plan.Desired, key string) *plan.Desired {
	t.Helper()
	for i := range ds {
		if ds[i].Service.ServiceKey.String() == key {
			return &ds[i]
		}
	}
	return nil
}

func eventStrings(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%s %s init=%v", e.Kind, e.VirtualServer, e.Init)
	}
	return out
}

// TestServiceSettings: ipvs_set_srule — scheduler, one-packet and
// scheduler flags (lbflags_handler: sh-fallback = SCHED1, sh-port =
// SCHED2), netmask all ones / 128 by default, and persistence (flag,
// timeout, persistence_granularity) only on persistent services.
func TestServiceSettings(t *testing.T) {
	cfg := load(t, "basic.conf")
	ds, _ := New(cfg, nil).Desired(Inputs{})
	tests := []struct {
		key  string
		want ipvs.Service
	}{
		{"TCP  198.18.0.1:80", ipvs.Service{Sched: "rr", Flags: ipvs.FlagPersistent, Timeout: 300, Netmask: 0xffffff00}},
		{"FWM  7", ipvs.Service{Sched: "sh", Flags: ipvs.FlagSched1 | ipvs.FlagSched2, Netmask: 0xffffffff}},
		{"UDP  [2001:db8::1]:53", ipvs.Service{Sched: "wrr", Flags: ipvs.FlagOnePacket | ipvs.FlagPersistent, Timeout: 60, Netmask: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			d := find(t, ds, tt.key)
			if d == nil {
				t.Fatalf("no service %s in %v", tt.key, ds)
			}
			got := d.Service
			got.ServiceKey = ipvs.ServiceKey{}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if len(ds) != 3 {
		t.Errorf("%d services, want 3", len(ds))
	}
}

// TestRealServerRules: a server is in while alive with the verdict's
// weight (clamped like real_weight); a failed one is out, or at weight 0
// with inhibit_on_failure (ipvs_cmd: DELDEST with inhibit is an EDITDEST
// to weight 0); before any verdict it is alive unless a checker is alpha
// (init_service_rs); DR keeps the service's port (ipvs_cmd).
func TestRealServerRules(t *testing.T) {
	const vs = "198.18.0.1:80 TCP"
	tests := []struct {
		name string
		in   []verdict
		want []string
	}{
		{"no verdicts yet: alpha server out", nil, []string{
			"198.18.1.1:80 w2 NAT",
			"198.18.1.2:8080 w3 NAT u100 l10",
		}},
		{"failed servers: removed, or inhibited at weight 0; alpha server up with its verdict's weight", []verdict{
			{vs, "198.18.1.1:80", false, 2},
			{vs, "198.18.1.2:8080", false, 3},
			{vs, "198.18.1.3:80", true, 7},
		}, []string{
			"198.18.1.2:8080 w0 NAT u100 l10",
			"198.18.1.3:80 w7 DR",
		}},
		{"dynamic weights clamp at 0", []verdict{
			{vs, "198.18.1.1:80", true, -5},
			{vs, "198.18.1.2:8080", true, 30},
			{vs, "198.18.1.3:80", false, 1},
		}, []string{
			"198.18.1.1:80 w0 NAT",
			"198.18.1.2:8080 w30 NAT u100 l10",
		}},
	}
	cfg := load(t, "basic.conf")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, _ := New(cfg, nil).Desired(Inputs{Verdicts: verdicts(tt.in)})
			got := destStrings(find(t, ds, "TCP  198.18.0.1:80").Dests)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	ds, _ := New(cfg, nil).Desired(Inputs{})
	if got := destStrings(find(t, ds, "FWM  7").Dests); !slices.Equal(got, []string{"198.18.2.1:0 w1 DR"}) {
		t.Errorf("fwmark DR destinations have no port: %q", got)
	}
}

// TestQuorum walks one Engine through keepalived's update_quorum_state
// and perform_quorum_state. Block A: quorum 3, hysteresis 1, two servers
// of weight 2 (one inhibited), a sorry server. Block B: quorum 2 with
// sorry_server_inhibit. Block C: alpha, quorum 2, no sorry server.
func TestQuorum(t *testing.T) {
	const a, b, c = "198.18.0.2:443 TCP", "198.18.0.3:443 TCP", "198.18.0.4:80 TCP"
	type want struct {
		events []string
		a, b   []string // destinations of A and B
		c      []string
	}
	steps := []struct {
		name string
		in   []verdict
		want want
	}{
		{"cold start: weight 4 reaches quorum+hysteresis 4 (Starting with quorum up); C alpha, no sorry: silent", nil, want{
			events: []string{"quorum-up " + a + " init=true", "quorum-up " + b + " init=true"},
			a:      []string{"198.18.1.1:443 w2 NAT", "198.18.1.2:443 w2 NAT"},
			b:      []string{"198.18.1.1:443 w1 DR", "198.18.1.2:443 w1 DR", "198.18.9.9:443 w0 DR"},
			c:      []string{},
		}},
		{"weight 2 is not below quorum-hysteresis 2: still up", []verdict{{a, "198.18.1.1:443", false, 2}}, want{
			a: []string{"198.18.1.2:443 w2 NAT"},
			b: []string{"198.18.1.1:443 w1 DR", "198.18.1.2:443 w1 DR", "198.18.9.9:443 w0 DR"},
			c: []string{},
		}},
		{"weight 0: lost; real servers out (inhibited at 0), sorry server in", []verdict{
			{a, "198.18.1.1:443", false, 2}, {a, "198.18.1.2:443", false, 2},
			{b, "198.18.1.1:443", false, 1},
			{c, "198.18.1.1:80", true, 1},
		}, want{
			events: []string{"quorum-down " + a + " init=false", "quorum-down " + b + " init=false"},
			a:      []string{"198.18.1.2:443 w0 NAT", "198.18.9.9:8443 w1 NAT"},
			b:      []string{"198.18.9.9:443 w1 DR"},
			c:      []string{"198.18.1.1:80 w1 NAT"},
		}},
		{"weight 2 is below quorum+hysteresis 4: still down, a recovered server stays out", []verdict{
			{a, "198.18.1.1:443", true, 2}, {a, "198.18.1.2:443", false, 2},
			{b, "198.18.1.1:443", true, 1},
			{c, "198.18.1.1:80", true, 1}, {c, "198.18.1.2:80", true, 1},
		}, want{
			events: []string{"quorum-up " + b + " init=false", "quorum-up " + c + " init=false"},
			a:      []string{"198.18.1.2:443 w0 NAT", "198.18.9.9:8443 w1 NAT"},
			b:      []string{"198.18.1.1:443 w1 DR", "198.18.1.2:443 w1 DR", "198.18.9.9:443 w0 DR"},
			c:      []string{"198.18.1.1:80 w1 NAT", "198.18.1.2:80 w1 NAT"},
		}},
		{"weight 4: gained; sorry server out, real servers back", []verdict{
			{a, "198.18.1.1:443", true, 2}, {a, "198.18.1.2:443", true, 2},
			{c, "198.18.1.1:80", true, 1}, {c, "198.18.1.2:80", true, 1},
		}, want{
			events: []string{"quorum-up " + a + " init=false"},
			a:      []string{"198.18.1.1:443 w2 NAT", "198.18.1.2:443 w2 NAT"},
			b:      []string{"198.18.1.1:443 w1 DR", "198.18.1.2:443 w1 DR", "198.18.9.9:443 w0 DR"},
			c:      []string{"198.18.1.1:80 w1 NAT", "198.18.1.2:80 w1 NAT"},
		}},
	}
	e := New(load(t, "quorum.conf"), nil)
	for i, st := range steps {
		ds, evs := e.Desired(Inputs{Verdicts: verdicts(st.in)})
		if got := eventStrings(evs); !slices.Equal(got, st.want.events) && (len(got) != 0 || len(st.want.events) != 0) {
			t.Errorf("step %d (%s): events %q, want %q", i, st.name, got, st.want.events)
		}
		for key, want := range map[string][]string{"TCP  198.18.0.2:443": st.want.a, "TCP  198.18.0.3:443": st.want.b, "TCP  198.18.0.4:80": st.want.c} {
			if got := destStrings(find(t, ds, key).Dests); !slices.Equal(got, want) {
				t.Errorf("step %d (%s): %s: %q, want %q", i, st.name, key, got, want)
			}
		}
	}
}

// TestStartingWithQuorumDown: a block that starts below quorum reports
// "Starting with quorum down" only when it has a sorry server
// (update_quorum_state's init branch), and puts the sorry server in.
func TestStartingWithQuorumDown(t *testing.T) {
	const a = "198.18.0.2:443 TCP"
	down := []verdict{{a, "198.18.1.1:443", false, 2}, {a, "198.18.1.2:443", false, 2}}
	ds, evs := New(load(t, "quorum.conf"), nil).Desired(Inputs{Verdicts: verdicts(down)})
	var got []string
	for _, e := range evs {
		if e.VirtualServer == a {
			got = append(got, fmt.Sprintf("%s %v %s", e.Kind, e.Init, e.Script.Command))
		}
	}
	if !slices.Equal(got, []string{"quorum-down true /usr/local/bin/qdown"}) {
		t.Errorf("events %q", got)
	}
	if d := destStrings(find(t, ds, "TCP  198.18.0.2:443").Dests); !slices.Equal(d, []string{"198.18.1.2:443 w0 NAT", "198.18.9.9:8443 w1 NAT"}) {
		t.Errorf("dests %q", d)
	}
}

// TestRestoreDoesNotRefire: a restarted lvsd resumes the quorum states
// (JSON round trip, as in a snapshot) and reports no transition for
// unchanged inputs, keeping the sorry server where it was.
func TestRestoreDoesNotRefire(t *testing.T) {
	cfg := load(t, "quorum.conf")
	const a = "198.18.0.2:443 TCP"
	down := Inputs{Verdicts: verdicts([]verdict{{a, "198.18.1.1:443", false, 2}, {a, "198.18.1.2:443", false, 2}})}
	e := New(cfg, nil)
	want, evs := e.Desired(down)
	if len(evs) == 0 {
		t.Fatal("cold start reported nothing")
	}
	raw, err := json.Marshal(e.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	e2 := New(cfg, &st)
	got, evs := e2.Desired(down)
	if len(evs) != 0 {
		t.Errorf("restored engine fired %q", eventStrings(evs))
	}
	if len(plan.Diff(want, stateOf(got), nil)) != 0 {
		t.Errorf("restored engine wants other tables")
	}
	// A partially alive block that was down stays down after restore (a
	// cold start with the same inputs would start it up).
	partial := Inputs{Verdicts: verdicts([]verdict{{a, "198.18.1.1:443", true, 2}, {a, "198.18.1.2:443", true, 1}})}
	if _, evs := e2.Desired(partial); len(evs) != 0 {
		t.Errorf("weight 3 < 4 must not regain the quorum: %q", eventStrings(evs))
	}
}

func stateOf(ds []plan.Desired) []ipvs.ServiceState {
	var out []ipvs.ServiceState
	for _, d := range ds {
		s := ipvs.ServiceState{Service: d.Service}
		for _, x := range d.Dests {
			s.Dests = append(s.Dests, ipvs.DestState{Destination: x})
		}
		out = append(out, s)
	}
	return out
}

// TestStopOmega: at shutdown only omega blocks report quorum_down
// (do_vs_notifies: "Only send non SNMP notifies when stopping if omega
// set"), whatever their state.
func TestStopOmega(t *testing.T) {
	e := New(load(t, "quorum.conf"), nil)
	e.Desired(Inputs{})
	evs := e.Stop()
	if len(evs) != 1 || evs[0].VirtualServer != "198.18.0.2:443 TCP" || evs[0].Kind != QuorumDown || !evs[0].Stopping || evs[0].Script == nil {
		t.Fatalf("Stop: %+v", evs)
	}
	if e.State().Quorum["198.18.0.2:443 TCP"].Up {
		t.Error("state after Stop should be down")
	}
}

// TestGroupAndHASuspend: a group is one service per address of each
// range and per fwmark, sharing the real servers (DR: the entry's port;
// fwmark: none); an ha_suspend service exists only while its address is
// held, and stays owned so that it is removed.
func TestGroupAndHASuspend(t *testing.T) {
	cfg := load(t, "group.conf")
	e := New(cfg, nil)
	held := map[netip.Addr]bool{}
	ds, _ := e.Desired(Inputs{Held: func(a netip.Addr) bool { return held[a] }})
	var got []string
	for _, d := range ds {
		got = append(got, d.Service.ServiceKey.String()+" "+fmt.Sprint(destStrings(d.Dests)))
	}
	want := []string{
		"TCP  198.18.0.10:80 [198.18.1.1:80 w4 DR]",
		"TCP  198.18.0.11:80 [198.18.1.1:80 w4 DR]",
		"TCP  198.18.0.12:80 [198.18.1.1:80 w4 DR]",
		"TCP  198.18.0.20:8080 [198.18.1.1:8080 w4 DR]",
		"FWM  9 [198.18.1.1:0 w4 DR]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("group services:\n got %q\nwant %q", got, want)
	}
	suspendedKey := ipvs.ServiceKey{Protocol: "TCP", Addr: netip.MustParseAddr("198.18.0.50"), Port: 25}
	if !e.Owns(suspendedKey) || e.Owns(ipvs.ServiceKey{FWMark: 10}) {
		t.Error("Owns: every declared service, suspended or not, and nothing else")
	}
	held[suspendedKey.Addr] = true
	ds, _ = e.Desired(Inputs{Held: func(a netip.Addr) bool { return held[a] }})
	if find(t, ds, suspendedKey.String()) == nil {
		t.Error("ha_suspend service missing while its address is held")
	}
}

// TestConvergesOnTheFake: the planner applies the engine's tables to the
// fake kernel; a second pass has nothing to do.
func TestConvergesOnTheFake(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"basic.conf", "quorum.conf", "group.conf"} {
		e := New(load(t, name), nil)
		ds, _ := e.Desired(Inputs{})
		f := ipvs.NewFake()
		if _, err := plan.Reconcile(ctx, f, ds, e.Owns); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		actual, _ := f.Read(ctx)
		if ops := plan.Diff(ds, actual, e.Owns); ops != nil {
			t.Errorf("%s: not converged: %v", name, ops)
		}
	}
}

func TestEventMessage(t *testing.T) {
	e := Event{Kind: QuorumUp, VirtualServer: "v", Quorum: 3, Hysteresis: 1, Threshold: 4, WeightSum: 4, Init: true}
	if got := e.Message(); got != "Starting with quorum up 3+1=4 <= 4 for VS v" {
		t.Errorf("%q", got)
	}
	e = Event{Kind: QuorumDown, VirtualServer: "v", Quorum: 3, Hysteresis: 1, Threshold: 2, WeightSum: 0}
	if got := e.Message(); got != "Lost quorum 3-1=2 > 0 for VS v" {
		t.Errorf("%q", got)
	}
}
