package config

import (
	"fmt"
	"net/netip"
	"time"
)

// lvsValidate runs once the whole file is read: it checks what no single
// statement can (references, duplicates, address families, ports) and
// fills in inherited and default values, following keepalived's
// validate_check_config and the end-of-block handlers of check_parser.c.
//
// Severity: a value keepalived rejects or a block it drops is an error;
// where keepalived substitutes a default or resets a value and carries on,
// Vigil does the same and warns.
func lvsValidate(c *ctx) {
	groups := lvsValidateGroups(c)
	seen := map[string]*VirtualServer{}
	for _, vs := range c.cfg.VirtualServers {
		lvsResolveVS(c, vs, groups)
		key := lvsVSKey(vs)
		if first, dup := seen[key]; dup {
			c.d.errorf(vs.Pos, "delete or merge one of the blocks",
				"virtual server %s is defined twice (first at line %d)", lvsVSLabel(vs), first.Pos.Line)
			continue
		}
		seen[key] = vs
	}
}

func lvsValidateGroups(c *ctx) map[string]*VirtualServerGroup {
	groups := map[string]*VirtualServerGroup{}
	for _, g := range c.cfg.VirtualServerGroups {
		if first, dup := groups[g.Name]; dup {
			c.d.errorf(g.Pos, "give each virtual_server_group a distinct name",
				"virtual_server_group %s is defined twice (first at line %d)", g.Name, first.Pos.Line)
			continue
		}
		groups[g.Name] = g
		if len(g.Addresses) == 0 && len(g.Fwmarks) == 0 {
			if !g.hadEntries {
				c.d.errorf(g.Pos, "add addresses or fwmarks, or delete the group",
					"virtual_server_group %s has no entries (keepalived would drop it)", g.Name)
			}
			continue
		}
		has4, has6, bareMark := lvsGroupFamilies(g)
		if has4 && has6 && bareMark {
			c.d.errorf(g.Pos, "give each fwmark entry its family: fwmark N inet|inet6",
				"virtual_server_group %s has IPv4 and IPv6 entries and a fwmark without family; keepalived drops the group", g.Name)
		}
		type entry struct {
			line int
		}
		seenE := map[string]entry{}
		for _, a := range g.Addresses {
			k := fmt.Sprintf("%s-%s:%d", a.First, a.Last, a.Port)
			if first, dup := seenE[k]; dup {
				c.d.warnf(a.Pos, "delete the repeated entry", "%s is already in virtual_server_group %s (line %d)", a.Text, g.Name, first.line)
			}
			seenE[k] = entry{a.Pos.Line}
		}
		for _, m := range g.Fwmarks {
			k := fmt.Sprintf("fwmark %d %s", m.Mark, m.Family)
			if first, dup := seenE[k]; dup {
				c.d.warnf(m.Pos, "delete the repeated entry", "fwmark %d is already in virtual_server_group %s (line %d)", m.Mark, g.Name, first.line)
			}
			seenE[k] = entry{m.Pos.Line}
		}
	}
	return groups
}

// lvsGroupFamilies reports which families a group's entries name, and
// whether it has a fwmark without a family.
func lvsGroupFamilies(g *VirtualServerGroup) (has4, has6, bareMark bool) {
	for _, a := range g.Addresses {
		if a.First.Is4() {
			has4 = true
		} else {
			has6 = true
		}
	}
	for _, m := range g.Fwmarks {
		switch m.Family {
		case "inet":
			has4 = true
		case "inet6":
			has6 = true
		default:
			bareMark = true
		}
	}
	return
}

func lvsVSKey(vs *VirtualServer) string {
	switch vs.Kind() {
	case "group":
		return fmt.Sprintf("group %s %s %s", vs.Group, vs.Protocol, vs.IPFamily)
	case "fwmark":
		return fmt.Sprintf("fwmark %d %s", vs.Fwmark, vs.IPFamily)
	}
	return fmt.Sprintf("addr %s %d %s", vs.Address, vs.Port, vs.Protocol)
}

func lvsVSLabel(vs *VirtualServer) string {
	if vs.Protocol != "" && vs.Kind() != "fwmark" {
		return vs.String() + " " + vs.Protocol
	}
	return vs.String()
}

