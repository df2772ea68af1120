package config

import (
	"math"
)

// The keyword table of keepalived's "vrrp" and "trackers" areas: the
// top-level static_* lists, vrrp_script, track_file, vrrp_sync_group,
// vrrp_instance and the blocks keepalived reads for them.

// vrrpOpen adapts a block opener returning a pointer: a nil result skips
// the block's body (the framework's opens would pass a typed nil on).
func vrrpOpen[T any, C any](f func(c *ctx, n *node, t T) *C) func(*ctx, *node, any) any {
	return func(c *ctx, n *node, target any) any {
		t, ok := target.(T)
		if !ok {
			return nil
		}
		child := f(c, n, t)
		if child == nil {
			return nil
		}
		return child
	}
}

// vrrpKw makes a supported table entry.
func vrrpKw(name, args, def, doc string, apply func(*ctx, *node, any) any) *Keyword {
	return &Keyword{Name: name, Args: args, Default: def, Doc: doc, apply: apply}
}

// vrrpMulti marks a keyword that may repeat (the reader handles repeats).
func vrrpMulti(k *Keyword) *Keyword { k.Multi = true; return k }

// vrrpWithBlock attaches the block a keyword opens.
func vrrpWithBlock(k *Keyword, b *Block) *Keyword { k.Block = b; return k }

// vrrpAcceptedBlock is acceptedBlock with the keywords keepalived knows
// inside the block listed (each accepted), so they are known names.
func vrrpAcceptedBlock(name, args, why string, inner ...*Keyword) *Keyword {
	k := acceptedBlock(name, args, why)
	for _, i := range inner {
		k.Block.add(i)
	}
	return k
}

