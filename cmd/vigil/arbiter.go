package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/server"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/metrics"
)

// arbiterCommand is `vigil arbiter`: the split-brain tie-breaker on a
// third host, in the foreground until SIGTERM.
func arbiterCommand() *cli.Command {
	return &cli.Command{
		Name:  "arbiter",
		Usage: "run the split-brain arbiter (lease tie-breaker) for one cluster",
		Description: "A gossip member that grants per-instance ownership leases to the nodes of one cluster.\n" +
			"Settings come from the flags, or from the arbiter { } block of a node's configuration (-f),\n" +
			"flags overriding it: the cluster, secret and lease_ttl are the block's, the peers are the\n" +
			"block's bind address and peers, and the bind address is the block's only arbiter.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "use-file", Aliases: []string{"f"}, Usage: "read the arbiter { } block of this configuration"},
			&cli.StringFlag{Name: "bind", Usage: "gossip address ADDR:PORT"},
			&cli.StringFlag{Name: "advertise", Usage: "address the nodes should use, when not the bind address"},
			&cli.StringSliceFlag{Name: "peer", Usage: "a node's gossip address ADDR:PORT (repeatable)"},
			&cli.StringFlag{Name: "secret-file", Usage: "file holding the shared secret"},
			&cli.StringFlag{Name: "cluster", Usage: "cluster name (default \"vigil\")"},
			&cli.StringFlag{Name: "name", Usage: "member name (default: the host name)"},
			&cli.DurationFlag{Name: "lease-ttl", Usage: "lease length (default 3s)"},
			&cli.StringFlag{Name: "state", Usage: "state file (default /var/lib/vigil/arbiter-CLUSTER.json)"},
			&cli.StringFlag{Name: "status", Usage: "serve JSON status (/status) and Prometheus metrics (/metrics) on ADDR:PORT or unix:PATH"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		},
		Action: func(c *cli.Context) error {
			format, err := logFormat(c, "arbiter")
			if err != nil {
				return err
			}
			log := logging.New("arbiter", format, c.Bool("debug"))
			defer func() { _ = log.Sync() }()
			cfg, status, err := arbiterConfig(c, log)
			if err != nil {
				fmt.Fprintln(c.App.ErrWriter, "vigil arbiter:", err)
				return exitError(2)
			}
			if err := runArbiter(cfg, status, log); err != nil {
				log.Error("arbiter failed", zap.Error(err))
				return exitError(1)
			}
			return nil
		},
	}
}

func arbiterConfig(c *cli.Context, log *zap.Logger) (server.Config, string, error) {
	sc := server.Config{Log: log}
	g := &sc.Gossip
	if p := c.String("use-file"); p != "" {
		full, diags := config.Load(p, config.Options{})
		for _, d := range diags {
			fmt.Fprintln(c.App.ErrWriter, d)
		}
		if diags.HasErrors() {
			return sc, "", fmt.Errorf("%s has errors", p)
		}
		a := full.Arbiter
		if a == nil {
			return sc, "", fmt.Errorf("%s has no arbiter { } block", p)
		}
		g.Cluster, g.Secret, sc.LeaseTTL = a.Cluster, a.Secret, a.LeaseTTL.D()
		node := a.Bind
		if a.Advertise.IsValid() {
			node = a.Advertise
		}
		g.Peers = append([]netip.AddrPort{node}, a.Peers...)
		if len(a.Arbiters) == 1 {
			g.Bind = a.Arbiters[0]
		}
	}
	var err error
	parse := func(flag string) (netip.AddrPort, error) {
		ap, err := netip.ParseAddrPort(c.String(flag))
		if err != nil {
			return ap, fmt.Errorf("--%s: %w", flag, err)
		}
		return ap, nil
	}
	if c.IsSet("bind") {
		if g.Bind, err = parse("bind"); err != nil {
			return sc, "", err
		}
	}
	if c.IsSet("advertise") {
		if g.Advertise, err = parse("advertise"); err != nil {
			return sc, "", err
		}
	}
	if c.IsSet("peer") {
		g.Peers = nil
		for _, p := range c.StringSlice("peer") {
			ap, err := netip.ParseAddrPort(p)
			if err != nil {
				return sc, "", fmt.Errorf("--peer %q: %w", p, err)
			}
			g.Peers = append(g.Peers, ap)
		}
	}
	if f := c.String("secret-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return sc, "", fmt.Errorf("--secret-file: %w", err)
		}
		g.Secret = strings.TrimRight(string(b), "\r\n")
		if g.Secret == "" {
			return sc, "", fmt.Errorf("--secret-file %s is empty", f)
		}
	}
	if c.IsSet("cluster") {
		g.Cluster = c.String("cluster")
	}
	if g.Cluster == "" {
		g.Cluster = "vigil"
	}
	g.Name = c.String("name")
	if c.IsSet("lease-ttl") {
		sc.LeaseTTL = c.Duration("lease-ttl")
	}
	if sc.LeaseTTL == 0 {
		sc.LeaseTTL = 3 * time.Second // server.Start's default, so the start-up log tells it
	}
	if sc.LeaseTTL < 0 || sc.LeaseTTL > time.Hour {
		return sc, "", fmt.Errorf("--lease-ttl %v out of range", sc.LeaseTTL)
	}
	if !g.Bind.IsValid() {
		return sc, "", errors.New("no gossip address: give --bind ADDR:PORT")
	}
	if len(g.Peers) == 0 {
		return sc, "", errors.New("no nodes: give --peer ADDR:PORT for each node")
	}
	sc.StateFile = c.String("state")
	if sc.StateFile == "" {
		sc.StateFile = filepath.Join("/var/lib/vigil", "arbiter-"+g.Cluster+".json")
	}
	return sc, c.String("status"), nil
}

func runArbiter(cfg server.Config, status string, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := os.MkdirAll(filepath.Dir(cfg.StateFile), 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	s, err := server.Start(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	if status != "" {
		network, addr := "tcp", status
		if p, ok := strings.CutPrefix(status, "unix:"); ok {
			network, addr = "unix", p
			_ = os.Remove(p)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("--status: %w", err)
		}
		// The JSON status, and the same facts as Prometheus metrics.
		mux := http.NewServeMux()
		mux.Handle("/metrics", metrics.ArbiterHandler(s.Status))
		mux.Handle("/", s.Handler())
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer func() { _ = hs.Close() }()
	}
	log.Info("arbiter running", zap.String("cluster", cfg.Gossip.Cluster), zap.Stringer("bind", cfg.Gossip.Bind),
		zap.Int("nodes", len(cfg.Gossip.Peers)), zap.Duration("lease_ttl", cfg.LeaseTTL),
		zap.String("state", cfg.StateFile), zap.String("status", status))
	sd := arbiterNotifier{log: log}
	sd.ready(s)
	go sd.watchdog(ctx, s)
	<-ctx.Done()
	sd.stopping()
	log.Info("arbiter stopping")
	return nil
}