// lvsResolveVS checks one virtual server and fills its effective values,
// then those of its sorry server, real servers and checkers.
func lvsResolveVS(c *ctx, vs *VirtualServer, groups map[string]*VirtualServerGroup) {
	var group *VirtualServerGroup
	groupHasAddrs, groupHasMarks := false, false
	if vs.Kind() == "group" {
		group = groups[vs.Group]
		if group == nil {
			c.d.errorf(vs.groupPos, "define it with virtual_server_group "+vs.Group+" { ... }, or fix the name",
				"virtual_server_group %s is not defined", vs.Group)
		} else {
			groupHasAddrs, groupHasMarks = len(group.Addresses) > 0, len(group.Fwmarks) > 0
		}
	}
	addressBased := vs.Kind() == "address" || groupHasAddrs
	fwmarkOnly := vs.Kind() == "fwmark" || (group != nil && !groupHasAddrs && groupHasMarks)
	usesMarks := vs.Kind() == "fwmark" || groupHasMarks

	// Address family: from the address, then ip_family, the group's
	// entries, persistence_granularity, and finally the real servers.
	fam, mixed := lvsVSFamily(c, vs, group)

	// Scheduler, forwarding method and protocol defaults.
	if vs.Sched == "" {
		vs.Sched = "wlc"
		if !vs.schedSet {
			c.d.warnf(vs.Pos, "add: lvs_sched <scheduler>", "virtual server %s has no lvs_sched; keepalived uses wlc", vs)
		}
	}
	needMethod := false
	for _, rs := range vs.RealServers {
		if rs.Method == "" {
			needMethod = true
		}
	}
	if vs.SorryServer != nil && vs.sorryMethod == nil {
		needMethod = true
	}
	if !vs.methodSet {
		vs.Method = "NAT"
		if needMethod {
			c.d.warnf(vs.Pos, "add: lvs_method NAT|DR|TUN", "virtual server %s has no lvs_method; keepalived uses NAT", vs)
		}
	}
	lvsCheckSchedFlags(c, vs)
	if addressBased && vs.Protocol == "" {
		vs.Protocol = "UDP"
		if !vs.protocolSet {
			c.d.warnf(vs.Pos, "add: protocol TCP|UDP|SCTP", "virtual server %s has no protocol; keepalived uses UDP", vs)
		}
	}
	if fwmarkOnly && vs.Protocol != "" {
		c.d.warnf(vs.protocolNode.pos(), "delete the protocol line", "protocol %s has no effect on fwmark virtual server %s", vs.Protocol, vs)
		vs.Protocol = ""
	}
	if vs.OPS && addressBased && vs.Protocol != "UDP" {
		c.d.warnf(vs.flagNodes["ops"].pos(), "ops applies to UDP services only: delete it or use protocol UDP",
			"one-packet scheduling needs UDP; ignored for %s %s", vs, vs.Protocol)
		vs.OPS = false
	}
	if vs.HASuspend && usesMarks {
		c.d.warnf(vs.haSuspendNode.pos(), "ha_suspend needs a virtual address: delete it",
			"ha_suspend cannot be used with fwmarks; ignored for %s", vs)
		vs.HASuspend = false
	}

	// Persistence: granularity implies persistence; a service without a
	// port must be persistent.
	if vs.PersistenceGranularity != "" && vs.PersistenceTimeout == 0 {
		vs.PersistenceTimeout = Duration(lvsDefaultPersist * time.Second)
	}
	if vs.PersistenceTimeout == 0 {
		portless := vs.Kind() == "address" && vs.Port == 0
		if group != nil {
			for _, a := range group.Addresses {
				if a.Port == 0 {
					portless = true
				}
			}
		}
		if portless {
			c.d.errorf(vs.Pos, "give the service a port, or add persistence_timeout",
				"virtual server %s has no port, which only persistent services may omit (keepalived would make it persistent)", vs)
			vs.PersistenceTimeout = Duration(lvsDefaultPersist * time.Second)
		}
	}

	// Real servers.
	var weightSum uint64
	seenRS := map[netip.AddrPort]*RealServer{}
	dynamicMisc := 0
	for _, rs := range vs.RealServers {
		lvsResolveRS(c, vs, rs, group, &fam, mixed)
		key := netip.AddrPortFrom(rs.Address, rs.Port)
		if first, dup := seenRS[key]; dup {
			c.d.errorf(rs.Pos, "delete one of the real_server blocks",
				"real server %s is defined twice in virtual server %s (first at line %d)", lvsHostPort(rs.Address, rs.Port), vs, first.Pos.Line)
		} else {
			seenRS[key] = rs
		}
		weightSum += uint64(rs.Weight)
		for _, ck := range rs.Checkers {
			lvsResolveChecker(c, vs, rs, ck)
			if ck.Misc != nil && ck.Misc.Dynamic {
				dynamicMisc++
				if dynamicMisc == 2 {
					c.d.warnf(ck.Pos, "keep one MISC_CHECK with misc_dynamic per real server",
						"more than one dynamic MISC_CHECK on real server %s; their weights fight each other", lvsHostPort(rs.Address, rs.Port))
				}
			}
		}
		dynamicMisc = 0
	}

	lvsResolveSorry(c, vs, group, &fam, mixed)

	if fam == "" && !mixed {
		// A fwmark service whose servers are all tunnelled: keepalived
		// takes their family if they agree, else IPv4.
		fam = lvsTunnelledFamily(vs)
	}
	vs.IPFamily = fam

	if len(vs.RealServers) == 0 {
		if vs.realServersWritten == 0 {
			c.d.errorf(vs.Pos, "add real_server blocks, or delete the virtual server",
				"virtual server %s has no real servers; keepalived would ignore it", vs)
		}
		return
	}
	// keepalived lowers a quorum the real servers cannot reach, and a
	// hysteresis not below the quorum: an error when the file wrote the
	// value, a warning when only defaults (weights of 0) are involved.
	if uint64(vs.Quorum) > weightSum {
		report, p := c.d.warnf, vs.Pos
		if vs.quorumNode != nil {
			report, p = c.d.errorf, vs.quorumNode.words[1].pos
		}
		report(p, "lower the quorum or raise the real servers' weights",
			"quorum %d of virtual server %s exceeds the real servers' total weight %d (keepalived would lower it to %d)", vs.Quorum, vs, weightSum, weightSum)
		vs.Quorum = uint32(weightSum)
	}
	if vs.Hysteresis >= vs.Quorum && (vs.Hysteresis > 0 || vs.Quorum > 0) {
		h := uint32(0)
		if vs.Quorum > 0 {
			h = vs.Quorum - 1
		}
		report, p := c.d.warnf, vs.Pos
		if vs.hysteresisNode != nil {
			report, p = c.d.errorf, vs.hysteresisNode.words[1].pos
		}
		report(p, "hysteresis must be below the quorum",
			"hysteresis %d of virtual server %s is not below its quorum %d (keepalived would use %d)", vs.Hysteresis, vs, vs.Quorum, h)
		vs.Hysteresis = h
	}
}

