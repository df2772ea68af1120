package core

import (
	"testing"

	"go.uber.org/zap"
)

// Without NOTIFY_SOCKET nothing is sent and the hooks are no-ops.
func TestSystemdNotifyOff(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := newSDNotifier(&Supervisor{log: zap.NewNop()})
	if n.on || n.loop != nil {
		t.Fatal("notifier on without NOTIFY_SOCKET")
	}
	n.reloading()
	n.reloaded(nil)
	n.stoppingNow()
	var nilN *sdNotifier
	nilN.stoppingNow()
}
