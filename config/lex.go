package config

import "strings"

// tokKind distinguishes the few things keepalived's grammar knows: words,
// block braces and the end of a line (which ends a statement).
type tokKind uint8

const (
	tWord tokKind = iota
	tOpen
	tClose
)

// token is one lexical unit with the position it came from. Quoted words
// keep their inner text only; quoted records that quotes were used, which
// matters for scripts ("/bin/check arg" is one command line).
type token struct {
	kind   tokKind
	text   string
	pos    Pos
	quoted bool
}

// lineLexer turns one logical line into tokens. cols maps each byte of the
// (possibly $-substituted) line back to a column in the source file, so
// substituted text is still reported where the operator wrote it.
type lineLexer struct {
	file string
	line int
	cols []int // nil: byte i is column i+1
	d    *diag
}

func (l *lineLexer) pos(i int) Pos {
	col := i + 1
	if l.cols != nil {
		if i < len(l.cols) {
			col = l.cols[i]
		} else if len(l.cols) > 0 {
			col = l.cols[len(l.cols)-1] + 1
		}
	}
	return Pos{File: l.file, Line: l.line, Col: col}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n'
}

// lex appends the tokens of s to out. Rules follow keepalived's reader:
// whitespace separates words; '!' or '#' at the start of a word begins a
// comment to the end of the line; '{' and '}' are tokens of their own even
// when written against a word; "..." is one word without its quotes.
func (l *lineLexer) lex(s string, out []token) []token {
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '!' || c == '#':
			return out
		case c == '{' || c == '}':
			k := tOpen
			if c == '}' {
				k = tClose
			}
			out = append(out, token{kind: k, text: s[i : i+1], pos: l.pos(i)})
			i++
		case c == '"':
			start := i
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				l.d.errorf(l.pos(start), `close the string with a matching " on the same line`,
					"unterminated quoted string")
				out = append(out, token{kind: tWord, text: s[i+1:], pos: l.pos(start), quoted: true})
				return out
			}
			out = append(out, token{kind: tWord, text: s[i+1 : i+1+end], pos: l.pos(start), quoted: true})
			i += end + 2
		default:
			start := i
			for i < len(s) && !isSpace(s[i]) && s[i] != '{' && s[i] != '}' && s[i] != '"' {
				i++
			}
			out = append(out, token{kind: tWord, text: s[start:i], pos: l.pos(start)})
		}
	}
	return out
}
