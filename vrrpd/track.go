package vrrpd

import (
	"context"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/trackfile"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// trackFilePoll is how often track files are checked for a new value.
const trackFilePoll = 500 * time.Millisecond

// startTrackers runs the vrrp_scripts and track_files the instances track.
// (Once the supervisor exists, checkd runs the scripts and its results
// arrive over IPC as the same events.)
func (e *Engine) startTrackers(ctx context.Context) {
	used := map[string]bool{}
	files := map[string]bool{}
	for _, in := range e.insts {
		for _, t := range in.cfg.TrackScripts {
			used[t.Name] = true
		}
		for _, t := range in.cfg.TrackFiles {
			files[t.Name] = true
		}
	}
	for _, s := range e.cfg.Scripts {
		if !used[s.Name] || s.Script == nil || len(s.Script.Args) == 0 {
			continue
		}
		if !e.gate.Allowed(s.Script.Args[0], "vrrp_script "+s.Name) {
			// As keepalived: a disabled track script no longer counts.
			continue
		}
		go e.runScript(ctx, s)
	}
	for _, f := range e.cfg.TrackFiles {
		if files[f.Name] {
			go e.watchFile(ctx, f)
		}
	}
}

// runScript applies keepalived's rise/fall rule: the status changes after
// `fall` consecutive failures or `rise` consecutive successes.
func (e *Engine) runScript(ctx context.Context, s *config.VRRPScript) {
	up := !s.InitFail
	okRun, failRun := 0, 0
	user, group := e.gate.RunAs(s.User, s.Group)
	tick := time.NewTicker(max(s.Interval.D(), 10*time.Millisecond))
	defer tick.Stop()
	for {
		r := script.Run(ctx, script.Cmd{Args: s.Script.Args, Timeout: s.Timeout.D(), User: user, Group: group})
		if ctx.Err() != nil {
			return
		}
		if r.OK() {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
		}
		switch {
		case !up && okRun >= max(s.Rise, 1):
			up = true
			e.log.Info("VRRP_Script("+s.Name+") succeeded", zap.String("script", s.Name))
			e.sendTrack(ctx, trackEvent{kind: vrrp.TrackScript, name: s.Name, up: true})
		case up && failRun >= max(s.Fall, 1):
			up = false
			e.log.Info("VRRP_Script("+s.Name+") failed", zap.String("script", s.Name), zap.Stringer("result", r))
			e.sendTrack(ctx, trackEvent{kind: vrrp.TrackScript, name: s.Name, up: false})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// watchFile reports the number in a track_file whenever it changes; an
// unreadable or non-numeric file counts as 0, as keepalived reads it.
func (e *Engine) watchFile(ctx context.Context, f *config.TrackFile) {
	if f.InitFile != nil {
		if _, err := os.Stat(f.File); err != nil || f.InitFile.Overwrite {
			_ = os.WriteFile(f.File, []byte(strconv.Itoa(f.InitFile.Value)+"\n"), 0o644)
		}
	}
	last, first := int64(0), true
	tick := time.NewTicker(trackFilePoll)
	defer tick.Stop()
	for {
		v := trackfile.Read(f.File)
		if first || v != last {
			first, last = false, v
			e.sendTrack(ctx, trackEvent{kind: vrrp.TrackFile, name: f.Name, value: v})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (e *Engine) sendTrack(ctx context.Context, ev trackEvent) {
	select {
	case e.tracks <- ev:
	case <-ctx.Done():
	}
}
