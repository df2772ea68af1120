// Package core is Vigil's parent process: it reads the configuration once,
// starts each subsystem as a child (the same binary re-executed, talking
// only to the parent over an inherited socketpair), keeps each child's last
// snapshot, routes messages between them, and serves the control socket.
//
// It is small on purpose and must never crash, never block on a child and
// never remove a VIP because a child died: when vrrpd is away the parent
// keeps announcing its last adverts (vrrpd/handover), and only a child
// given up on for good has its addresses released, so its peer takes over.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/metrics"
	"github.com/vigil-ha/vigil/vrrpd/handover"
)

// Options configures the supervisor.
type Options struct {
	ConfigPath string
	ConfigID   string
	// RunDir holds the pid file, the control socket and the snapshots, so
	// several nodes can run on one machine (tests, the demo).
	RunDir string
	// Binary is the executable children run (default: this one).
	Binary    string
	LogFormat string
	Debug     bool
	Logger    *zap.Logger
	// MetricsListen, when set, is the address of a Prometheus endpoint
	// (/metrics) fed from Status on each scrape (package metrics).
	MetricsListen string
}

// Supervisor is the running parent.
type Supervisor struct {
	opts Options
	log  *zap.Logger

	mu       sync.Mutex
	cfg      *config.Config
	children map[string]*child
	vrrpSnap *handover.Snapshot         // vrrpd's last snapshot
	snaps    map[string]json.RawMessage // other children's last snapshots (opaque)
	tracks   map[string]ipc.Track       // latest track results from checkd, by kind/name
	backends map[string]ipc.Backend     // latest real-server states from checkd, by Backend.Key
	verdicts map[string]ipc.Verdict     // latest arbiter verdicts, by instance
	insts    map[string]json.RawMessage // latest instance states from vrrpd, by name
	standIn  handover.StandIn
	started  time.Time
	stopping bool
	// reloadReq asks the run loop to reload (SIGHUP, vigil reload).
	reloadReq chan chan error
	stopReq   chan struct{} // vigil stop
	stopOnce  sync.Once
	sd        *sdNotifier // systemd notify protocol (sdnotify.go)
}

// requestStop asks the run loop for a graceful stop (vigil stop).
func (s *Supervisor) requestStop() { s.stopOnce.Do(func() { close(s.stopReq) }) }

// Paths inside the run directory.
func (o Options) pidFile() string    { return filepath.Join(o.RunDir, "vigil.pid") }
func (o Options) socketPath() string { return filepath.Join(o.RunDir, "vigil.sock") }
func (o Options) vrrpState() string  { return filepath.Join(o.RunDir, "vrrpd.state") }

// SocketPath is where the control socket of a run directory lives, for the
// CLI's client commands.
func SocketPath(runDir string) string { return Options{RunDir: runDir}.socketPath() }

// LoadConfig reads and validates the configuration the way check-config
// does; the error lists every problem with file:line:col.
func LoadConfig(path, id string) (*config.Config, config.Diagnostics, error) {
	cfg, diags := config.Load(path, config.Options{ConfigID: id, InterfaceExists: func(name string) bool {
		_, err := net.InterfaceByName(name)
		return err == nil
	}})
	if diags.HasErrors() {
		return nil, diags, fmt.Errorf("core: %s: configuration unusable:\n%s", path, diags.Errors().Error())
	}
	return cfg, diags, nil
}

// New reads and validates the configuration (the same messages as
// check-config) and prepares the supervisor; it refuses an invalid one.
func New(opts Options) (*Supervisor, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("core: own executable: %w", err)
		}
		opts.Binary = exe
	}
	cfg, diags, err := LoadConfig(opts.ConfigPath, opts.ConfigID)
	for _, d := range diags.Warnings() {
		opts.Logger.Warn("configuration warning", zap.String("at", d.Pos.String()), zap.String("warning", d.Msg))
	}
	if err != nil {
		return nil, err
	}
	return &Supervisor{opts: opts, log: opts.Logger, cfg: cfg, children: map[string]*child{}, tracks: map[string]ipc.Track{}, backends: map[string]ipc.Backend{}, verdicts: map[string]ipc.Verdict{}, insts: map[string]json.RawMessage{}, snaps: map[string]json.RawMessage{},
		started: time.Now(), reloadReq: make(chan chan error), stopReq: make(chan struct{})}, nil
}

