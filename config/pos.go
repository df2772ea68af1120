package config

import (
	"fmt"
	"strings"
)

// Pos locates a token in the configuration so every diagnostic can point an
// operator at the exact place to fix: file:line:col, 1-based as editors count.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

// String renders the position in the file:line:col form that editors and
// compilers use, so the output is clickable in most terminals.
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether the position was set; synthesized values
// (defaults) carry no position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Severity separates findings that make a configuration unusable from those
// an operator should read but that do not stop Vigil from running.
type Severity int

const (
	// Warning marks something accepted but worth attention: an unknown or
	// not-yet-implemented keyword, an unclosed block at the end of a file.
	Warning Severity = iota
	// Error marks something that makes the configuration unusable.
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// MarshalText lets diagnostics appear as "error"/"warning" in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one finding about the configuration. It always names a
// position and, where one helps, a one-line hint on how to fix it.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	Msg      string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

// String formats the diagnostic as "file:line:col: error: msg (hint)".
func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("\n    hint: ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

// Diagnostics is every finding of one read, in file order.
type Diagnostics []Diagnostic

// HasErrors reports whether any finding makes the configuration unusable.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the findings of error severity.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(Error) }

// Warnings returns only the findings of warning severity.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(Warning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}

// Error makes a set of diagnostics usable as an error value (for callers
// such as the supervisor that refuse to start on a bad configuration).
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diag collects findings while reading; passed by pointer through every stage.
type diag struct {
	list Diagnostics
}

func (d *diag) errorf(p Pos, hint, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: p, Severity: Error, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *diag) warnf(p Pos, hint, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: p, Severity: Warning, Msg: fmt.Sprintf(format, args...), Hint: hint})
}
