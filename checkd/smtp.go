package checkd

import (
	"fmt"
	"strings"

	"github.com/vigil-ha/vigil/checkd/health"
)

// alertDetail is Vigil's addition below keepalived's body in a checker's
// smtp_alert e-mail: which checker it was, and the real server's state
// after the change (alive, weight, the checkers still failing).
func alertDetail(checker string, sd health.ServerDecision) string {
	state := "DOWN"
	if sd.Alive {
		state = "UP"
	}
	d := fmt.Sprintf("checker %s; real server %s, weight %d", checker, state, sd.Weight)
	if len(sd.Failed) > 0 {
		d += ", failed checks: " + strings.Join(sd.Failed, " ")
	}
	return d
}