// Run starts the children and serves until ctx is cancelled or `vigil
// stop`, then stops every child gracefully.
func (s *Supervisor) Run(ctx context.Context) error {
	opts, cfg := s.opts, s.cfg
	if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
		return fmt.Errorf("core: run directory: %w", err)
	}
	if err := s.writePidFile(); err != nil {
		return err
	}
	defer os.Remove(opts.pidFile())

	// A snapshot left in the run directory (vigil upgrade re-executed us,
	// or the previous parent died) lets vrrpd resume instead of starting
	// cold; until it does, we stand in for its masters.
	if snap := s.loadVRRPState(); snap != nil {
		s.vrrpSnap = snap
		s.standIn.Start(snap, standInLimit)
		s.log.Info("resuming from the run directory's snapshot", zap.Int("instances", len(snap.Instances)),
			zap.Int("masters", len(snap.Masters())))
	}

	ln, err := ipc.ListenControl(opts.socketPath())
	if err != nil {
		return fmt.Errorf("core: control socket: %w", err)
	}
	defer ln.Close()
	go s.serveControl(ln)
	if opts.MetricsListen != "" {
		ms, err := metrics.Listen(opts.MetricsListen, func(ctx context.Context) (any, error) { return s.status(ctx), nil }, s.log)
		if err != nil {
			return fmt.Errorf("core: metrics endpoint: %w", err)
		}
		defer ms.Close()
	}

	s.log.Info("Starting Vigil", zap.String("config", opts.ConfigPath), zap.String("run_dir", opts.RunDir),
		zap.Int("vrrp_instances", len(cfg.Instances)), zap.Int("virtual_servers", len(cfg.VirtualServers)))
	for _, name := range s.wanted(cfg) {
		s.startChild(name)
	}
	s.sd = newSDNotifier(s)
	sdCtx, sdStop := context.WithCancel(context.Background())
	defer sdStop()
	go s.sd.run(sdCtx)
	go s.keepStateFresh(sdCtx)
	for {
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case <-s.stopReq:
			s.shutdown()
			return nil
		case reply := <-s.reloadReq:
			s.sd.reloading()
			err := s.reload()
			s.sd.reloaded(err)
			reply <- err
		case s.sd.loop <- struct{}{}: // the watchdog's proof of life
		}
	}
}

// wanted lists the children a configuration needs, in start order.
func (s *Supervisor) wanted(cfg *config.Config) []string {
	var out []string
	if tracksSomething(cfg) || checksSomething(cfg) {
		// Health checks first: vrrpd then starts with known track states.
		out = append(out, "checkd")
	}
	if len(cfg.Instances) > 0 {
		out = append(out, "vrrpd")
	}
	if len(cfg.VirtualServers) > 0 {
		out = append(out, "lvsd")
	}
	if cfg.Arbiter != nil && len(cfg.Instances) > 0 {
		out = append(out, "agent")
	}
	return out
}

// tracksSomething reports whether an instance or sync group tracks a
// script or a file: then checkd runs them and vrrpd hears the results.
func tracksSomething(cfg *config.Config) bool {
	for _, in := range cfg.Instances {
		if len(in.TrackScripts) > 0 || len(in.TrackFiles) > 0 {
			return true
		}
	}
	for _, g := range cfg.SyncGroups {
		if len(g.TrackScripts) > 0 || len(g.TrackFiles) > 0 {
			return true
		}
	}
	return false
}

// checksSomething reports whether a real server has a health checker.
func checksSomething(cfg *config.Config) bool {
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			if len(rs.Checkers) > 0 {
				return true
			}
		}
	}
	return false
}

func (s *Supervisor) startChild(name string) {
	s.mu.Lock()
	c := newChild(s, name)
	s.children[name] = c
	s.mu.Unlock()
	go c.run()
}

// shutdown stops the children in keepalived's order: health checks first,
// then VRRP (which hands over make-before-break), then the rest.
func (s *Supervisor) shutdown() {
	s.mu.Lock()
	s.stopping = true
	order := []string{"checkd", "vrrpd", "lvsd", "agent"}
	var children []*child
	for _, n := range order {
		if c := s.children[n]; c != nil {
			children = append(children, c)
		}
	}
	s.mu.Unlock()
	s.log.Info("Stopping")
	s.sd.stoppingNow()
	for _, c := range children {
		running := c.status().State == string(stateRunning)
		c.stop()
		if c.name == "vrrpd" && !running {
			// vrrpd was down (backoff, given up): nobody else releases
			// what it held.
			s.releaseVRRP("stopping while vrrpd is down")
		}
	}
	s.standIn.Stop()
	s.log.Info("Stopped Vigil")
}

