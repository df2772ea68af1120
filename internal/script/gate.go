package script

import (
	"sync"

	"go.uber.org/zap"
)

// Gate applies keepalived's script security to every script a subsystem
// runs: which user runs it, and whether it may run at all. One policy for
// vrrpd's notify scripts and checkd's track and check scripts.
type Gate struct {
	// Enforce is enable_script_security: unsafe scripts are refused.
	Enforce bool
	// User and Group are script_user; empty means keepalived's default
	// (keepalived_script if that user exists, else root).
	User, Group string
	Log         *zap.Logger

	mu       sync.Mutex
	verdicts map[string]bool // program -> allowed (checked once)
}

// RunAs returns who runs a script: its own user, else script_user, else
// keepalived's default.
func (g *Gate) RunAs(user, group string) (string, string) {
	if user != "" {
		return user, group
	}
	if g.User != "" {
		return g.User, g.Group
	}
	return DefaultUser(), ""
}

// Allowed reports whether a program may run. With Enforce an unsafe
// program (changeable by a non-root user) is refused; without it the danger
// is logged once and the program runs, as keepalived does.
func (g *Gate) Allowed(program, usedBy string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.verdicts == nil {
		g.verdicts = map[string]bool{}
	}
	if ok, seen := g.verdicts[program]; seen {
		return ok
	}
	ok := true
	if why := Missing(program); why != "" {
		// Said as what it is, not as a security warning. Without
		// enable_script_security it runs and fails each time; with it,
		// a path that does not exist cannot be vetted (a non-root user
		// might create it later), so it is refused, as keepalived does.
		ok = !g.Enforce
		if g.Log != nil {
			g.Log.Error("script not found or not executable", zap.String("script", program),
				zap.String("used_by", usedBy), zap.String("why", why), zap.Bool("refused", !ok))
		}
		g.verdicts[program] = ok
		return ok
	}
	if why := Unsafe(program); why != "" && g.Log != nil {
		if g.Enforce {
			ok = false
			g.Log.Error("SECURITY VIOLATION - script disabled: it could be changed by a non-root user",
				zap.String("script", program), zap.String("used_by", usedBy), zap.String("why", why))
		} else {
			g.Log.Warn("script could be changed by a non-root user; set enable_script_security in global_defs to refuse it",
				zap.String("script", program), zap.String("used_by", usedBy), zap.String("why", why))
		}
	} else if why != "" && g.Enforce {
		ok = false
	}
	g.verdicts[program] = ok
	return ok
}
