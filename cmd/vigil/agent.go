package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/agent"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd"
)

// agentCommand is the split-brain agent, run by `vigil run` as the child
// "agent" when the configuration has an arbiter { } block: vrrpd's
// instance states in (TypeInstance events), verdicts out (TypeVerdict).
func agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "the split-brain agent (started by vigil run when an arbiter block is configured)",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "child", Usage: "run under vigil run (IPC on VIGIL_IPC_FD)"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		},
		Action: func(c *cli.Context) error {
			log := logging.New("agent", logging.Format(c.String("log-format")), c.Bool("debug"))
			defer func() { _ = log.Sync() }()
			if !c.Bool("child") {
				fmt.Fprintln(c.App.ErrWriter, "vigil agent: runs under vigil run (--child)")
				return exitError(2)
			}
			if err := runAgentChild(log); err != nil {
				log.Error("agent child failed", zap.Error(err))
				return exitError(1)
			}
			return nil
		},
	}
}

// agentInstance converts vrrpd's status of an instance for the agent.
func agentInstance(st vrrpd.InstanceStatus) agent.Instance {
	return agent.Instance{Name: st.Name, Family: st.Family, VRID: st.VRID, State: st.State,
		Priority: int(st.EffectivePriority), Preempt: st.Preempt, Addr: st.Source, Epoch: st.Epoch, Waiting: st.Waiting}
}

func runAgentChild(log *zap.Logger) error {
	// Events may arrive before the agent exists (vrrpd's states are
	// relayed as soon as the session is up): they wait here.
	var (
		mu    sync.Mutex
		a     *agent.Agent
		early = map[string]agent.Instance{} // latest by name
	)
	getAgent := func() *agent.Agent {
		mu.Lock()
		defer mu.Unlock()
		return a
	}
	setAgent := func(ag *agent.Agent) {
		mu.Lock()
		defer mu.Unlock()
		a = ag
		for _, in := range early {
			ag.Update(in)
		}
		early = nil
	}
	s, err := startChildSession("agent", log, childHandlers{
		event: func(t ipc.Type, body json.RawMessage) {
			if t != ipc.TypeInstance {
				return
			}
			var st vrrpd.InstanceStatus
			if err := json.Unmarshal(body, &st); err != nil {
				log.Warn("instance state not understood", zap.Error(err))
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if a != nil {
				a.Update(agentInstance(st))
			} else {
				early[st.Name] = agentInstance(st)
			}
		},
		request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
			if t == ipc.TypeStatus {
				if ag := getAgent(); ag != nil {
					return ag.Status(), nil
				}
				return agent.Status{}, nil
			}
			return nil, fmt.Errorf("agent: unknown request %v", t)
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
	if cfg.Arbiter == nil {
		log.Info("no arbiter block: nothing to do")
		<-s.ctx.Done()
		return nil
	}
	// The instances' current states: vrrpd reports a state only when it
	// changes, so an agent started (or restarted) next to a running
	// vrrpd would otherwise know no instance, publish none in its
	// heartbeats and renew no lease, until the next change. Events
	// already received are newer than the list's entries.
	var list []json.RawMessage
	if err := s.request(ipc.TypeInstance, &list); err != nil {
		log.Warn("instance states not available from the parent", zap.Error(err))
	}
	mu.Lock()
	for _, body := range list {
		var st vrrpd.InstanceStatus
		if err := json.Unmarshal(body, &st); err != nil {
			log.Warn("instance state not understood", zap.Error(err))
			continue
		}
		if _, ok := early[st.Name]; !ok {
			early[st.Name] = agentInstance(st)
		}
	}
	mu.Unlock()
	ag, done, err := agent.Start(s.ctx, cfg.Arbiter, func(v ipc.Verdict) {
		if err := s.conn.Notify(ipc.TypeVerdict, v); err != nil {
			log.Warn("verdict not sent", zap.String("instance", v.Instance), zap.Error(err))
		}
	}, log, nil)
	if err != nil {
		return err
	}
	setAgent(ag)
	log.Info("Starting split-brain agent", zap.String("cluster", cfg.Arbiter.Cluster),
		zap.Stringer("bind", cfg.Arbiter.Bind), zap.Int("peers", len(cfg.Arbiter.Peers)),
		zap.Int("arbiters", len(cfg.Arbiter.Arbiters)), zap.Bool("require_quorum", cfg.Arbiter.RequireQuorum))
	<-done
	return nil
}
