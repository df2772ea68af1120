package vrrpd

import (
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
)

// newScriptGate builds the script-security policy of global_defs.
func newScriptGate(log *zap.Logger, g *config.GlobalDefs) *script.Gate {
	gate := &script.Gate{Enforce: g.EnableScriptSecurity, Log: log}
	if g.ScriptUser != nil {
		gate.User, gate.Group = g.ScriptUser.User, g.ScriptUser.Group
	}
	return gate
}
