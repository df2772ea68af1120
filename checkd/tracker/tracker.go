// Package tracker runs what vrrpd tracks: the vrrp_scripts (with
// keepalived's rise/fall counting from checkd/health) and the track_files,
// and reports each change as an ipc.Track. Its counters are its state: a
// restarted checkd resumes them, so a restart causes no transition.
package tracker

import (
	"cmp"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
)

// filePoll is how often track files are checked for a new value.
const filePoll = 500 * time.Millisecond

// State is what a restarted checkd resumes from.
type State struct {
	Taken   time.Time                     `json:"taken"`
	Scripts map[string]health.ScriptState `json:"scripts,omitempty"`
	Files   map[string]int64              `json:"files,omitempty"`
}

// Tracker runs the tracked scripts and files of one configuration.
type Tracker struct {
	log  *zap.Logger
	cfg  *config.Config
	gate *script.Gate
	emit func(ipc.Track)

	mu      sync.Mutex
	scripts map[string]*health.Script
	files   map[string]int64
	dirty   bool
	running map[string]bool // vrrp_scripts whose command runs now (for Status)
}

// New prepares a tracker; restore (may be nil) resumes a previous
// checkd's counters. emit is called for every change (and once per object
// at start, so the parent knows every current state).
func New(cfg *config.Config, log *zap.Logger, restore *State, emit func(ipc.Track)) *Tracker {
	gate := &script.Gate{Enforce: cfg.Global.EnableScriptSecurity, Log: log}
	if cfg.Global.ScriptUser != nil {
		gate.User, gate.Group = cfg.Global.ScriptUser.User, cfg.Global.ScriptUser.Group
	}
	t := &Tracker{log: log, cfg: cfg, gate: gate, emit: emit,
		scripts: map[string]*health.Script{}, files: map[string]int64{}, running: map[string]bool{}}
	now := time.Now()
	for _, s := range usedScripts(cfg) {
		hs := health.NewScript(health.ScriptConfig{Interval: s.Interval.D(), Rise: s.Rise, Fall: s.Fall, InitFail: s.InitFail})
		if restore != nil {
			if st, ok := restore.Scripts[s.Name]; ok {
				hs.Restore(st, now)
			}
		}
		t.scripts[s.Name] = hs
	}
	if restore != nil {
		for name, v := range restore.Files {
			t.files[name] = v
		}
	}
	return t
}

