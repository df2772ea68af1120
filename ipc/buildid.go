package ipc

import (
	"bytes"
	"debug/elf"
	"os"
	"runtime/debug"
	"sync"
)

// BuildID identifies the running executable for the "binary" field of a
// hello, so that core can tell a child running a different build (after an
// upgrade) from one running its own. It is the Go build ID from the
// executable's ELF note when that can be read, else the main module's
// version and VCS revision, else "unknown".
func BuildID() string { return buildID() }

var buildID = sync.OnceValue(func() string {
	if id := elfGoBuildID("/proc/self/exe"); id != "" {
		return id
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v += "+" + s.Value
			}
		}
		if v != "" {
			return v
		}
	}
	return "unknown"
})

// elfGoBuildID reads the Go build ID note (section .note.go.buildid) of
// the ELF file at path, or returns "".
func elfGoBuildID(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return ""
	}
	sec := ef.Section(".note.go.buildid")
	if sec == nil || sec.Size > 4096 {
		return ""
	}
	note, err := sec.Data()
	if err != nil || len(note) < 16 {
		return ""
	}
	bo := ef.ByteOrder
	namesz, descsz := bo.Uint32(note[0:4]), bo.Uint32(note[4:8])
	if namesz != 4 || !bytes.Equal(note[12:16], []byte("Go\x00\x00")) || uint64(16)+uint64(descsz) > uint64(len(note)) {
		return ""
	}
	return string(note[16 : 16+descsz])
}
