package health

import "sort"

// maxIPVSWeight is the largest weight IPVS takes (IPVS_WEIGHT_LIMIT).
const maxIPVSWeight = 1<<31 - 1

// Server folds the checkers of one real server into what lvsd needs: the
// server is alive while none of its checkers is DOWN (keepalived's
// failed_checkers list, check_api.c update_svr_checker_state), and its
// weight is the configured one, or the last one a misc_dynamic MISC_CHECK
// asked for, plus the FILE_CHECK adjustments. notify_up and notify_down
// run on the alive transitions.
type Server struct {
	weight   int // configured weight
	dynamic  *int
	checkers map[string]*serverChecker
	alive    bool
	eff      int
}

type serverChecker struct {
	up    bool
	delta int64 // FILE_CHECK adjustment
}

// ServerDecision is a real server's state after an update.
type ServerDecision struct {
	Alive         bool
	AliveChanged  bool
	Weight        int
	WeightChanged bool
	// Failed lists the checkers now DOWN, sorted.
	Failed []string
}

// NewServer tracks a real server with the configured weight and its
// checkers, each UP or DOWN as it starts (DOWN with alpha).
func NewServer(weight int, checkers map[string]bool) *Server {
	s := &Server{weight: weight, checkers: map[string]*serverChecker{}}
	for id, up := range checkers {
		s.checkers[id] = &serverChecker{up: up}
	}
	s.alive, s.eff = s.compute()
	return s
}

// Alive reports whether every checker is UP.
func (s *Server) Alive() bool { return s.alive }

// Weight is the effective weight.
func (s *Server) Weight() int { return s.eff }

// Update applies one checker's decision; delta is its FILE_CHECK weight
// adjustment (nil when it has none). Unknown checkers are ignored.
func (s *Server) Update(id string, d Decision, delta *int64) ServerDecision {
	c, ok := s.checkers[id]
	if !ok {
		return s.decision(s.alive, s.eff)
	}
	c.up = d.Up
	if delta != nil {
		c.delta = *delta
	}
	if d.WeightChanged && d.Up {
		s.dynamic = copyWeight(d.Weight)
	}
	wasAlive, wasWeight := s.alive, s.eff
	s.alive, s.eff = s.compute()
	return s.decision(wasAlive, wasWeight)
}

func (s *Server) compute() (bool, int) {
	alive := true
	w := int64(s.weight)
	if s.dynamic != nil {
		w = int64(*s.dynamic)
	}
	for _, c := range s.checkers {
		alive = alive && c.up
		w += c.delta
	}
	return alive, int(min(max(w, 0), maxIPVSWeight))
}

func (s *Server) decision(wasAlive bool, wasWeight int) ServerDecision {
	d := ServerDecision{Alive: s.alive, AliveChanged: wasAlive != s.alive, Weight: s.eff, WeightChanged: wasWeight != s.eff}
	for id, c := range s.checkers {
		if !c.up {
			d.Failed = append(d.Failed, id)
		}
	}
	sort.Strings(d.Failed)
	return d
}
