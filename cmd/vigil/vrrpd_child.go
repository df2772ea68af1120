package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/core"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd"
	"github.com/vigil-ha/vigil/vrrpd/handover"
)

// runVRRPDChild runs vrrpd under the supervisor: configuration and the
// snapshot to resume from come over the inherited socket, snapshots and
// instance states go back. If the parent disappears the child exits at
// once without releasing anything: the next parent resumes from the run
// directory's snapshot, so a VIP never moves because of the supervisor.
func runVRRPDChild(log *zap.Logger) error {
	fd, err := strconv.Atoi(os.Getenv("VIGIL_IPC_FD"))
	if err != nil {
		return fmt.Errorf("vrrpd: --child needs VIGIL_IPC_FD (run by vigil run): %w", err)
	}
	nc, err := ipc.InheritedConn(uintptr(fd))
	if err != nil {
		return err
	}
	conn := ipc.NewConn(nc, "vrrpd")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = conn.Handshake(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("vrrpd: handshake with the parent: %w", err)
	}

	// The supervisor orchestrates: a terminal's Ctrl-C reaches the whole
	// process group, but only the parent acts on it. SIGTERM (systemd
	// stopping the whole cgroup) stops gracefully.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	runCtx, stopEngine := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopEngine()

	var mu sync.Mutex
	var eng *vrrpd.Engine
	var early []ipc.Track // track results that arrived before the engine
	engineDone := make(chan struct{})
	serveCtx, endServe := context.WithCancel(context.Background())
	defer endServe()
	go func() {
		_ = conn.Serve(serveCtx, ipc.HandlerFuncs{
			Event: func(t ipc.Type, body json.RawMessage) {
				if t != ipc.TypeTrack {
					return
				}
				var tr ipc.Track
				if json.Unmarshal(body, &tr) != nil {
					return
				}
				mu.Lock()
				e := eng
				if e == nil {
					early = append(early, tr) // applied once the engine exists
				}
				mu.Unlock()
				if e == nil {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = e.ApplyTrack(ctx, tr)
				cancel()
			},
			Request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
				switch t {
				case ipc.TypePing:
					return struct{}{}, nil
				case ipc.TypeStatus:
					mu.Lock()
					e := eng
					mu.Unlock()
					if e == nil {
						return nil, fmt.Errorf("vrrpd: starting")
					}
					return e.Status(ctx)
				case ipc.TypeCommand:
					var cmd struct {
						Name string   `json:"name"`
						Args []string `json:"args"`
					}
					if err := json.Unmarshal(body, &cmd); err != nil {
						return nil, err
					}
					mu.Lock()
					e := eng
					mu.Unlock()
					if e == nil {
						return nil, fmt.Errorf("vrrpd: starting")
					}
					if cmd.Name != "handoff" || len(cmd.Args) < 1 {
						return nil, fmt.Errorf("vrrpd: unknown command %q", cmd.Name)
					}
					undo := len(cmd.Args) > 1 && cmd.Args[1] == "undo"
					if err := e.Handoff(ctx, cmd.Args[0], undo); err != nil {
						return nil, err
					}
					return map[string]string{"handoff": cmd.Args[0]}, nil
				case ipc.TypeStop:
					stopEngine()
					select {
					case <-engineDone:
					case <-ctx.Done():
					}
					return struct{}{}, nil
				}
				return nil, fmt.Errorf("vrrpd: unknown request %v", t)
			},
		})
	}()
	go func() {
		<-conn.Done()
		select {
		case <-engineDone:
		default:
			// Parent gone: exit like a crash, keeping every VIP.
			log.Warn("parent gone; exiting without releasing VIPs (the next vigil resumes)")
			os.Exit(3)
		}
	}()

	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	var cfg config.Config
	if err := conn.Request(rctx, ipc.TypeConfig, nil, &cfg); err != nil {
		return fmt.Errorf("vrrpd: configuration from the parent: %w", err)
	}
	var restore *handover.Snapshot
	if err := conn.Request(rctx, ipc.TypeRestore, nil, &restore); err != nil {
		return fmt.Errorf("vrrpd: snapshot from the parent: %w", err)
	}
	var plan core.TrackPlan
	if err := conn.Request(rctx, ipc.TypeTrack, nil, &plan); err != nil {
		return fmt.Errorf("vrrpd: track plan from the parent: %w", err)
	}
	e, err := vrrpd.New(&cfg, vrrpd.Options{Logger: log, Reporter: childReporter{conn: conn, log: log}, Restore: restore,
		ExternalTracking: plan.External, Tracks: plan.Tracks})
	if err != nil {
		return err
	}
	mu.Lock()
	eng = e
	pending := early
	early = nil
	mu.Unlock()
	for _, tr := range pending {
		// The engine's track queue takes these before Run starts.
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		_ = e.ApplyTrack(actx, tr)
		acancel()
	}
	log.Info("Starting VRRP child process", zap.Int("instances", len(cfg.Instances)), zap.Bool("resuming", restore != nil))
	err = e.Run(runCtx)
	close(engineDone)
	// Let the stop request's answer (and the final snapshot) go out
	// before the socket closes.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = conn.Shutdown(sctx)
	return err
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
