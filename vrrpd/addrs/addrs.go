// Package addrs programs the kernel state a VRRP instance owns while it is
// MASTER: virtual addresses (VIPs), virtual routes, virtual rules and the
// VMAC interface, over netlink, in the namespace of the handle it is given.
//
// Everything here is idempotent and never flaps what is already right: an
// address that is present is adopted (NLM_F_REPLACE refreshes it in place,
// the kernel sends no RTM_DELADDR), a route is replaced, a rule that exists
// is left alone. Removing what is absent is not an error. This is what
// makes a vrrpd restart hitless: the new process re-applies its state over
// the kernel's and nothing observable happens.
//
// Every call works through its whole list and returns the errors of all
// the entries that failed (errors.Join), each naming the entry; one bad
// entry does not keep the others out.
package addrs

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/config"
)

// Manager applies addresses, routes, rules and VMACs through one netlink
// handle. Its methods may be called from several goroutines; they are
// serialised.
type Manager struct {
	mu sync.Mutex
	h  *netlink.Handle
}

// New returns a Manager working in the namespace of h (netlink.NewHandle
// for the current one, netlink.NewHandleAt for another). The caller keeps
// ownership of h.
func New(h *netlink.Handle) *Manager { return &Manager{h: h} }

// AddAddrs adds each address to its device (a.Dev, else defaultDev) with
// `ip address replace` semantics. An address already on the device (same
// address, prefix length and peer) is adopted in place: the kernel keeps
// it and refreshes lifetimes, and for IPv6 the flags; it is never removed
// and re-added. Note that the kernel keeps the label, broadcast and scope
// of an adopted IPv4 address as they were (it cannot change them without
// a delete); HasAddr tells presence only.
func (m *Manager) AddAddrs(defaultDev string, addrs []*config.IPAddress) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, a := range addrs {
		if a == nil {
			continue
		}
		dev := devOf(a, defaultDev)
		if err := m.addAddr(dev, a); err != nil {
			errs = append(errs, fmt.Errorf("addrs: add %s on %s: %w", a.Address, devName(dev), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) addAddr(dev string, a *config.IPAddress) error {
	if dev == "" {
		return errors.New("no device (neither dev nor the instance's interface)")
	}
	if a.Label != "" {
		if !a.Address.Addr().Is4() {
			return errors.New("labels apply to IPv4 only")
		}
		// iproute2 refuses a label that does not start with the device
		// name and keepalived requires the same; the kernel would accept
		// anything and ifconfig-style tools would then misreport it.
		if !strings.HasPrefix(a.Label, dev) {
			return fmt.Errorf("label %q does not start with the device name %q", a.Label, dev)
		}
		if len(a.Label) > unix.IFNAMSIZ-1 {
			return fmt.Errorf("label %q is longer than %d characters", a.Label, unix.IFNAMSIZ-1)
		}
	}
	link, err := m.h.LinkByName(dev)
	if err != nil {
		return err
	}
	na, err := toNetlinkAddr(a, link.Attrs().Index)
	if err != nil {
		return err
	}
	return m.h.AddrReplace(nil, na)
}

// RemoveAddrs deletes each address from its device. An address, or a
// device, that is not there is not an error: the goal state is reached.
func (m *Manager) RemoveAddrs(defaultDev string, addrs []*config.IPAddress) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, a := range addrs {
		if a == nil {
			continue
		}
		dev := devOf(a, defaultDev)
		if err := m.removeAddr(dev, a); err != nil {
			errs = append(errs, fmt.Errorf("addrs: remove %s from %s: %w", a.Address, devName(dev), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) removeAddr(dev string, a *config.IPAddress) error {
	if dev == "" {
		return errors.New("no device (neither dev nor the instance's interface)")
	}
	link, err := m.h.LinkByName(dev)
	if err != nil {
		if isLinkNotFound(err) {
			return nil
		}
		return err
	}
	na, err := toNetlinkAddr(a, link.Attrs().Index)
	if err != nil {
		return err
	}
	// The kernel matches a label given on delete; an address adopted with
	// another label must go too, so match on address and peer only.
	na.Label = ""
	err = m.h.AddrDel(nil, na)
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// HasAddr tells whether the address (address, prefix length and peer) is
// on its device. A missing device means false, not an error.
func (m *Manager) HasAddr(defaultDev string, a *config.IPAddress) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dev := devOf(a, defaultDev)
	wrap := func(err error) error {
		return fmt.Errorf("addrs: look up %s on %s: %w", a.Address, devName(dev), err)
	}
	if dev == "" {
		return false, wrap(errors.New("no device (neither dev nor the instance's interface)"))
	}
	link, err := m.h.LinkByName(dev)
	if err != nil {
		if isLinkNotFound(err) {
			return false, nil
		}
		return false, wrap(err)
	}
	family := unix.AF_INET
	if a.Address.Addr().Is6() {
		family = unix.AF_INET6
	}
	list, err := m.h.AddrList(link, family)
	if err != nil {
		return false, wrap(err)
	}
	want := a.Address.Addr()
	for _, have := range list {
		ip, ok := netip.AddrFromSlice(have.IP)
		if !ok || ip.Unmap() != want {
			continue
		}
		ones, _ := have.Mask.Size()
		if ones != a.Address.Bits() {
			continue
		}
		if a.Peer.IsValid() {
			if have.Peer == nil {
				continue
			}
			pip, ok := netip.AddrFromSlice(have.Peer.IP)
			if !ok || pip.Unmap() != a.Peer {
				continue
			}
		}
		return true, nil
	}
	return false, nil
}

// toNetlinkAddr turns a model address into what `ip address add` would send.
func toNetlinkAddr(a *config.IPAddress, index int) (*netlink.Addr, error) {
	if !a.Address.IsValid() {
		return nil, errors.New("invalid address")
	}
	ip := a.Address.Addr().Unmap()
	bits := ip.BitLen()
	na := &netlink.Addr{
		IPNet:     &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Address.Bits(), bits)},
		LinkIndex: index,
		Label:     a.Label,
	}
	if a.Scope != "" {
		s, err := scopeValue(a.Scope)
		if err != nil {
			return nil, err
		}
		na.Scope = int(s)
	}
	if a.Peer.IsValid() {
		p := a.Peer.Unmap()
		if p.Is4() != ip.Is4() {
			return nil, fmt.Errorf("peer %s is not of the address's family", p)
		}
		// As `ip address add A peer P`: the prefix length is the peer's,
		// which the model stores on the address.
		na.Peer = &net.IPNet{IP: p.AsSlice(), Mask: net.CIDRMask(a.Address.Bits(), bits)}
		na.IPNet.Mask = net.CIDRMask(bits, bits)
	}
	if ip.Is4() {
		if a.Broadcast.IsValid() {
			if !a.Broadcast.Unmap().Is4() {
				return nil, fmt.Errorf("broadcast %s is not IPv4", a.Broadcast)
			}
			na.Broadcast = a.Broadcast.Unmap().AsSlice()
		} else {
			// netlink would invent one; `ip address add` sends none.
			na.Broadcast = net.IPv4zero
		}
	} else if a.Broadcast.IsValid() {
		return nil, errors.New("IPv6 has no broadcast address")
	}
	flags := 0
	if ip.Is6() {
		if a.NoDAD {
			flags |= unix.IFA_F_NODAD
		}
		if a.Home {
			flags |= unix.IFA_F_HOMEADDRESS
		}
		if a.MngTmpAddr {
			flags |= unix.IFA_F_MANAGETEMPADDR
		}
	}
	if a.NoPrefixRoute {
		flags |= unix.IFA_F_NOPREFIXROUTE
	}
	if a.AutoJoin {
		flags |= unix.IFA_F_MCAUTOJOIN
	}
	na.Flags = flags
	if a.PreferredLft != nil {
		// Valid stays forever; only the preferred lifetime is set
		// (keepalived deprecates IPv6 /128 VIPs with 0 so they are not
		// picked as a source address).
		na.ValidLft = math.MaxUint32
		na.PreferedLft = int(*a.PreferredLft)
	}
	return na, nil
}

func devOf(a *config.IPAddress, defaultDev string) string {
	if a.Dev != "" {
		return a.Dev
	}
	return defaultDev
}

func devName(dev string) string {
	if dev == "" {
		return "(no device)"
	}
	return dev
}

func isLinkNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV)
}

// isExist reports EEXIST however the netlink library wrapped it.
func isExist(err error) bool { return errors.Is(err, syscall.EEXIST) }

// isAbsent reports the errors a delete of something not there returns.
func isAbsent(err error) bool {
	return errors.Is(err, syscall.ESRCH) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EADDRNOTAVAIL)
}
