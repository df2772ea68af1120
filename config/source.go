package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	// maxIncludeDepth bounds nesting so a pathological include chain is an
	// error, not a stack exhaustion.
	maxIncludeDepth = 32
	// maxExpansions bounds replays (multi-line definitions, ~SEQ) nested
	// in one another.
	maxExpansions = 64
	// maxSubstitutions bounds $ substitutions in one line, which also
	// stops a definition that refers to itself ($A=x$A).
	maxSubstitutions = 4096
	// maxSeqValues bounds one ~SEQ so a typo cannot generate millions of
	// lines.
	maxSeqValues = 100000
)

// source reads configuration files and feeds the tree builder line by
// line, applying the preprocessing keepalived performs, in its order:
// comments, @ID conditional lines, $NAME=value definitions, ~SEQ
// sequences, $ substitution, and include.
type source struct {
	configID string
	readFile func(string) ([]byte, error)
	glob     func(string) ([]string, error)
	stat     func(string) (os.FileInfo, error)
	d        *diag

	defs      map[string]*definition
	multiline *definition // a multi-line definition being read
	stack     []string    // absolute paths being read, for loop detection
	files     []string    // every file read, in order
	tree      *treeBuilder
}

// definition is the value of a $NAME; multi-line definitions replay their
// lines where $NAME stands alone on a line.
type definition struct {
	value string
	lines []string // non-nil for a multi-line definition
}

func newSource(opts Options, d *diag) *source {
	s := &source{
		configID: opts.ConfigID,
		readFile: opts.ReadFile,
		glob:     opts.Glob,
		stat:     os.Stat,
		d:        d,
		defs:     map[string]*definition{},
		tree:     newTreeBuilder(d),
	}
	if s.configID == "" {
		s.configID = defaultConfigID()
	}
	if s.readFile == nil {
		s.readFile = os.ReadFile
	} else {
		s.stat = nil // in-memory files: no directories to skip
	}
	if s.glob == nil {
		s.glob = filepath.Glob
	}
	return s
}

