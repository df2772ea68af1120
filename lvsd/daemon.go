package lvsd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd/desired"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/plan"
)

// quorumScriptTimeout bounds a quorum_up/quorum_down script.
const quorumScriptTimeout = 30 * time.Second

// State is what a restarted lvsd resumes from: the quorum states (so no
// quorum script fires again) and every service it has ever declared and
// not yet removed, so a reload that drops a virtual_server removes its
// service while services someone else made stay untouched.
type State struct {
	Engine desired.State     `json:"engine"`
	Owned  []ipvs.ServiceKey `json:"owned,omitempty"`
	Taken  time.Time         `json:"taken"`
}

// Options configure a Daemon.
type Options struct {
	Config *config.Config
	// Backend is the kernel's tables (lvsd/kernel) or a fake; nil means
	// IPVS is unavailable (Sync then only reports BackendErr).
	Backend ipvs.Backend
	// BackendErr says why Backend is nil.
	BackendErr error
	Log        *zap.Logger
	Restore    *State
	// Gate checks quorum scripts (enable_script_security) and picks their
	// user; nil runs them as configured.
	Gate *script.Gate
	// RunScript runs a quorum script; nil runs it with internal/script.
	RunScript func(script.Cmd)
}

// Daemon keeps the kernel's IPVS tables equal to what the configuration
// and checkd's verdicts ask for. Inputs arrive from any goroutine
// (SetVerdict, SetHeld); Sync computes the desired tables, runs the quorum
// scripts of any transition and reconciles the kernel, touching only
// services the configuration declares (never a flush).
type Daemon struct {
	log  *zap.Logger
	opts Options

	mu         sync.Mutex
	eng        *desired.Engine
	backend    ipvs.Backend
	backendErr error
	verdicts   map[string]ipc.Backend
	held       func(netip.Addr) bool
	owned      map[ipvs.ServiceKey]bool // declared now or by an earlier configuration
	syncs      uint64
	ops        uint64
	lastErr    error
	lastOps    []ipvs.Op
	// known is the tables as the last successful plan left them (nil:
	// unknown, read them): a verdict's change is then one operation, no
	// read.
	known []ipvs.ServiceState

	scripts chan script.Cmd
	wg      sync.WaitGroup
	// alerts sends the quorum e-mails (nil: global_defs configures none);
	// mailQuorum says which blocks mail, by config.VirtualServer.ID().
	alerts     *smtpalert.Sender
	mailQuorum map[string]bool
}

// New prepares a daemon; nothing touches the kernel until Sync.
func New(o Options) *Daemon {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	d := &Daemon{log: o.Log, opts: o, backend: o.Backend, backendErr: o.BackendErr,
		verdicts: map[string]ipc.Backend{}, owned: map[ipvs.ServiceKey]bool{}, scripts: make(chan script.Cmd, 256)}
	var es *desired.State
	if o.Restore != nil {
		es = &o.Restore.Engine
		for _, k := range o.Restore.Owned {
			d.owned[k.Canonical()] = true
		}
	}
	d.eng = desired.New(o.Config, es)
	for _, w := range d.eng.Warnings() {
		d.log.Warn(w)
	}
	if o.Config != nil {
		d.alerts = smtpalert.NewFromGlobal(&o.Config.Global, o.Log)
		d.mailQuorum = map[string]bool{}
		for _, vs := range o.Config.VirtualServers {
			d.mailQuorum[vs.ID()] = quorumAlertOn(&o.Config.Global, vs)
		}
		for _, vs := range o.Config.VirtualServers {
			if vs.PersistenceEngine != "" {
				d.log.Warn("persistence_engine is not supported (github.com/moby/ipvs cannot read it back); the service is persistent without it",
					zap.String("virtual_server", vs.ID()), zap.String("persistence_engine", vs.PersistenceEngine))
			}
		}
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.runScripts() }()
	return d
}

// SetVerdict records checkd's latest verdict for a real server.
func (d *Daemon) SetVerdict(b ipc.Backend) {
	d.mu.Lock()
	d.verdicts[b.Key()] = b
	d.mu.Unlock()
}

// SetHeld sets the test for "this host holds the address" (ha_suspend).
func (d *Daemon) SetHeld(f func(netip.Addr) bool) {
	d.mu.Lock()
	d.held = f
	d.mu.Unlock()
}

// SetBackend installs a backend that became available (IPVS loaded later).
func (d *Daemon) SetBackend(b ipvs.Backend) {
	d.mu.Lock()
	d.backend, d.backendErr = b, nil
	d.mu.Unlock()
}

// HasBackend reports whether a kernel backend is installed.
func (d *Daemon) HasBackend() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.backend != nil
}

