package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ctx carries the state of one read through the keyword walk: the
// diagnostics, the model being filled and the caller's options.
type ctx struct {
	d    *diag
	tbl  *table
	cfg  *Config
	opts Options

	defined map[[2]string]Pos // {kind, name} -> first definition, see define
}

// define records the first definition of a named object of a kind
// ("vrrp_instance", ...) and reports an earlier one, in constant time, so
// duplicate checks stay linear in large configurations.
func (c *ctx) define(kind, name string, at Pos) (first Pos, dup bool) {
	if c.defined == nil {
		c.defined = map[[2]string]Pos{}
	}
	key := [2]string{kind, name}
	if p, ok := c.defined[key]; ok {
		return p, true
	}
	c.defined[key] = at
	return at, false
}

// nargs checks that a statement has between lo and hi arguments (hi < 0:
// no upper bound) and reports the mismatch where the keyword is written.
func (c *ctx) nargs(n *node, lo, hi int) bool {
	got := len(n.words) - 1
	switch {
	case got < lo:
		c.d.errorf(n.pos(), syntaxHint(n), "%s needs %s, got %d", n.name(), plural(lo, "argument"), got)
		return false
	case hi >= 0 && got > hi:
		extra := n.words[hi+1]
		for _, w := range n.words[hi+1:] {
			if KnownKeyword(w.text) && !w.quoted {
				c.d.errorf(w.pos, fmt.Sprintf("put %s on a line of its own; keepalived would silently ignore it", w.text),
					"%s takes at most %s, and %q looks like the next statement: keepalived.conf has one statement per line",
					n.name(), plural(hi, "argument"), w.text)
				return false
			}
		}
		if hi == 0 {
			c.d.errorf(extra.pos, syntaxHint(n), "%s takes no arguments", n.name())
		} else {
			c.d.errorf(extra.pos, syntaxHint(n), "%s takes at most %s, got %d", n.name(), plural(hi, "argument"), got)
		}
		return false
	}
	return true
}

func syntaxHint(n *node) string {
	if kw := keywords().homesKeyword(n.name()); kw != nil && kw.Args != "" {
		return fmt.Sprintf("syntax: %s %s", kw.Name, kw.Args)
	}
	return ""
}