// Reload re-reads the configuration; an invalid one is refused and the
// running one kept. Safe to call from any goroutine.
func (s *Supervisor) Reload() error {
	reply := make(chan error, 1)
	s.reloadReq <- reply
	return <-reply
}

func (s *Supervisor) reload() error {
	cfg, _, err := LoadConfig(s.opts.ConfigPath, s.opts.ConfigID)
	if err != nil {
		s.log.Error("reload refused; keeping the running configuration", zap.Error(err))
		return err
	}
	s.mu.Lock()
	s.cfg = cfg
	pruneBackends(s.backends, cfg)
	children := make([]*child, 0, len(s.children))
	for _, c := range s.children {
		children = append(children, c)
	}
	s.mu.Unlock()
	s.log.Info("Reloading", zap.String("config", s.opts.ConfigPath))
	// A subsystem the new configuration no longer needs stops gracefully
	// (lvsd releases its services, vrrpd its VIPs). Without the arbiter
	// agent its holds go too, before vrrpd restarts and asks for them.
	want := map[string]bool{}
	for _, name := range s.wanted(cfg) {
		want[name] = true
	}
	for _, c := range children {
		if want[c.name] {
			continue
		}
		s.log.Info("stopping a subsystem the configuration no longer needs", zap.String("child", c.name))
		c.stop()
		s.mu.Lock()
		delete(s.children, c.name)
		s.mu.Unlock()
		if c.name == "agent" {
			s.releaseHolds("the arbiter block was removed")
		}
	}
	// Each remaining child restarts on the hitless path with the new
	// configuration: unchanged instances resume as they were, changed
	// ones apply the difference, new ones start as BACKUP, removed ones
	// are released.
	for _, c := range children {
		if want[c.name] {
			c.restart("reload")
		}
	}
	for _, name := range s.wanted(cfg) {
		s.mu.Lock()
		_, have := s.children[name]
		s.mu.Unlock()
		if !have {
			s.startChild(name)
		}
	}
	return nil
}

// releaseVRRP gives up every VIP of vrrpd's last snapshot: used when
// vrrpd cannot do it itself, so the peer takes over.
func (s *Supervisor) releaseVRRP(why string) {
	s.standIn.Stop()
	snap := s.vrrpRestore()
	if snap == nil || len(snap.Masters()) == 0 {
		return
	}
	if err := handover.Release(snap); err != nil {
		s.log.Error("releasing VIPs failed", zap.String("why", why), zap.Error(err))
		return
	}
	s.log.Warn("released every VIP this node held; the peer takes over", zap.String("why", why),
		zap.Int("masters", len(snap.Masters())))
	released := *snap
	released.Instances = nil
	for _, in := range snap.Instances {
		in.State = "RELEASED"
		released.Instances = append(released.Instances, in)
	}
	s.mu.Lock()
	s.vrrpSnap = &released
	s.mu.Unlock()
}

// config returns the current configuration (children ask for it).
func (s *Supervisor) config() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// setVRRPSnapshot keeps vrrpd's latest snapshot, in memory and in the run
// directory (tmpfs), so even a re-executed parent can resume.
func (s *Supervisor) setVRRPSnapshot(body json.RawMessage) {
	var snap handover.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		s.log.Warn("bad snapshot from vrrpd", zap.Error(err))
		return
	}
	s.mu.Lock()
	s.vrrpSnap = &snap
	s.mu.Unlock()
	s.writeVRRPState(&snap)
}

// writeVRRPState keeps the run directory's copy of vrrpd's snapshot.
func (s *Supervisor) writeVRRPState(snap *handover.Snapshot) {
	body, err := json.Marshal(snap)
	if err != nil {
		return
	}
	tmp := s.opts.vrrpState() + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err == nil {
		_ = os.Rename(tmp, s.opts.vrrpState())
	}
}

// vrrpRestore is what a starting vrrpd resumes from.
func (s *Supervisor) vrrpRestore() *handover.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vrrpSnap
}

