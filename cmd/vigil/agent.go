package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/agent"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd"
)

// agentCommand is the split-brain agent, run by `vigil run` as the child
// "agent" when the configuration has an arbiter { } block: vrrpd's
// instance states in (TypeInstance events), verdicts out (TypeVerdict).
func agentCommand() *cli.Command {
	return childCommand("agent", "the split-brain agent (started by vigil run when an arbiter block is configured)", runAgentChild)
}

// agentInstance converts vrrpd's status of an instance for the agent. An
// instance stepping down (a make-before-break stop or handoff in
// progress, or held by vigil handoff) counts as FAULT for the rules: not
// a candidate, so it gives the lease back and its peer, no longer seeing
// a MASTER, may take the lease and then the VIP while this node still
// holds it until the successor speaks.
func agentInstance(st vrrpd.InstanceStatus) agent.Instance {
	state := st.State
	if st.Stepping {
		state = "FAULT"
	}
	return agent.Instance{Name: st.Name, Family: st.Family, VRID: st.VRID, State: state,
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
	fence := newFencer(&cfg, log)
	defer fence.close()
	ag, done, err := agent.Start(s.ctx, cfg.Arbiter, func(v ipc.Verdict) {
		if err := s.conn.Notify(ipc.TypeVerdict, v); err != nil {
			log.Warn("verdict not sent", zap.String("instance", v.Instance), zap.Error(err))
		}
		if v.Fence != "" {
			fence.run(v.Instance, v.Fence)
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

// fenceTimeout bounds a notify_fence script.
const fenceTimeout = 30 * time.Second

// fencer runs the arbiter block's notify_fence hook, in order, one at a
// time, never blocking the agent: "vigil demoted this node's instance,
// for this reason" (a STONITH-style hook, e.g. to stop a database's
// writes before anything else).
type fencer struct {
	log  *zap.Logger
	cmds chan script.Cmd
	done chan struct{}
}

func newFencer(cfg *config.Config, log *zap.Logger) *fencer {
	f := &fencer{log: log, cmds: make(chan script.Cmd, 64), done: make(chan struct{})}
	var base *config.Script
	if cfg.Arbiter != nil {
		base = cfg.Arbiter.NotifyFence
	}
	gate := &script.Gate{Enforce: cfg.Global.EnableScriptSecurity, Log: log, User: scriptUser(cfg), Group: scriptGroup(cfg)}
	if base != nil && len(base.Args) > 0 && !gate.Allowed(base.Args[0], "notify_fence") {
		base = nil
	}
	user, group := gate.RunAs("", "")
	go func() {
		defer close(f.done)
		for c := range f.cmds {
			if base == nil {
				continue
			}
			c.Args = append(append([]string{}, base.Args...), c.Args...)
			c.User, c.Group, c.Timeout = user, group, fenceTimeout
			if res := script.Run(context.Background(), c); !res.OK() {
				f.log.Warn("notify_fence failed", zap.Strings("command", c.Args), zap.String("result", res.String()),
					zap.ByteString("output", res.Output))
			}
		}
	}()
	return f
}

// run queues the hook with the instance name and the reason as arguments.
func (f *fencer) run(instance, reason string) {
	select {
	case f.cmds <- script.Cmd{Args: []string{instance, reason}}:
	default:
		f.log.Warn("notify_fence queue full; hook skipped", zap.String("instance", instance), zap.String("reason", reason))
	}
}

// close waits a bounded time for the queued hooks.
func (f *fencer) close() {
	close(f.cmds)
	select {
	case <-f.done:
	case <-time.After(fenceTimeout):
	}
}