// Sync brings the kernel to the desired tables once, reading them first
// (Reconcile): it repairs whatever changed behind lvsd's back. Errors of
// single operations do not stop the others; the next Sync retries what
// failed.
func (d *Daemon) Sync(ctx context.Context) ([]ipvs.Op, error) { return d.sync(ctx, true) }

// Update is Sync against the tables as lvsd last left them, without
// reading them back (unless unknown): for changes of the inputs, between
// the periodic full Syncs.
func (d *Daemon) Update(ctx context.Context) ([]ipvs.Op, error) { return d.sync(ctx, false) }

func (d *Daemon) sync(ctx context.Context, full bool) ([]ipvs.Op, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	want, events := d.eng.Desired(desired.Inputs{Verdicts: d.verdicts, Held: d.held})
	for _, ev := range events {
		d.quorumEvent(ev)
	}
	for i := range want {
		want[i].Service.PEName = "" // see New: not supported by the backend
		d.owned[want[i].Service.ServiceKey.Canonical()] = true
	}
	if d.backend == nil {
		return nil, fmt.Errorf("lvsd: IPVS unavailable: %w", d.backendErr)
	}
	var ops []ipvs.Op
	var err error
	if full || d.known == nil {
		ops, err = plan.Reconcile(ctx, d.backend, want, d.owns)
	} else {
		ops, err = plan.ApplyDiff(ctx, d.backend, want, d.known, d.owns)
	}
	d.known = nil
	if err == nil {
		d.known = asState(want)
	}
	d.syncs++
	d.ops += uint64(len(ops))
	d.lastErr = err
	if len(ops) > 0 {
		d.lastOps = ops
	}
	for _, op := range ops {
		d.log.Info(opMessage(op), zap.String("op", op.Kind.String()), zap.String("service", op.Service.ServiceKey.String()))
	}
	if err == nil {
		// What is owned but neither desired nor declared was just
		// removed; forget it.
		desiredNow := map[ipvs.ServiceKey]bool{}
		for _, w := range want {
			desiredNow[w.Service.ServiceKey.Canonical()] = true
		}
		for k := range d.owned {
			if !desiredNow[k] && !d.eng.Owns(k) {
				delete(d.owned, k)
			}
		}
	}
	return ops, err
}

// asState is the tables as they stand once want is applied (as far as
// plan.Diff compares them: services lvsd does not own are never changed,
// so they need not be known).
func asState(want []plan.Desired) []ipvs.ServiceState {
	out := make([]ipvs.ServiceState, 0, len(want))
	for _, w := range want {
		st := ipvs.ServiceState{Service: w.Service, Dests: make([]ipvs.DestState, 0, len(w.Dests))}
		for _, dst := range w.Dests {
			st.Dests = append(st.Dests, ipvs.DestState{Destination: dst})
		}
		out = append(out, st)
	}
	return out
}

// owns is plan.Reconcile's test for services it may delete. Called with
// d.mu held.
func (d *Daemon) owns(k ipvs.ServiceKey) bool {
	k = k.Canonical()
	return d.owned[k] || d.eng.Owns(k)
}

// opMessage is keepalived's log phrase for an operation (ipwrapper.c), so
// existing alerting still matches.
func opMessage(op ipvs.Op) string {
	switch op.Kind {
	case ipvs.AddDest:
		return fmt.Sprintf("Adding service %s to VS %s", op.Dest.DestKey, op.Service.ServiceKey)
	case ipvs.DelDest:
		return fmt.Sprintf("Removing service %s from VS %s", op.Dest.DestKey, op.Service.ServiceKey)
	case ipvs.UpdateDest:
		return fmt.Sprintf("Changing weight to %d for rs %s in VS %s", op.Dest.Weight, op.Dest.DestKey, op.Service.ServiceKey)
	case ipvs.AddService:
		return fmt.Sprintf("Adding VS %s", op.Service.ServiceKey)
	case ipvs.DelService:
		return fmt.Sprintf("Removing VS %s", op.Service.ServiceKey)
	}
	return fmt.Sprintf("Updating VS %s", op.Service.ServiceKey)
}

// quorumEvent logs a quorum transition and queues its script. Called with
// d.mu held.
func (d *Daemon) quorumEvent(ev desired.Event) {
	d.log.Info(ev.Message(), zap.String("virtual_server", ev.VirtualServer), zap.String("event", ev.Kind.String()))
	if d.mailQuorum[ev.VirtualServer] {
		// Queued, never waited for: a dead relay costs no reconcile pass.
		d.alerts.VirtualServer(ev.VirtualServer, ev.Kind == desired.QuorumUp, quorumMailLine(ev))
	}
	if ev.Script == nil || len(ev.Script.Args) == 0 {
		return
	}
	cmd := script.Cmd{Args: ev.Script.Args, Timeout: quorumScriptTimeout}
	if g := d.opts.Gate; g != nil {
		if !g.Allowed(ev.Script.Args[0], ev.Kind.String()+" of VS "+ev.VirtualServer) {
			return
		}
		cmd.User, cmd.Group = g.RunAs("", "")
	}
	select {
	case d.scripts <- cmd:
	default:
		d.log.Warn("script queue full; quorum script skipped", zap.String("virtual_server", ev.VirtualServer))
	}
}

