package lvsd

import (
	"context"
	"fmt"
	"maps"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// AddrWatch follows the addresses configured on this host (its network
// namespace), for ha_suspend: a virtual service exists only while its
// address is here, i.e. while this node's VRRP instance is MASTER.
type AddrWatch struct {
	done chan struct{}
	stop context.CancelFunc
}

// WatchLocalAddrs calls onChange with the full set of local addresses
// before it returns, then after every change, from one goroutine, until
// ctx ends or Close.
func WatchLocalAddrs(ctx context.Context, onChange func(map[netip.Addr]bool)) (*AddrWatch, error) {
	ctx, stop := context.WithCancel(ctx)
	updates := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(updates, ctx.Done(), netlink.AddrSubscribeOptions{}); err != nil {
		stop()
		return nil, fmt.Errorf("lvsd: subscribe to address changes: %w", err)
	}
	// Subscribed first, listed second: no change falls between the two.
	list, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		stop()
		return nil, fmt.Errorf("lvsd: list local addresses: %w", err)
	}
	held := map[netip.Addr]bool{}
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			held[ip.Unmap()] = true
		}
	}
	onChange(maps.Clone(held))
	w := &AddrWatch{done: make(chan struct{}), stop: stop}
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
func (w *AddrWatch) Close() {
	w.stop()
	<-w.done
}
