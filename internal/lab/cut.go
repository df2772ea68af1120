package lab

import "net/netip"

// DropFrom makes ns drop every IP packet arriving from the given addresses,
// in an nftables table of its own (Heal deletes it): a cut path between
// two nodes whose links stay up.
func (ns *NS) DropFrom(table string, from ...netip.Addr) {
	ns.MustRun("nft", "add", "table", "inet", table)
	ns.MustRun("nft", "add chain inet "+table+" input { type filter hook input priority -10 ; }")
	for _, a := range from {
		ns.MustRun("nft", "add", "rule", "inet", table, "input", "ip", "saddr", a.String(), "drop")
	}
}

// Heal undoes DropFrom.
func (ns *NS) Heal(table string) { ns.MustRun("nft", "delete", "table", "inet", table) }

// Isolate cuts the namespace behind ifname off this lab's switch, or
// (on false) reconnects it: a bridge table in the switch namespace drops
// every frame from or to its port, ARP included, while the link stays up
// (a failed switch rather than a pulled cable). One port per lab at a time.
func (l *Lab) Isolate(ifname string, on bool) {
	sw := l.Switch()
	if !on {
		sw.MustRun("nft", "delete", "table", "bridge", "vgt_isolate")
		return
	}
	port := l.SwitchPort(ifname)
	sw.MustRun("nft", "add", "table", "bridge", "vgt_isolate")
	sw.MustRun("nft", "add chain bridge vgt_isolate cut { type filter hook forward priority -10 ; }")
	sw.MustRun("nft", "add", "rule", "bridge", "vgt_isolate", "cut", "iifname", port, "drop")
	sw.MustRun("nft", "add", "rule", "bridge", "vgt_isolate", "cut", "oifname", port, "drop")
}