func vrrpTopKeywords() []*Keyword {
	trackFileBlock := newBlock("track_file", "A file whose number moves or faults the instances tracking it.",
		vrrpKw("file", "PATH", "", "The file to read; it holds a number, re-read whenever it changes.",
			on(vrrpReadTrackFileFile)),
		vrrpKw("weight", "<-254..254> [reverse]", "1", "Multiplies the number read; 0 makes any non-zero value a fault; reverse swaps the direction.",
			on(vrrpReadTrackFileWeight)),
		vrrpKw("init_file", "[VALUE] [overwrite]", "", "Create the file with VALUE (default 0) at start-up if missing, or always with overwrite.",
			on(vrrpReadInitFile)),
	)
	trackFile := vrrpWithBlock(vrrpKw("track_file", "NAME { ... }", "", "Declares a tracked file that vrrp instances and sync groups can track.",
		vrrpOpen(vrrpOpenTrackFile)), trackFileBlock)
	trackFile.Multi = true
	vrrpTrackFile := vrrpWithBlock(vrrpKw("vrrp_track_file", "NAME { ... }", "", "Deprecated spelling of track_file (warns).",
		vrrpOpen(vrrpOpenTrackFile)), trackFileBlock)
	vrrpTrackFile.Multi, vrrpTrackFile.Alias = true, "track_file"

	return []*Keyword{
		vrrpMulti(vrrpWithBlock(vrrpKw("static_ipaddress", "{ ADDRESS-LINE ... }", "",
			"Addresses configured at start-up and kept whatever the VRRP state.",
			vrrpOpen(func(c *ctx, n *node, cfg *Config) *vrrpAddrTarget {
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpAddrTarget{list: &cfg.StaticAddresses}
			})), vrrpAddrListBlock("static_ipaddress", true))),
		vrrpMulti(vrrpWithBlock(vrrpKw("static_routes", "{ ROUTE-LINE ... }", "",
			"Routes configured at start-up and kept whatever the VRRP state.",
			vrrpOpen(func(c *ctx, n *node, cfg *Config) *vrrpRouteTarget {
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpRouteTarget{list: &cfg.StaticRoutes, static: true}
			})), vrrpRouteListBlock("static_routes", true))),
		vrrpMulti(vrrpWithBlock(vrrpKw("static_rules", "{ RULE-LINE ... }", "",
			"Policy routing rules configured at start-up and kept whatever the VRRP state.",
			vrrpOpen(func(c *ctx, n *node, cfg *Config) *vrrpRuleTarget {
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpRuleTarget{list: &cfg.StaticRules, static: true}
			})), vrrpRuleListBlock("static_rules", true))),

		vrrpMulti(vrrpWithBlock(vrrpKw("vrrp_script", "NAME { ... }", "",
			"Declares a check script that vrrp instances and sync groups can track.",
			vrrpOpen(vrrpOpenScript)), vrrpScriptBlock())),
		trackFile,
		vrrpTrackFile,
		vrrpMulti(vrrpWithBlock(vrrpKw("vrrp_sync_group", "NAME { ... }", "",
			"Instances that change state together.",
			vrrpOpen(vrrpOpenSyncGroup)), vrrpSyncGroupBlock())),
		vrrpMulti(vrrpWithBlock(vrrpKw("vrrp_instance", "NAME { ... }", "",
			"One VRRP virtual router.",
			vrrpOpen(vrrpOpenInstance)), vrrpInstanceBlock())),

		vrrpAcceptedBlock("vrrp_track_process", "NAME { ... }",
			"process tracking (proc connector) is not implemented yet; track the process with a vrrp_script instead",
			accepted("process", "PATH [ARGS...]", "the process to watch"),
			accepted("param_match", "[initial|partial]", "how process parameters are matched"),
			accepted("weight", "<-254..254> [reverse]", "priority change when the process is up/down"),
			accepted("quorum", "N", "minimum number of matching processes"),
			accepted("quorum_max", "N", "maximum number of matching processes"),
			accepted("delay", "SECS", "sets fork_delay and terminate_delay"),
			accepted("terminate_delay", "SECS", "delay before a vanished process counts as down"),
			accepted("fork_delay", "SECS", "delay before a new process counts as up"),
			accepted("full_command", "", "match the full command line"),
		),
		vrrpAcceptedBlock("track_group", "NAME { group { INSTANCE... } }",
			"static track groups (instances faulted when a static address/route/rule disappears) are not implemented yet",
			accepted("group", "{ INSTANCE ... }", "the instances that track the static entries of this group"),
		),
		vrrpAcceptedBlock("garp_group", "{ ... }",
			"per-interface gratuitous ARP/NA pacing is not implemented yet; the global vrrp_garp_interval/vrrp_gna_interval apply",
			accepted("garp_interval", "SECS", "delay between gratuitous ARPs on these interfaces"),
			accepted("gna_interval", "SECS", "delay between unsolicited neighbour adverts on these interfaces"),
			accepted("interface", "IFNAME", "the interface the pacing applies to"),
			accepted("interfaces", "{ IFNAME ... }", "interfaces sharing one pacing budget"),
		),
		acceptedBlock("linkbeat_interfaces", "{ IFNAME [MII|ETHTOOL|IOCTL] ... }",
			"link polling is not implemented; Vigil follows netlink link state"),
		acceptedBlock("interface_up_down_delays", "{ IFNAME DOWN_DELAY [UP_DELAY] ... }",
			"link state debouncing is not implemented yet; link changes take effect at once"),
	}
}

// vrrpAddrListBlock, vrrpRouteListBlock and vrrpRuleListBlock are the list blocks of
// address, route and rule lines.
func vrrpAddrListBlock(name string, static bool) *Block {
	b := newBlock(name, "One address per line: ADDRESS[/LEN] [dev IF] [brd ADDR|+|-] [scope S] [label L] [peer ADDR] [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [preferred_lft N|forever]"+
		map[bool]string{true: " [track_group G]", false: " [use_vmac]"}[static]+".")
	b.Item, b.ItemSyntax = vrrpAddrItem, "ADDRESS[/LEN] [OPTIONS]"
	return b
}

func vrrpRouteListBlock(name string, static bool) *Block {
	b := newBlock(name, "One route per line, as `ip route add`: [src ADDR] [to] [TYPE] DEST|default [from SRC] [via GW] [dev IF] [scope S] [table T] [metric N] [protocol P] [onlink] [mtu [lock] N] ... [nexthop via GW [dev IF] [weight N] ...] [no_track]"+
		map[bool]string{true: " [track_group G]", false: ""}[static]+".")
	b.Item, b.ItemSyntax = vrrpRouteItem, "[to] [TYPE] DEST [OPTIONS]"
	return b
}

func vrrpRuleListBlock(name string, static bool) *Block {
	b := newBlock(name, "One rule per line, as `ip rule add`: [not] [from P] [to P] [iif IF] [oif IF] [fwmark M[/M]] [tos T] [uidrange A-B] [ipproto P] [sport P] [dport P] [preference N] table T|goto N|nop|blackhole|unreachable|prohibit|l3mdev [no_track]"+
		map[bool]string{true: " [track_group G]", false: ""}[static]+".")
	b.Item, b.ItemSyntax = vrrpRuleItem, "[from P] [to P] ... ACTION"
	return b
}

