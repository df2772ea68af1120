// Package server is `vigil arbiter`: the tie-breaker on a third host. It is
// a member of one cluster's gossip (arbiter/gossip, role arbiter) that
// answers lease requests from a lease.Table and takes releases. Every
// change of a holder is saved to the state file before the grant is sent,
// and the file is restored at start, so a restarted arbiter never grants a
// lease it had granted to another node before it stopped (restored leases
// run a full TTL from the restart). One process serves one cluster; run
// one per cluster (on different ports) to share a host.
package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/gossip"
	"github.com/vigil-ha/vigil/arbiter/lease"
	"github.com/vigil-ha/vigil/arbiter/wire"
)

// Config configures an arbiter.
type Config struct {
	// Gossip is the member's configuration; Role, HeartbeatInterval and
	// the lease callbacks are set by Start.
	Gossip gossip.Config
	// LeaseTTL is the lease length granted (default 3 s).
	LeaseTTL time.Duration
	// StateFile keeps the holders across restarts (empty: not kept, and
	// a restart may double-grant within one TTL: warned).
	StateFile string
	Log       *zap.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Server is a running arbiter.
type Server struct {
	cfg Config
	log *zap.Logger
	g   *gossip.Gossip

	mu    sync.Mutex
	table *lease.Table
	saved []lease.Held
	// Requests and grants counted for status.
	requests, grants, denials, saveErrors uint64
}

// LeaseStatus is one live lease.
type LeaseStatus struct {
	Key       string        `json:"key"`
	Holder    string        `json:"holder"`
	Expires   time.Time     `json:"expires"`
	Remaining time.Duration `json:"remaining"`
}

// Status is the arbiter's state for its status endpoint.
type Status struct {
	Node       string          `json:"node"`
	Cluster    string          `json:"cluster"`
	LeaseTTL   time.Duration   `json:"lease_ttl"`
	Leases     []LeaseStatus   `json:"leases"`
	Members    []gossip.Member `json:"members"`
	Requests   uint64          `json:"requests"`
	Grants     uint64          `json:"grants"`
	Denials    uint64          `json:"denials"`
	SaveErrors uint64          `json:"save_errors,omitempty"`
}

// Start restores the state file and joins the cluster.
func Start(cfg Config) (*Server, error) {
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 3 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Log, table: lease.New(cfg.LeaseTTL)}
	if cfg.StateFile == "" {
		s.log.Warn("no state file: a restarted arbiter could grant a lease another node still holds")
	} else if err := s.restore(); err != nil {
		return nil, err
	}
	gc := cfg.Gossip
	gc.Role = gossip.RoleArbiter
	gc.HeartbeatInterval = 0
	gc.Arbiters = nil
	if gc.Log == nil {
		gc.Log = cfg.Log
	}
	gc.OnLeaseRequest = s.onRequest
	gc.OnLeaseRelease = s.onRelease
	g, err := gossip.Start(gc)
	if err != nil {
		return nil, err
	}
	// Requests may arrive before Start returns: they wait for s.g (under
	// s.mu) and are dropped until it is set; the nodes ask again.
	s.mu.Lock()
	s.g = g
	s.mu.Unlock()
	return s, nil
}

func (s *Server) restore() error {
	b, err := os.ReadFile(s.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("arbiter: state file: %w", err)
	}
	var st lease.State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("arbiter: state file %s: %w (remove it only after every node's lease expired)", s.cfg.StateFile, err)
	}
	if err := s.table.Restore(s.cfg.Now(), st); err != nil {
		return fmt.Errorf("arbiter: state file %s: %w", s.cfg.StateFile, err)
	}
	s.saved = st.Leases
	if len(st.Leases) > 0 {
		s.log.Info("leases restored; each runs a full TTL from now", zap.Int("leases", len(st.Leases)),
			zap.Duration("ttl", max(st.TTL, s.cfg.LeaseTTL)))
	}
	return nil
}

// save writes the holders when they changed (caller holds mu).
func (s *Server) save(now time.Time) error {
	if s.cfg.StateFile == "" {
		return nil
	}
	st := s.table.State(now)
	if equalHeld(st.Leases, s.saved) {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := s.cfg.StateFile + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.cfg.StateFile)
	}
	if err == nil {
		if d, derr := os.Open(filepath.Dir(s.cfg.StateFile)); derr == nil {
			_ = d.Sync()
			_ = d.Close()
		}
		s.saved = st.Leases
	}
	return err
}

func equalHeld(a, b []lease.Held) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *Server) onRequest(req wire.LeaseRequest, _ time.Time) (wire.LeaseReply, bool) {
	now := s.cfg.Now()
	s.mu.Lock()
	if s.g == nil {
		s.mu.Unlock()
		return wire.LeaseReply{}, false // still starting: no name to answer with yet
	}
	defer s.mu.Unlock()
	s.requests++
	granted, holder, ttl := s.table.Request(now, req.Key, req.Node)
	if granted {
		if err := s.save(now); err != nil {
			// Not saved: a restart could forget the holder, so the
			// grant is withdrawn rather than sent.
			s.saveErrors++
			s.table.Release(now, req.Key, req.Node)
			s.log.Error("lease not granted: state not saved", zap.String("key", req.Key),
				zap.String("node", req.Node), zap.Error(err))
			return wire.LeaseReply{}, false
		}
		s.grants++
	} else {
		s.denials++
		s.log.Debug("lease denied", zap.String("key", req.Key), zap.String("node", req.Node), zap.String("holder", holder))
	}
	return wire.LeaseReply{Cluster: req.Cluster, Arbiter: s.g.Name(), Key: req.Key, ID: req.ID,
		Granted: granted, Holder: holder, TTL: ttl}, true
}

func (s *Server) onRelease(rel wire.LeaseRelease, _ time.Time) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table.Release(now, rel.Key, rel.Node)
	if err := s.save(now); err != nil {
		s.saveErrors++
		s.log.Warn("state not saved after a release", zap.Error(err))
	}
}

// Status reports the leases and members.
func (s *Server) Status() Status {
	now := s.cfg.Now()
	s.mu.Lock()
	st := Status{Node: s.g.Name(), Cluster: s.cfg.Gossip.Cluster, LeaseTTL: s.cfg.LeaseTTL,
		Requests: s.requests, Grants: s.grants, Denials: s.denials, SaveErrors: s.saveErrors, Leases: []LeaseStatus{}}
	for _, l := range s.table.Leases(now) {
		st.Leases = append(st.Leases, LeaseStatus{Key: l.Key, Holder: l.Node, Expires: l.Expires, Remaining: l.Expires.Sub(now)})
	}
	s.mu.Unlock()
	st.Members = s.g.Members()
	return st
}

// Handler serves Status as JSON on GET /status (and /).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Status())
	}
	mux.HandleFunc("GET /status", h)
	mux.HandleFunc("GET /{$}", h)
	return mux
}

// Close leaves the cluster. The state file stays.
func (s *Server) Close() error { return s.g.Close() }
