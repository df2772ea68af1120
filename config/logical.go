package config

import "strings"

// logical is one line of configuration text on its way from the file to the
// tokenizer, with a map from each byte back to its source column, so that
// diagnostics stay exact after comments are cut, escapes resolved and
// definitions substituted.
type logical struct {
	text string
	off  int   // when cols is nil, text[i] came from column off+i+1
	cols []int // otherwise, text[i] came from column cols[i]
}

func (l logical) col(i int) int {
	if l.cols == nil {
		return l.off + i + 1
	}
	if i < len(l.cols) {
		return l.cols[i]
	}
	if len(l.cols) > 0 {
		return l.cols[len(l.cols)-1] + 1
	}
	return l.off + 1
}

// slice returns the part of the line from byte i to j, keeping columns.
func (l logical) slice(i, j int) logical {
	if l.cols == nil {
		return logical{text: l.text[i:j], off: l.off + i}
	}
	return logical{text: l.text[i:j], cols: l.cols[i:j]}
}

// trim drops leading and trailing blanks (space, tab), as keepalived does
// before looking at a line's first character.
func (l logical) trim() logical {
	i, j := 0, len(l.text)
	for i < j && (l.text[i] == ' ' || l.text[i] == '\t') {
		i++
	}
	for j > i && (l.text[j-1] == ' ' || l.text[j-1] == '\t') {
		j--
	}
	return l.slice(i, j)
}

// decomment cuts a '!' or '#' comment that starts outside double quotes,
// anywhere in the line (keepalived's rule), and turns the escapes \# and \!
// into the literal characters. It returns the trimmed result.
func decomment(raw string) logical {
	// Fast path: most lines hold none of the characters that matter.
	if !strings.ContainsAny(raw, "\"#!\\") {
		return logical{text: raw}.trim()
	}
	inQuote := false
	var b *strings.Builder // allocated only when an escape rewrites text
	var cols []int
	end := len(raw)
scan:
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '#' || c == '!':
			end = i
			break scan
		case c == '\\' && i+1 < len(raw) && (raw[i+1] == '#' || raw[i+1] == '!'):
			if b == nil {
				b = &strings.Builder{}
				b.WriteString(raw[:i])
				cols = make([]int, i, len(raw))
				for k := range cols {
					cols[k] = k + 1
				}
			}
			b.WriteByte(raw[i+1])
			cols = append(cols, i+2)
			i++
			continue
		}
		if b != nil {
			b.WriteByte(c)
			cols = append(cols, i+1)
		}
	}
	if b == nil {
		return logical{text: raw[:end]}.trim()
	}
	return logical{text: b.String(), cols: cols}.trim()
}