func vrrpTrackListBlock(kind, doc string) *Block {
	b := newBlock(kind, doc)
	b.Item, b.ItemSyntax = vrrpTrackItem, "NAME [weight N [reverse|noreverse]]"
	return b
}

func vrrpScriptBlock() *Block {
	return newBlock("vrrp_script", "A command run periodically; its exit status moves or faults the tracking instances.",
		vrrpKw("script", "CMD|\"CMD ARGS\"", "", "The command; quote it to give arguments (keepalived ignores unquoted words after the first).",
			on(vrrpReadScriptCommand)),
		vrrpKw("interval", "SECS", "1", "Seconds between runs (whole seconds).",
			on(func(c *ctx, n *node, s *VRRPScript) {
				if d, ok := vrrpReadScriptSeconds(c, n); ok {
					s.Interval = d
				}
			})),
		vrrpKw("timeout", "SECS", "interval", "Seconds after which a run counts as failed (whole seconds).",
			on(func(c *ctx, n *node, s *VRRPScript) {
				if d, ok := vrrpReadScriptSeconds(c, n); ok {
					s.Timeout, s.timeoutSet = d, true
				}
			})),
		vrrpKw("weight", "<-253..253> [reverse]", "0", "Priority change on success (positive) or failure (negative); 0 faults the instance instead.",
			on(vrrpReadScriptWeight)),
		vrrpKw("rise", "N", "1", "Consecutive successes before the script counts as up.",
			on(func(c *ctx, n *node, s *VRRPScript) {
				if x, ok := c.intArg(n, 1, math.MaxInt32); ok {
					s.Rise = x
				}
			})),
		vrrpKw("fall", "N", "1", "Consecutive failures before the script counts as down.",
			on(func(c *ctx, n *node, s *VRRPScript) {
				if x, ok := c.intArg(n, 1, math.MaxInt32); ok {
					s.Fall = x
				}
			})),
		vrrpKw("user", "USER [GROUP]", "script_user", "User (and group) the script runs as.",
			on(vrrpReadScriptUser)),
		vrrpKw("init_fail", "", "", "Start in the failed state instead of waiting for the first result.",
			on(func(c *ctx, n *node, s *VRRPScript) {
				if c.vrrpNoArgs(n) {
					s.InitFail = true
				}
			})),
	)
}

// vrrpNotifyKeyword makes a notify_* entry storing into the slot pick
// returns, for instances and sync groups alike.
func vrrpNotifyKeyword(name, doc string, pick func(target any) **Notify) *Keyword {
	return vrrpMulti(vrrpKw(name, "CMD|\"CMD ARGS\" [USER [GROUP]]", "", doc,
		func(c *ctx, n *node, target any) any {
			slot := pick(target)
			if slot == nil {
				return nil
			}
			if v, ok := target.(*VRRPInstance); ok {
				v.mark(n)
			}
			c.vrrpSetNotify(n, slot, vrrpOwnerLabel(target))
			return nil
		}))
}

