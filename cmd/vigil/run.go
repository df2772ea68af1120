package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/core"
	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
)

// defaultRunDir holds the pid file, control socket and snapshots.
const defaultRunDir = "/run/vigil"

func runDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "run-dir", Value: defaultRunDir, Usage: "`DIR` of the pid file, control socket and snapshots"}
}

// runCommand is the daemon: the supervisor and its children.
func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run Vigil in the foreground (SIGHUP reload, SIGTERM/SIGINT graceful stop, SIGUSR1 JSON dump)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "use-file", Aliases: []string{"f"}, Value: defaultConfig, Usage: "configuration `FILE`"},
			&cli.StringFlag{Name: "config-id", Aliases: []string{"i"}, Usage: "select @`ID` conditional lines"},
			runDirFlag(),
			&cli.StringFlag{Name: "log-format", Usage: "console or json (default: console on a terminal)"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
			&cli.StringFlag{Name: "metrics-listen", Usage: "serve Prometheus metrics on `ADDR`/metrics (e.g. 127.0.0.1:9650; default: off)"},
		},
		Action: func(c *cli.Context) error {
			// Signals first: one arriving while the configuration loads must
			// not kill the daemon.
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
			format, err := logging.ParseFormat(c.String("log-format"))
			if err != nil {
				fmt.Fprintf(c.App.ErrWriter, "vigil run: %v\n", err)
				return exitError(2)
			}
			log := logging.New("core", format, c.Bool("debug"))
			defer func() { _ = log.Sync() }()
			sup, err := core.New(core.Options{
				ConfigPath: c.String("use-file"), ConfigID: c.String("config-id"), RunDir: c.String("run-dir"),
				LogFormat: c.String("log-format"), Debug: c.Bool("debug"), Logger: log,
				MetricsListen: c.String("metrics-listen"),
			})
			if err != nil {
				fmt.Fprintln(c.App.ErrWriter, err)
				return exitError(1)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			go func() {
				for sig := range sigs {
					switch sig {
					case syscall.SIGHUP:
						if err := sup.Reload(); err != nil {
							log.Error("reload failed", zap.Error(err))
						}
					case syscall.SIGUSR1, syscall.SIGUSR2:
						if path, err := sup.WriteDump(); err != nil {
							log.Error("state dump failed", zap.Error(err))
						} else {
							log.Info("state dumped", zap.String("path", path))
						}
					}
				}
			}()
			if err := sup.Run(ctx); err != nil {
				log.Error("vigil failed", zap.Error(err))
				return exitError(1)
			}
			return nil
		},
	}
}

// control sends one command to a running daemon.
func control(c *cli.Context, cmd core.Command, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	path := core.SocketPath(c.String("run-dir"))
	nc, err := ipc.DialControl(ctx, path)
	if err != nil {
		return fmt.Errorf("is vigil running? %w", err)
	}
	conn := ipc.NewConn(nc, "cli")
	defer conn.Close()
	if _, err := conn.Handshake(ctx); err != nil {
		return err
	}
	go func() { _ = conn.Serve(ctx, ipc.HandlerFuncs{}) }()
	return conn.Request(ctx, ipc.TypeCommand, cmd, out)
}

func controlCommands() []*cli.Command {
	simple := func(name, usage string, args int) *cli.Command {
		return &cli.Command{
			Name: name, Usage: usage, Flags: []cli.Flag{runDirFlag()},
			Action: func(c *cli.Context) error {
				if c.NArg() != args {
					for _, a := range c.Args().Slice() {
						if strings.HasPrefix(a, "-") {
							fmt.Fprintf(c.App.ErrWriter, "vigil %s: put options before arguments: vigil %s %s ...\n", name, name, a)
							return exitError(2)
						}
					}
					fmt.Fprintf(c.App.ErrWriter, "vigil %s: takes %d argument(s)\n", name, args)
					return exitError(2)
				}
				var out map[string]string
				if err := control(c, core.Command{Name: name, Args: c.Args().Slice()}, &out); err != nil {
					fmt.Fprintf(c.App.ErrWriter, "vigil %s: %v\n", name, err)
					return exitError(1)
				}
				keys := make([]string, 0, len(out))
				for k := range out {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(c.App.Writer, "%s %s\n", k, out[k])
				}
				return nil
			},
		}
	}
	return []*cli.Command{
		statusCommand(),
		simple("restart", "restart a subsystem on the hitless path: vigil restart vrrpd|checkd|lvsd|agent", 1),
		simple("reload", "re-read the configuration (an invalid one is refused and the running one kept)", 0),
		simple("stop", "stop the daemon gracefully", 0),
		upgradeCommand(),
		handoffCommand(),
	}
}

// upgradeCommand replaces the running daemon's binary in place; no VIP
// moves, the PID stays.
func upgradeCommand() *cli.Command {
	return &cli.Command{
		Name:  "upgrade",
		Usage: "re-execute the running daemon from a new binary (default: the same path) without moving a VIP",
		Flags: []cli.Flag{runDirFlag(), &cli.StringFlag{Name: "binary", Usage: "new vigil `PATH`"}},
		Action: func(c *cli.Context) error {
			var args []string
			if b := c.String("binary"); b != "" {
				args = []string{b}
			}
			var out map[string]string
			if err := control(c, core.Command{Name: "upgrade", Args: args}, &out); err != nil {
				fmt.Fprintf(c.App.ErrWriter, "vigil upgrade: %v\n", err)
				return exitError(1)
			}
			// Wait (bounded) for the new daemon to answer.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
				var st core.Status
				if control(c, core.Command{Name: "status"}, &st) == nil && len(st.Children) > 0 && st.Children[0].State == "running" {
					fmt.Fprintf(c.App.Writer, "upgraded to %s (pid %d)\n", out["upgrading"], st.PID)
					return nil
				}
			}
			fmt.Fprintln(c.App.ErrWriter, "vigil upgrade: the daemon did not come back within 30s; check its log")
			return exitError(1)
		},
	}
}

// handoffCommand is a planned switchover of one instance.
func handoffCommand() *cli.Command {
	return &cli.Command{
		Name:      "handoff",
		Usage:     "hand an instance's MASTER role to its peer make-before-break and hold it as BACKUP (--undo releases the hold)",
		ArgsUsage: "INSTANCE",
		Flags:     []cli.Flag{runDirFlag(), &cli.BoolFlag{Name: "undo", Usage: "let the instance take part in elections again"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				fmt.Fprintln(c.App.ErrWriter, "vigil handoff: name one vrrp_instance (options go before it)")
				return exitError(2)
			}
			args := []string{c.Args().First()}
			if c.Bool("undo") {
				args = append(args, "undo")
			}
			var out map[string]string
			if err := control(c, core.Command{Name: "handoff", Args: args}, &out); err != nil {
				fmt.Fprintf(c.App.ErrWriter, "vigil handoff: %v\n", err)
				return exitError(1)
			}
			fmt.Fprintf(c.App.Writer, "handoff %s\n", out["handoff"])
			return nil
		},
	}
}
