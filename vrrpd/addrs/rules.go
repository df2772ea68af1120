package addrs

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vigil-ha/vigil/config"
)

// FIB rule actions (linux/fib_rules.h FR_ACT_*).
var ruleActions = map[string]uint8{
	"table": 1, "goto": 2, "nop": 3, "blackhole": 6, "unreachable": 7, "prohibit": 8,
}

var ipProtoNames = map[string]int{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51,
	"ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136,
}

// AddRules adds each rule unless an equal one is already there, so calling
// it twice leaves one copy. A rule without a preference is compared
// ignoring the preference (the kernel would give a second copy the next
// free one and keep both).
func (m *Manager) AddRules(rs []*config.Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, r := range rs {
		if r == nil {
			continue
		}
		if err := m.addRule(r); err != nil {
			errs = append(errs, fmt.Errorf("addrs: add rule %s: %w", describeRule(r), err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) addRule(r *config.Rule) error {
	nr, err := toNetlinkRule(r)
	if err != nil {
		return err
	}
	have, err := m.h.RuleList(nr.Family)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return err
	}
	for i := range have {
		if sameRule(nr, &have[i]) {
			return nil
		}
	}
	if err := m.h.RuleAdd(nr); err != nil && !isExist(err) {
		return err
	}
	return nil
}

// RemoveRules deletes each rule; a rule not there is not an error. A rule
// without a preference removes one matching rule of any preference.
func (m *Manager) RemoveRules(rs []*config.Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, r := range rs {
		if r == nil {
			continue
		}
		nr, err := toNetlinkRule(r)
		if err == nil {
			err = m.h.RuleDel(nr)
		}
		if err != nil && !isAbsent(err) {
			errs = append(errs, fmt.Errorf("addrs: remove rule %s: %w", describeRule(r), err))
		}
	}
	return errors.Join(errs...)
}

func toNetlinkRule(r *config.Rule) (*netlink.Rule, error) {
	nr := netlink.NewRule()
	nr.Family = unix.AF_INET
	if r.Family == 6 {
		nr.Family = unix.AF_INET6
	}
	act := r.Action
	if act == "" {
		act = "table"
	}
	a, ok := ruleActions[act]
	if !ok {
		if act == "l3mdev" {
			return nil, errors.New("l3mdev rules are not supported by Vigil's netlink library")
		}
		return nil, fmt.Errorf("unknown rule action %q", act)
	}
	nr.Type = a
	switch act {
	case "table":
		t, err := tableValue(r.Table)
		if err != nil {
			return nil, err
		}
		nr.Table = int(t)
	case "goto":
		nr.Goto = int(r.Goto)
	}
	nr.Src = ruleNet(r.From)
	nr.Dst = ruleNet(r.To)
	nr.Invert = r.Not
	if r.Preference != nil {
		nr.Priority = int(*r.Preference)
	}
	if r.TOS != "" {
		v, err := dsfieldValue(r.TOS)
		if err != nil {
			return nil, err
		}
		nr.Tos = uint(v)
	}
	if r.FWMark != nil {
		nr.Mark = *r.FWMark
	}
	if r.FWMask != nil {
		mask := *r.FWMask
		nr.Mask = &mask
	}
	if r.Realms != "" {
		v, err := realmsValue(r.Realms)
		if err != nil {
			return nil, err
		}
		nr.Flow = int(v)
	}
	if r.SuppressPrefixLength != nil {
		nr.SuppressPrefixlen = int(*r.SuppressPrefixLength)
	}
	if r.SuppressIfgroup != "" {
		v, err := lookupName("group", r.SuppressIfgroup, 1<<31-1)
		if err != nil {
			return nil, err
		}
		nr.SuppressIfgroup = int(v)
	}
	nr.IifName = r.IIF
	nr.OifName = r.OIF
	if r.TunnelID != nil {
		// The library sends FRA_TUN_ID as 32 bits; the kernel wants 64.
		return nil, errors.New("tunnel-id is not supported by Vigil's netlink library")
	}
	if r.UIDRange != "" {
		lo, hi, err := numRange(r.UIDRange, 1<<32-1)
		if err != nil {
			return nil, fmt.Errorf("uidrange: %w", err)
		}
		nr.UIDRange = netlink.NewRuleUIDRange(uint32(lo), uint32(hi))
	}
	if r.Protocol != nil {
		nr.Protocol = *r.Protocol
	}
	if r.IPProto != "" {
		v, err := ipProtoValue(r.IPProto)
		if err != nil {
			return nil, err
		}
		nr.IPProto = v
	}
	if r.SPort != "" {
		lo, hi, err := numRange(r.SPort, 65535)
		if err != nil {
			return nil, fmt.Errorf("sport: %w", err)
		}
		nr.Sport = netlink.NewRulePortRange(uint16(lo), uint16(hi))
	}
	if r.DPort != "" {
		lo, hi, err := numRange(r.DPort, 65535)
		if err != nil {
			return nil, fmt.Errorf("dport: %w", err)
		}
		nr.Dport = netlink.NewRulePortRange(uint16(lo), uint16(hi))
	}
	return nr, nil
}

// ruleNet is a rule selector; "all" (a /0) is no selector at all, as the
// kernel reports it.
func ruleNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() || p.Bits() == 0 {
		return nil
	}
	return prefixNet(p)
}

// sameRule compares a wanted rule with one listed by the kernel, on the
// fields the library lists (it does not list the action; the table and
// goto target stand for it). A wanted rule without a preference matches
// any preference.
func sameRule(want, have *netlink.Rule) bool {
	if want.Family != have.Family || want.Invert != have.Invert || want.Tos != have.Tos {
		return false
	}
	if want.Priority >= 0 && want.Priority != have.Priority {
		return false
	}
	wantTable := want.Table
	if wantTable < 0 {
		wantTable = 0
	}
	if wantTable != have.Table || want.Goto != have.Goto {
		return false
	}
	if !sameNet(want.Src, have.Src) || !sameNet(want.Dst, have.Dst) {
		return false
	}
	if want.Mark != have.Mark {
		return false
	}
	wantMask := uint32(0)
	if want.Mask != nil {
		wantMask = *want.Mask
	} else if want.Mark != 0 {
		wantMask = 0xffffffff // the kernel's default for a mark without mask
	}
	haveMask := uint32(0)
	if have.Mask != nil {
		haveMask = *have.Mask
	}
	if wantMask != haveMask {
		return false
	}
	wantFlow := want.Flow
	if wantFlow < 0 {
		wantFlow = -1
	}
	haveFlow := have.Flow
	if haveFlow == 0 {
		haveFlow = -1
	}
	if wantFlow != haveFlow {
		return false
	}
	if want.SuppressPrefixlen != have.SuppressPrefixlen || want.SuppressIfgroup != have.SuppressIfgroup {
		return false
	}
	if want.IifName != have.IifName || want.OifName != have.OifName {
		return false
	}
	if want.IPProto != have.IPProto || want.Protocol != have.Protocol {
		return false
	}
	if !samePorts(want.Sport, have.Sport) || !samePorts(want.Dport, have.Dport) {
		return false
	}
	return sameUIDs(want.UIDRange, have.UIDRange)
}

func sameNet(a, b *net.IPNet) bool {
	if a == nil || b == nil {
		return (a == nil || isZeroNet(a)) && (b == nil || isZeroNet(b))
	}
	return a.String() == b.String()
}

func isZeroNet(n *net.IPNet) bool { ones, _ := n.Mask.Size(); return ones == 0 }

func samePorts(a, b *netlink.RulePortRange) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func sameUIDs(a, b *netlink.RuleUIDRange) bool {
	// The kernel lists the full range 0-4294967295 for rules without one.
	full := netlink.RuleUIDRange{Start: 0, End: 0xffffffff}
	if a == nil {
		return b == nil || *b == full
	}
	if b == nil {
		return *a == full
	}
	return *a == *b
}

func numRange(s string, max uint64) (lo, hi uint64, err error) {
	a, b, two := strings.Cut(s, "-")
	lo, err = strconv.ParseUint(a, 0, 64)
	if err != nil || lo > max {
		return 0, 0, fmt.Errorf("invalid %q", s)
	}
	hi = lo
	if two {
		hi, err = strconv.ParseUint(b, 0, 64)
		if err != nil || hi > max || hi < lo {
			return 0, 0, fmt.Errorf("invalid %q", s)
		}
	}
	return lo, hi, nil
}

func ipProtoValue(s string) (int, error) {
	if v, err := strconv.ParseUint(s, 0, 8); err == nil {
		return int(v), nil
	}
	if v, ok := ipProtoNames[strings.ToLower(s)]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown ipproto %q", s)
}

// describeRule names a rule in errors, in ip-rule words.
func describeRule(r *config.Rule) string {
	var b strings.Builder
	if r.Preference != nil {
		fmt.Fprintf(&b, "pref %d ", *r.Preference)
	}
	if r.Not {
		b.WriteString("not ")
	}
	from := "all"
	if r.From.IsValid() && r.From.Bits() > 0 {
		from = r.From.String()
	}
	b.WriteString("from " + from)
	if r.To.IsValid() && r.To.Bits() > 0 {
		b.WriteString(" to " + r.To.String())
	}
	if r.FWMark != nil {
		fmt.Fprintf(&b, " fwmark %#x", *r.FWMark)
		if r.FWMask != nil {
			fmt.Fprintf(&b, "/%#x", *r.FWMask)
		}
	}
	if r.IIF != "" {
		b.WriteString(" iif " + r.IIF)
	}
	if r.OIF != "" {
		b.WriteString(" oif " + r.OIF)
	}
	switch r.Action {
	case "table", "":
		t := r.Table
		if t == "" {
			t = "main"
		}
		b.WriteString(" lookup " + t)
	case "goto":
		fmt.Fprintf(&b, " goto %d", r.Goto)
	default:
		b.WriteString(" " + r.Action)
	}
	return b.String()
}
