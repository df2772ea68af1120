// Package addrwatch follows the addresses configured on this host (its
// network namespace) through netlink, for ha_suspend: checkd pauses a
// virtual server's checkers, and lvsd removes its service, while the
// virtual address is elsewhere (this node's VRRP instance is not MASTER).
package addrwatch

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// Watch is a running subscription.
type Watch struct {
	done chan struct{}
	stop context.CancelFunc
}

// Start calls onChange with the full set of local addresses
// before it returns, then after every change, from one goroutine, until
// ctx ends or Close.
func Start(ctx context.Context, onChange func(map[netip.Addr]bool)) (*Watch, error) {
	ctx, stop := context.WithCancel(ctx)
	updates := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(updates, ctx.Done(), netlink.AddrSubscribeOptions{}); err != nil {
		stop()
		return nil, fmt.Errorf("addrwatch: subscribe to address changes: %w", err)
	}
	// Subscribed first, listed second: no change falls between the two.
	list, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		stop()
		return nil, fmt.Errorf("addrwatch: list local addresses: %w", err)
	}
	held := map[netip.Addr]bool{}
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			held[ip.Unmap()] = true
		}
	}
	onChange(maps.Clone(held))
	w := &Watch{done: make(chan struct{}), stop: stop}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-updates:
				if !ok {
					return
				}
				a, ok := netip.AddrFromSlice(u.LinkAddress.IP)
				if !ok {
					continue
				}
				a = a.Unmap()
				if u.NewAddr == held[a] {
					continue
				}
				if u.NewAddr {
					held[a] = true
				} else {
					delete(held, a)
				}
				onChange(maps.Clone(held))
			}
		}
	}()
	return w, nil
}

// Close stops the watch.
func (w *Watch) Close() {
	w.stop()
	<-w.done
}
