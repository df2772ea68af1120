package config

import "strings"

// tokKind distinguishes the few things keepalived's grammar knows: words
// and block braces. Statements end at the end of their line.
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

// byteClass sorts bytes for the lexer in one lookup.
var byteClass = func() (t [256]uint8) {
	for _, c := range " \t\r\v\f\n" {
		t[c] = clsSpace
	}
	t['{'], t['}'], t['"'] = clsBrace, clsBrace, clsQuote
	return t
}()

const (
	clsWord uint8 = iota
	clsSpace
	clsBrace
	clsQuote
)

func isSpace(c byte) bool { return byteClass[c] == clsSpace }

// lex appends the tokens of a decommented line to out. As keepalived:
// whitespace separates words; '{' and '}' are tokens of their own even when
// written against a word; "..." is one word without its quotes, and a '"'
// also ends an unquoted word.
func lex(l logical, file string, line int, d *diag, out []token) []token {
	s := l.text
	pos := func(i int) Pos { return Pos{File: file, Line: line, Col: l.col(i)} }
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '{' || c == '}':
			k := tOpen
			if c == '}' {
				k = tClose
			}
			out = append(out, token{kind: k, text: s[i : i+1], pos: pos(i)})
			i++
		case c == '"':
			start := i
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				d.errorf(pos(start), `close the string with a matching " on the same line`,
					"unterminated quoted string")
				return append(out, token{kind: tWord, text: s[i+1:], pos: pos(start), quoted: true})
			}
			out = append(out, token{kind: tWord, text: s[i+1 : i+1+end], pos: pos(start), quoted: true})
			i += end + 2
		default:
			start := i
			for i < len(s) && byteClass[s[i]] == clsWord {
				i++
			}
			out = append(out, token{kind: tWord, text: s[start:i], pos: pos(start)})
		}
	}
	return out
}
