package addrs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/config"
)

var routeTypeValues = map[string]int{
	"unicast": unix.RTN_UNICAST, "local": unix.RTN_LOCAL, "broadcast": unix.RTN_BROADCAST,
	"anycast": unix.RTN_ANYCAST, "multicast": unix.RTN_MULTICAST, "blackhole": unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT, "throw": unix.RTN_THROW,
	"nat": unix.RTN_NAT,
}

// AddRoutes installs each route with `ip route replace` semantics (or
// `ip route append` for routes marked append; appending one already there
// is not an error). A route with neither dev, via nor nexthops, of a type
// that needs a device (unicast, local, ...), goes on defaultDev; others
// leave the device to the kernel.
func (m *Manager) AddRoutes(defaultDev string, rs []*config.Route) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, r := range rs {
		if r == nil {
			continue
		}
		if err := m.addRoute(defaultDev, r); err != nil {
			errs = append(errs, fmt.Errorf("addrs: add route %s: %w", describeRoute(defaultDev, r), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) addRoute(defaultDev string, r *config.Route) error {
	nr, err := m.toNetlinkRoute(defaultDev, r, false)
	if err != nil {
		return err
	}
	if r.Append {
		if err := m.h.RouteAppend(nr); err != nil && !isExist(err) {
			return err
		}
		return nil
	}
	return m.h.RouteReplace(nr)
}

// RemoveRoutes deletes each route; a route (or its device) that is not
// there is not an error.
func (m *Manager) RemoveRoutes(defaultDev string, rs []*config.Route) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, r := range rs {
		if r == nil {
			continue
		}
		nr, err := m.toNetlinkRoute(defaultDev, r, true)
		if err == nil {
			err = m.h.RouteDel(nr)
		}
		if err != nil && !isAbsent(err) && !isLinkNotFound(err) {
			errs = append(errs, fmt.Errorf("addrs: remove route %s: %w", describeRoute(defaultDev, r), err))
		}
	}
	return errors.Join(errs...)
}

// needsDevice tells whether a route of this type without a gateway must
// name a device for the kernel to accept it.
func needsDevice(r *config.Route) bool {
	if r.Via.IsValid() || len(r.Nexthops) > 0 {
		return false
	}
	switch r.Type {
	case "blackhole", "unreachable", "prohibit", "throw":
		return false
	}
	return true
}

func routeDev(defaultDev string, r *config.Route) string {
	if r.Dev != "" {
		return r.Dev
	}
	if needsDevice(r) {
		return defaultDev
	}
	return ""
}

func (m *Manager) linkIndex(name string) (int, error) {
	l, err := m.h.LinkByName(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

func (m *Manager) toNetlinkRoute(defaultDev string, r *config.Route, del bool) (*netlink.Route, error) {
	nr := &netlink.Route{}
	family := unix.AF_INET
	if r.Family == 6 || (r.Family == 0 && r.To.Addr().Is6()) {
		family = unix.AF_INET6
	}
	nr.Family = family
	if !r.To.IsValid() {
		return nil, errors.New("no destination")
	}
	nr.Dst = prefixNet(r.To)
	typ := r.Type
	if typ == "" {
		typ = "unicast"
	}
	t, ok := routeTypeValues[typ]
	if !ok {
		return nil, fmt.Errorf("unknown route type %q", typ)
	}
	nr.Type = t
	if r.From.IsValid() && r.From.Bits() > 0 {
		return nil, errors.New("from (source-specific routing) is not supported by Vigil's netlink library")
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.Unmap().AsSlice()
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.Unmap().AsSlice()
	}
	if dev := routeDev(defaultDev, r); dev != "" {
		idx, err := m.linkIndex(dev)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = idx
	}
	for i, nh := range r.Nexthops {
		if nh == nil {
			continue
		}
		if nh.Realms != "" {
			return nil, fmt.Errorf("nexthop %d: realms per nexthop are not supported", i+1)
		}
		info := &netlink.NexthopInfo{}
		if nh.Via.IsValid() {
			info.Gw = nh.Via.Unmap().AsSlice()
		}
		if nh.Dev != "" {
			idx, err := m.linkIndex(nh.Dev)
			if err != nil {
				return nil, fmt.Errorf("nexthop %d: %w", i+1, err)
			}
			info.LinkIndex = idx
		}
		if nh.Weight > 0 {
			info.Hops = nh.Weight - 1
		}
		if nh.Onlink {
			info.Flags |= unix.RTNH_F_ONLINK
		}
		nr.MultiPath = append(nr.MultiPath, info)
	}
	table, err := tableValue(r.Table)
	if err != nil {
		return nil, err
	}
	nr.Table = int(table)
	switch {
	case r.Scope != "":
		s, err := scopeValue(r.Scope)
		if err != nil {
			return nil, err
		}
		nr.Scope = netlink.Scope(s)
	case del:
		nr.Scope = netlink.Scope(unix.RT_SCOPE_NOWHERE) // any scope
	default:
		nr.Scope = defaultScope(typ, r)
	}
	if r.Metric != nil {
		nr.Priority = int(*r.Metric)
	}
	switch {
	case r.Protocol != "":
		p, err := protocolValue(r.Protocol)
		if err != nil {
			return nil, err
		}
		nr.Protocol = netlink.RouteProtocol(p)
	case !del:
		nr.Protocol = unix.RTPROT_BOOT // as ip route add
	}
	if r.TOS != "" {
		v, err := dsfieldValue(r.TOS)
		if err != nil {
			return nil, err
		}
		nr.Tos = int(v)
	}
	if r.Realms != "" {
		v, err := realmsValue(r.Realms)
		if err != nil {
			return nil, err
		}
		nr.Realm = int(v)
	}
	if r.Onlink {
		nr.Flags |= unix.RTNH_F_ONLINK
	}
	if err := applyRouteOptions(nr, r.Options); err != nil {
		return nil, err
	}
	return nr, nil
}

// defaultScope is the scope `ip route add` picks when none is written.
func defaultScope(typ string, r *config.Route) netlink.Scope {
	switch typ {
	case "local", "nat":
		return netlink.SCOPE_HOST
	case "broadcast", "multicast", "anycast":
		return netlink.SCOPE_LINK
	case "unicast":
		if !r.Via.IsValid() && len(r.Nexthops) == 0 {
			return netlink.SCOPE_LINK
		}
	}
	return netlink.SCOPE_UNIVERSE
}

// applyRouteOptions maps the route attributes kept as written (mtu,
// advmss, ...) onto the netlink route's metrics.
func applyRouteOptions(nr *netlink.Route, opts map[string]string) error {
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		val := opts[name]
		lock := false
		if v, ok := strings.CutPrefix(val, "lock "); ok {
			lock, val = true, strings.TrimSpace(v)
		}
		if lock && name != "mtu" && name != "rto_min" {
			return fmt.Errorf("%s lock is not supported (only mtu and rto_min can be locked)", name)
		}
		num := func() (int, error) {
			v, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return 0, fmt.Errorf("invalid %s %q", name, val)
			}
			return int(v), nil
		}
		var err error
		switch name {
		case "mtu":
			nr.MTU, err = num()
			nr.MTULock = lock
		case "advmss":
			nr.AdvMSS, err = num()
		case "window":
			nr.Window, err = num()
		case "reordering":
			nr.Reordering, err = num()
		case "cwnd":
			nr.Cwnd, err = num()
		case "ssthresh":
			nr.Ssthresh, err = num()
		case "initcwnd":
			nr.InitCwnd, err = num()
		case "initrwnd":
			nr.InitRwnd, err = num()
		case "hoplimit":
			nr.Hoplimit, err = num()
		case "quickack":
			nr.QuickACK, err = num()
		case "fastopen_no_cookie":
			nr.FastOpenNoCookie, err = num()
		case "congctl":
			nr.Congctl = val
		case "features":
			if val != "ecn" {
				return fmt.Errorf("unknown features %q", val)
			}
			nr.Features = 1 // RTAX_FEATURE_ECN
		case "rtt", "rttvar", "rto_min":
			ms, raw, perr := parseRTT(val)
			if perr != nil {
				return fmt.Errorf("invalid %s %q: %w", name, val, perr)
			}
			switch name {
			case "rtt": // the kernel keeps rtt in 1/8 ms
				if !raw {
					ms *= 8
				}
				nr.Rtt = int(ms)
			case "rttvar": // and rttvar in 1/4 ms
				if !raw {
					ms *= 4
				}
				nr.RttVar = int(ms)
			default:
				nr.RtoMin = int(ms)
				nr.RtoMinLock = lock
			}
		default:
			return fmt.Errorf("route option %s is not supported by Vigil's netlink library", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseRTT reads a time as iproute2's get_time_rtt: a bare number is raw
// (kernel units), a number with s/sec/ms/msec/us/usec is converted to ms.
func parseRTT(s string) (ms uint32, raw bool, err error) {
	num := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyz")
	unit := s[len(num):]
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, false, errors.New("not a non-negative number")
	}
	switch unit {
	case "":
		if f != float64(uint32(f)) {
			return 0, false, errors.New("a raw value must be a whole number")
		}
		return uint32(f), true, nil
	case "s", "sec", "secs":
		f *= 1000
	case "ms", "msec", "msecs":
	case "us", "usec", "usecs":
		f /= 1000
	default:
		return 0, false, fmt.Errorf("unknown unit %q", unit)
	}
	if f > float64(^uint32(0)) {
		return 0, false, errors.New("too large")
	}
	return uint32(f), false, nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

// describeRoute names a route in errors, in ip-route words.
func describeRoute(defaultDev string, r *config.Route) string {
	var b strings.Builder
	if r.Type != "" && r.Type != "unicast" {
		b.WriteString(r.Type + " ")
	}
	if r.Default {
		b.WriteString("default")
	} else {
		b.WriteString(r.To.String())
	}
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	for _, nh := range r.Nexthops {
		if nh == nil {
			continue
		}
		b.WriteString(" nexthop")
		if nh.Via.IsValid() {
			b.WriteString(" via " + nh.Via.String())
		}
		if nh.Dev != "" {
			b.WriteString(" dev " + nh.Dev)
		}
	}
	if dev := routeDev(defaultDev, r); dev != "" {
		b.WriteString(" dev " + dev)
	}
	if r.Table != "" {
		b.WriteString(" table " + r.Table)
	}
	if r.Metric != nil {
		fmt.Fprintf(&b, " metric %d", *r.Metric)
	}
	return b.String()
}
