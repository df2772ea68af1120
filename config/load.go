package config

import (
	"os"
	"sync"
)

// Options changes how a configuration is read.
type Options struct {
	// ConfigID selects @ID conditional lines, as keepalived's -i option.
	ConfigID string
	// InterfaceExists, when set, lets validation warn about interfaces the
	// host does not have. Nil skips the check (the file may be checked on
	// another machine than the one that will run it).
	InterfaceExists func(name string) bool
	// ReadFile and Glob replace file system access (tests, fuzzing).
	ReadFile func(path string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
}

var (
	tableOnce sync.Once
	theTable  *table
)

// keywords returns the keyword table, built once on first use.
func keywords() *table {
	tableOnce.Do(func() { theTable = newTable(rootBlock()) })
	return theTable
}

// Load reads the configuration at path with its includes. The model is
// returned even when there are errors, holding everything that could be
// read; callers must check Diagnostics.HasErrors before acting on it.
func Load(path string, opts Options) (*Config, Diagnostics) {
	d := &diag{}
	src := newSource(opts, d)
	src.readPath(path, Pos{})
	return interpret(src, opts, d)
}

// Parse reads a configuration held in memory, named name for diagnostics.
// Includes are resolved through opts.ReadFile, or the file system.
func Parse(name string, data []byte, opts Options) (*Config, Diagnostics) {
	read := opts.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	opts.ReadFile = func(p string) ([]byte, error) {
		if p == name {
			return data, nil
		}
		return read(p)
	}
	return Load(name, opts)
}

func interpret(src *source, opts Options, d *diag) (*Config, Diagnostics) {
	cfg := &Config{Files: src.files}
	cfg.Global = defaultGlobalDefs()
	tree := src.tree.finish()
	c := &ctx{d: d, tbl: keywords(), cfg: cfg, opts: opts}
	c.walk(c.tbl.root, tree, cfg)
	for _, v := range validators {
		v(c)
	}
	return cfg, d.list
}
