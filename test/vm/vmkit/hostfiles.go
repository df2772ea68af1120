package vmkit

import (
	"bufio"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MaxHostFiles caps what RunOptions.HostBinaries and HostFiles put into the
// guest (it lives in the guest's RAM, 512 MiB in all). keepalived with its
// 45 libraries is about 27 MiB.
const MaxHostFiles = 192 << 20

// HostFile is one host file copied into the guest: the content of Host (a
// regular file, every symlink on the way resolved) at the absolute path
// Guest, with the permission bits of Host.
type HostFile struct {
	Guest string
	Host  string
	Perm  fs.FileMode
	Size  int64
}

// HostClosure lists what RunOptions.HostBinaries and HostFiles put into the
// guest, sorted by guest path, without duplicates: each binary at its own
// path, every library `ldd` lists for it at the path ldd prints, the dynamic
// loader (the ELF's PT_INTERP) at its path, and each extra file at its path.
// Every entry is a regular file with the content of the resolved host path,
// so a library reached through a symlink (/lib -> usr/lib on a merged-/usr
// host) lands in the guest as a plain file where the loader looks for it.
// Paths must be absolute. A statically linked binary brings no libraries;
// a library ldd cannot find is an error.
func HostClosure(ctx context.Context, binaries, files []string) ([]HostFile, error) {
	seen := map[string]HostFile{}
	add := func(guest string) error {
		if !filepath.IsAbs(guest) {
			return fmt.Errorf("host file %q: want an absolute path", guest)
		}
		guest = filepath.Clean(guest)
		if _, ok := seen[guest]; ok {
			return nil
		}
		real, err := filepath.EvalSymlinks(guest)
		if err != nil {
			return fmt.Errorf("host file %s: %w", guest, err)
		}
		st, err := os.Stat(real)
		if err != nil {
			return fmt.Errorf("host file %s: %w", guest, err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("host file %s (%s) is not a regular file", guest, real)
		}
		seen[guest] = HostFile{Guest: guest, Host: real, Perm: st.Mode().Perm(), Size: st.Size()}
		return nil
	}
	for _, b := range binaries {
		if err := add(b); err != nil {
			return nil, err
		}
		libs, err := sharedLibraries(ctx, b)
		if err != nil {
			return nil, err
		}
		for _, l := range libs {
			if err := add(l); err != nil {
				return nil, fmt.Errorf("library of %s: %w", b, err)
			}
		}
	}
	for _, f := range files {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	out := make([]HostFile, 0, len(seen))
	var total int64
	for _, hf := range seen {
		out = append(out, hf)
		total += hf.Size
	}
	if total > MaxHostFiles {
		return nil, fmt.Errorf("host binaries and files total %d MiB, more than the %d MiB the guest's RAM allows", total>>20, MaxHostFiles>>20)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Guest < out[j].Guest })
	return out, nil
}

// sharedLibraries is the dynamic loader and the libraries of an x86-64 ELF
// executable, as absolute paths; none for a static one.
func sharedLibraries(ctx context.Context, bin string) ([]string, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("host binary %s: %w", bin, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("host binary %s is for %v; the VM is x86-64", bin, f.Machine)
	}
	var interp string
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("host binary %s: read PT_INTERP: %w", bin, err)
		}
		interp = strings.TrimRight(string(b), "\x00")
	}
	if interp == "" {
		return nil, nil
	}
	ldd, err := lookTool("ldd")
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(lctx, ldd, bin)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %v\n%s", bin, err, out)
	}
	libs, err := parseLdd(string(out))
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	return append(libs, interp), nil
}

// parseLdd reads the absolute paths from ldd's output: "name => /path
// (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)" lines. A virtual DSO
// (linux-vdso.so.1) has no file; "name => not found" is an error.
func parseLdd(out string) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name, target, arrow := strings.Cut(line, "=>")
		if arrow {
			target = strings.TrimSpace(target)
			if strings.HasPrefix(target, "not found") {
				return nil, fmt.Errorf("library %s not found", strings.TrimSpace(name))
			}
		} else {
			target = line
		}
		p, _, _ := strings.Cut(target, " (")
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "/") {
			libs = append(libs, p)
		}
	}
	return libs, sc.Err()
}

// addHostFiles writes files into the archive at their guest paths, each
// parent directory first. The kernel's unpacker replaces a file the base
// already has at that path and leaves an existing directory alone.
func addHostFiles(c *cpioWriter, files []HostFile) error {
	dirs := map[string]bool{}
	var order []string
	for _, hf := range files {
		var parents []string
		for d := path.Dir(filepath.ToSlash(hf.Guest)); d != "/" && d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			order = append(order, parents[i])
		}
	}
	for _, d := range order {
		c.Dir(d, 0o755)
	}
	for _, hf := range files {
		f, err := os.Open(hf.Host)
		if err != nil {
			return err
		}
		c.FileFrom(hf.Guest, uint32(hf.Perm), hf.Size, f)
		f.Close()
		if c.err != nil {
			return c.err
		}
	}
	return c.err
}
