package config

import (
	"math"
	"time"
)

// Readers of the vrrp_script, track_file (vrrp_track_file) and
// vrrp_sync_group blocks.

// vrrpOpenScript reads "vrrp_script NAME {".
func vrrpOpenScript(c *ctx, n *node, cfg *Config) *VRRPScript {
	if !c.nargs(n, 1, 1) {
		return nil
	}
	s := newVRRPScript(n.words[1].text, n.pos())
	for _, o := range cfg.Scripts {
		if o.Name == s.Name {
			c.d.errorf(n.words[1].pos, "give each vrrp_script its own name",
				"vrrp_script %s is already defined at line %d", s.Name, o.Pos.Line)
			return s
		}
	}
	cfg.Scripts = append(cfg.Scripts, s)
	return s
}

// vrrpReadScriptCommand reads "script CMD". keepalived takes the first
// argument as the whole command line (quote it to pass arguments); words
// after it are ignored.
func vrrpReadScriptCommand(c *ctx, n *node, s *VRRPScript) {
	if !c.nargs(n, 1, -1) {
		return
	}
	cmd := n.words[1]
	sc := &Script{Command: cmd.text, Pos: cmd.pos}
	if cmd.quoted {
		sc.Args = splitCommand(cmd.text)
	} else {
		sc.Args = []string{cmd.text}
	}
	if len(sc.Args) == 0 {
		c.d.errorf(cmd.pos, "give the script's path", "script: empty command")
		return
	}
	if len(n.words) > 2 {
		c.d.warnf(n.words[2].pos, "quote the whole command: script \""+n.argText()+"\"",
			"script: keepalived runs only %q; the words after it are ignored", cmd.text)
	}
	s.Script = sc
}

// vrrpReadScriptUser reads "user USER [GROUP]".
func vrrpReadScriptUser(c *ctx, n *node, s *VRRPScript) {
	if !c.nargs(n, 1, 2) {
		return
	}
	s.User = n.words[1].text
	if len(n.words) > 2 {
		s.Group = n.words[2].text
	}
}

// vrrpReadScriptWeight reads "weight N [reverse]" of a vrrp_script.
func vrrpReadScriptWeight(c *ctx, n *node, s *VRRPScript) {
	if !c.nargs(n, 1, 2) {
		return
	}
	w, ok := c.intTok("weight", n.words[1], -253, 253)
	if !ok {
		return
	}
	s.Weight = int(w)
	if len(n.words) > 2 {
		if n.words[2].text != "reverse" {
			c.d.errorf(n.words[2].pos, "write: weight N [reverse]", "weight: unknown option %q", n.words[2].text)
			return
		}
		s.Reverse = true
	}
}

// vrrpReadScriptSeconds reads interval/timeout: whole seconds, 0 raised to
// 1 with a warning (keepalived keeps 0 working for old files).
func vrrpReadScriptSeconds(c *ctx, n *node) (Duration, bool) {
	x, ok := c.intArg(n, 0, math.MaxUint32/1000000)
	if !ok {
		return 0, false
	}
	if x == 0 {
		c.d.warnf(n.words[1].pos, "write 1 or more", "%s must be greater than 0; keepalived uses 1", n.name())
		x = 1
	}
	return Duration(time.Duration(x) * time.Second), true
}

// vrrpOpenTrackFile reads "track_file NAME {" (and the deprecated
// vrrp_track_file).
func vrrpOpenTrackFile(c *ctx, n *node, cfg *Config) *TrackFile {
	if n.name() == "vrrp_track_file" {
		c.d.warnf(n.pos(), "write track_file instead", "vrrp_track_file is deprecated, keepalived reads it as track_file")
	}
	if !c.nargs(n, 1, 1) {
		return nil
	}
	f := newTrackFile(n.words[1].text, n.pos())
	for _, o := range cfg.TrackFiles {
		if o.Name == f.Name {
			c.d.errorf(n.words[1].pos, "give each track_file its own name",
				"track_file %s is already defined at line %d", f.Name, o.Pos.Line)
			return f
		}
	}
	cfg.TrackFiles = append(cfg.TrackFiles, f)
	return f
}

func vrrpReadTrackFileFile(c *ctx, n *node, f *TrackFile) {
	if !c.nargs(n, 1, -1) {
		return
	}
	if f.File != "" {
		c.d.warnf(n.pos(), "delete one of them", "track_file %s: file is already set; this one is ignored, as keepalived does", f.Name)
		return
	}
	f.File = n.argText()
}