// lvsVSFamily works out the family known before looking at the servers.
// mixed is set for a group with both IPv4 and IPv6 entries.
func lvsVSFamily(c *ctx, vs *VirtualServer, group *VirtualServerGroup) (fam string, mixed bool) {
	fam = lvsFamily(vs.Address)
	if group != nil {
		has4, has6, _ := lvsGroupFamilies(group)
		switch {
		case has4 && has6:
			mixed = true
		case has4:
			fam = "inet"
		case has6:
			fam = "inet6"
		}
	}
	if n := vs.ipFamilySet; n != nil {
		want := vs.IPFamily
		switch {
		case mixed:
			// Both families are served; ip_family cannot narrow that.
			c.d.warnf(n.pos(), "delete ip_family: the group has both IPv4 and IPv6 entries",
				"ip_family %s has no effect on group %s, which has both IPv4 and IPv6 entries", want, vs.Group)
		case fam != "" && fam != want:
			c.d.errorf(n.words[1].pos, "delete ip_family or make it match",
				"ip_family %s conflicts with the %s addresses of virtual server %s", want, lvsFamilyText(fam), vs)
		default:
			fam = want
		}
	}
	if vs.granularityFamily != "" && !mixed {
		switch {
		case fam == "":
			fam = vs.granularityFamily
		case fam != vs.granularityFamily:
			hint := "IPv4 services take a netmask, e.g. 255.255.255.0"
			if fam == "inet6" {
				hint = "IPv6 services take a prefix length 1-128, e.g. 64"
			}
			c.d.errorf(vs.granularityNode.words[1].pos, hint,
				"persistence_granularity %s does not suit %s virtual server %s", vs.PersistenceGranularity, lvsFamilyText(fam), vs)
			vs.PersistenceGranularity = ""
		}
	}
	return fam, mixed
}