func vrrpSyncGroupBlock() *Block {
	groupBlock := newBlock("group", "The member vrrp_instance names.")
	groupBlock.Item, groupBlock.ItemSyntax = vrrpGroupItem, "INSTANCE ..."
	sg := func(f func(g *SyncGroup) **Notify) func(any) **Notify {
		return func(t any) **Notify {
			if g, ok := t.(*SyncGroup); ok {
				return f(g)
			}
			return nil
		}
	}
	return newBlock("vrrp_sync_group", "Instances that change state together.",
		vrrpMulti(vrrpWithBlock(vrrpKw("group", "{ INSTANCE ... }", "", "The member instances.", vrrpOpen(vrrpOpenGroup)), groupBlock)),
		vrrpNotifyKeyword("notify_master", "Run when the group becomes MASTER.", sg(func(g *SyncGroup) **Notify { return &g.NotifyMaster })),
		vrrpNotifyKeyword("notify_backup", "Run when the group becomes BACKUP.", sg(func(g *SyncGroup) **Notify { return &g.NotifyBackup })),
		vrrpNotifyKeyword("notify_fault", "Run when the group enters FAULT.", sg(func(g *SyncGroup) **Notify { return &g.NotifyFault })),
		vrrpNotifyKeyword("notify_stop", "Run when the group stops.", sg(func(g *SyncGroup) **Notify { return &g.NotifyStop })),
		vrrpNotifyKeyword("notify", "Run on every transition with GROUP NAME STATE PRIORITY appended.", sg(func(g *SyncGroup) **Notify { return &g.Notify })),
		vrrpKw("smtp_alert", "[BOOL]", "smtp_alert_vrrp", "Send an e-mail on transitions.",
			on(func(c *ctx, n *node, g *SyncGroup) { g.SMTPAlert = c.vrrpBool(n) })),
		vrrpKw("notify_priority_changes", "[BOOL]", "vrrp_notify_priority_changes", "Report priority changes on the notify FIFO.",
			on(func(c *ctx, n *node, g *SyncGroup) { g.NotifyPriorityChanges = c.vrrpBool(n) })),
		vrrpKw("global_tracking", "", "", "Deprecated spelling of sync_group_tracking_weight (warns).",
			on(func(c *ctx, n *node, g *SyncGroup) {
				c.d.warnf(n.pos(), "use sync_group_tracking_weight, or track_* on the sync group",
					"global_tracking is deprecated; keepalived reads it as sync_group_tracking_weight")
				if c.vrrpNoArgs(n) {
					g.SyncGroupTrackingWeight = true
				}
			})),
		vrrpKw("sync_group_tracking_weight", "", "", "Let members keep weighted trackers (they are zeroed otherwise).",
			on(func(c *ctx, n *node, g *SyncGroup) {
				if c.vrrpNoArgs(n) {
					g.SyncGroupTrackingWeight = true
				}
			})),
		vrrpMulti(vrrpWithBlock(vrrpKw("track_interface", "{ IFNAME [weight N [reverse]] ... }", "", "Interfaces whose state moves or faults every member.",
			vrrpTrackList("track_interface", vrrpTracks("track_interface"))), vrrpTrackListBlock("track_interface", "Tracked interfaces."))),
		vrrpMulti(vrrpWithBlock(vrrpKw("track_script", "{ NAME [weight N [reverse|noreverse]] ... }", "", "vrrp_scripts whose result moves or faults every member.",
			vrrpTrackList("track_script", vrrpTracks("track_script"))), vrrpTrackListBlock("track_script", "Tracked vrrp_scripts."))),
		vrrpMulti(vrrpWithBlock(vrrpKw("track_file", "{ NAME [weight N [reverse|noreverse]] ... }", "", "track_files whose value moves or faults every member.",
			vrrpTrackList("track_file", vrrpTracks("track_file"))), vrrpTrackListBlock("track_file", "Tracked track_files."))),
		accepted("track_process", "{ NAME [weight N] ... }", "process tracking is not implemented yet"),
		accepted("track_bfd", "{ NAME [weight N] ... }", "BFD tracking is not implemented yet"),
	)
}