// defaultConfigID is keepalived's default for -i: the host name up to its
// first dot.
func defaultConfigID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// readPath reads one file (the main one, or an include) into the tree.
// from is the include statement's position, invalid for the main file.
func (s *source) readPath(path string, from Pos) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	for i, p := range s.stack {
		if p == abs {
			chain := append(append([]string{}, s.stack[i:]...), abs)
			s.d.errorf(from, "remove one of the include statements in the cycle",
				"include loop: %s", strings.Join(chain, " -> "))
			return
		}
	}
	if len(s.stack) >= maxIncludeDepth {
		s.d.errorf(from, "flatten the include chain", "includes nested deeper than %d levels", maxIncludeDepth)
		return
	}
	data, err := s.readFile(path)
	if err != nil {
		if from.IsValid() {
			s.d.errorf(from, "check the path and its permissions", "cannot read included file: %v", err)
		} else {
			s.d.errorf(Pos{File: path, Line: 1, Col: 1}, "check the path and its permissions", "cannot read configuration: %v", err)
		}
		return
	}
	s.stack = append(s.stack, abs)
	s.files = append(s.files, path)
	// One conversion per file: lines and token texts are substrings of it.
	text := string(data)
	for lineNo := 1; len(text) > 0; lineNo++ {
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		s.rawLine(path, lineNo, strings.TrimSuffix(line, "\r"))
	}
	if s.multiline != nil {
		s.multiline = nil // a definition does not continue into another file
	}
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *source) rawLine(path string, lineNo int, raw string) {
	l := decomment(raw)
	if s.multiline != nil {
		more := strings.HasSuffix(l.text, `\`)
		s.multiline.lines = append(s.multiline.lines, strings.TrimSpace(strings.TrimSuffix(l.text, `\`)))
		if !more {
			s.multiline = nil
		}
		return
	}
	s.logicalLine(path, lineNo, l, 0)
}

// logicalLine processes one decommented line. depth counts replays
// (multi-line definitions, ~SEQ) to bound recursion.
func (s *source) logicalLine(path string, lineNo int, l logical, depth int) {
	if depth > maxExpansions {
		s.d.errorf(Pos{File: path, Line: lineNo, Col: l.col(0)}, "check for a definition that uses itself", "definitions expand deeper than %d levels", maxExpansions)
		return
	}
	if l.text == "" {
		return
	}
	at := func(i int) Pos { return Pos{File: path, Line: lineNo, Col: l.col(i)} }

	// @ID / @^ID: the line exists only for the selected (or, negated,
	// every other) config-id, as keepalived's -i selects.
	if l.text[0] == '@' {
		end := strings.IndexAny(l.text, " \t")
		if end < 0 {
			return // a tag with nothing after it
		}
		id := l.text[1:end]
		neg := strings.HasPrefix(id, "^")
		if neg {
			id = id[1:]
		}
		if (id != "" && id == s.configID) == neg {
			return
		}
		l = l.slice(end, len(l.text)).trim()
		if l.text == "" {
			return
		}
	}

	// $NAME=value defines text substituted into later lines.
	if l.text[0] == '$' {
		if name, value, ok := parseDefinition(l.text); ok {
			def := &definition{value: value}
			if strings.HasSuffix(value, `\`) {
				def.value = ""
				def.lines = []string{}
				if first := strings.TrimSpace(strings.TrimSuffix(value, `\`)); first != "" {
					def.lines = append(def.lines, first)
				}
				s.multiline = def
			}
			s.defs[name] = def
			return
		}
		// A multi-line definition replays its lines where it stands alone.
		if def := s.defs[standaloneRef(l.text)]; def != nil && def.lines != nil {
			for _, text := range def.lines {
				s.logicalLine(path, lineNo, logical{text: text, off: l.col(0) - 1}, depth+1)
			}
			return
		}
	}

	// ~SEQ(var, [start,] [step,] end) replays the rest of the line.
	if strings.HasPrefix(l.text, "~SEQ") {
		if s.sequence(path, lineNo, l, depth) {
			return
		}
	}

	if strings.IndexByte(l.text, '$') >= 0 {
		l = s.substitute(path, lineNo, l)
	}

	if pattern, mode, ok := includeStatement(l.text); ok {
		s.include(path, at(0), at(len(l.text)-len(pattern)), pattern, mode)
		return
	}

	// Lex straight into the tree's arena: a line has at most one token
	// per two bytes, plus one.
	toks := lex(l, path, lineNo, s.d, s.tree.wordBuffer(len(l.text)/2+1))
	if len(toks) > 0 {
		s.tree.line(toks)
	}
}

// parseDefinition recognises "$NAME=value": the name is [A-Za-z_][A-Za-z0-9_]*
// immediately followed by '=' (keepalived allows no space before it).
func parseDefinition(s string) (name, value string, ok bool) {
	i := 1
	for i < len(s) && isNameByte(s[i], i == 1) {
		i++
	}
	if i == 1 || i >= len(s) || s[i] != '=' {
		return "", "", false
	}
	return s[1:i], strings.TrimLeft(s[i+1:], " \t"), true
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// standaloneRef returns NAME when a line is exactly "$NAME" or "${NAME}".
func standaloneRef(s string) string {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1]
	}
	return s[1:]
}

// builtin returns keepalived's predefined definitions.
func (s *source) builtin(name, path string) (string, bool) {
	switch name {
	case "_PWD":
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return filepath.Dir(path), true
		}
		return abs, true
	case "_INSTANCE":
		return s.configID, true
	case "_HASH":
		return "#", true
	case "_BANG":
		return "!", true
	}
	return "", false
}

// substitute replaces ${NAME} anywhere and $NAME where a blank, ',', ')' or
// the end of the line follows it (keepalived's rule), rescanning the
// replacement so definitions may use definitions. An undefined $NAME is
// left as written (scripts use shell variables); an undefined ${NAME} is an
// error, since keepalived would then split its braces into nonsense.
func (s *source) substitute(path string, lineNo int, l logical) logical {
	var b strings.Builder
	var cols []int
	expansions := 0
	text := l.text
	srcCol := make([]int, len(text))
	for i := range srcCol {
		srcCol[i] = l.col(i)
	}
	for i := 0; i < len(text); {
		if text[i] != '$' {
			b.WriteByte(text[i])
			cols = append(cols, srcCol[i])
			i++
			continue
		}
		name, n, braced := "", 0, false
		if i+1 < len(text) && text[i+1] == '{' {
			if end := strings.IndexByte(text[i+2:], '}'); end >= 0 {
				name, n, braced = text[i+2:i+2+end], end+3, true
			}
		} else {
			j := i + 1
			for j < len(text) && isNameByte(text[j], j == i+1) {
				j++
			}
			if j == len(text) || strings.IndexByte(" \t,)", text[j]) >= 0 {
				name, n = text[i+1:j], j-i
			}
		}
		value, ok := "", false
		if name != "" {
			if def := s.defs[name]; def != nil {
				value, ok = def.value, true
			} else {
				value, ok = s.builtin(name, path)
			}
		}
		if ok && expansions >= maxSubstitutions {
			s.d.errorf(Pos{File: path, Line: lineNo, Col: srcCol[i]}, "check for a definition that uses itself",
				"more than %d substitutions in one line", maxSubstitutions)
			ok = false
			braced = false
			text, srcCol = text[:i+1], srcCol[:i+1] // stop scanning this line
		}
		if !ok {
			if braced && name != "" {
				s.d.errorf(Pos{File: path, Line: lineNo, Col: srcCol[i]}, "define it first: $"+name+"=value",
					"undefined definition ${%s}", name)
			}
			b.WriteByte('$')
			cols = append(cols, srcCol[i])
			i++
			continue
		}
		expansions++
		// Splice the value into the text still to scan, so it is itself
		// substituted; its bytes all point at the '$' that produced them.
		at := srcCol[i]
		rest := text[i+n:]
		restCols := srcCol[i+n:]
		text = value + rest
		srcCol = append(make([]int, 0, len(value)+len(restCols)), restColsFill(at, len(value))...)
		srcCol = append(srcCol, restCols...)
		i = 0
	}
	return logical{text: b.String(), cols: cols}
}

func restColsFill(col, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = col
	}
	return out
}

// sequence handles ~SEQ(var, [start,] [step,] end) and ~SEQx (hex values):
// the rest of the line is read once per value with $var set to it.
func (s *source) sequence(path string, lineNo int, l logical, depth int) bool {
	hexa := strings.HasPrefix(l.text, "~SEQx(")
	open := strings.IndexByte(l.text, '(')
	close := strings.IndexByte(l.text, ')')
	if open < 0 || close < open || (!hexa && open != 4) {
		return false
	}
	at := Pos{File: path, Line: lineNo, Col: l.col(0)}
	args := strings.Split(l.text[open+1:close], ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	const hint = "write ~SEQ(var, start, step, end), e.g. ~SEQ(I, 1, 10)"
	if len(args) < 2 || len(args) > 4 || !validName(args[0]) {
		s.d.errorf(at, hint, "invalid ~SEQ definition %q", l.text[:close+1])
		return true
	}
	nums := make([]int64, len(args)-1)
	for i, a := range args[1:] {
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			s.d.errorf(at, hint, "invalid ~SEQ value %q", a)
			return true
		}
		nums[i] = v
	}
	var start, step, end int64
	switch len(nums) {
	case 1:
		end = nums[0]
		start, step = 1, 1
		if end < 0 {
			start, step = -1, -1
		}
	case 2:
		start, end = nums[0], nums[1]
		step = 1
		if end < start {
			step = -1
		}
	case 3:
		start, step, end = nums[0], nums[1], nums[2]
	}
	if step == 0 || (end-start)/step < 0 || (end-start)/step >= maxSeqValues || (hexa && (start < 0 || end < 0)) {
		s.d.errorf(at, hint, "invalid ~SEQ specification %q", l.text[:close+1])
		return true
	}
	rest := l.slice(close+1, len(l.text)).trim()
	name := args[0]
	saved := s.defs[name]
	for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
		text := strconv.FormatInt(v, 10)
		if hexa {
			text = strconv.FormatInt(v, 16)
		}
		s.defs[name] = &definition{value: text}
		s.logicalLine(path, lineNo, rest, depth+1)
	}
	if saved != nil {
		s.defs[name] = saved
	} else {
		delete(s.defs, name)
	}
	return true
}

func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isNameByte(n[i], i == 0) {
			return false
		}
	}
	return true
}

// includeMode says how strictly an include treats files that are missing.
type includeMode byte

// includeStatement recognises keepalived's include forms: "include PATTERN"
// and the stricter includem / includew / includeb / includea (a missing
// file, an empty wildcard or an empty brace alternative is an error) and
// includer (never an error). The pattern is the raw rest of the line.
func includeStatement(s string) (pattern string, mode includeMode, ok bool) {
	if !strings.HasPrefix(s, "include") || len(s) < len("include")+2 {
		return "", 0, false
	}
	rest := s[len("include"):]
	if strings.IndexByte("rmwba", rest[0]) >= 0 {
		mode, rest = includeMode(rest[0]), rest[1:]
	}
	if rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return "", 0, false
	}
	return strings.TrimSpace(rest), mode, true
}

// include expands a glob (with {a,b} alternatives, as keepalived's
// GLOB_BRACE) relative to the directory of the including file, reading
// matches in order.
func (s *source) include(from string, stmt, at Pos, pattern string, mode includeMode) {
	if pattern == "" {
		s.d.errorf(stmt, "write: include /etc/keepalived/conf.d/*.conf", "include needs a file name or pattern")
		return
	}
	strict := mode != 0 && mode != 'r'
	report := s.d.warnf
	if strict {
		report = s.d.errorf
	}
	for _, alt := range expandBraces(pattern) {
		p := alt
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(from), p)
		}
		matches, err := s.glob(p)
		if err != nil {
			s.d.errorf(at, "check the glob syntax", "bad include pattern %q: %v", alt, err)
			continue
		}
		if len(matches) == 0 {
			switch {
			case mode == 'r':
			case !strings.ContainsAny(alt, "*?["):
				// A named file that is missing is part of the
				// configuration missing (often every VIP): refuse.
				s.d.errorf(at, "looked for "+p+"; use a glob pattern if the file is optional",
					"included file %q does not exist", alt)
			default:
				report(at, "looked for "+p, "include %q matches no file", alt)
			}
			continue
		}
		for _, m := range matches {
			if s.stat != nil {
				if fi, err := s.stat(m); err == nil && !fi.Mode().IsRegular() {
					s.d.warnf(at, "include files, not directories", "include: %s is not a regular file; skipped", m)
					continue
				}
			}
			s.readPath(m, at)
		}
	}
}

// expandBraces expands {a,b} alternatives, nested or in sequence, in the
// order written ("x{b,a}" gives xb, xa), leaving unbalanced braces as they are.
func expandBraces(p string) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}
	}
	depth, close := 0, -1
	var commas []int
	for i := open; i < len(p) && close < 0; i++ {
		switch p[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				close = i
			}
		case ',':
			if depth == 1 {
				commas = append(commas, i)
			}
		}
	}
	if close < 0 || len(commas) == 0 {
		if close < 0 {
			return []string{p}
		}
		// "{x}" without alternatives is literal; keep expanding after it.
		var out []string
		for _, tail := range expandBraces(p[close+1:]) {
			out = append(out, p[:close+1]+tail)
		}
		return out
	}
	var out []string
	bounds := append(append([]int{open}, commas...), close)
	for k := 0; k+1 < len(bounds); k++ {
		alt := p[bounds[k]+1 : bounds[k+1]]
		out = append(out, expandBraces(p[:open]+alt+p[close+1:])...)
	}
	return out
}