func lvsCheckSchedFlags(c *ctx, vs *VirtualServer) {
	for _, f := range []struct {
		name  string
		sched string
		set   *bool
	}{
		{"sh-port", "sh", &vs.SHPort}, {"sh-fallback", "sh", &vs.SHFallback},
		{"mh-port", "mh", &vs.MHPort}, {"mh-fallback", "mh", &vs.MHFallback},
	} {
		if *f.set && vs.Sched != f.sched {
			c.d.errorf(vs.flagNodes[f.name].pos(), fmt.Sprintf("use lvs_sched %s, or delete %s", f.sched, f.name),
				"%s only applies to the %s scheduler, not %s", f.name, f.sched, vs.Sched)
			*f.set = false
		}
	}
}

// lvsCheckFamily checks a non-tunnelled server's family against the
// service's, settling the service's family when it was still open.
func lvsCheckFamily(c *ctx, vs *VirtualServer, what string, pos Pos, a netip.Addr, fam *string, mixed bool) bool {
	af := lvsFamily(a)
	switch {
	case mixed:
		c.d.errorf(pos, "use lvs_method TUN for every server of a group with both IPv4 and IPv6 entries",
			"%s %s is not tunnelled, but group %s has both IPv4 and IPv6 entries", what, a, vs.Group)
		return false
	case *fam == "":
		*fam = af
	case *fam != af:
		c.d.errorf(pos, "only tunnelled servers (lvs_method TUN) may differ in address family from the virtual server",
			"%s %s is %s but virtual server %s is %s", what, a, lvsFamilyText(af), vs, lvsFamilyText(*fam))
		return false
	}
	return true
}

func lvsResolveRS(c *ctx, vs *VirtualServer, rs *RealServer, group *VirtualServerGroup, fam *string, mixed bool) {
	if rs.Method == "" {
		rs.Method, rs.Tunnel = vs.Method, vs.Tunnel
	}
	if rs.Method != "TUN" {
		lvsCheckFamily(c, vs, "real server", rs.Pos, rs.Address, fam, mixed)
	}
	rs.Port = lvsServerPort(c, vs, group, "real server", rs.Pos, rs.Address, rs.Port, rs.Method)

	if !rs.weightSet {
		rs.Weight = vs.Weight
	}
	if !rs.alphaSet {
		rs.Alpha = vs.Alpha
	}
	if !rs.inhibitSet {
		rs.InhibitOnFailure = vs.InhibitOnFailure
	}
	if rs.Retry == nil {
		rs.Retry = vs.Retry
	}
	if !rs.connectTimeoutSet {
		rs.ConnectTimeout = vs.ConnectTimeout
	}
	if !rs.delayLoopSet {
		rs.DelayLoop = vs.DelayLoop
	}
	if rs.Warmup == nil {
		rs.Warmup = vs.Warmup
	}
	if rs.DelayBeforeRetry == nil {
		rs.DelayBeforeRetry = vs.DelayBeforeRetry
	}
	if rs.Virtualhost == "" {
		rs.Virtualhost = vs.Virtualhost
	}
	if rs.LThreshold != 0 && rs.UThreshold != 0 && rs.LThreshold >= rs.UThreshold {
		c.d.warnf(rs.lthresholdNode.pos(), "lthreshold must be below uthreshold",
			"lthreshold %d is not below uthreshold %d; the server would never be used again once overloaded", rs.LThreshold, rs.UThreshold)
	}
}

// lvsServerPort applies keepalived's port rules to a real or sorry
// server: NAT may map to any port and defaults to the service's; DR and
// TUN cannot change the port, and fwmark services have none.
func lvsServerPort(c *ctx, vs *VirtualServer, group *VirtualServerGroup, what string, pos Pos, a netip.Addr, port uint16, method string) uint16 {
	switch vs.Kind() {
	case "address":
		if port == 0 {
			return vs.Port
		}
		if method != "NAT" && port != vs.Port {
			c.d.errorf(pos, fmt.Sprintf("with %s the port cannot change: use %d, or lvs_method NAT", method, vs.Port),
				"%s %s port %d differs from virtual server %s (keepalived would use port %d)", what, a, port, vs, vs.Port)
			return vs.Port
		}
	case "fwmark":
		if method != "NAT" && port != 0 {
			c.d.warnf(pos, "delete the port: fwmark services keep the packet's port with "+method,
				"%s %s has a port, which fwmark virtual server %s ignores with %s", what, a, vs, method)
			return 0
		}
	case "group":
		if method == "NAT" || port == 0 || group == nil {
			return port
		}
		if len(group.Fwmarks) > 0 {
			c.d.warnf(pos, "delete the port: fwmark services keep the packet's port with "+method,
				"%s %s has a port, which the fwmarks of group %s ignore with %s", what, a, group.Name, method)
		}
		for _, e := range group.Addresses {
			if e.Port != port {
				c.d.warnf(pos, fmt.Sprintf("with %s the port cannot change: use lvs_method NAT or matching ports", method),
					"%s %s port %d does not match group %s entry %s port %d", what, a, port, group.Name, e.Text, e.Port)
				break
			}
		}
	}
	return port
}

