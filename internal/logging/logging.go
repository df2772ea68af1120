// Package logging builds Vigil's zap loggers: human-readable console lines
// on a terminal, JSON otherwise, the subsystem's name on every line.
package logging

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// Format selects the output format.
type Format string

const (
	// Auto is console on a terminal, JSON otherwise.
	Auto    Format = ""
	Console Format = "console"
	JSON    Format = "json"
)

// ParseFormat reads a --log-format value: "console", "json", or empty
// for Auto.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Auto, Console, JSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown log format %q (console or json)", s)
}

// Resolve decides Auto: console when stderr is a terminal, JSON
// otherwise. The daemon resolves its format once and passes the result to
// its children, whose stderr is a pipe to it and so never a terminal:
// without that a terminal would get console lines from core and JSON
// from the children.
func Resolve(format Format) Format {
	if format != Auto {
		return format
	}
	if isTerminal(os.Stderr) {
		return Console
	}
	return JSON
}

// New returns a logger for one subsystem ("vrrpd", "core", ...) writing to
// stderr. debug lowers the level to debug.
func New(subsystem string, format Format, debug bool) *zap.Logger {
	return NewTo(os.Stderr, subsystem, Resolve(format), debug)
}

// NewTo is New writing to w; Auto is JSON (w is not known to be a
// terminal). The subsystem's name is on every line: the "logger" key in
// JSON, the third column on the console.
func NewTo(w io.Writer, subsystem string, format Format, debug bool) *zap.Logger {
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == Console {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	level := zap.InfoLevel
	if debug {
		level = zap.DebugLevel
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core).Named(subsystem)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