// loadVRRPState reads the run directory's snapshot if it is fresh enough
// that the peers have not taken over meanwhile.
func (s *Supervisor) loadVRRPState() *handover.Snapshot {
	data, err := os.ReadFile(s.opts.vrrpState())
	if err != nil {
		return nil
	}
	var snap handover.Snapshot
	if json.Unmarshal(data, &snap) != nil {
		return nil
	}
	// The file's age is how long ago the last parent was alive: it
	// touches the file while it runs (keepStateFresh), and vigil upgrade
	// rewrites it just before the exec.
	fi, err := os.Stat(s.opts.vrrpState())
	if err != nil {
		return nil
	}
	limit := resumeWindow(&snap)
	if age := time.Since(fi.ModTime()); age < 0 || age > limit {
		s.log.Info("snapshot in the run directory too old; cold start", zap.Duration("age", age), zap.Duration("limit", limit))
		return nil
	}
	return &snap
}

// resumeWindow is how long after the last parent's death its masters may
// still be resumed: less than the shortest master-down interval (three
// adverts) of an instance that was MASTER. Later a backup may have taken
// over, and a master resuming silently (no notify_master) would take the
// VIP back from it while the scripts still believe it is elsewhere.
func resumeWindow(snap *handover.Snapshot) time.Duration {
	limit := stateFresh
	for _, in := range snap.Instances {
		if in.State == "MASTER" && in.Interval > 0 && 3*in.Interval < limit {
			limit = 3 * in.Interval
		}
	}
	return limit
}

// keepStateFresh touches the run directory's snapshot while the parent
// runs, so a successor can tell how long ago the parent died (the file's
// content changes only when vrrpd's state does).
func (s *Supervisor) keepStateFresh(ctx context.Context) {
	t := time.NewTicker(stateTouch)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			_ = os.Chtimes(s.opts.vrrpState(), now, now)
		}
	}
}

// writePidFile refuses to start when another live Vigil owns the run
// directory.
func (s *Supervisor) writePidFile() error {
	p := s.opts.pidFile()
	if data, err := os.ReadFile(p); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid != os.Getpid() {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("core: another vigil (pid %d) runs with run directory %s", pid, s.opts.RunDir)
			}
		}
	}
	if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("core: pid file: %w", err)
	}
	return nil
}

// errNotRunning reports a command for a child that does not exist.
var errNotRunning = errors.New("no such subsystem in this configuration")

// TrackPlan is what vrrpd asks at start (TypeTrack request): the latest
// results of the scripts and files checkd runs for it.
type TrackPlan struct {
	Tracks []ipc.Track `json:"tracks,omitempty"`
}

// trackPlan answers vrrpd's start-up request.
func (s *Supervisor) trackPlan() TrackPlan {
	var p TrackPlan
	s.mu.Lock()
	for _, t := range s.tracks {
		p.Tracks = append(p.Tracks, t)
	}
	s.mu.Unlock()
	return p
}

// routeTrack keeps a track result and passes it to vrrpd.
func (s *Supervisor) routeTrack(body json.RawMessage) {
	var t ipc.Track
	if err := json.Unmarshal(body, &t); err != nil {
		s.log.Warn("bad track result", zap.Error(err))
		return
	}
	s.mu.Lock()
	s.tracks[t.Kind+"/"+t.Name] = t
	vrrp := s.children["vrrpd"]
	s.mu.Unlock()
	if vrrp == nil {
		return
	}
	vrrp.mu.Lock()
	conn := vrrp.conn
	vrrp.mu.Unlock()
	if conn != nil {
		// A vrrpd starting right now gets it in its start-up request.
		_ = conn.Notify(ipc.TypeTrack, t)
	}
}

// routeInstance keeps vrrpd's latest state of an instance and passes it
// to the arbiter agent.
func (s *Supervisor) routeInstance(body json.RawMessage) {
	var st struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Name == "" {
		s.log.Warn("bad instance state from vrrpd", zap.Error(err))
		return
	}
	s.mu.Lock()
	s.insts[st.Name] = append(json.RawMessage(nil), body...)
	agent := s.children["agent"]
	s.mu.Unlock()
	if conn := agent.connection(); conn != nil {
		_ = conn.Notify(ipc.TypeInstance, body)
	}
}