func lvsResolveSorry(c *ctx, vs *VirtualServer, group *VirtualServerGroup, fam *string, mixed bool) {
	ss := vs.SorryServer
	if ss == nil {
		if vs.sorryInhibit != nil {
			c.d.warnf(vs.sorryInhibit.pos(), "add sorry_server <IPADDR> [<PORT>], or delete this line",
				"sorry_server_inhibit without a sorry_server has no effect")
		}
		if vs.sorryMethod != nil {
			c.d.warnf(vs.sorryMethod.pos(), "add sorry_server <IPADDR> [<PORT>], or delete this line",
				"sorry_server_lvs_method without a sorry_server has no effect")
		}
		return
	}
	ss.Inhibit = vs.sorryInhibit != nil
	if vs.sorryMethod != nil {
		ss.Method, ss.Tunnel = vs.sorryMethodVal, vs.sorryTunnel
	} else {
		ss.Method, ss.Tunnel = vs.Method, vs.Tunnel
	}
	if ss.Method != "TUN" {
		lvsCheckFamily(c, vs, "sorry server", ss.Pos, ss.Address, fam, mixed)
	}
	ss.Port = lvsServerPort(c, vs, group, "sorry server", ss.Pos, ss.Address, ss.Port, ss.Method)
	for _, rs := range vs.RealServers {
		if rs.Address == ss.Address && rs.Port == ss.Port && rs.InhibitOnFailure != ss.Inhibit {
			c.d.errorf(ss.Pos, "make sorry_server_inhibit and the real server's inhibit_on_failure agree",
				"sorry server %s is also real server (line %d) with a different inhibit setting (keepalived would use the real server's)", lvsHostPort(ss.Address, ss.Port), rs.Pos.Line)
			ss.Inhibit = rs.InhibitOnFailure
		}
	}
}

// lvsTunnelledFamily is keepalived's family for a fwmark service whose
// servers are all tunnelled: theirs if they agree, else IPv4.
func lvsTunnelledFamily(vs *VirtualServer) string {
	fam := ""
	if vs.SorryServer != nil {
		fam = lvsFamily(vs.SorryServer.Address)
	}
	for _, rs := range vs.RealServers {
		af := lvsFamily(rs.Address)
		if fam == "" {
			fam = af
		} else if fam != af {
			return "inet"
		}
	}
	if fam == "" {
		fam = "inet"
	}
	return fam
}

