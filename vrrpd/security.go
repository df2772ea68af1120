package vrrpd

import (
	"sync"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
)

// scriptGate applies keepalived's script security to every script vrrpd
// runs: which user runs it, and whether it may run at all.
type scriptGate struct {
	log      *zap.Logger
	g        *config.GlobalDefs
	mu       sync.Mutex
	verdicts map[string]bool // program -> allowed (checked once)
}

func newScriptGate(log *zap.Logger, g *config.GlobalDefs) *scriptGate {
	return &scriptGate{log: log, g: g, verdicts: map[string]bool{}}
}

// user returns who runs a script: its own user, else script_user, else
// keepalived_script when that user exists, else root.
func (s *scriptGate) user(user, group string) (string, string) {
	if user != "" {
		return user, group
	}
	if s.g.ScriptUser != nil {
		return s.g.ScriptUser.User, s.g.ScriptUser.Group
	}
	return script.DefaultUser(), ""
}

// allowed reports whether a program may run. With enable_script_security
// an unsafe program (writable by non-root users) is refused; without it
// the danger is logged once and the program runs, as keepalived does.
func (s *scriptGate) allowed(program, what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok, seen := s.verdicts[program]; seen {
		return ok
	}
	ok := true
	if why := script.Unsafe(program); why != "" {
		if s.g.EnableScriptSecurity {
			ok = false
			s.log.Error("SECURITY VIOLATION - script disabled: it could be changed by a non-root user",
				zap.String("script", program), zap.String("used_by", what), zap.String("why", why))
		} else {
			s.log.Warn("script could be changed by a non-root user; set enable_script_security in global_defs to refuse it",
				zap.String("script", program), zap.String("used_by", what), zap.String("why", why))
		}
	}
	s.verdicts[program] = ok
	return ok
}