// homesKeyword finds any table entry of that name, for syntax hints.
func (t *table) homesKeyword(name string) *Keyword {
	for _, b := range Blocks() {
		if k := b.index[name]; k != nil {
			return k
		}
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// str reads the single argument of a statement.
func (c *ctx) str(n *node) (string, bool) {
	if !c.nargs(n, 1, 1) {
		return "", false
	}
	return n.words[1].text, true
}

// flag reads a keyword that is present or absent. keepalived lets some
// flags take an explicit true/false; accept those spellings everywhere.
func (c *ctx) flag(n *node) bool {
	if len(n.words) == 1 {
		return true
	}
	if !c.nargs(n, 0, 1) {
		return true
	}
	v, ok := parseBool(n.words[1].text)
	if !ok {
		c.d.errorf(n.words[1].pos, "use true/false, on/off or yes/no, or write the keyword alone", "%s: %q is not a boolean", n.name(), n.words[1].text)
		return true
	}
	return v
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "on", "yes", "1":
		return true, true
	case "false", "off", "no", "0":
		return false, true
	}
	return false, false
}

// intTok parses an integer token within [lo, hi].
func (c *ctx) intTok(what string, t token, lo, hi int64) (int64, bool) {
	v, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		c.d.errorf(t.pos, fmt.Sprintf("%s takes a whole number from %d to %d", what, lo, hi), "%s: %q is not a number", what, t.text)
		return 0, false
	}
	if v < lo || v > hi {
		c.d.errorf(t.pos, fmt.Sprintf("%s takes a whole number from %d to %d", what, lo, hi), "%s %d is out of range %d-%d", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

// intArg reads a statement's single integer argument within [lo, hi].
func (c *ctx) intArg(n *node, lo, hi int64) (int, bool) {
	if !c.nargs(n, 1, 1) {
		return 0, false
	}
	v, ok := c.intTok(n.name(), n.words[1], lo, hi)
	return int(v), ok
}

// floatTok parses a decimal number within [lo, hi].
func (c *ctx) floatTok(what string, t token, lo, hi float64) (float64, bool) {
	v, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		c.d.errorf(t.pos, fmt.Sprintf("%s takes a number from %g to %g", what, lo, hi), "%s: %q is not a number", what, t.text)
		return 0, false
	}
	if v < lo || v > hi {
		c.d.errorf(t.pos, fmt.Sprintf("%s takes a number from %g to %g", what, lo, hi), "%s %g is out of range %g-%g", what, v, lo, hi)
		return 0, false
	}
	return v, true
}

// secondsArg reads a duration written in (possibly fractional) seconds, as
// keepalived writes intervals and timeouts.
func (c *ctx) secondsArg(n *node, lo, hi float64) (Duration, bool) {
	if !c.nargs(n, 1, 1) {
		return 0, false
	}
	v, ok := c.floatTok(n.name(), n.words[1], lo, hi)
	if !ok {
		return 0, false
	}
	return Duration(math.Round(v * float64(time.Second))), true
}

// enumTok matches a token against fixed choices, case-insensitively, and
// returns the canonical spelling.
func (c *ctx) enumTok(what string, t token, choices ...string) (string, bool) {
	for _, ch := range choices {
		if strings.EqualFold(t.text, ch) {
			return ch, true
		}
	}
	c.d.errorf(t.pos, "choose one of: "+strings.Join(choices, ", "), "%s: unknown value %q", what, t.text)
	return "", false
}

// enumArg reads a statement's single argument from fixed choices.
func (c *ctx) enumArg(n *node, choices ...string) (string, bool) {
	if !c.nargs(n, 1, 1) {
		return "", false
	}
	return c.enumTok(n.name(), n.words[1], choices...)
}

// addrTok parses an IPv4 or IPv6 address (no prefix length).
func (c *ctx) addrTok(what string, t token) (netip.Addr, bool) {
	a, err := netip.ParseAddr(t.text)
	if err != nil {
		c.d.errorf(t.pos, "write an IPv4 address like 198.18.0.1 or IPv6 like 2001:db8::1", "%s: %q is not an IP address", what, t.text)
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// addrArg reads a statement's single address argument.
func (c *ctx) addrArg(n *node) (netip.Addr, bool) {
	if !c.nargs(n, 1, 1) {
		return netip.Addr{}, false
	}
	return c.addrTok(n.name(), n.words[1])
}

// portTok parses a TCP/UDP port number.
func (c *ctx) portTok(what string, t token) (uint16, bool) {
	v, ok := c.intTok(what, t, 0, 65535)
	return uint16(v), ok
}

// script reads a command line: either one quoted string holding the whole
// command, or the remaining words of the statement.
func (c *ctx) script(n *node) (*Script, bool) {
	if !c.nargs(n, 1, -1) {
		return nil, false
	}
	return c.scriptFrom(n, n.words[1:]), true
}

func (c *ctx) scriptFrom(n *node, words []token) *Script {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w.text
	}
	s := &Script{Pos: words[0].pos, Command: strings.Join(parts, " ")}
	s.Args = splitCommand(s.Command)
	if len(s.Args) == 0 {
		c.d.errorf(n.pos(), "give the script's path", "%s: empty command", n.name())
	}
	return s
}

// splitCommand turns a script line into argv as keepalived does: the
// double quotes are already gone, unquoted blanks separate parameters,
// single quotes keep a parameter's blanks, and backslash escapes work as in
// the shell's $'...' (\n, \t, \xHH, \ooo, \cC, \E, \<char>).
func splitCommand(s string) []string {
	if !strings.ContainsAny(s, "'\\") {
		return asciiFields(s) // nothing quoted or escaped: the common case
	}
	var out []string
	var cur strings.Builder
	in, quote := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			n := unescape(s[i+1:], &cur)
			i += n
			in = true
		case ch == '\'':
			quote = !quote
			in = true
		case isSpace(ch) && !quote:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// unescape writes the character an escape sequence stands for and returns
// how many bytes after the backslash it used.
func unescape(s string, b *strings.Builder) int {
	switch c := s[0]; c {
	case 'a':
		b.WriteByte('\a')
	case 'b':
		b.WriteByte('\b')
	case 'E', 'e':
		b.WriteByte(0x1b)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'v':
		b.WriteByte('\v')
	case 'x':
		n := 1
		for n < len(s) && n < 3 && isHex(s[n]) {
			n++
		}
		if n == 1 {
			b.WriteByte('x')
			return 1
		}
		v, _ := strconv.ParseUint(s[1:n], 16, 8)
		b.WriteByte(byte(v))
		return n
	case 'c':
		if len(s) > 1 {
			b.WriteByte(s[1] & 0x1f)
			return 2
		}
		b.WriteByte('c')
	default:
		if c >= '0' && c <= '7' {
			n := 1
			for n < len(s) && n < 3 && s[n] >= '0' && s[n] <= '7' {
				n++
			}
			v, _ := strconv.ParseUint(s[:n], 8, 16)
			b.WriteByte(byte(v))
			return n
		}
		b.WriteByte(c)
	}
	return 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// asciiFields splits on ASCII blanks only (keepalived's rule; a non-ASCII
// space such as U+00A0 is part of a word).
func asciiFields(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}