// instanceList answers the agent's start-up request: every instance's
// latest state.
func (s *Supervisor) instanceList() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]json.RawMessage, 0, len(s.insts))
	for _, b := range s.insts {
		out = append(out, b)
	}
	return out
}

// routeVerdict keeps the agent's latest verdict on an instance and passes
// it to vrrpd.
func (s *Supervisor) routeVerdict(body json.RawMessage) {
	var v ipc.Verdict
	if err := json.Unmarshal(body, &v); err != nil || v.Instance == "" {
		s.log.Warn("bad verdict from the agent", zap.Error(err))
		return
	}
	s.mu.Lock()
	s.verdicts[v.Instance] = v
	vrrp := s.children["vrrpd"]
	s.mu.Unlock()
	if conn := vrrp.connection(); conn != nil {
		_ = conn.Notify(ipc.TypeVerdict, v)
	}
}

// releaseHolds forgets every verdict and tells vrrpd to let its held
// instances go (the agent that held them is gone for good).
func (s *Supervisor) releaseHolds(why string) {
	s.mu.Lock()
	var release []ipc.Verdict
	for name, v := range s.verdicts {
		if v.Hold {
			release = append(release, ipc.Verdict{Instance: name, Reason: why})
		}
	}
	clear(s.verdicts)
	vrrp := s.children["vrrpd"]
	s.mu.Unlock()
	if conn := vrrp.connection(); conn != nil {
		for _, v := range release {
			_ = conn.Notify(ipc.TypeVerdict, v)
		}
	}
}

// verdictList answers vrrpd's start-up request: the holds in force.
func (s *Supervisor) verdictList() []ipc.Verdict {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ipc.Verdict, 0, len(s.verdicts))
	for _, v := range s.verdicts {
		v.GARP = false // a one-off, not a standing order
		out = append(out, v)
	}
	return out
}

// routeBackend keeps a real server's state and passes it to lvsd.
func (s *Supervisor) routeBackend(body json.RawMessage) {
	var b ipc.Backend
	if err := json.Unmarshal(body, &b); err != nil {
		s.log.Warn("bad real server state", zap.Error(err))
		return
	}
	s.mu.Lock()
	s.backends[b.Key()] = b
	lvs := s.children["lvsd"]
	s.mu.Unlock()
	if lvs == nil {
		return
	}
	lvs.mu.Lock()
	conn := lvs.conn
	lvs.mu.Unlock()
	if conn != nil {
		_ = conn.Notify(ipc.TypeBackend, b)
	}
}

// Backends returns the latest state of every checked real server, sorted.
func (s *Supervisor) Backends() []ipc.Backend {
	s.mu.Lock()
	out := make([]ipc.Backend, 0, len(s.backends))
	for _, b := range s.backends {
		out = append(out, b)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b ipc.Backend) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// pruneBackends forgets real servers a new configuration no longer has.
func pruneBackends(m map[string]ipc.Backend, cfg *config.Config) {
	keep := map[string]bool{}
	for _, vs := range cfg.VirtualServers {
		for _, rs := range vs.RealServers {
			keep[ipc.Backend{VirtualServer: vs.ID(), Server: netip.AddrPortFrom(rs.Address, rs.Port)}.Key()] = true
		}
	}
	for k := range m {
		if !keep[k] {
			delete(m, k)
		}
	}
}

// setSnapshot keeps a child's opaque snapshot (checkd's counters, ...) in
// memory and in the run directory.
func (s *Supervisor) setSnapshot(name string, body json.RawMessage) {
	s.mu.Lock()
	s.snaps[name] = append(json.RawMessage(nil), body...)
	s.mu.Unlock()
	tmp := filepath.Join(s.opts.RunDir, name+".state.tmp")
	if err := os.WriteFile(tmp, body, 0o600); err == nil {
		_ = os.Rename(tmp, filepath.Join(s.opts.RunDir, name+".state"))
	}
}

// snapshotFor is what a starting child (other than vrrpd) resumes from:
// the last snapshot in memory, else a fresh one in the run directory.
func (s *Supervisor) snapshotFor(name string) json.RawMessage {
	s.mu.Lock()
	snap := s.snaps[name]
	s.mu.Unlock()
	if snap != nil {
		return snap
	}
	path := filepath.Join(s.opts.RunDir, name+".state")
	if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) < stateFresh {
		if data, err := os.ReadFile(path); err == nil && json.Valid(data) {
			return data
		}
	}
	return nil
}
