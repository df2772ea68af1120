package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/tracker"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd"
	"github.com/vigil-ha/vigil/vrrpd/handover"
)

// vrrpdCommand runs the VRRP engine on its own. Under the supervisor
// (vigil run) the same engine runs as a child; standalone it is what the
// tests and a first migration step use.
func vrrpdCommand() *cli.Command {
	return &cli.Command{
		Name:  "vrrpd",
		Usage: "run the VRRP engine alone (SIGTERM/SIGINT: graceful stop; SIGUSR1: status to --status-file)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "use-file", Aliases: []string{"f"}, Value: defaultConfig, Usage: "configuration `FILE`"},
			&cli.StringFlag{Name: "config-id", Aliases: []string{"i"}, Usage: "select @`ID` conditional lines"},
			&cli.StringFlag{Name: "status-file", Usage: "write the JSON status to `FILE` on SIGUSR1 and on every state change"},
			&cli.StringFlag{Name: "state-file", Usage: "keep the resumable state in `FILE` (on tmpfs) and resume from it at start: a restart moves no VIP"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json (default: console on a terminal)"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
			&cli.BoolFlag{Name: "child", Hidden: true, Usage: "run under vigil run (IPC on VIGIL_IPC_FD)"},
		},
		Action: runVRRPD,
	}
}

func runVRRPD(c *cli.Context) error {
	// Signals first: a SIGUSR1 arriving while the configuration loads must
	// not kill the daemon (Go's default for an unhandled SIGUSR1).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	format, err := logFormat(c, "vrrpd")
	if err != nil {
		return err
	}
	log := logging.New("vrrpd", format, c.Bool("debug"))
	defer func() { _ = log.Sync() }()
	if c.Bool("child") {
		if err := runVRRPDChild(log); err != nil {
			log.Error("vrrpd child failed", zap.Error(err))
			return exitError(1)
		}
		return nil
	}
	path := c.String("use-file")
	cfg, diags := config.Load(path, config.Options{ConfigID: c.String("config-id"), InterfaceExists: interfaceExists})
	for _, d := range diags {
		if d.Severity == config.Error {
			log.Error("configuration error", zap.String("at", d.Pos.String()), zap.String("error", d.Msg), zap.String("hint", d.Hint))
		} else {
			log.Warn("configuration warning", zap.String("at", d.Pos.String()), zap.String("warning", d.Msg))
		}
	}
	if diags.HasErrors() {
		fmt.Fprintf(c.App.ErrWriter, "vigil vrrpd: %s: configuration unusable (run vigil check-config)\n", path)
		return exitError(1)
	}
	sw := &statusWriter{path: c.String("status-file"), statePath: c.String("state-file")}
	restore := loadState(log, sw.statePath)
	eng, err := vrrpd.New(cfg, vrrpd.Options{Logger: log, Reporter: sw, Restore: restore})
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return exitError(1)
	}
	sw.eng = eng
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		for range usr1 {
			sw.write()
		}
	}()
	// Track scripts and files run in-process with checkd's tracker, so a
	// standalone vrrpd counts rise/fall exactly as under vigil run.
	trk := tracker.New(cfg, log, nil, func(tr ipc.Track) {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_ = eng.ApplyTrack(tctx, tr)
	})
	trkDone := make(chan struct{})
	go func() { defer close(trkDone); trk.Run(ctx) }()
	defer func() { <-trkDone }()
	log.Info("Starting VRRP child process", zap.String("config", path), zap.Int("instances", len(cfg.Instances)))
	if err := eng.Run(ctx); err != nil {
		log.Error("VRRP engine failed", zap.Error(err))
		return exitError(1)
	}
	log.Info("Stopped")
	return nil
}

// statusWriter keeps a JSON status file current for tests and scripts
// until the control socket arrives with the supervisor.
type statusWriter struct {
	mu        sync.Mutex
	path      string
	statePath string
	eng       *vrrpd.Engine
}

// stateFresh bounds the age of a state file worth resuming from: older
// than this, the peers have long taken over and a cold start is right.
const stateFresh = 10 * time.Second

// loadState reads a state file left by a previous vrrpd, if fresh.
func loadState(log *zap.Logger, path string) *handover.Snapshot {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s handover.Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		log.Warn("ignoring unreadable state file", zap.String("path", path), zap.Error(err))
		return nil
	}
	if age := time.Since(s.Taken); age > stateFresh || age < -time.Second {
		log.Info("state file too old to resume from; cold start", zap.String("path", path), zap.Duration("age", age))
		return nil
	}
	log.Info("resuming from state file", zap.String("path", path), zap.Int("instances", len(s.Instances)))
	return &s
}

func (s *statusWriter) InstanceChanged(vrrpd.InstanceStatus) {
	// Called on the engine goroutine: write from another one, which asks
	// the engine for a full, consistent snapshot.
	go s.write()
}

// Snapshot keeps the state file current (atomically), for the next start.
func (s *statusWriter) Snapshot(snap *handover.Snapshot) {
	if s.statePath == "" {
		return
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := s.statePath + ".tmp"
	if os.WriteFile(tmp, data, 0o600) == nil {
		_ = os.Rename(tmp, s.statePath)
	}
}

func (s *statusWriter) write() {
	if s.path == "" || s.eng == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := s.eng.Status(ctx)
	if err != nil {
		return
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := s.path + ".tmp"
	if os.WriteFile(tmp, data, 0o644) == nil {
		_ = os.Rename(tmp, s.path)
	}
}
