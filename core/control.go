package core

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/ipc"
)

// Command is a control-socket request from the CLI.
type Command struct {
	Name string   `json:"name"` // status, restart, reload, stop
	Args []string `json:"args,omitempty"`
}

// Status is what `vigil status` shows (and SIGUSR1 writes as JSON).
type Status struct {
	PID      int             `json:"pid"`
	Uptime   string          `json:"uptime"`
	Config   string          `json:"config"`
	RunDir   string          `json:"run_dir"`
	Children []ChildStatus   `json:"children"`
	VRRP     json.RawMessage `json:"vrrp,omitempty"`     // vrrpd's own status, when it runs
	LVS      json.RawMessage `json:"lvs,omitempty"`      // lvsd's own status (the IPVS tables), when it runs
	Agent    json.RawMessage `json:"agent,omitempty"`    // the arbiter agent's status (members, holds, leases), when it runs
	Checks   json.RawMessage `json:"checks,omitempty"`   // checkd's own status (vrrp_scripts, checkers with probe latency), when it runs
	StandIn  *standInStatus  `json:"stand_in,omitempty"` // adverts sent for an absent vrrpd
	// Backends are the checked real servers as checkd last reported them.
	Backends []ipc.Backend `json:"real_servers,omitempty"`
}

type standInStatus struct {
	Sent   uint64 `json:"sent"`
	Errors uint64 `json:"errors"`
}

// serveControl accepts CLI connections on the control socket. Only root
// or the daemon's own user may talk to it.
func (s *Supervisor) serveControl(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go s.controlConn(nc)
	}
}

func (s *Supervisor) controlConn(nc net.Conn) {
	defer nc.Close()
	uid, pid, err := ipc.PeerCred(nc)
	if err != nil || (uid != 0 && uid != os.Getuid()) {
		s.log.Warn("control connection refused", zap.Int("uid", uid), zap.Int("pid", pid), zap.Error(err))
		return
	}
	conn := ipc.NewConn(nc, "core")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = conn.Handshake(ctx)
	cancel()
	if err != nil {
		return
	}
	_ = conn.Serve(context.Background(), ipc.HandlerFuncs{
		Request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
			if t != ipc.TypeCommand {
				return nil, fmt.Errorf("core: control socket serves commands, not %v", t)
			}
			var cmd Command
			if err := json.Unmarshal(body, &cmd); err != nil {
				return nil, fmt.Errorf("core: bad command: %w", err)
			}
			s.log.Info("control command", zap.String("command", cmd.Name), zap.Strings("args", cmd.Args), zap.Int("peer_pid", pid))
			return s.command(ctx, cmd)
		},
	})
}

func (s *Supervisor) command(ctx context.Context, cmd Command) (any, error) {
	switch cmd.Name {
	case "status":
		return s.status(ctx), nil
	case "restart":
		if len(cmd.Args) != 1 {
			return nil, fmt.Errorf("restart needs one subsystem: vrrpd, checkd, lvsd or agent")
		}
		s.mu.Lock()
		c := s.children[cmd.Args[0]]
		s.mu.Unlock()
		if c == nil {
			return nil, fmt.Errorf("restart %s: %w", cmd.Args[0], errNotRunning)
		}
		c.restart("vigil restart")
		return map[string]string{"restarting": cmd.Args[0]}, nil
	case "reload":
		if err := s.Reload(); err != nil {
			return nil, err
		}
		return map[string]string{"reloaded": s.opts.ConfigPath}, nil
	case "stop":
		s.requestStop()
		return map[string]string{"stopping": "vigil"}, nil
	case "handoff":
		s.mu.Lock()
		c := s.children["vrrpd"]
		s.mu.Unlock()
		var conn *ipc.Conn
		if c != nil {
			c.mu.Lock()
			conn = c.conn
			c.mu.Unlock()
		}
		if conn == nil {
			return nil, fmt.Errorf("handoff: vrrpd is not running")
		}
		var out map[string]string
		if err := conn.Request(ctx, ipc.TypeCommand, cmd, &out); err != nil {
			return nil, err
		}
		return out, nil
	case "upgrade":
		bin := s.opts.Binary
		if len(cmd.Args) == 1 {
			bin = cmd.Args[0]
		}
		if err := s.checkBinary(ctx, bin); err != nil {
			return nil, err
		}
		s.upgradeTo(bin)
		return map[string]string{"upgrading": bin}, nil
	}
	return nil, fmt.Errorf("unknown command %q (status, restart, reload, stop, upgrade, handoff)", cmd.Name)
}

func (s *Supervisor) status(ctx context.Context) Status {
	st := Status{PID: os.Getpid(), Uptime: time.Since(s.started).Round(time.Second).String(),
		Config: s.opts.ConfigPath, RunDir: s.opts.RunDir}
	s.mu.Lock()
	var children []*child
	// The arbiter agent's child is "agent" (it was listed as "arbiter",
	// so vigil status never showed it).
	for _, name := range []string{"vrrpd", "checkd", "lvsd", "agent"} {
		if c := s.children[name]; c != nil {
			children = append(children, c)
		}
	}
	vrrp, lvs, agent, checks := s.children["vrrpd"], s.children["lvsd"], s.children["agent"], s.children["checkd"]
	s.mu.Unlock()
	for _, c := range children {
		st.Children = append(st.Children, c.status())
	}
	st.VRRP = childStatus(ctx, vrrp)
	st.LVS = childStatus(ctx, lvs)
	st.Agent = childStatus(ctx, agent)
	st.Checks = childStatus(ctx, checks)
	st.Backends = s.Backends()
	if sent, errs := s.standIn.Counts(); sent+errs > 0 {
		st.StandIn = &standInStatus{Sent: sent, Errors: errs}
	}
	return st
}

// childStatus asks a running child for its own status (nil if it cannot
// answer within two seconds).
func childStatus(ctx context.Context, c *child) json.RawMessage {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil
	}
	var raw json.RawMessage
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := conn.Request(cctx, ipc.TypeStatus, nil, &raw); err != nil {
		return nil
	}
	return raw
}

// WriteDump writes the daemon's status as JSON into the run directory
// (SIGUSR1, as keepalived's data dump) and returns the file's path.
func (s *Supervisor) WriteDump() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, err := json.MarshalIndent(s.status(ctx), "", "  ")
	if err != nil {
		return "", err
	}
	path := s.opts.RunDir + "/vigil.json"
	return path, os.WriteFile(path, data, 0o644)
}