func vrrpInstanceBlock() *Block {
	vi := func(f func(v *VRRPInstance) **Notify) func(any) **Notify {
		return func(t any) **Notify {
			if v, ok := t.(*VRRPInstance); ok {
				return f(v)
			}
			return nil
		}
	}
	flag := func(name, doc string, set func(v *VRRPInstance)) *Keyword {
		return vrrpKw(name, "", "", doc, vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
			if c.vrrpNoArgs(n) {
				set(v)
			}
		}))
	}
	optBool := func(name, def, doc string, set func(v *VRRPInstance, b *bool)) *Keyword {
		return vrrpKw(name, "[BOOL]", def, doc, vrrpInst(func(c *ctx, n *node, v *VRRPInstance) { set(v, c.vrrpBool(n)) }))
	}
	authBlock := newBlock("authentication", "VRRPv2 authentication (removed from the protocol by RFC 3768; avoid).",
		vrrpKw("auth_type", "PASS|AH", "", "PASS: clear-text password; AH: IPsec AH (not recommended).",
			on(func(c *ctx, n *node, a *Authentication) {
				a.typeWritten = true
				if !c.nargs(n, 1, 1) {
					return
				}
				switch t := n.words[1]; t.text {
				case "PASS", "AH":
					a.Type = t.text
				default:
					c.d.errorf(t.pos, "write PASS or AH (in capitals)", "auth_type: unknown authentication type %q", t.text)
				}
			})),
		vrrpKw("auth_pass", "PASSWORD", "", "The password, at most 8 characters (longer ones are truncated).",
			on(func(c *ctx, n *node, a *Authentication) {
				if !c.nargs(n, 1, 1) {
					return
				}
				p := n.words[1].text
				if len(p) > 8 {
					c.d.warnf(n.words[1].pos, "shorten it to 8 characters", "auth_pass is longer than 8 characters; keepalived uses only %q", p[:8])
					p = p[:8]
				}
				a.Pass = p
			})),
		accepted("auth_hmac", "{ ... }", "HMAC advert authentication (newer keepalived) is not implemented yet"),
		accepted("key", "ID SECRET", "HMAC advert authentication (newer keepalived) is not implemented yet"),
		accepted("active_key", "ID", "HMAC advert authentication (newer keepalived) is not implemented yet"),
		accepted("anti_replay", "", "HMAC advert authentication (newer keepalived) is not implemented yet"),
		accepted("time_window", "SECS", "HMAC advert authentication (newer keepalived) is not implemented yet"),
		accepted("mode", "MODE", "HMAC advert authentication (newer keepalived) is not implemented yet"),
	)

	return newBlock("vrrp_instance", "One VRRP virtual router.",
		vrrpMulti(vrrpKw("state", "MASTER|BACKUP", "BACKUP (MASTER if priority 255)", "Initial state; MASTER with priority 255 takes over at once.",
			vrrpInst(vrrpReadState))),
		vrrpKw("interface", "IFNAME", "", "Interface the adverts are sent and received on (required).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if !c.nargs(n, 1, 1) {
					return
				}
				if name, ok := c.vrrpIfName("interface", n.words[1]); ok {
					v.Interface = name
				}
			})),
		vrrpKw("virtual_router_id", "<1-255>", "", "The VRID, shared by all routers of this virtual router (required).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := c.intArg(n, 1, 255); ok {
					v.VirtualRouterID = x
				}
			})),
		vrrpKw("priority", "<1-255>", "100 (255 if state MASTER)", "Election priority; 255 means address owner.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := c.intArg(n, 1, 255); ok {
					v.Priority = x
				}
			})),
		vrrpKw("advert_int", "SECS", "1", "Advert interval: whole seconds for VRRPv2, 10ms steps up to 40.95s for VRRPv3.",
			vrrpInst(vrrpReadAdvertInt)),
		vrrpKw("version", "2|3", "vrrp_version", "VRRP version; IPv6 instances use 3.",
			vrrpInst(vrrpReadVersion)),
		vrrpMulti(vrrpWithBlock(vrrpKw("authentication", "{ auth_type PASS|AH auth_pass PASSWORD }", "", "VRRPv2 authentication (ignored for VRRPv3).",
			vrrpOpen(func(c *ctx, n *node, v *VRRPInstance) *Authentication {
				v.mark(n)
				if !c.vrrpNoArgs(n) {
					return nil
				}
				if v.Authentication == nil {
					v.Authentication = &Authentication{Pos: n.pos()}
				}
				return v.Authentication
			})), authBlock)),
		vrrpMulti(vrrpWithBlock(vrrpKw("virtual_ipaddress", "{ ADDRESS-LINE ... }", "", "The VIPs, all of the instance's family, sent in adverts.",
			vrrpOpen(func(c *ctx, n *node, v *VRRPInstance) *vrrpAddrTarget {
				v.mark(n)
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpAddrTarget{list: &v.VirtualIPAddresses, inst: v}
			})), vrrpAddrListBlock("virtual_ipaddress", false))),
		vrrpMulti(vrrpWithBlock(vrrpKw("virtual_ipaddress_excluded", "{ ADDRESS-LINE ... }", "", "Addresses moved with the VIPs but not sent in adverts; may mix families.",
			vrrpOpen(func(c *ctx, n *node, v *VRRPInstance) *vrrpAddrTarget {
				v.mark(n)
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpAddrTarget{list: &v.VirtualIPAddressesExcluded, inst: v, excluded: true}
			})), vrrpAddrListBlock("virtual_ipaddress_excluded", false))),
		flag("no_virtual_ipaddress", "Allow the instance to have no VIPs.", func(v *VRRPInstance) { v.NoVirtualIPAddress = true }),
		vrrpMulti(vrrpWithBlock(vrrpKw("virtual_routes", "{ ROUTE-LINE ... }", "", "Routes added when MASTER, removed otherwise.",
			vrrpOpen(func(c *ctx, n *node, v *VRRPInstance) *vrrpRouteTarget {
				v.mark(n)
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpRouteTarget{list: &v.VirtualRoutes}
			})), vrrpRouteListBlock("virtual_routes", false))),
		vrrpMulti(vrrpWithBlock(vrrpKw("virtual_rules", "{ RULE-LINE ... }", "", "Policy rules added when MASTER, removed otherwise.",
			vrrpOpen(func(c *ctx, n *node, v *VRRPInstance) *vrrpRuleTarget {
				v.mark(n)
				if !c.vrrpNoArgs(n) {
					return nil
				}
				return &vrrpRuleTarget{list: &v.VirtualRules}
			})), vrrpRuleListBlock("virtual_rules", false))),
		flag("promote_secondaries", "Set promote_secondaries on the interface so removing one VIP keeps the others of its subnet.",
			func(v *VRRPInstance) { v.PromoteSecondaries = true }),

		vrrpMulti(vrrpWithBlock(vrrpKw("track_interface", "{ IFNAME [weight N [reverse]] ... }", "", "Interfaces whose state moves or faults the instance.",
			vrrpTrackList("track_interface", vrrpTracks("track_interface"))), vrrpTrackListBlock("track_interface", "Tracked interfaces."))),
		vrrpMulti(vrrpWithBlock(vrrpKw("track_script", "{ NAME [weight N [reverse|noreverse]] ... }", "", "vrrp_scripts whose result moves or faults the instance.",
			vrrpTrackList("track_script", vrrpTracks("track_script"))), vrrpTrackListBlock("track_script", "Tracked vrrp_scripts."))),
		vrrpMulti(vrrpWithBlock(vrrpKw("track_file", "{ NAME [weight N [reverse|noreverse]] ... }", "", "track_files whose value moves or faults the instance.",
			vrrpTrackList("track_file", vrrpTracks("track_file"))), vrrpTrackListBlock("track_file", "Tracked track_files."))),
		accepted("track_process", "{ NAME [weight N] ... }", "process tracking is not implemented yet"),
		accepted("track_bfd", "{ NAME [weight N] ... }", "BFD tracking is not implemented yet"),
		accepted("track_group", "NAME", "static track groups are not implemented yet"),
		flag("dont_track_primary", "Ignore faults of the instance's own interface.", func(v *VRRPInstance) { v.DontTrackPrimary = true }),
		flag("track_src_ip", "Fault the instance when its configured source address disappears.", func(v *VRRPInstance) { v.TrackSrcIP = true }),

		vrrpKw("mcast_src_ip", "ADDRESS", "primary address", "Source address of multicast adverts.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if a, ok := c.vrrpInstanceAddr(n, v); ok {
					v.McastSrcIP = a
				}
			})),
		vrrpKw("mcast_dst_ip", "GROUP", "224.0.0.18 / ff02::12", "Multicast group for adverts instead of the VRRP one.",
			vrrpInst(vrrpReadMcastDst)),
		vrrpKw("unicast_src_ip", "ADDRESS", "primary address", "Source address of unicast adverts.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if a, ok := c.vrrpInstanceAddr(n, v); ok {
					v.UnicastSrcIP = a
				}
			})),
		vrrpMulti(vrrpWithBlock(vrrpKw("unicast_peer", "{ ADDRESS [min_ttl N] [max_ttl N] ... }", "", "Send adverts by unicast to these peers instead of multicast; an empty block is an error.",
			vrrpOpen(vrrpOpenUnicastPeer)), func() *Block {
			b := newBlock("unicast_peer", "Unicast peers, one per line.")
			b.Item, b.ItemSyntax = vrrpPeerItem, "ADDRESS [min_ttl N] [max_ttl N]"
			return b
		}())),
		flag("unicast_fault_no_peer", "Fault the instance instead of falling back to multicast when it has no peers.",
			func(v *VRRPInstance) { v.UnicastFaultNoPeer = true }),
		vrrpKw("unicast_ttl", "<0-255>", "", "TTL/hop limit of unicast adverts.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := c.intArg(n, 0, 255); ok {
					v.UnicastTTL = &x
				}
			})),
		flag("check_unicast_src", "Drop unicast adverts whose source is not a listed peer.",
			func(v *VRRPInstance) { on := true; v.CheckUnicastSrc = &on }),
		accepted("old_unicast_checksum", "[never]", "compatibility with keepalived < 1.3.6 unicast checksums is not implemented"),

		vrrpKw("use_vmac", "[IFNAME] [MAC]", "", "Run the instance on a macvlan with the VRRP virtual MAC.",
			vrrpInst(vrrpReadVMAC)),
		flag("use_vmac_addr", "Create VMACs for VIPs on other interfaces too.", func(v *VRRPInstance) { v.UseVMACAddr = true }),
		flag("vmac_xmit_base", "Send and receive adverts on the base interface, not the VMAC.", func(v *VRRPInstance) { v.VMACXmitBase = true }),
		vrrpKw("garp_extra_if", "[all] SECS", "", "Periodic gratuitous ARP/NA on the interfaces of VIPs (all: every interface).",
			vrrpInst(vrrpReadGarpExtraIf)),
		vrrpKw("vmac_garp_intvl", "[all] SECS", "", "Deprecated spelling of garp_extra_if (warns).",
			vrrpInst(vrrpReadGarpExtraIf)),
		accepted("use_ipvlan", "[IFNAME] [ADDRESS] [bridge|private|vepa]", "ipvlan interfaces are not implemented yet"),
		accepted("vrf", "IFNAME", "running a unicast instance in a VRF without an interface is not implemented yet"),
		vrrpKw("native_ipv6", "", "", "Force IPv6 and VRRPv3 (deprecated: the VIPs decide the family).",
			vrrpInst(vrrpReadNativeIPv6)),

		flag("nopreempt", "Do not take over from a lower priority master (needs initial state BACKUP).",
			func(v *VRRPInstance) { v.Nopreempt = true }),
		flag("preempt", "Backwards compatibility: cancels nopreempt.", func(v *VRRPInstance) { v.Nopreempt = false }),
		vrrpKw("preempt_delay", "SECS", "0", "Delay before preempting a lower priority master (0-1000s, needs initial state BACKUP).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if d, ok := c.vrrpSeconds(n, 0, 1000); ok {
					v.PreemptDelay = d
				}
			})),
		flag("accept", "Accept packets addressed to the VIPs when not address owner (default unless strict mode).",
			func(v *VRRPInstance) { b := true; v.Accept = &b }),
		flag("no_accept", "Drop packets addressed to the VIPs when not address owner.",
			func(v *VRRPInstance) { b := false; v.Accept = &b }),
		optBool("strict_mode", "vrrp_strict", "Enforce RFC compliance for this instance.",
			func(v *VRRPInstance, b *bool) { v.StrictMode = b }),
		optBool("skip_check_adv_addr", "vrrp_skip_check_adv_addr", "Do not check the addresses in adverts from the current master.",
			func(v *VRRPInstance, b *bool) { v.SkipCheckAdvAddr = b }),

		vrrpKw("garp_master_delay", "SECS", "vrrp_garp_master_delay", "Delay before the second burst of gratuitous ARPs after becoming MASTER (whole seconds).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if d, ok := c.vrrpWholeSeconds(n, 0, math.MaxUint32/1000000); ok {
					v.GarpMasterDelay = &d
				}
			})),
		vrrpKw("garp_master_repeat", "N", "vrrp_garp_master_repeat", "Gratuitous ARPs sent per burst on becoming MASTER.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := vrrpReadGarpRepeat(c, n); ok {
					v.GarpMasterRepeat = x
				}
			})),
		vrrpKw("garp_master_refresh", "SECS", "vrrp_garp_master_refresh", "Interval of gratuitous ARP refreshes while MASTER (0: none).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if d, ok := c.vrrpWholeSeconds(n, 0, math.MaxUint32); ok {
					v.GarpMasterRefresh = &d
				}
			})),
		vrrpKw("garp_master_refresh_repeat", "N", "vrrp_garp_master_refresh_repeat", "Gratuitous ARPs sent per refresh.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := vrrpReadGarpRepeat(c, n); ok {
					v.GarpMasterRefreshRepeat = x
				}
			})),
		vrrpKw("garp_lower_prio_delay", "SECS", "vrrp_garp_lower_prio_delay", "Delay before the second burst after a lower priority advert.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if d, ok := c.vrrpWholeSeconds(n, 0, math.MaxUint32/1000000); ok {
					v.GarpLowerPrioDelay = &d
				}
			})),
		vrrpKw("garp_lower_prio_repeat", "N", "vrrp_garp_lower_prio_repeat", "Gratuitous ARPs sent per burst after a lower priority advert.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := c.intArg(n, 0, math.MaxInt32); ok {
					v.GarpLowerPrioRepeat = &x
				}
			})),
		optBool("lower_prio_no_advert", "vrrp_lower_prio_no_advert", "Do not answer a lower priority advert with an advert (RFC behaviour).",
			func(v *VRRPInstance, b *bool) { v.LowerPrioNoAdvert = b }),
		optBool("higher_prio_send_advert", "vrrp_higher_prio_send_advert", "As MASTER, send an advert before yielding to a higher priority one.",
			func(v *VRRPInstance, b *bool) { v.HigherPrioSendAdvert = b }),
		vrrpKw("down_timer_adverts", "<1-100>", "3", "Advert intervals without adverts before a backup takes over (the RFCs say 3).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if x, ok := c.intArg(n, 1, 100); ok {
					v.DownTimerAdverts = x
				}
			})),
		optBool("v3_checksum_as_v2", "v3_checksum_as_v2", "Compute VRRPv3 IPv4 checksums without the pseudo header, for old peers.",
			func(v *VRRPInstance, b *bool) { v.V3ChecksumAsV2 = *b }),

		vrrpNotifyKeyword("notify_master", "Run on becoming MASTER.", vi(func(v *VRRPInstance) **Notify { return &v.NotifyMaster })),
		vrrpNotifyKeyword("notify_backup", "Run on becoming BACKUP.", vi(func(v *VRRPInstance) **Notify { return &v.NotifyBackup })),
		vrrpNotifyKeyword("notify_fault", "Run on entering FAULT.", vi(func(v *VRRPInstance) **Notify { return &v.NotifyFault })),
		vrrpNotifyKeyword("notify_stop", "Run when the instance stops.", vi(func(v *VRRPInstance) **Notify { return &v.NotifyStop })),
		vrrpNotifyKeyword("notify", "Run on every transition with INSTANCE NAME STATE PRIORITY appended.", vi(func(v *VRRPInstance) **Notify { return &v.Notify })),
		vrrpNotifyKeyword("notify_master_rx_lower_pri", "Run when MASTER receives a lower priority advert.",
			vi(func(v *VRRPInstance) **Notify { return &v.NotifyMasterRxLowerPri })),
		vrrpMulti(vrrpKw("notify_deleted", "[CMD [USER [GROUP]]]", "", "Report DELETED instead of FAULT when a reload removes the instance (and run CMD).",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if v.NotifyDeleted {
					c.d.warnf(n.pos(), "delete one of them", "notify_deleted is already set; this one is ignored, as keepalived does")
					return
				}
				s := c.vrrpNotify(n, true)
				if len(n.words) > 1 && s == nil {
					return
				}
				v.NotifyDeleted, v.NotifyDeletedScript = true, s
			}))),
		optBool("notify_priority_changes", "vrrp_notify_priority_changes", "Report priority changes on the notify FIFO.",
			func(v *VRRPInstance, b *bool) { v.NotifyPriorityChanges = b }),
		optBool("smtp_alert", "smtp_alert_vrrp", "Send an e-mail on transitions.",
			func(v *VRRPInstance, b *bool) { v.SMTPAlert = b }),

		vrrpKw("kernel_rx_buf_size", "BYTES", "", "Receive buffer size of the advert socket.",
			vrrpInst(func(c *ctx, n *node, v *VRRPInstance) {
				if !c.nargs(n, 1, 1) {
					return
				}
				if x, ok := c.intTok(n.name(), n.words[1], 0, math.MaxUint32); ok {
					u := uint64(x)
					v.KernelRxBufSize = &u
				}
			})),
		flag("linkbeat_use_polling", "Poll the interface's link state (deprecated: use linkbeat_interfaces).",
			func(v *VRRPInstance) { v.LinkbeatUsePolling = true }),
		accepted("debug", "<0-4>", "per-instance debug level (keepalived does not implement it either)"),
		accepted("lvs_sync_daemon_interface", "IFNAME", "deprecated in keepalived; use global_defs lvs_sync_daemon"),
		accepted("timer_expired_backup", "[PRIORITY]", "newer keepalived option, not implemented yet"),
		accepted("owner_ignore_adverts", "", "newer keepalived option, not implemented yet"),
		accepted("thread_timer_expired", "", "newer keepalived option, not implemented yet"),
	)
}
