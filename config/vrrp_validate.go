package config

import (
	"fmt"
	"strings"
	"time"
)

// Checks of the VRRP side that need the whole file: references between
// blocks, the rules keepalived applies when it completes an instance
// (vrrp.c vrrp_complete_instance / vrrp_complete_init), and conflicts
// between instances. keepalived's corrections (rounding, clearing an
// incompatible option) are applied to the model with a warning; what
// keepalived refuses to run with is an error.

func vrrpValidate(c *ctx) {
	cfg := c.cfg
	scripts := map[string]*VRRPScript{}
	for _, s := range cfg.Scripts {
		if _, dup := scripts[s.Name]; !dup {
			scripts[s.Name] = s
		}
		if s.Script == nil {
			c.d.warnf(s.Pos, "add a script line", "vrrp_script %s has no script; keepalived drops it", s.Name)
		}
		if !s.timeoutSet {
			s.Timeout = s.Interval
		}
	}
	files := map[string]*TrackFile{}
	for _, f := range cfg.TrackFiles {
		if _, dup := files[f.Name]; !dup {
			files[f.Name] = f
		}
		if f.File == "" {
			c.d.warnf(f.Pos, "add a file line", "track_file %s has no file; keepalived drops it", f.Name)
		}
	}
	used := map[string]bool{}

	for _, v := range cfg.Instances {
		c.vrrpValidateInstance(v, scripts, files)
	}
	groupOf := c.vrrpValidateSyncGroups(scripts, files)
	for _, v := range cfg.Instances {
		c.vrrpTrackWeights(v, groupOf[v.Name])
	}
	c.vrrpCheckVRIDs()
	for _, v := range cfg.Instances {
		for _, t := range v.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, g := range cfg.SyncGroups {
		for _, t := range g.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, s := range cfg.Scripts {
		if s.Script != nil && !used[s.Name] {
			c.d.warnf(s.Pos, "track it from a vrrp_instance or vrrp_sync_group, or remove it", "vrrp_script %s is not used", s.Name)
		}
	}
	c.vrrpCheckInterfaces()
}

// vrrpValidateInstance applies keepalived's per-instance rules.
func (c *ctx) vrrpValidateInstance(v *VRRPInstance, scripts map[string]*VRRPScript, files map[string]*TrackFile) {
	// A keyword written with a bad value was reported where it stands;
	// do not report it again as missing.
	if v.Interface == "" && !v.written("interface") {
		c.d.errorf(v.Pos, "add: interface IFNAME", "vrrp_instance %s has no interface", v.Name)
	}
	if v.VirtualRouterID == 0 && !v.written("virtual_router_id") {
		c.d.errorf(v.Pos, "add: virtual_router_id 1-255 (the same on every router of this virtual router)",
			"vrrp_instance %s has no virtual_router_id", v.Name)
	}
	// keepalived derives an unwritten priority from the state and an
	// unwritten state from the priority: MASTER alone makes the address
	// owner (255), and 255 alone starts as MASTER.
	if !v.written("priority") && v.State == StateMaster {
		c.d.warnf(v.posOf("state"), "write the priority (e.g. priority 150) unless this router owns the VIPs",
			"vrrp_instance %s has state MASTER and no priority: keepalived makes it the address owner (priority 255), which never yields", v.Name)
		v.Priority = 255
	}
	if !v.stateSet && v.Priority == 255 {
		v.State = StateMaster
	}

	strict := c.cfg.Global.VRRPStrict
	if v.StrictMode != nil {
		strict = *v.StrictMode
	}
	fam := v.family()

	// Version: as written, else 3 for IPv6, else global vrrp_version.
	if v.Version == 0 {
		if fam == 6 {
			v.Version = 3
		} else {
			v.Version = c.cfg.Global.VRRPVersion
		}
	} else if v.Version == 2 && fam == 6 {
		if v.versionAt.Line > 0 && (v.famAt.Line == 0 || vrrpPosBefore(v.versionAt, v.famAt)) && !strict {
			c.d.warnf(v.versionAt, "write version 3: VRRPv2 is defined for IPv4 only (RFC 3768)",
				"vrrp_instance %s runs non-standard VRRPv2 over IPv6, as keepalived does; every peer must do the same", v.Name)
		} else {
			c.d.warnf(v.versionAt, "write version 3, or remove the version line",
				"VRRPv2 cannot carry IPv6; keepalived runs vrrp_instance %s as version 3", v.Name)
			v.overrideKw("version")
			v.Version = 3
		}
	}

	// Advert interval: what the version can carry.
	c.vrrpRoundAdvertInt(v)

	if len(v.VirtualIPAddresses) == 0 {
		switch {
		case v.Version == 3 || fam == 6 || strict:
			c.d.errorf(v.Pos, "add a virtual_ipaddress block", "vrrp_instance %s has no virtual_ipaddress; VRRPv3, IPv6 and strict mode need at least one", v.Name)
		case !v.NoVirtualIPAddress:
			c.d.warnf(v.Pos, "add a virtual_ipaddress block, or no_virtual_ipaddress if this is intended",
				"vrrp_instance %s has no virtual_ipaddress", v.Name)
		}
	} else if fam == 6 && !v.unicast() {
		if first := v.VirtualIPAddresses[0]; !first.Address.Addr().IsLinkLocalUnicast() {
			c.d.warnf(first.Pos, "list a link-local address (fe80::/10) first",
				"the first IPv6 VIP of vrrp_instance %s is not link-local, as RFC 5798 requires", v.Name)
		}
	}

	if strict && (v.State == StateMaster) != (v.Priority == 255) {
		want := StateBackup
		if v.Priority == 255 {
			want = StateMaster
		}
		c.d.warnf(v.posOf("state"), "in strict mode use state MASTER exactly when priority is 255",
			"strict mode: state must be MASTER exactly for the address owner (priority 255); keepalived uses %s", want)
		v.overrideKw("state")
		v.State = want
	}

	c.vrrpCheckAuth(v, strict, fam)

	if strict && v.unicast() {
		c.d.warnf(v.posOf("unicast_peer"), "remove strict_mode/vrrp_strict, or use multicast",
			"vrrp_instance %s: strict mode does not allow unicast peers (RFC 5798 is multicast only); keepalived 2.2 sends unicast all the same", v.Name)
	}

	if v.Priority == 255 && v.Nopreempt {
		c.d.warnf(v.posOf("nopreempt"), "remove nopreempt", "nopreempt does not apply to the address owner (priority 255); keepalived clears it")
		v.overrideKw("nopreempt")
		v.Nopreempt = false
	}
	if v.State == StateMaster {
		if v.Nopreempt {
			c.d.warnf(v.posOf("nopreempt"), "use state BACKUP with nopreempt",
				"nopreempt does not work with initial state MASTER; keepalived clears it")
			v.overrideKw("nopreempt")
			v.Nopreempt = false
		}
		if v.PreemptDelay != 0 {
			c.d.warnf(v.posOf("preempt_delay"), "use state BACKUP with preempt_delay",
				"preempt_delay does not work with initial state MASTER; keepalived clears it")
			v.overrideKw("preempt_delay")
			v.PreemptDelay = 0
		}
	}
	if v.PreemptDelay != 0 {
		if strict {
			c.d.warnf(v.posOf("preempt_delay"), "remove preempt_delay", "preempt_delay is incompatible with strict mode; keepalived clears it")
			v.overrideKw("preempt_delay")
			v.PreemptDelay = 0
		} else if v.Nopreempt {
			c.d.warnf(v.posOf("preempt_delay"), "remove preempt_delay", "preempt_delay is incompatible with nopreempt; keepalived clears it")
			v.overrideKw("preempt_delay")
			v.PreemptDelay = 0
		}
	}

	if strict {
		c.vrrpStrictCorrections(v)
	}

	if v.UnicastTTL != nil && !v.unicast() {
		c.d.warnf(v.posOf("unicast_ttl"), "remove unicast_ttl, or add a unicast_peer block", "unicast_ttl without unicast peers; keepalived ignores it")
		v.overrideKw("unicast_ttl")
		v.UnicastTTL = nil
	}
	if !v.unicast() && !v.unicastBlock {
		for _, kw := range []string{"unicast_src_ip", "check_unicast_src"} {
			if v.written(kw) {
				c.d.warnf(v.posOf(kw), "add a unicast_peer block, or remove "+kw,
					"%s without unicast peers: keepalived sends multicast adverts (deprecated)", kw)
				break
			}
		}
		if v.UnicastFaultNoPeer {
			c.d.warnf(v.posOf("unicast_fault_no_peer"), "add a unicast_peer block",
				"unicast_fault_no_peer without unicast peers: vrrp_instance %s stays in FAULT", v.Name)
		}
	}
	if v.VMACXmitBase && v.UseVMAC == nil {
		c.d.warnf(v.posOf("vmac_xmit_base"), "remove vmac_xmit_base, or add use_vmac", "vmac_xmit_base applies only with use_vmac; keepalived clears it")
		v.overrideKw("vmac_xmit_base")
		v.VMACXmitBase = false
	}
	if v.UseVMAC != nil && v.unicast() && !v.VMACXmitBase {
		c.d.warnf(v.posOf("use_vmac"), "add vmac_xmit_base", "unicast with use_vmac needs vmac_xmit_base; keepalived sets it")
		v.VMACXmitBase = true
	}
	if v.PromoteSecondaries && v.UseVMAC != nil {
		c.d.warnf(v.posOf("promote_secondaries"), "remove promote_secondaries", "promote_secondaries is automatic with use_vmac; keepalived ignores it")
		v.overrideKw("promote_secondaries")
		v.PromoteSecondaries = false
	}
	if v.TrackSrcIP && !v.UnicastSrcIP.IsValid() && !v.McastSrcIP.IsValid() {
		c.d.warnf(v.posOf("track_src_ip"), "add unicast_src_ip or mcast_src_ip", "track_src_ip without a configured source address has no effect")
		v.overrideKw("track_src_ip")
		v.TrackSrcIP = false
	}

	// Tracked interfaces: the instance's own interface is always tracked.
	var tifs []*Track
	for _, t := range v.TrackInterfaces {
		if t.Name == v.Interface {
			c.d.warnf(t.Pos, "remove it: the instance's own interface is always tracked (see dont_track_primary)",
				"track_interface %s is the instance's own interface; keepalived ignores it", t.Name)
			v.override("track_interface", t.Name)
			continue
		}
		tifs = append(tifs, t)
	}
	v.TrackInterfaces = tifs
	v.TrackScripts = c.vrrpResolveTracks(v.TrackScripts, "track_script", "vrrp_instance "+v.Name, scripts, files)
	v.TrackFiles = c.vrrpResolveTracks(v.TrackFiles, "track_file", "vrrp_instance "+v.Name, scripts, files)
}

func vrrpPosBefore(a, b Pos) bool {
	if a.File != b.File {
		return false
	}
	return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
}

// vrrpRoundAdvertInt rounds advert_int to what the version carries:
// VRRPv2 whole seconds (1-255), VRRPv3 centiseconds (0.01-40.95s).
func (c *ctx) vrrpRoundAdvertInt(v *VRRPInstance) {
	d := time.Duration(v.AdvertInt)
	at := v.posOf("advert_int")
	if v.Version == 2 {
		if d%time.Second != 0 {
			r := (d + time.Second/2) / time.Second * time.Second
			if r == 0 {
				r = time.Second
			}
			c.d.warnf(at, "VRRPv2 carries whole seconds; use version 3 for finer intervals",
				"VRRPv2 advert_int %s must be whole seconds; keepalived rounds it to %s", d, r)
			v.overrideKw("advert_int")
			v.AdvertInt = Duration(r)
		}
		return
	}
	const centi = 10 * time.Millisecond
	if d >= 4096*centi {
		c.d.warnf(at, "VRRPv3 carries at most 40.95s", "VRRPv3 advert_int %s is out of range; keepalived uses 40.95s", d)
		v.overrideKw("advert_int")
		v.AdvertInt = Duration(4095 * centi)
		return
	}
	if d%centi != 0 {
		r := (d + centi/2) / centi * centi
		if r == 0 {
			r = centi
		}
		c.d.warnf(at, "VRRPv3 carries 10ms steps", "VRRPv3 advert_int %s must be in units of 10ms; keepalived rounds it to %s", d, r)
		v.overrideKw("advert_int")
		v.AdvertInt = Duration(r)
	}
}

// vrrpCheckAuth applies keepalived's rules on authentication.
func (c *ctx) vrrpCheckAuth(v *VRRPInstance, strict bool, fam int) {
	a := v.Authentication
	if a == nil {
		return
	}
	drop := func(hint, format string, args ...any) {
		c.d.warnf(a.Pos, hint, format, args...)
		v.override("authentication", strings.TrimSpace("auth_type "+a.Type+" auth_pass "+a.Pass))
		v.Authentication = nil
	}
	refuse := func(hint, format string, args ...any) {
		c.d.errorf(a.Pos, hint, format, args...)
		v.Authentication = nil
	}
	switch {
	case strict:
		drop("remove the authentication block", "strict mode does not support authentication; keepalived ignores it")
	case v.Version == 3:
		drop("remove the authentication block", "VRRPv3 has no authentication; keepalived ignores it for vrrp_instance %s", v.Name)
	case a.Type == "" && !a.typeWritten:
		refuse("add auth_type PASS or AH, or remove the block", "authentication without auth_type: keepalived would run vrrp_instance %s without authentication", v.Name)
	case a.Pass == "":
		refuse("add auth_pass PASSWORD (the same on every router), or remove the block",
			"authentication without auth_pass: keepalived would run vrrp_instance %s without authentication", v.Name)
	case fam == 6 && a.Type == "AH":
		refuse("remove the authentication block", "AH authentication does not work with IPv6: keepalived would run vrrp_instance %s without authentication", v.Name)
	case a.Type == "AH" && v.State == StateMaster && v.Priority != 255:
		c.d.warnf(v.posOf("state"), "use state BACKUP with AH authentication",
			"initial state MASTER is incompatible with AH authentication; keepalived starts vrrp_instance %s as BACKUP", v.Name)
		v.overrideKw("state")
		v.State = StateBackup
	}
}

// vrrpStrictCorrections applies what strict mode forces.
func (c *ctx) vrrpStrictCorrections(v *VRRPInstance) {
	if v.VMACXmitBase && v.UseVMAC != nil {
		c.d.warnf(v.posOf("vmac_xmit_base"), "remove vmac_xmit_base", "vmac_xmit_base is incompatible with strict mode; keepalived clears it")
		v.overrideKw("vmac_xmit_base")
		v.VMACXmitBase = false
	}
	if v.GarpLowerPrioRepeat != nil && *v.GarpLowerPrioRepeat != 0 {
		c.d.warnf(v.posOf("garp_lower_prio_repeat"), "remove garp_lower_prio_repeat", "strict mode sends no repeat gratuitous ARPs; keepalived uses 0")
		z := 0
		v.overrideKw("garp_lower_prio_repeat")
		v.GarpLowerPrioRepeat = &z
	}
	if v.GarpLowerPrioDelay != nil && *v.GarpLowerPrioDelay != 0 {
		c.d.warnf(v.posOf("garp_lower_prio_delay"), "remove garp_lower_prio_delay", "strict mode has no repeat gratuitous ARP delay; keepalived uses 0")
		v.overrideKw("garp_lower_prio_delay")
		v.GarpLowerPrioDelay = vrrpDurPtr(0)
	}
	if v.LowerPrioNoAdvert != nil && !*v.LowerPrioNoAdvert {
		c.d.warnf(v.posOf("lower_prio_no_advert"), "remove the line", "strict mode requires lower_prio_no_advert; keepalived sets it")
		t := true
		v.overrideKw("lower_prio_no_advert")
		v.LowerPrioNoAdvert = &t
	}
	if v.HigherPrioSendAdvert != nil && *v.HigherPrioSendAdvert {
		c.d.warnf(v.posOf("higher_prio_send_advert"), "remove the line", "strict mode requires higher_prio_send_advert off; keepalived clears it")
		f := false
		v.overrideKw("higher_prio_send_advert")
		v.HigherPrioSendAdvert = &f
	}
	if v.Accept != nil && *v.Accept && v.Priority != 255 && v.Version == 2 {
		c.d.warnf(v.posOf("accept"), "remove accept", "accept mode for VRRPv2 does not comply with RFC 3768; keepalived clears it in strict mode")
		f := false
		v.overrideKw("accept")
		v.Accept = &f
	}
}

// vrrpResolveTracks checks track_script / track_file references and fills
// in the weight and direction the tracked object gives when the entry
// does not.
func (c *ctx) vrrpResolveTracks(list []*Track, kind, owner string, scripts map[string]*VRRPScript, files map[string]*TrackFile) []*Track {
	var out []*Track
	for _, t := range list {
		var weight int
		var reverse, usable, found bool
		if kind == "track_script" {
			s := scripts[t.Name]
			found = s != nil
			if found {
				weight, reverse, usable = s.Weight, s.Reverse, s.Script != nil
			}
		} else {
			f := files[t.Name]
			found = f != nil
			if found {
				weight, reverse, usable = f.Weight, f.Reverse, f.File != ""
			}
		}
		decl := map[string]string{"track_script": "vrrp_script", "track_file": "track_file"}[kind]
		switch {
		case !found:
			c.d.errorf(t.Pos, fmt.Sprintf("declare it with %s %s { ... }, or fix the name%s", decl, t.Name, c.vrrpKnownNames(kind, scripts, files)),
				"%s: %s %s is not defined (keepalived ignores the entry)", owner, decl, t.Name)
			continue
		case !usable:
			what := map[string]string{"track_script": "script", "track_file": "file"}[kind]
			c.d.errorf(t.Pos, fmt.Sprintf("add a %s line to %s %s (or remove this entry)", what, decl, t.Name),
				"%s: %s %s has no %s line, so keepalived drops it and this tracking silently vanishes", owner, decl, t.Name, what)
			continue
		}
		if !t.weightSet {
			t.Weight = weight
		}
		if !t.reverseSet && !t.weightSet {
			t.Reverse = reverse
		}
		out = append(out, t)
	}
	return out
}

// vrrpKnownNames lists the declared names, for the hint of an unknown one.
func (c *ctx) vrrpKnownNames(kind string, scripts map[string]*VRRPScript, files map[string]*TrackFile) string {
	var names []string
	if kind == "track_script" {
		for _, s := range c.cfg.Scripts {
			names = append(names, s.Name)
		}
	} else {
		for _, f := range c.cfg.TrackFiles {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 || len(names) > 8 {
		return ""
	}
	return " (declared: " + strings.Join(names, ", ") + ")"
}

// vrrpValidateSyncGroups checks members and returns each instance's group.
func (c *ctx) vrrpValidateSyncGroups(scripts map[string]*VRRPScript, files map[string]*TrackFile) map[string]*SyncGroup {
	instances := map[string]*VRRPInstance{}
	for _, v := range c.cfg.Instances {
		instances[v.Name] = v
	}
	groupOf := map[string]*SyncGroup{}
	for _, g := range c.cfg.SyncGroups {
		owner := "vrrp_sync_group " + g.Name
		if len(g.Group) == 0 {
			c.d.warnf(g.Pos, "add a group { INSTANCE ... } block", "%s has no members; keepalived removes it", owner)
		}
		var members []string
		seen := map[string]bool{}
		for i, m := range g.Group {
			pos := g.Pos
			if i < len(g.memberPos) {
				pos = g.memberPos[i]
			}
			if seen[m] {
				c.d.warnf(pos, "delete one of them", "%s lists %s twice", owner, m)
				continue
			}
			seen[m] = true
			if instances[m] == nil {
				c.d.errorf(pos, "list vrrp_instance names"+vrrpInstanceNames(c.cfg.Instances),
					"%s: member %s is not a vrrp_instance (keepalived ignores it)", owner, m)
				continue
			}
			if other := groupOf[m]; other != nil {
				c.d.errorf(pos, "an instance belongs to one sync group; remove it from one of them",
					"%s: vrrp_instance %s is already in vrrp_sync_group %s (keepalived ignores it here)", owner, m, other.Name)
				continue
			}
			groupOf[m] = g
			members = append(members, m)
		}
		if len(members) == 1 {
			c.d.warnf(g.Pos, "add the other instances that must change state with it, or remove the sync group",
				"%s has only one member (%s); this probably isn't what you want", owner, members[0])
		}
		g.TrackScripts = c.vrrpResolveTracks(g.TrackScripts, "track_script", owner, scripts, files)
		g.TrackFiles = c.vrrpResolveTracks(g.TrackFiles, "track_file", owner, scripts, files)

		// Members that are address owners cannot have weighted trackers.
		owners := false
		for _, m := range members {
			if instances[m].Priority == 255 {
				owners = true
			}
		}
		if owners {
			for _, list := range [][]*Track{g.TrackInterfaces, g.TrackScripts, g.TrackFiles} {
				for _, t := range list {
					if t.Weight != 0 {
						c.d.warnf(t.Pos, "use weight 0 (fault) with an address owner member",
							"%s: weighted tracker %s with a member of priority 255; keepalived uses weight 0", owner, t.Name)
						t.Weight = 0
					}
				}
			}
		}
	}
	return groupOf
}

func vrrpInstanceNames(list []*VRRPInstance) string {
	if len(list) == 0 || len(list) > 8 {
		return ""
	}
	names := make([]string, len(list))
	for i, v := range list {
		names[i] = v.Name
	}
	return " (defined: " + strings.Join(names, ", ") + ")"
}

// vrrpTrackWeights applies keepalived's rule that members of a sync
// group (without sync_group_tracking_weight) and address owners do not
// use weighted trackers: interface weights become 0 (or the entry is
// dropped for an owner), weighted scripts are dropped, track files with
// the default weight become unweighted and others are dropped.
func (c *ctx) vrrpTrackWeights(v *VRRPInstance, g *SyncGroup) {
	inSync := g != nil && !g.SyncGroupTrackingWeight
	if !inSync && v.Priority != 255 {
		return
	}
	why := "it is the address owner (priority 255)"
	if inSync {
		why = "it is in vrrp_sync_group " + g.Name + " (see sync_group_tracking_weight)"
	}
	var ifs []*Track
	for _, t := range v.TrackInterfaces {
		if t.Weight != 0 {
			if inSync {
				c.d.warnf(t.Pos, "use weight 0", "vrrp_instance %s: weight of track_interface %s is ignored because %s", v.Name, t.Name, why)
				v.override("track_interface", fmt.Sprintf("%s weight %d", t.Name, t.Weight))
				t.Weight = 0
			} else {
				c.d.warnf(t.Pos, "remove the weight", "vrrp_instance %s: weighted track_interface %s is ignored because %s", v.Name, t.Name, why)
				v.override("track_interface", fmt.Sprintf("%s weight %d", t.Name, t.Weight))
				continue
			}
		}
		ifs = append(ifs, t)
	}
	v.TrackInterfaces = ifs
	var scs []*Track
	for _, t := range v.TrackScripts {
		if t.Weight != 0 {
			c.d.warnf(t.Pos, "use weight 0", "vrrp_instance %s: weighted track_script %s is ignored because %s", v.Name, t.Name, why)
			v.override("track_script", fmt.Sprintf("%s weight %d", t.Name, t.Weight))
			continue
		}
		scs = append(scs, t)
	}
	v.TrackScripts = scs
	var fls []*Track
	for _, t := range v.TrackFiles {
		switch {
		case t.Weight == 1:
			c.d.warnf(t.Pos, "write weight 0", "vrrp_instance %s: track_file %s is used unweighted because %s", v.Name, t.Name, why)
			v.override("track_file", fmt.Sprintf("%s weight %d", t.Name, t.Weight))
			t.Weight = 0
		case t.Weight != 0:
			c.d.warnf(t.Pos, "use weight 0", "vrrp_instance %s: weighted track_file %s is ignored because %s", v.Name, t.Name, why)
			v.override("track_file", fmt.Sprintf("%s weight %d", t.Name, t.Weight))
			continue
		}
		fls = append(fls, t)
	}
	v.TrackFiles = fls
}

// vrrpCheckVRIDs reports two instances that would answer each other's
// adverts: same VRID, family and interface, both multicast to the same
// group, or both unicast with a peer in common. keepalived refuses to
// start in that case.
func (c *ctx) vrrpCheckVRIDs() {
	// Only instances with the same VRID, interface and family can clash:
	// bucket them so the check stays linear for thousands of instances.
	type key struct {
		vrid   int
		iface  string
		family int
	}
	buckets := map[key][]*VRRPInstance{}
	for _, a := range c.cfg.Instances {
		if a.VirtualRouterID == 0 || a.Interface == "" {
			continue
		}
		k := key{a.VirtualRouterID, a.Interface, a.family()}
		buckets[k] = append(buckets[k], a)
	}
	for _, a := range c.cfg.Instances {
		if a.VirtualRouterID == 0 || a.Interface == "" {
			continue
		}
		list := buckets[key{a.VirtualRouterID, a.Interface, a.family()}]
		i := 0
		for list[i] != a {
			i++
		}
		for _, b := range list[i+1:] {
			if a.unicast() != b.unicast() {
				continue
			}
			if a.unicast() {
				if !vrrpSharePeer(a, b) {
					continue
				}
			} else if a.McastDstIP != b.McastDstIP {
				continue
			}
			c.d.errorf(b.posOf("virtual_router_id"), "give each virtual router on an interface its own virtual_router_id",
				"vrrp_instance %s and %s (line %d) both use VRID %d with IPv%d on interface %s",
				b.Name, a.Name, a.Pos.Line, a.VirtualRouterID, a.family(), a.Interface)
		}
	}
}

func vrrpSharePeer(a, b *VRRPInstance) bool {
	for _, p := range a.UnicastPeers {
		for _, q := range b.UnicastPeers {
			if p.Address == q.Address {
				return true
			}
		}
	}
	return false
}

// vrrpCheckInterfaces warns about interfaces the host does not have,
// only when the caller can tell (Options.InterfaceExists).
func (c *ctx) vrrpCheckInterfaces() {
	exists := c.opts.InterfaceExists
	if exists == nil {
		return
	}
	warned := map[string]bool{}
	check := func(name string, pos Pos, what string) {
		if name == "" || warned[name] || exists(name) {
			return
		}
		warned[name] = true
		c.d.warnf(pos, "check the name, or ignore this if the interface is created later",
			"%s: interface %s does not exist on this host", what, name)
	}
	addrs := func(list []*IPAddress, what string) {
		for _, a := range list {
			check(a.Dev, a.Pos, what)
		}
	}
	routes := func(list []*Route, what string) {
		for _, r := range list {
			check(r.Dev, r.Pos, what)
			for _, nh := range r.Nexthops {
				check(nh.Dev, r.Pos, what)
			}
		}
	}
	rules := func(list []*Rule, what string) {
		for _, r := range list {
			check(r.IIF, r.Pos, what)
			check(r.OIF, r.Pos, what)
		}
	}
	addrs(c.cfg.StaticAddresses, "static_ipaddress")
	routes(c.cfg.StaticRoutes, "static_routes")
	rules(c.cfg.StaticRules, "static_rules")
	for _, v := range c.cfg.Instances {
		check(v.Interface, v.posOf("interface"), "vrrp_instance "+v.Name)
		for _, t := range v.TrackInterfaces {
			check(t.Name, t.Pos, "vrrp_instance "+v.Name+" track_interface")
		}
		addrs(v.VirtualIPAddresses, "vrrp_instance "+v.Name+" virtual_ipaddress")
		addrs(v.VirtualIPAddressesExcluded, "vrrp_instance "+v.Name+" virtual_ipaddress_excluded")
		routes(v.VirtualRoutes, "vrrp_instance "+v.Name+" virtual_routes")
		rules(v.VirtualRules, "vrrp_instance "+v.Name+" virtual_rules")
	}
	for _, g := range c.cfg.SyncGroups {
		for _, t := range g.TrackInterfaces {
			check(t.Name, t.Pos, "vrrp_sync_group "+g.Name+" track_interface")
		}
	}
}
