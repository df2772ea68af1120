package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// maxIncludeDepth bounds nesting so a pathological include chain is an
// error, not a stack exhaustion.
const maxIncludeDepth = 32

// source reads configuration files into one token stream, applying the
// preprocessing keepalived performs before parsing: @tag conditional lines,
// $NAME=value definitions and their substitution, and include expansion.
type source struct {
	configID string
	readFile func(string) ([]byte, error)
	glob     func(string) ([]string, error)
	d        *diag

	defs  map[string]string
	stack []string // absolute paths being read, for loop detection
	files []string // every file read, in order
	tree  *treeBuilder
	buf   []token // tokens of the current line, reused
}

func newSource(opts Options, d *diag) *source {
	s := &source{
		configID: opts.ConfigID,
		readFile: opts.ReadFile,
		glob:     opts.Glob,
		d:        d,
		defs:     map[string]string{},
		tree:     newTreeBuilder(d),
	}
	if s.readFile == nil {
		s.readFile = os.ReadFile
	}
	if s.glob == nil {
		s.glob = filepath.Glob
	}
	return s
}

// readPath reads one file (the main one, or an include) and appends its
// tokens. from is the include statement's position, invalid for the main file.
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
			s.d.errorf(Pos{File: path}, "check the path and its permissions", "cannot read configuration: %v", err)
		}
		return
	}
	s.stack = append(s.stack, abs)
	s.files = append(s.files, path)
	s.lexFile(path, data)
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *source) lexFile(path string, data []byte) {
	// One conversion per file: lines and token texts are substrings of it.
	text := string(data)
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		s.lexLine(path, lineNo, line)
	}
}

func (s *source) lexLine(path string, lineNo int, line string) {
	lx := lineLexer{file: path, line: lineNo, d: s.d}

	// @tag / @^tag: the line exists only for the selected (or, negated,
	// every other) config-id, as keepalived's -i option selects.
	trimmed := strings.TrimLeft(line, " \t")
	if strings.HasPrefix(trimmed, "@") {
		off := len(line) - len(trimmed)
		end := strings.IndexAny(trimmed, " \t")
		if end < 0 {
			end = len(trimmed)
		}
		tag := trimmed[1:end]
		neg := strings.HasPrefix(tag, "^")
		if neg {
			tag = tag[1:]
		}
		if (tag == s.configID && s.configID != "") == neg {
			return
		}
		// Keep columns true: blank out the tag instead of cutting it.
		line = line[:off] + strings.Repeat(" ", end) + trimmed[end:]
		trimmed = strings.TrimLeft(line, " \t")
	}

	// $NAME=value defines text substituted into later lines.
	if strings.HasPrefix(trimmed, "$") {
		if name, value, ok := parseDefinition(trimmed); ok {
			s.defs[name] = value
			return
		}
	}

	var cols []int
	if strings.IndexByte(line, '$') >= 0 && len(s.defs) > 0 {
		line, cols = s.substitute(line)
	}
	lx.cols = cols
	toks := lx.lex(line, s.buf[:0])
	s.buf = toks[:0]
	if len(toks) == 0 {
		return
	}
	if toks[0].kind == tWord && toks[0].text == "include" && !toks[0].quoted {
		s.include(path, append([]token(nil), toks...))
		return
	}
	s.tree.line(toks)
}

// parseDefinition recognises "$NAME=value" (spaces around '=' allowed).
func parseDefinition(s string) (name, value string, ok bool) {
	eq := strings.IndexByte(s, '=')
	if eq < 2 {
		return "", "", false
	}
	name = strings.TrimSpace(s[1:eq])
	if !validDefName(name) {
		return "", "", false
	}
	return name, strings.TrimSpace(s[eq+1:]), true
}

func validDefName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// substitute replaces $NAME and ${NAME} with defined values. Undefined names
// are left untouched. The returned column map points substituted text at
// the '$' that produced it.
func (s *source) substitute(line string) (string, []int) {
	var b strings.Builder
	cols := make([]int, 0, len(line))
	for i := 0; i < len(line); {
		if line[i] != '$' {
			b.WriteByte(line[i])
			cols = append(cols, i+1)
			i++
			continue
		}
		name, n := "", 0
		if i+1 < len(line) && line[i+1] == '{' {
			if end := strings.IndexByte(line[i+2:], '}'); end >= 0 {
				name, n = line[i+2:i+2+end], end+3
			}
		} else {
			j := i + 1
			for j < len(line) && (line[j] == '_' || line[j] >= 'a' && line[j] <= 'z' ||
				line[j] >= 'A' && line[j] <= 'Z' || line[j] >= '0' && line[j] <= '9') {
				j++
			}
			name, n = line[i+1:j], j-i
		}
		v, ok := s.defs[name]
		if !ok || name == "" {
			b.WriteByte('$')
			cols = append(cols, i+1)
			i++
			continue
		}
		b.WriteString(v)
		for range len(v) {
			cols = append(cols, i+1)
		}
		i += n
	}
	return b.String(), cols
}

// include expands "include PATTERN": a glob relative to the directory of the
// file that holds the statement, each match read in sorted order.
func (s *source) include(from string, toks []token) {
	at := toks[0].pos
	var args []token
	for _, t := range toks[1:] {
		if t.kind != tWord {
			s.d.errorf(t.pos, "put include on a line of its own", "unexpected %q in include statement", t.text)
			return
		}
		args = append(args, t)
	}
	if len(args) == 0 {
		s.d.errorf(at, "write: include /etc/keepalived/conf.d/*.conf", "include needs a file name or pattern")
		return
	}
	for _, a := range args {
		pattern := a.text
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(from), pattern)
		}
		matches, err := s.glob(pattern)
		if err != nil {
			s.d.errorf(a.pos, "check the glob syntax", "bad include pattern %q: %v", a.text, err)
			continue
		}
		if len(matches) == 0 {
			s.d.warnf(a.pos, fmt.Sprintf("looked for %s", pattern), "include %q matches no file", a.text)
			continue
		}
		for _, m := range matches {
			s.readPath(m, a.pos)
		}
	}
}
