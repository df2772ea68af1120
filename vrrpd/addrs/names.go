package addrs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The names iproute2 accepts for tables, protocols, scopes, realms and DS
// fields, resolved as iproute2 does: a number as is (decimal, 0x hex or 0
// octal), else a name from the iproute2 configuration files, else the
// built-in names.

// iproute2Dirs are searched in order; /etc overrides the distribution's.
var iproute2Dirs = []string{"/etc/iproute2", "/usr/share/iproute2", "/usr/lib/iproute2"}

var builtinNames = map[string]map[string]uint32{
	"rt_tables": {"unspec": 0, "default": 253, "main": 254, "local": 255},
	"rt_protos": {
		"unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4,
		"gated": 8, "ra": 9, "mrt": 10, "zebra": 11, "bird": 12, "dnrouted": 13,
		"xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42,
		"openr": 99, "bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192,
	},
	"rt_scopes":  {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255},
	"rt_realms":  {"unknown": 0},
	"rt_dsfield": {},
	"group":      {"default": 0},
}

// lookupName resolves s in the iproute2 table file (rt_tables, ...).
func lookupName(file, s string, max uint64) (uint32, error) {
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		if v > max {
			return 0, fmt.Errorf("%s %s is out of range (0-%d)", strings.TrimPrefix(file, "rt_"), s, max)
		}
		return uint32(v), nil
	}
	if v, ok := readNameFiles(file)[s]; ok && uint64(v) <= max {
		return v, nil
	}
	if v, ok := builtinNames[file][s]; ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown %s name %q (not a number, not in %s)", strings.TrimPrefix(file, "rt_"), s, file)
}

// readNameFiles reads FILE and FILE.d/*.conf in each iproute2 directory;
// earlier directories win.
func readNameFiles(file string) map[string]uint32 {
	out := map[string]uint32{}
	for i := len(iproute2Dirs) - 1; i >= 0; i-- {
		dir := iproute2Dirs[i]
		paths := []string{filepath.Join(dir, file)}
		more, _ := filepath.Glob(filepath.Join(dir, file+".d", "*.conf"))
		sort.Strings(more)
		paths = append(paths, more...)
		for _, p := range paths {
			readNameFile(p, out)
		}
	}
	return out
}

func readNameFile(path string, out map[string]uint32) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseUint(fields[0], 0, 32)
		if err != nil {
			continue
		}
		out[fields[1]] = uint32(v)
	}
}

func tableValue(s string) (uint32, error) {
	if s == "" {
		return 254, nil // main
	}
	return lookupName("rt_tables", s, 1<<32-1)
}

func scopeValue(s string) (uint8, error) {
	v, err := lookupName("rt_scopes", s, 255)
	return uint8(v), err
}

func protocolValue(s string) (uint8, error) {
	v, err := lookupName("rt_protos", s, 255)
	return uint8(v), err
}

func dsfieldValue(s string) (uint8, error) {
	v, err := lookupName("rt_dsfield", s, 255)
	return uint8(v), err
}

// realmsValue parses REALM or FROM/TO into the kernel's (from<<16 | to).
func realmsValue(s string) (uint32, error) {
	from, to, two := strings.Cut(s, "/")
	if !two {
		v, err := lookupName("rt_realms", s, 0xffff)
		return v, err
	}
	f, err := lookupName("rt_realms", from, 0xffff)
	if err != nil {
		return 0, err
	}
	t, err := lookupName("rt_realms", to, 0xffff)
	if err != nil {
		return 0, err
	}
	return f<<16 | t, nil
}