func vrrpReadTrackFileWeight(c *ctx, n *node, f *TrackFile) {
	if !c.nargs(n, 1, 2) {
		return
	}
	if f.weightSet {
		c.d.warnf(n.pos(), "delete one of them", "track_file %s: weight is already set; this one is ignored, as keepalived does", f.Name)
		return
	}
	w, ok := c.intTok("weight", n.words[1], -254, 254)
	if !ok {
		return
	}
	f.Weight, f.weightSet = int(w), true
	if len(n.words) > 2 {
		if n.words[2].text != "reverse" {
			c.d.errorf(n.words[2].pos, "write: weight N [reverse]", "weight: unknown option %q", n.words[2].text)
			return
		}
		f.Reverse = true
	}
}

// vrrpReadInitFile reads "init_file [VALUE] [overwrite]".
func vrrpReadInitFile(c *ctx, n *node, f *TrackFile) {
	in := &TrackFileInit{}
	for _, t := range n.args() {
		switch {
		case t.text == "overwrite":
			in.Overwrite = true
		case len(t.text) > 0 && (t.text[0] == '-' || t.text[0] >= '0' && t.text[0] <= '9'):
			x, ok := c.intTok("init_file", t, math.MinInt32, math.MaxInt32)
			if !ok {
				return
			}
			if x < -254 || x > 254 {
				c.d.warnf(t.pos, "values outside -254..254 fault or saturate the tracking instances",
					"init_file value %d is outside the sensible range -254..254", x)
			}
			in.Value = int(x)
		default:
			c.d.errorf(t.pos, "write: init_file [VALUE] [overwrite]", "init_file: unknown option %q", t.text)
			return
		}
	}
	f.InitFile = in
}

// vrrpOpenSyncGroup reads "vrrp_sync_group NAME {".
func vrrpOpenSyncGroup(c *ctx, n *node, cfg *Config) *SyncGroup {
	if !c.nargs(n, 1, 1) {
		return nil
	}
	g := &SyncGroup{Name: n.words[1].text, Pos: n.pos()}
	for _, o := range cfg.SyncGroups {
		if o.Name == g.Name {
			c.d.errorf(n.words[1].pos, "give each vrrp_sync_group its own name",
				"vrrp_sync_group %s is already defined at line %d; this block is ignored, as keepalived does", g.Name, o.Pos.Line)
			return g
		}
	}
	cfg.SyncGroups = append(cfg.SyncGroups, g)
	return g
}

// vrrpOpenGroup reads the group { } member list of a sync group; keepalived
// ignores a second one.
func vrrpOpenGroup(c *ctx, n *node, g *SyncGroup) *vrrpGroupTarget {
	if !c.vrrpNoArgs(n) {
		return nil
	}
	if g.groupSeen {
		c.d.errorf(n.pos(), "list all members in one group block", "vrrp_sync_group %s: group is already given; keepalived ignores this one", g.Name)
		return nil
	}
	g.groupSeen = true
	if len(n.children) == 0 {
		c.d.warnf(n.pos(), "list the member vrrp_instance names", "vrrp_sync_group %s: empty group block", g.Name)
	}
	return &vrrpGroupTarget{sg: g}
}

// vrrpTrackList opens a track_* list block of an instance or sync group.
func vrrpTrackList(kind string, list func(target any) *[]*Track) func(*ctx, *node, any) any {
	return func(c *ctx, n *node, target any) any {
		l := list(target)
		if l == nil {
			return nil
		}
		if v, ok := target.(*VRRPInstance); ok {
			v.mark(n)
		}
		if !c.vrrpNoArgs(n) {
			return nil
		}
		return &vrrpTrackTarget{list: l, kind: kind}
	}
}

// vrrpTracks picks the list a track_* block fills, in an instance
// or a sync group.
func vrrpTracks(kind string) func(any) *[]*Track {
	return func(target any) *[]*Track {
		var ifs, scs, fls *[]*Track
		switch t := target.(type) {
		case *VRRPInstance:
			ifs, scs, fls = &t.TrackInterfaces, &t.TrackScripts, &t.TrackFiles
		case *SyncGroup:
			ifs, scs, fls = &t.TrackInterfaces, &t.TrackScripts, &t.TrackFiles
		default:
			return nil
		}
		switch kind {
		case "track_interface":
			return ifs
		case "track_script":
			return scs
		}
		return fls
	}
}

// vrrpOwnerLabel names an instance or sync group in messages.
func vrrpOwnerLabel(target any) string {
	switch t := target.(type) {
	case *VRRPInstance:
		return "vrrp_instance " + t.Name
	case *SyncGroup:
		return "vrrp_sync_group " + t.Name
	}
	return ""
}
