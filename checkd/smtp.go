package checkd

import (
	"fmt"
	"strings"

	"github.com/vigil-ha/vigil/ipc"
)

// alertDetail is the extra body of a real server's smtp_alert e-mail: the
// weight and the failing checkers.
func alertDetail(b ipc.Backend) string {
	d := fmt.Sprintf("weight %d", b.Weight)
	if len(b.Failed) > 0 {
		d += ", failed checks: " + strings.Join(b.Failed, " ")
	}
	return d
}
