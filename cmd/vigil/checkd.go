package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd/tracker"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
)

// snapshotEvery bounds how often checkd sends its counters to the parent.
const checkdSnapshotEvery = 200 * time.Millisecond

// checkdCommand is the health checker, run by `vigil run` as a child.
func checkdCommand() *cli.Command {
	return &cli.Command{
		Name:  "checkd",
		Usage: "the health-check subsystem (started by vigil run)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "child", Usage: "run under vigil run (IPC on VIGIL_IPC_FD)"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		},
		Action: func(c *cli.Context) error {
			usr1 := make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1, syscall.SIGUSR2)
			log := logging.New("checkd", logging.Format(c.String("log-format")), c.Bool("debug"))
			defer func() { _ = log.Sync() }()
			if !c.Bool("child") {
				fmt.Fprintln(c.App.ErrWriter, "vigil checkd: runs under vigil run (--child)")
				return exitError(2)
			}
			if err := runCheckdChild(log); err != nil {
				log.Error("checkd child failed", zap.Error(err))
				return exitError(1)
			}
			return nil
		},
	}
}

func runCheckdChild(log *zap.Logger) error {
	fd, err := strconv.Atoi(os.Getenv("VIGIL_IPC_FD"))
	if err != nil {
		return fmt.Errorf("checkd: --child needs VIGIL_IPC_FD: %w", err)
	}
	nc, err := ipc.InheritedConn(uintptr(fd))
	if err != nil {
		return err
	}
	conn := ipc.NewConn(nc, "checkd")
	hctx, hcancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = conn.Handshake(hctx)
	hcancel()
	if err != nil {
		return fmt.Errorf("checkd: handshake with the parent: %w", err)
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	runCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		_ = conn.Serve(context.Background(), ipc.HandlerFuncs{
			Request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
				switch t {
				case ipc.TypePing:
					return struct{}{}, nil
				case ipc.TypeStop:
					stop()
					select {
					case <-done:
					case <-ctx.Done():
					}
					return struct{}{}, nil
				}
				return nil, fmt.Errorf("checkd: unknown request %v", t)
			},
		})
	}()
	go func() {
		<-conn.Done()
		select {
		case <-done:
		default:
			log.Warn("parent gone; exiting")
			os.Exit(3)
		}
	}()

	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	var cfg config.Config
	if err := conn.Request(rctx, ipc.TypeConfig, nil, &cfg); err != nil {
		return fmt.Errorf("checkd: configuration from the parent: %w", err)
	}
	var restore *tracker.State
	if err := conn.Request(rctx, ipc.TypeRestore, nil, &restore); err != nil {
		return fmt.Errorf("checkd: state from the parent: %w", err)
	}
	t := tracker.New(&cfg, log, restore, func(tr ipc.Track) {
		if err := conn.Notify(ipc.TypeTrack, tr); err != nil {
			log.Warn("track result not sent", zap.Error(err))
		}
	})
	log.Info("Starting Healthcheck child process", zap.Int("vrrp_scripts", len(cfg.Scripts)),
		zap.Bool("resuming", restore != nil))
	go func() {
		tick := time.NewTicker(checkdSnapshotEvery)
		defer tick.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
				if st, changed := t.State(); changed {
					_ = conn.Notify(ipc.TypeSnapshot, st)
				}
			}
		}
	}()
	t.Run(runCtx)
	st, _ := t.State()
	_ = conn.Notify(ipc.TypeSnapshot, st)
	close(done)
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = conn.Shutdown(sctx)
	return nil
}