func (d *Daemon) runScripts() {
	for cmd := range d.scripts {
		if d.opts.RunScript != nil {
			d.opts.RunScript(cmd)
			continue
		}
		if res := script.Run(context.Background(), cmd); !res.OK() {
			d.log.Warn("quorum script failed", zap.Strings("command", cmd.Args), zap.String("result", res.String()))
		}
	}
}

// State returns the daemon's snapshot.
func (d *Daemon) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := State{Engine: d.eng.State(), Taken: time.Now()}
	for k := range d.owned {
		st.Owned = append(st.Owned, k)
	}
	slices.SortFunc(st.Owned, ipvs.CompareKeys)
	return st
}

// Status is lvsd's part of `vigil status`.
type Status struct {
	// Error says why the tables are not (all) right: IPVS missing, the
	// last reconcile's failures.
	Error    string              `json:"error,omitempty"`
	Services []ipvs.ServiceState `json:"services"`
	Syncs    uint64              `json:"syncs"`
	Ops      uint64              `json:"ops"`
}

// Status reads the kernel's tables: the services this daemon owns, with
// their counters and rates.
func (d *Daemon) Status(ctx context.Context) Status {
	d.mu.Lock()
	b, berr, lerr := d.backend, d.backendErr, d.lastErr
	st := Status{Syncs: d.syncs, Ops: d.ops}
	d.mu.Unlock()
	switch {
	case b == nil:
		st.Error = fmt.Sprintf("IPVS unavailable: %v", berr)
		return st
	case lerr != nil:
		st.Error = lerr.Error()
	}
	all, err := b.Read(ctx)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	d.mu.Lock()
	for _, s := range all {
		if d.owns(s.ServiceKey) {
			st.Services = append(st.Services, s)
		}
	}
	d.mu.Unlock()
	return st
}

// Stop ends the daemon at shutdown: with release (keepalived's default,
// unlike its --dont-release-ipvs), the quorum_down of omega blocks runs and
// the services this daemon owns are removed; without it the tables stay
// as they are for the next lvsd. Queued scripts get a bounded wait.
func (d *Daemon) Stop(ctx context.Context, release bool) error {
	var err error
	if release {
		d.mu.Lock()
		for _, ev := range d.eng.Stop() {
			d.quorumEvent(ev)
		}
		b := d.backend
		if b != nil {
			ops, rerr := plan.Reconcile(ctx, b, nil, d.owns)
			for _, op := range ops {
				d.log.Info(opMessage(op), zap.String("op", op.Kind.String()))
			}
			err = rerr
			if rerr == nil {
				clear(d.owned)
			}
		}
		d.mu.Unlock()
	}
	close(d.scripts)
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("lvsd: quorum scripts still running at exit"))
	}
	// The last quorum mails (an omega block's shutdown) get a short,
	// bounded chance to leave.
	bound := alertsAtExit
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
		bound = max(time.Until(dl), 0)
	}
	d.alerts.Close(bound)
	return err
}

// alertsAtExit bounds the wait for queued e-mails when lvsd stops.
const alertsAtExit = 2 * time.Second

// quorumMailLine is keepalived's (2.2) body line of a quorum mail
// (do_vs_notifies): the transition, then quorum+hysteresis=threshold <=
// live weight, written with "+" and "<=" whichever way it went.
func quorumMailLine(ev desired.Event) string {
	if ev.Stopping {
		return "Shutting down"
	}
	what := "Lost quorum"
	switch {
	case ev.Kind == desired.QuorumUp && ev.Init:
		what = "Starting with quorum up"
	case ev.Kind == desired.QuorumUp:
		what = "Gained quorum"
	case ev.Init:
		what = "Starting with quorum down"
	}
	return fmt.Sprintf("%s %d+%d=%d <= %d", what, ev.Quorum, ev.Hysteresis, ev.Threshold, ev.WeightSum)
}

// quorumAlertOn resolves keepalived's smtp_alert for a virtual server's
// quorum mails: the block's own setting, else global smtp_alert_checker,
// else smtp_alert, else off.
func quorumAlertOn(g *config.GlobalDefs, vs *config.VirtualServer) bool {
	for _, b := range []*bool{vs.SMTPAlert, g.SMTPAlertChecker, g.SMTPAlert} {
		if b != nil {
			return *b
		}
	}
	return false
}
