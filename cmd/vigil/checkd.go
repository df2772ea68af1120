package main

import (
	"fmt"
	"os"
	"os/signal"
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
	s, err := startChildSession("checkd", log, childHandlers{})
	if err != nil {
		return err
	}
	defer s.finish()
	var cfg config.Config
	if err := s.request(ipc.TypeConfig, &cfg); err != nil {
		return err
	}
	var restore *tracker.State
	if err := s.request(ipc.TypeRestore, &restore); err != nil {
		return err
	}
	t := tracker.New(&cfg, log, restore, func(tr ipc.Track) {
		if err := s.conn.Notify(ipc.TypeTrack, tr); err != nil {
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
			case <-s.ctx.Done():
				return
			case <-tick.C:
				if st, changed := t.State(); changed {
					_ = s.conn.Notify(ipc.TypeSnapshot, st)
				}
			}
		}
	}()
	t.Run(s.ctx)
	st, _ := t.State()
	_ = s.conn.Notify(ipc.TypeSnapshot, st)
	return nil
}
