package addrs

import (
	"bytes"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// VMAC returns the virtual router MAC address of RFC 5798 section 7.3:
// 00:00:5e:00:01:VRID for IPv4 and 00:00:5e:00:02:VRID for IPv6.
func VMAC(vrid uint8, v6 bool) net.HardwareAddr {
	fam := byte(1)
	if v6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, vrid}
}

// EnsureVMAC makes sure a macvlan interface name exists on parent in
// private mode (as keepalived's use_vmac) with the VRRP virtual MAC of
// vrid, and is up; it returns its index. An existing macvlan of that name
// on parent is reused as it is (its MAC is corrected if it differs, which
// does not touch its addresses); an interface of that name that is not a
// macvlan on parent is an error and is left alone.
func (m *Manager) EnsureVMAC(parent, name string, vrid uint8, v6 bool) (ifindex int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx, err := m.ensureVMAC(parent, name, VMAC(vrid, v6))
	if err != nil {
		return 0, fmt.Errorf("addrs: vmac %s on %s (vrid %d): %w", name, parent, vrid, err)
	}
	return idx, nil
}

func (m *Manager) ensureVMAC(parent, name string, mac net.HardwareAddr) (int, error) {
	if name == "" || len(name) > 15 {
		return 0, fmt.Errorf("invalid interface name %q", name)
	}
	p, err := m.h.LinkByName(parent)
	if err != nil {
		return 0, fmt.Errorf("parent: %w", err)
	}
	link, err := m.h.LinkByName(name)
	switch {
	case err == nil:
		mv, ok := link.(*netlink.Macvlan)
		if !ok || link.Attrs().ParentIndex != p.Attrs().Index {
			return 0, fmt.Errorf("%s exists and is not a macvlan on %s (type %s); not touching it", name, parent, link.Type())
		}
		if !bytes.Equal(mv.Attrs().HardwareAddr, mac) {
			if err := m.h.LinkSetHardwareAddr(link, mac); err != nil {
				return 0, fmt.Errorf("set mac %s: %w", mac, err)
			}
		}
	case isLinkNotFound(err):
		mv := &netlink.Macvlan{
			LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: p.Attrs().Index, HardwareAddr: mac},
			Mode:      netlink.MACVLAN_MODE_PRIVATE,
		}
		if err := m.h.LinkAdd(mv); err != nil {
			return 0, fmt.Errorf("create: %w", err)
		}
		if link, err = m.h.LinkByName(name); err != nil {
			return 0, err
		}
	default:
		return 0, err
	}
	if err := m.h.LinkSetUp(link); err != nil {
		return 0, fmt.Errorf("set up: %w", err)
	}
	return link.Attrs().Index, nil
}

// RemoveVMAC deletes the interface name if it is a macvlan; a missing
// interface is not an error. Addresses on it go with it.
func (m *Manager) RemoveVMAC(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	link, err := m.h.LinkByName(name)
	if err != nil {
		if isLinkNotFound(err) {
			return nil
		}
		return fmt.Errorf("addrs: remove vmac %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Macvlan); !ok {
		return fmt.Errorf("addrs: remove vmac %s: %w", name, errors.New("not a macvlan; not touching it"))
	}
	if err := m.h.LinkDel(link); err != nil && !isLinkNotFound(err) {
		return fmt.Errorf("addrs: remove vmac %s: %w", name, err)
	}
	return nil
}
