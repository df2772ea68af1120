// Package logging builds Vigil's zap loggers: human-readable console lines
// on a terminal, JSON otherwise, the subsystem's name on every line.
package logging

import (
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

// New returns a logger for one subsystem ("vrrpd", "core", ...) writing to
// stderr. debug lowers the level to debug.
func New(subsystem string, format Format, debug bool) *zap.Logger {
	if format == Auto {
		format = JSON
		if isTerminal(os.Stderr) {
			format = Console
		}
	}
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
	core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), level)
	return zap.New(core).Named(subsystem)
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