// usedScripts returns the vrrp_scripts some instance or sync group tracks.
func usedScripts(cfg *config.Config) []*config.VRRPScript {
	used := map[string]bool{}
	for _, in := range cfg.Instances {
		for _, tr := range in.TrackScripts {
			used[tr.Name] = true
		}
	}
	for _, g := range cfg.SyncGroups {
		for _, tr := range g.TrackScripts {
			used[tr.Name] = true
		}
	}
	var out []*config.VRRPScript
	for _, s := range cfg.Scripts {
		if used[s.Name] && s.Script != nil && len(s.Script.Args) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Run runs every script and file watcher until ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	// Everything known at start is reported first, so the parent (and
	// through it vrrpd) has a state for every tracked object.
	t.mu.Lock()
	for name, s := range t.scripts {
		t.emit(ipc.Track{Kind: "script", Name: name, Up: s.Up()})
	}
	t.mu.Unlock()
	for _, s := range usedScripts(t.cfg) {
		missing := script.Missing(s.Script.Args[0])
		if missing != "" {
			// keepalived drops such a script from tracking ("Disabling
			// track script NAME since not found/accessible") and the
			// instance carries on as if untracked. Vigil never untracks
			// silently: the script counts as failing.
			t.log.Error("VRRP_Script("+s.Name+") not found or not executable: it counts as failing (keepalived would disable the track script)",
				zap.String("script", s.Name), zap.String("program", s.Script.Args[0]), zap.String("why", missing))
		}
		if !t.gate.Allowed(s.Script.Args[0], "vrrp_script "+s.Name) {
			if missing != "" {
				// Refused (enable_script_security), so never run: say
				// it failed once, now.
				t.emit(ipc.Track{Kind: "script", Name: s.Name, Up: false})
			}
			continue // an unsafe script no longer counts, as in keepalived
		}
		wg.Add(1)
		go func() { defer wg.Done(); t.runScript(ctx, s) }()
	}
	for _, f := range t.cfg.TrackFiles {
		wg.Add(1)
		go func() { defer wg.Done(); t.watchFile(ctx, f) }()
	}
	wg.Wait()
}

func (t *Tracker) runScript(ctx context.Context, s *config.VRRPScript) {
	t.mu.Lock()
	hs := t.scripts[s.Name]
	next := hs.Next()
	if next.IsZero() {
		next = hs.Start(time.Now())
	}
	t.mu.Unlock()
	user, group := t.gate.RunAs(s.User, s.Group)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		t.mu.Lock()
		t.running[s.Name] = true
		t.mu.Unlock()
		start := time.Now()
		r := script.Run(ctx, script.Cmd{Args: s.Script.Args, Timeout: s.Timeout.D(), User: user, Group: group})
		t.mu.Lock()
		t.running[s.Name] = false
		t.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		d := hs.Observe(health.Probe{Start: start, End: time.Now(), OK: r.OK()})
		next = hs.Next()
		t.dirty = true
		t.mu.Unlock()
		if d.Changed {
			word := "failed"
			if d.Up {
				word = "succeeded"
			}
			t.log.Info("VRRP_Script("+s.Name+") "+word, zap.String("script", s.Name), zap.Stringer("result", r))
			t.emit(ipc.Track{Kind: "script", Name: s.Name, Up: d.Up})
		}
	}
}

// watchFile reports a track_file's number whenever it changes (an
// unreadable or non-numeric file counts as 0, as keepalived reads it).
func (t *Tracker) watchFile(ctx context.Context, f *config.TrackFile) {
	if f.InitFile != nil {
		if _, err := os.Stat(f.File); err != nil || f.InitFile.Overwrite {
			_ = os.WriteFile(f.File, []byte(strconv.Itoa(f.InitFile.Value)+"\n"), 0o644)
		}
	}
	t.mu.Lock()
	last, known := t.files[f.Name]
	t.mu.Unlock()
	first := true
	tick := time.NewTicker(filePoll)
	defer tick.Stop()
	for {
		v := probe.ReadTrackFile(f.File) // keepalived's reading: the leading number
		if first || !known || v != last {
			first, known, last = false, true, v
			t.mu.Lock()
			t.files[f.Name] = v
			t.dirty = true
			t.mu.Unlock()
			t.emit(ipc.Track{Kind: "file", Name: f.Name, Value: v})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ScriptStatus is one vrrp_script in checkd's status.
type ScriptStatus struct {
	Name string `json:"name"`
	// Status is keepalived's word: INIT, INIT/FAILED, GOOD or BAD.
	Status string `json:"status"`
	// Up is true while trackers count the script as succeeding.
	Up bool `json:"up"`
	// Running is true while the script's command runs.
	Running bool `json:"running,omitempty"`
}

// Status reports every vrrp_script's status, sorted by name. Unlike State
// it does not touch the snapshot's change flag.
func (t *Tracker) Status() []ScriptStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]ScriptStatus, 0, len(t.scripts))
	for name, s := range t.scripts {
		st := s.Status()
		out = append(out, ScriptStatus{Name: name, Status: st.String(), Up: st.Up(), Running: t.running[name]})
	}
	slices.SortFunc(out, func(a, b ScriptStatus) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// State returns the counters to hand a restarted checkd, and whether they
// changed since the last call.
func (t *Tracker) State() (State, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := State{Taken: time.Now(), Scripts: map[string]health.ScriptState{}, Files: map[string]int64{}}
	for name, s := range t.scripts {
		st.Scripts[name] = s.State()
	}
	for name, v := range t.files {
		st.Files[name] = v
	}
	changed := t.dirty
	t.dirty = false
	return st, changed
}
