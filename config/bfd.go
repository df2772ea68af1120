package config

// bfdNotImplemented is the reason given for every BFD keyword.
const bfdNotImplemented = "BFD (RFC 5880) is not implemented; track_bfd and BFD_CHECK referring to this instance have no effect"

// bfdKeywords is keepalived's "bfd" area: the bfd_instance block. Vigil
// recognises the block and every keyword keepalived allows in it, so a
// file using BFD loads with one warning per bfd_instance, but runs no BFD
// sessions. The block's keywords are listed for the reference; the body is
// skipped as a whole.
func bfdKeywords() []*Keyword {
	neighbor := accepted("neighbor_ip", "IP", "Address of the BFD peer (required). "+bfdNotImplemented)
	return []*Keyword{{
		Name:   "bfd_instance",
		Args:   "NAME { ... }",
		Status: Accepted,
		Multi:  true,
		Doc:    bfdNotImplemented,
		Block: newBlock("bfd_instance", "A BFD session to one neighbour (keepalived's BFD process). Not implemented: the block is recognised and skipped with one warning.",
			neighbor,
			alias("neighbour_ip", neighbor),
			bfdKeyword("source_ip", "IP", "", "Local address of the session."),
			bfdKeyword("min_rx", "MILLISECONDS (decimal)", "10", "Required minimum receive interval."),
			bfdKeyword("min_tx", "MILLISECONDS (decimal)", "10", "Desired minimum transmit interval."),
			bfdKeyword("idle_tx", "MILLISECONDS (decimal)", "1000", "Desired transmit interval while the session is down."),
			bfdKeyword("multiplier", "NUMBER", "5", "Packets missed before the session is declared down."),
			bfdKeyword("passive", "", "active", "Wait for the peer to start the session."),
			bfdKeyword("ttl", "1..255", "255", "TTL of outgoing IPv4 packets."),
			bfdKeyword("hoplimit", "1..255", "64", "Hop limit of outgoing IPv6 packets."),
			bfdKeyword("max_hops", "0..255", "0", "Largest TTL/hop limit reduction accepted in received packets (255: no check)."),
			bfdKeyword("multihop", "[<BOOL>]", "off", "Use the RFC 5883 multihop port 4784."),
			bfdKeyword("weight", "-253..253 [reverse]", "0", "Default weight for vrrp instances tracking this session."),
			bfdKeyword("vrrp", "", "both", "Send this session's events to the VRRP process only."),
			bfdKeyword("checker", "", "both", "Send this session's events to the checker process only."),
		),
	}}
}

func bfdKeyword(name, args, def, doc string) *Keyword {
	k := accepted(name, args, doc+" "+bfdNotImplemented)
	k.Default = def
	return k
}
