package handover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vigil-ha/vigil/vrrpd/addrs"
	"github.com/vigil-ha/vigil/vrrpd/netio"
)

// StandIn advertises for the masters of a snapshot while their vrrpd is
// away, exactly as it last did (same bytes, same interval), so backups see
// no gap. It is deliberately dumb: it does not listen, so it must only run
// for a bounded time.
type StandIn struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	sent   uint64
	errs   uint64
}

// Start begins standing in for the snapshot's masters until Stop or until
// limit has passed (the supervisor's bound on how long it may speak for an
// absent vrrpd). It returns at once.
func (s *StandIn) Start(snap *Snapshot, limit time.Duration) {
	s.Stop()
	masters := snap.Masters()
	if len(masters) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	s.mu.Lock()
	s.cancel, s.done = cancel, make(chan struct{})
	done := s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		conns := map[int]*netio.Conn{}
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		next := make([]time.Time, len(masters))
		now := time.Now()
		for i := range next {
			next[i] = now // speak at once: vrrpd may have been gone a while
		}
		for {
			soonest := time.Time{}
			now := time.Now()
			for i, m := range masters {
				if !now.Before(next[i]) {
					s.send(conns, m, m.Adverts)
					next[i] = now.Add(m.Interval)
				}
				if soonest.IsZero() || next[i].Before(soonest) {
					soonest = next[i]
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(soonest)):
			}
		}
	}()
}

// Stop ends standing in (vrrpd is back) and waits for the sender to finish.
func (s *StandIn) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Counts reports adverts sent and send errors, for status.
func (s *StandIn) Counts() (sent, errs uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.errs
}

func (s *StandIn) send(conns map[int]*netio.Conn, in Instance, ads []Advert) {
	c := conns[in.Family]
	if c == nil {
		var err error
		if c, err = netio.Listen(in.Family); err != nil {
			s.mu.Lock()
			s.errs++
			s.mu.Unlock()
			return
		}
		conns[in.Family] = c
	}
	for _, a := range ads {
		err := c.Send(in.IfIndex, in.Src, a.Dst, a.Payload)
		s.mu.Lock()
		if err != nil {
			s.errs++
		} else {
			s.sent++
		}
		s.mu.Unlock()
	}
}

// Release gives up the snapshot's masters for good: priority-0 adverts, so
// backups take over within their skew time, then the addresses are
// removed. Used when the supervisor gives up on a crash-looping vrrpd, so
// no VIP is left on a node that no longer runs VRRP.
func Release(snap *Snapshot) error {
	masters := snap.Masters()
	if len(masters) == 0 {
		return nil
	}
	var errs []error
	conns := map[int]*netio.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, m := range masters {
		c := conns[m.Family]
		if c == nil {
			var err error
			if c, err = netio.Listen(m.Family); err != nil {
				errs = append(errs, fmt.Errorf("handover: release %s: %w", m.Name, err))
				continue
			}
			conns[m.Family] = c
		}
		for _, a := range m.Release {
			if err := c.Send(m.IfIndex, m.Src, a.Dst, a.Payload); err != nil {
				errs = append(errs, fmt.Errorf("handover: release %s: priority-0 advert to %s: %w", m.Name, a.Dst, err))
			}
		}
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("handover: netlink: %w", err))...)
	}
	defer h.Close()
	mgr := addrs.New(h)
	for _, m := range masters {
		if err := mgr.RemoveAddrs(m.VIPDev, m.VIPs); err != nil {
			errs = append(errs, fmt.Errorf("handover: release %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}
