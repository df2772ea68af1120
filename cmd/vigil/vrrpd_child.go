package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/core"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd"
	"github.com/vigil-ha/vigil/vrrpd/handover"
)

// runVRRPDChild runs vrrpd under the supervisor: configuration, the
// snapshot to resume from and the current track results come over the
// inherited socket; snapshots and instance states go back; track results
// from checkd arrive as events.
func runVRRPDChild(log *zap.Logger) error {
	var mu sync.Mutex
	var eng *vrrpd.Engine
	var early []ipc.Track // track results that arrived before the engine
	var earlyVerdicts []ipc.Verdict
	engine := func() *vrrpd.Engine {
		mu.Lock()
		defer mu.Unlock()
		return eng
	}
	s, err := startChildSession("vrrpd", log, childHandlers{
		event: func(t ipc.Type, body json.RawMessage) {
			if t == ipc.TypeVerdict {
				var v ipc.Verdict
				if json.Unmarshal(body, &v) != nil {
					return
				}
				mu.Lock()
				e := eng
				if e == nil {
					earlyVerdicts = append(earlyVerdicts, v)
				}
				mu.Unlock()
				if e != nil {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					_ = e.ApplyVerdict(ctx, vrrpd.Verdict(v))
					cancel()
				}
				return
			}
			var tr ipc.Track
			if t != ipc.TypeTrack || json.Unmarshal(body, &tr) != nil {
				return
			}
			mu.Lock()
			e := eng
			if e == nil {
				early = append(early, tr) // applied once the engine exists
			}
			mu.Unlock()
			if e != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = e.ApplyTrack(ctx, tr)
				cancel()
			}
		},
		request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
			e := engine()
			if e == nil {
				return nil, fmt.Errorf("vrrpd: starting")
			}
			switch t {
			case ipc.TypeStatus:
				return e.Status(ctx)
			case ipc.TypeCommand:
				var cmd core.Command
				if err := json.Unmarshal(body, &cmd); err != nil {
					return nil, err
				}
				if cmd.Name != "handoff" || len(cmd.Args) < 1 {
					return nil, fmt.Errorf("vrrpd: unknown command %q", cmd.Name)
				}
				undo := len(cmd.Args) > 1 && cmd.Args[1] == "undo"
				if err := e.Handoff(ctx, cmd.Args[0], undo); err != nil {
					return nil, err
				}
				return map[string]string{"handoff": cmd.Args[0]}, nil
			}
			return nil, fmt.Errorf("vrrpd: unknown request %v", t)
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
	var restore *handover.Snapshot
	if err := s.request(ipc.TypeRestore, &restore); err != nil {
		return err
	}
	var plan core.TrackPlan
	if err := s.request(ipc.TypeTrack, &plan); err != nil {
		return err
	}
	var verdicts []ipc.Verdict
	if err := s.request(ipc.TypeVerdict, &verdicts); err != nil {
		return err
	}
	var holds []vrrpd.Verdict
	for _, v := range verdicts {
		holds = append(holds, vrrpd.Verdict(v))
	}
	e, err := vrrpd.New(&cfg, vrrpd.Options{Logger: log, Reporter: childReporter{conn: s.conn, log: log}, Restore: restore,
		Tracks: plan.Tracks, Holds: holds})
	if err != nil {
		return err
	}
	mu.Lock()
	eng = e
	pending := early
	early = nil
	pendingVerdicts := earlyVerdicts
	earlyVerdicts = nil
	mu.Unlock()
	if len(pendingVerdicts) > 0 {
		// Served by Run's loop, which starts below.
		go func() {
			for _, v := range pendingVerdicts {
				vctx, vcancel := context.WithTimeout(s.ctx, 5*time.Second)
				_ = e.ApplyVerdict(vctx, vrrpd.Verdict(v))
				vcancel()
			}
		}()
	}
	for _, tr := range pending {
		// The engine's track queue takes these before Run starts.
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		_ = e.ApplyTrack(actx, tr)
		acancel()
	}
	log.Info("Starting VRRP child process", zap.Int("instances", len(cfg.Instances)), zap.Bool("resuming", restore != nil))
	return e.Run(s.ctx)
}

// childReporter sends the engine's reports to the parent.
type childReporter struct {
	conn *ipc.Conn
	log  *zap.Logger
}

func (r childReporter) InstanceChanged(st vrrpd.InstanceStatus) {
	if err := r.conn.Notify(ipc.TypeInstance, st); err != nil {
		r.log.Debug("instance state not sent", zap.Error(err))
	}
}

func (r childReporter) Snapshot(s *handover.Snapshot) {
	if err := r.conn.Notify(ipc.TypeSnapshot, s); err != nil {
		r.log.Warn("snapshot not sent to the parent", zap.Error(err))
	}
}
