package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/checkd/tracker"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/addrwatch"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
)

// snapshotEvery bounds how often checkd sends its counters to the parent.
const checkdSnapshotEvery = 200 * time.Millisecond

// saveGap is the least time between two snapshots (and so the most a
// real server's change waits before it is reported).
const saveGap = 20 * time.Millisecond

// checkdCommand is the health checker, run by `vigil run` as a child.
func checkdCommand() *cli.Command {
	return childCommand("checkd", "the health-check subsystem (started by vigil run)", runCheckdChild)
}

func runCheckdChild(log *zap.Logger) error {
	checkd.TuneRuntime()
	// status answers the parent's TypeStatus once the tracker and the
	// runner exist.
	var status atomic.Pointer[func() checkd.Status]
	s, err := startChildSession("checkd", log, childHandlers{
		request: func(_ context.Context, t ipc.Type, _ json.RawMessage) (any, error) {
			f := status.Load()
			if t != ipc.TypeStatus || f == nil {
				return nil, fmt.Errorf("checkd: cannot answer %v now", t)
			}
			return (*f)(), nil
		},
	})
	if err != nil {
		return err
	}
	defer s.finish()
	var cfg config.Config
	if err := s.request(ipc.TypeConfig, &cfg); err != nil {
		return err
	}
	var restore *checkdState
	if err := s.request(ipc.TypeRestore, &restore); err != nil {
		return err
	}
	var trackRestore *tracker.State
	var serverRestore *checkd.RunnerState
	if restore != nil {
		trackRestore, serverRestore = &restore.State, restore.Servers
	}
	t := tracker.New(&cfg, log, trackRestore, func(tr ipc.Track) {
		if err := s.conn.Notify(ipc.TypeTrack, tr); err != nil {
			log.Warn("track result not sent", zap.Error(err))
		}
	})
	plan := checkd.Build(&cfg, checkd.Env{Gate: &script.Gate{Enforce: cfg.Global.EnableScriptSecurity, Log: log,
		User: scriptUser(&cfg), Group: scriptGroup(&cfg)}})
	for _, why := range plan.Refused {
		log.Error("checker disabled", zap.String("reason", why))
	}
	for _, w := range plan.Warnings {
		log.Warn(w)
	}
	r := checkd.NewRunner(plan, log, serverRestore, func(b ipc.Backend) {
		if err := s.conn.Notify(ipc.TypeBackend, b); err != nil {
			log.Warn("real server state not sent", zap.Error(err))
		}
	})
	for _, rs := range plan.RealServers {
		if rs.SuspendAddr.IsValid() {
			w, err := addrwatch.Start(s.ctx, r.SetHeld)
			if err != nil {
				log.Error("ha_suspend: cannot watch local addresses; checkers run regardless", zap.Error(err))
			} else {
				defer w.Close()
			}
			break
		}
	}
	statusFunc := func() checkd.Status { return checkd.Status{Scripts: t.Status(), RunnerStatus: r.Status()} }
	status.Store(&statusFunc)
	log.Info("Starting Healthcheck child process", zap.Int("vrrp_scripts", len(cfg.Scripts)),
		zap.Int("checkers", len(plan.Checkers)), zap.Int("real_servers", len(plan.RealServers)),
		zap.Bool("resuming", restore != nil))
	state := func() (checkdState, bool) {
		ts, c1 := t.State()
		rs, c2 := r.State()
		return checkdState{State: ts, Servers: &rs}, c1 || c2
	}
	// A change is saved in the parent before it is reported (or its
	// notify script run), so a checkd killed in between cannot forget a
	// verdict it announced: the next one re-announces it, at most once.
	save := func(force bool) {
		if st, changed := state(); changed || force {
			_ = s.conn.Notify(ipc.TypeSnapshot, st)
		}
		r.Flush()
	}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		tick := time.NewTicker(checkdSnapshotEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
			case <-r.Changed():
			}
			save(false)
			// At most one snapshot per saveGap: a mass outage coalesces
			// into a few snapshots instead of one per server.
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(saveGap):
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); t.Run(s.ctx) }()
	go func() { defer wg.Done(); r.Run(s.ctx) }()
	wg.Wait()
	<-loopDone
	save(true)
	r.Close()
	return nil
}

// checkdState is checkd's snapshot: the tracker's counters (inline, the
// format of earlier versions) and the real-server checkers' verdicts.
type checkdState struct {
	tracker.State
	Servers *checkd.RunnerState `json:"servers,omitempty"`
}

func scriptUser(cfg *config.Config) string {
	if su := cfg.Global.ScriptUser; su != nil {
		return su.User
	}
	return ""
}

func scriptGroup(cfg *config.Config) string {
	if su := cfg.Global.ScriptUser; su != nil {
		return su.Group
	}
	return ""
}