// lvsResolveChecker fills a checker's inherited values and checks that it
// can run.
func lvsResolveChecker(c *ctx, vs *VirtualServer, rs *RealServer, ck *Checker) {
	if !ck.retrySet {
		switch {
		case rs.Retry != nil:
			ck.Retry = *rs.Retry
		case ck.DNS != nil:
			ck.Retry = 3
		case ck.Misc != nil:
			ck.Retry = 0
		default:
			ck.Retry = 1
		}
	}
	if !ck.delayLoopSet {
		ck.DelayLoop = rs.DelayLoop
	}
	if !ck.warmupSet {
		if rs.Warmup != nil {
			ck.Warmup = *rs.Warmup
		} else {
			ck.Warmup = ck.DelayLoop
		}
	}
	if !ck.delayBeforeRetrySet {
		switch {
		case rs.DelayBeforeRetry != nil:
			ck.DelayBeforeRetry = *rs.DelayBeforeRetry
		case ck.HTTP != nil:
			ck.DelayBeforeRetry = Duration(3 * time.Second)
		case ck.DNS != nil:
			ck.DelayBeforeRetry = ck.DelayLoop
		default:
			ck.DelayBeforeRetry = Duration(time.Second)
		}
	}
	if !ck.alphaSet {
		ck.Alpha = rs.Alpha
	}

	switch {
	case ck.Misc != nil:
		if ck.Misc.Path == nil {
			c.d.errorf(ck.Pos, "add: misc_path <SCRIPT>", "MISC_CHECK has no misc_path; there is nothing to run")
		}
		if ck.Misc.Timeout == 0 {
			ck.Misc.Timeout = ck.DelayLoop
		}
		return
	case ck.File != nil:
		lvsResolveFileCheck(c, ck)
		return
	}

	// Checkers that connect somewhere.
	lvsFillConn(&ck.ConnOpts, rs, rs.ConnectTimeout)
	lvsCheckConn(c, ck.Type, ck.Pos, &ck.ConnOpts, ck.connectIPNode, ck.bindToNode)
	switch {
	case ck.HTTP != nil:
		h := ck.HTTP
		if h.Virtualhost == "" {
			h.Virtualhost = rs.Virtualhost
		}
		if len(h.URLs) == 0 {
			c.d.errorf(ck.Pos, "add: url { path / }", "%s has no url block; there is nothing to check (keepalived crashes on this)", ck.Type)
		}
		for _, u := range h.URLs {
			if u.Path == "" {
				c.d.errorf(u.Pos, "add: path /", "url has no path")
			}
			if len(u.StatusCodes) == 0 {
				u.StatusCodes = []StatusRange{{200, 299}}
			}
		}
		if ck.Type == "HTTP_GET" && (h.EnableSNI || h.SNIName != "" || h.TLSCompliant) {
			c.d.warnf(ck.Pos, "use SSL_GET for HTTPS", "enable_sni, sni_name and tls_compliant have no effect on HTTP_GET")
		}
	case ck.SMTP != nil:
		for _, h := range ck.SMTP.Hosts {
			lvsFillConn(&h.ConnOpts, rs, ck.ConnectTimeout)
			lvsCheckConn(c, "SMTP_CHECK host", h.Pos, &h.ConnOpts, h.connectIPNode, h.bindToNode)
		}
	case ck.UDP != nil:
		if ck.UDP.MinReplyLength > ck.UDP.MaxReplyLength {
			c.d.errorf(ck.Pos, "min_reply_length must not exceed max_reply_length (default 255)",
				"UDP_CHECK min_reply_length %d exceeds max_reply_length %d; the check would always fail", ck.UDP.MinReplyLength, ck.UDP.MaxReplyLength)
		}
	}
}

// lvsFillConn gives unset connection options the real server's values.
func lvsFillConn(co *ConnOpts, rs *RealServer, timeout Duration) {
	if !co.ConnectIP.IsValid() {
		co.ConnectIP = rs.Address
	}
	if co.ConnectPort == 0 {
		co.ConnectPort = rs.Port
	}
	if co.ConnectTimeout == 0 {
		co.ConnectTimeout = timeout
	}
}

// lvsCheckConn checks that a checker has somewhere to connect.
func lvsCheckConn(c *ctx, what string, pos Pos, co *ConnOpts, connectIP, bindTo *node) {
	if co.ConnectPort == 0 && what != "PING_CHECK" {
		c.d.errorf(pos, "add: connect_port <PORT> (the real server has no port)",
			"%s has no port to connect to", what)
	}
	if co.BindTo.IsValid() && co.BindTo.Is4() != co.ConnectIP.Is4() {
		p := pos
		if bindTo != nil {
			p = bindTo.words[1].pos
		}
		c.d.errorf(p, "bindto must be of the same family as the address connected to",
			"%s bindto %s does not match the family of %s", what, co.BindTo, co.ConnectIP)
	}
	if co.ConnectIP.Is6() && co.ConnectIP.IsLinkLocalUnicast() && co.BindIf == "" {
		p := pos
		if connectIP != nil {
			p = connectIP.words[1].pos
		}
		c.d.errorf(p, "add: bind_if <IFNAME>", "%s connects to link-local %s, which needs bind_if", what, co.ConnectIP)
	}
}

func lvsResolveFileCheck(c *ctx, ck *Checker) {
	f := ck.File
	if f.TrackFile == "" {
		c.d.errorf(ck.Pos, "add: track_file <NAME>", "FILE_CHECK has no track_file; there is nothing to read")
		return
	}
	for _, tf := range c.cfg.TrackFiles {
		if tf.Name == f.TrackFile {
			if f.Weight == nil {
				w := tf.Weight
				f.Weight, f.Reverse = &w, tf.Reverse
			}
			return
		}
	}
	c.d.errorf(f.trackNode.words[1].pos, "define it with track_file "+f.TrackFile+" { file <PATH> }",
		"track_file %s is not defined", f.TrackFile)
}
