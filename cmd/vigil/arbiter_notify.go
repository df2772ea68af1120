package main

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/arbiter/server"
)

// arbiterNotifier speaks systemd's notify protocol for `vigil arbiter`
// (vigil-arbiter.service is Type=notify): READY=1 once the lease server
// has loaded its state and joined the gossip, STOPPING=1 at shutdown, and
// WATCHDOG=1 at half WATCHDOG_USEC while the server still answers, so a
// wedged arbiter is restarted rather than silently granting nothing.
// Without NOTIFY_SOCKET every method does nothing.
type arbiterNotifier struct {
	log *zap.Logger
}

func (n arbiterNotifier) send(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		n.log.Warn("sd_notify failed", zap.String("state", state), zap.Error(err))
	}
}

// ready reports start-up done, with a one-line STATUS.
func (n arbiterNotifier) ready(s *server.Server) {
	st := s.Status()
	n.send(fmt.Sprintf("READY=1\nSTATUS=arbiter %s of cluster %s, %d leases", st.Node, st.Cluster, len(st.Leases)))
}

// watchdog pets systemd's watchdog until ctx ends, each time only after
// the server's status (which takes its lock) came back in time.
func (n arbiterNotifier) watchdog(ctx context.Context, s *server.Server) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return
	}
	t := time.NewTicker(d / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		done := make(chan struct{})
		go func() { s.Status(); close(done) }()
		select {
		case <-done:
			n.send("WATCHDOG=1")
		case <-time.After(d / 2):
			n.log.Error("arbiter status did not answer within half the watchdog interval; not petting the watchdog")
		case <-ctx.Done():
			return
		}
	}
}

func (n arbiterNotifier) stopping() { n.send("STOPPING=1\nSTATUS=stopping") }
