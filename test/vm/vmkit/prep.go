// Package vmkit boots Debian's stock kernel under QEMU and runs a statically
// linked test binary inside it, so code that needs kernel features this
// machine's own kernel lacks (IPVS) is tested against a real kernel.
//
// Prepare builds, once, a cache under the repository's .cache/vm/: the
// kernel package (fetched with apt-get download, never installed: /boot is
// not touched), the uncompressed vmlinux extracted from its bzImage, and a
// base initramfs with a static busybox, the IPVS modules and an /init. Run
// appends a small archive with one test binary to a copy of that base, boots
// it and returns the test's exit status, read from a marker line carrying a
// per-run nonce. cmd/vmprep and cmd/vmexec are the command-line faces of the
// two; see test/vm/README.md.
package vmkit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable marks failures caused by something missing on this machine
// (a tool, the kernel package, root for apt-get update, a non-amd64 host):
// callers such as host tests skip on it instead of failing.
var ErrUnavailable = errors.New("VM test environment unavailable")

// KernelMetaPackage is the Debian package whose first linux-image-*
// dependency names the kernel to boot (VIGIL_VM_KERNEL_PACKAGE overrides).
const KernelMetaPackage = "linux-image-amd64"

// Modules are loaded in the guest, with everything they depend on (hard and
// soft dependencies, in modprobe's order). OptionalModules are loaded too
// when the kernel has them.
var (
	Modules = []string{
		"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_sh",
		"ip_vs_dh", "ip_vs_lblc", "ip_vs_lblcr", "ip_vs_sed", "ip_vs_nq",
		"ip_vs_fo", "ip_vs_ovf", "ip_vs_mh", "nf_conntrack", "veth",
	}
	OptionalModules = []string{"dummy"}
)

// formatVersion changes whenever the layout of the base image changes in a
// way the recipe hash below cannot see (the Go code that builds it).
const formatVersion = "vigil-vmkit-1"

// Marker is the prefix of the line /init prints after the test binary ends:
// "VMTEST-EXIT=<rc> <nonce>".
const Marker = "VMTEST-EXIT="

// initScript is the guest's /init (busybox sh, PID 1).
const initScript = `#!/bin/sh
# /init of Vigil's VM test harness (test/vm/vmkit): set up, load the IPVS
# modules, run the test binary through /vmtest/run, print the exit marker
# with this run's nonce, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
hostname vigil-vm
kver=$(uname -r)
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$kver/$m" || echo "vmtest: insmod $m failed" >&2
done </etc/vmtest/modules
ip link set lo up
nonce=$(cat /vmtest/nonce 2>/dev/null)
rm -f /vmtest/nonce
if [ -f /vmtest/run ]; then
	sh /vmtest/run </dev/null
	rc=$?
else
	echo "vmtest: no /vmtest/run: no test archive was appended to the initramfs" >&2
	rc=125
fi
printf '\nVMTEST-EXIT=%s %s\n' "$rc" "$nonce"
sync
poweroff -f
`

// Image is a prepared kernel and base initramfs, as recorded in
// CACHE/image.json.
type Image struct {
	Recipe        string    `json:"recipe"`         // hash of what the base was built from
	Package       string    `json:"package"`        // e.g. linux-image-6.1.0-56-amd64
	Deb           string    `json:"deb"`            // file name under CACHE/debs
	KernelVersion string    `json:"kernel_version"` // uname -r in the guest
	Vmlinux       string    `json:"vmlinux"`        // relative to the cache directory
	Initrd        string    `json:"initrd"`         // relative to the cache directory
	Modules       []string  `json:"modules"`        // load order, relative to /lib/modules/VERSION
	Built         time.Time `json:"built"`

	dir string // the cache directory, set when loaded
}

// VmlinuxPath and InitrdPath are the absolute paths of the image's files.
func (im *Image) VmlinuxPath() string { return filepath.Join(im.dir, im.Vmlinux) }

// InitrdPath is the absolute path of the base initramfs.
func (im *Image) InitrdPath() string { return filepath.Join(im.dir, im.Initrd) }

// Options tune Prepare. The zero value is usable.
type Options struct {
	// CacheDir defaults to DefaultCacheDir().
	CacheDir string
	// Refresh asks apt which kernel is current and rebuilds if it changed,
	// instead of trusting the cache.
	Refresh bool
	// Log receives one line per slow step; nil discards them.
	Log io.Writer
}

// DefaultCacheDir is $VIGIL_VM_CACHE, else .cache/vm in the repository that
// holds the working directory (the nearest directory upwards with a go.mod).
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("VIGIL_VM_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, ".cache", "vm"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s: run inside the repository or set VIGIL_VM_CACHE", dir)
		}
	}
}

// recipe identifies what the base image is built from, so a change to the
// init script or the module list rebuilds it.
func recipe() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s",
		formatVersion, initScript, strings.Join(Modules, ","), strings.Join(OptionalModules, ","),
		KernelMetaPackage, os.Getenv("VIGIL_VM_KERNEL_PACKAGE"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// LoadImage returns the image recorded in dir if it is complete and built
// by the current recipe. It takes no lock and calls no external tool.
func LoadImage(dir string) (*Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, "image.json"))
	if err != nil {
		return nil, err
	}
	var im Image
	if err := json.Unmarshal(b, &im); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "image.json"), err)
	}
	im.dir = dir
	if im.Recipe != recipe() {
		return &im, errStale
	}
	for _, p := range []string{im.VmlinuxPath(), im.InitrdPath()} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			return &im, errStale
		}
	}
	return &im, nil
}

var errStale = errors.New("cached VM image is stale or incomplete")

// Prepare returns the cached image, building it first if needed. It is safe
// to call from several processes at once (a lock file serialises builds).
// A warm call reads one JSON file and runs no external command.
func Prepare(ctx context.Context, opt Options) (*Image, error) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return nil, fmt.Errorf("%w: the VM harness runs on linux/amd64 only (this is %s/%s)", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
	}
	dir := opt.CacheDir
	if dir == "" {
		var err error
		if dir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	if !opt.Refresh {
		if im, err := LoadImage(dir); err == nil {
			return im, nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	old, err := LoadImage(dir)
	if err == nil && !opt.Refresh {
		return old, nil
	}
	b := &builder{dir: dir, log: opt.Log, refresh: opt.Refresh}
	if b.log == nil {
		b.log = io.Discard
	}
	return b.build(ctx, old)
}

// lockFile takes an exclusive flock on path, polling until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s (another vmprep running?): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type builder struct {
	dir     string
	log     io.Writer
	refresh bool
	updated bool // apt-get update has run in this build
}

func (b *builder) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "vmprep: "+format+"\n", args...)
}

func (b *builder) build(ctx context.Context, old *Image) (*Image, error) {
	start := time.Now()
	for _, tool := range []string{"dpkg-deb", "depmod", "modprobe"} {
		if _, err := lookTool(tool); err != nil {
			return nil, err
		}
	}
	busybox, err := findStaticBusybox()
	if err != nil {
		return nil, err
	}

	debsDir := filepath.Join(b.dir, "debs")
	if err := os.MkdirAll(debsDir, 0o755); err != nil {
		return nil, err
	}
	pkg, deb, err := b.kernelDeb(ctx, debsDir, old)
	if err != nil {
		return nil, err
	}

	work, err := os.MkdirTemp(b.dir, "work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	root := filepath.Join(work, "root")
	b.logf("extracting %s", filepath.Base(deb))
	if _, err := runTool(ctx, 5*time.Minute, "", "dpkg-deb", "-x", deb, root); err != nil {
		return nil, err
	}
	kver, modRoot, err := kernelVersion(root)
	if err != nil {
		return nil, err
	}
	b.logf("kernel %s: depmod", kver)
	if _, err := runTool(ctx, 5*time.Minute, "", "depmod", "-b", modRoot, kver); err != nil {
		return nil, err
	}

	bz, err := os.ReadFile(filepath.Join(root, "boot", "vmlinuz-"+kver))
	if err != nil {
		return nil, fmt.Errorf("kernel package %s has no /boot/vmlinuz-%s: %w", pkg, kver, err)
	}
	b.logf("extracting vmlinux from the bzImage")
	xctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	vmlinux, err := ExtractVmlinux(xctx, bz)
	cancel()
	if err != nil {
		return nil, err
	}

	mods, err := resolveModules(ctx, modRoot, kver)
	if err != nil {
		return nil, err
	}
	b.logf("staging %d modules", len(mods))
	stage := filepath.Join(work, "stage")
	staged, err := stageModules(ctx, modRoot, stage, kver, mods)
	if err != nil {
		return nil, err
	}

	kdir := "kernel-" + kver
	if err := os.MkdirAll(filepath.Join(b.dir, kdir), 0o755); err != nil {
		return nil, err
	}
	im := &Image{
		Recipe:        recipe(),
		Package:       pkg,
		Deb:           filepath.Base(deb),
		KernelVersion: kver,
		Vmlinux:       filepath.Join(kdir, "vmlinux"),
		Initrd:        filepath.Join(kdir, "initrd-base.cpio.gz"),
		Modules:       staged,
		Built:         time.Now().UTC().Truncate(time.Second),
		dir:           b.dir,
	}
	if err := writeFileAtomic(im.VmlinuxPath(), 0o644, func(w io.Writer) error {
		_, err := w.Write(vmlinux)
		return err
	}); err != nil {
		return nil, err
	}
	b.logf("building the base initramfs")
	if err := writeFileAtomic(im.InitrdPath(), 0o644, func(w io.Writer) error {
		return writeBase(ctx, w, busybox, stage, kver, staged)
	}); err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(b.dir, "image.json"), 0o644, func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	}); err != nil {
		return nil, err
	}
	b.removeStale(im)
	b.logf("ready in %s: %s, %s", time.Since(start).Round(100*time.Millisecond), im.VmlinuxPath(), im.InitrdPath())
	return im, nil
}

// removeStale deletes kernels and packages of earlier builds.
func (b *builder) removeStale(im *Image) {
	keepKernel := filepath.Dir(im.Vmlinux)
	entries, _ := os.ReadDir(b.dir)
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "kernel-") && e.Name() != keepKernel {
			os.RemoveAll(filepath.Join(b.dir, e.Name()))
		}
	}
	debs, _ := os.ReadDir(filepath.Join(b.dir, "debs"))
	for _, e := range debs {
		if e.Name() != im.Deb {
			os.RemoveAll(filepath.Join(b.dir, "debs", e.Name()))
		}
	}
}

// kernelDeb returns the kernel package name and its downloaded .deb,
// reusing one already in debsDir unless refreshing.
func (b *builder) kernelDeb(ctx context.Context, debsDir string, old *Image) (pkg, deb string, err error) {
	if !b.refresh && old != nil && old.Deb != "" {
		p := filepath.Join(debsDir, old.Deb)
		if _, err := os.Stat(p); err == nil {
			return old.Package, p, nil
		}
	}
	if _, err := lookTool("apt-get"); err != nil {
		return "", "", err
	}
	pkg, err = b.resolvePackage(ctx)
	if err != nil {
		return "", "", err
	}
	if matches, _ := filepath.Glob(filepath.Join(debsDir, pkg+"_*.deb")); len(matches) == 1 {
		return pkg, matches[0], nil
	}
	deb, err = b.download(ctx, debsDir, pkg)
	if err != nil && !b.updated {
		b.logf("apt-get download %s failed; running apt-get update once and retrying", pkg)
		if uerr := b.aptUpdate(ctx); uerr != nil {
			return "", "", errors.Join(err, uerr)
		}
		if pkg, err = b.resolvePackage(ctx); err != nil {
			return "", "", err
		}
		deb, err = b.download(ctx, debsDir, pkg)
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: cannot download the kernel package %s: %v", ErrUnavailable, pkg, err)
	}
	return pkg, deb, nil
}

// resolvePackage finds the versioned kernel package, running apt-get update
// once if apt knows no candidate yet (fresh machine, empty lists).
func (b *builder) resolvePackage(ctx context.Context) (string, error) {
	if p := os.Getenv("VIGIL_VM_KERNEL_PACKAGE"); p != "" {
		return p, nil
	}
	for {
		out, err := runTool(ctx, 2*time.Minute, "", "apt-cache", "depends", KernelMetaPackage)
		if err == nil {
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
					return f[1], nil
				}
			}
		}
		if b.updated {
			return "", fmt.Errorf("%w: apt knows no kernel package behind %s (apt-cache depends %[2]s: %v)", ErrUnavailable, KernelMetaPackage, err)
		}
		b.logf("apt-cache knows no %s yet; running apt-get update once", KernelMetaPackage)
		if err := b.aptUpdate(ctx); err != nil {
			return "", err
		}
	}
}

func (b *builder) aptUpdate(ctx context.Context) error {
	b.updated = true
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: apt-get update needs root (run make vm or go run ./test/vm/cmd/vmprep as root once)", ErrUnavailable)
	}
	if _, err := runTool(ctx, 5*time.Minute, "", "apt-get", "update", "-qq"); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// download fetches pkg's .deb into debsDir through a temporary directory.
func (b *builder) download(ctx context.Context, debsDir, pkg string) (string, error) {
	b.logf("apt-get download %s", pkg)
	tmp, err := os.MkdirTemp(debsDir, ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	args := []string{"download", "-q"}
	if os.Geteuid() == 0 {
		// apt's download sandbox user cannot write into a root-owned cache.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	if _, err := runTool(ctx, 10*time.Minute, tmp, "apt-get", append(args, pkg)...); err != nil {
		return "", err
	}
	got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(got) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files", pkg, len(got))
	}
	dst := filepath.Join(debsDir, filepath.Base(got[0]))
	return dst, os.Rename(got[0], dst)
}

// kernelVersion returns the single kernel version in an extracted package
// and the root that depmod and modprobe should use for it.
func kernelVersion(root string) (string, string, error) {
	for _, base := range []string{"lib/modules", "usr/lib/modules"} {
		entries, err := os.ReadDir(filepath.Join(root, base))
		if err != nil || len(entries) == 0 {
			continue
		}
		if len(entries) != 1 || !entries[0].IsDir() {
			return "", "", fmt.Errorf("expected one kernel in %s, found %d entries", filepath.Join(root, base), len(entries))
		}
		if base == "usr/lib/modules" {
			// Give depmod and modprobe the classic /lib/modules layout.
			if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", "", err
			}
		}
		return entries[0].Name(), root, nil
	}
	return "", "", fmt.Errorf("no lib/modules in the extracted kernel package %s", root)
}

// resolveModules returns the modules to load, relative to
// ROOT/lib/modules/VERSION, dependencies first, each once.
func resolveModules(ctx context.Context, root, kver string) ([]string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(abs, "lib", "modules", kver) + "/"
	var order []string
	seen := map[string]bool{}
	add := func(name string, optional bool) error {
		out, err := runTool(ctx, time.Minute, "", "modprobe", "-C", "/dev/null", "-d", abs, "-S", kver, "--show-depends", name)
		if err != nil {
			if optional {
				return nil
			}
			return fmt.Errorf("module %s in kernel %s: %w", name, kver, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || f[0] != "insmod" {
				continue // "builtin NAME" needs nothing
			}
			rel, ok := strings.CutPrefix(f[1], prefix)
			if !ok {
				return fmt.Errorf("modprobe named %s, outside %s", f[1], prefix)
			}
			if !seen[rel] {
				seen[rel] = true
				order = append(order, rel)
			}
		}
		return nil
	}
	for _, m := range Modules {
		if err := add(m, false); err != nil {
			return nil, err
		}
	}
	for _, m := range OptionalModules {
		if err := add(m, true); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// stageModules copies the modules decompressed to plain .ko (busybox insmod
// reads no compressed module) into STAGE/lib/modules/VERSION with the
// metadata modprobe wants, runs depmod there, and returns the staged paths
// in load order.
func stageModules(ctx context.Context, root, stage, kver string, mods []string) ([]string, error) {
	src := filepath.Join(root, "lib", "modules", kver)
	dst := filepath.Join(stage, "lib", "modules", kver)
	var staged []string
	for _, rel := range mods {
		data, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			return nil, err
		}
		plain := rel
		for _, ext := range []string{".xz", ".zst", ".gz"} {
			if base, ok := strings.CutSuffix(rel, ".ko"+ext); ok {
				plain = base + ".ko"
				format := map[string]string{".xz": "xz", ".zst": "zstd", ".gz": "gzip"}[ext]
				if data, err = decompress(ctx, format, data); err != nil {
					return nil, fmt.Errorf("decompress %s: %w", rel, err)
				}
			}
		}
		p := filepath.Join(dst, plain)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		staged = append(staged, plain)
	}
	for _, meta := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		if data, err := os.ReadFile(filepath.Join(src, meta)); err == nil {
			if err := os.WriteFile(filepath.Join(dst, meta), data, 0o644); err != nil {
				return nil, err
			}
		}
	}
	if _, err := runTool(ctx, 2*time.Minute, "", "depmod", "-b", stage, kver); err != nil {
		return nil, err
	}
	return staged, nil
}

// writeBase writes the gzip'd base initramfs, padded to a multiple of 512
// bytes so that an archive appended later starts aligned (the kernel skips
// zero padding between archives but drops a misaligned one).
func writeBase(ctx context.Context, w io.Writer, busybox, stage, kver string, mods []string) error {
	applets, err := runTool(ctx, time.Minute, "", busybox, "--list-full")
	if err != nil {
		return err
	}
	cw := &countWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return err
	}
	c := newCpioWriter(zw)

	dirs := map[string]bool{}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "root", "mnt", "etc/vmtest", "var"} {
		dirs[d] = true
	}
	var links []string
	sc := bufio.NewScanner(bytes.NewReader(applets))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l == "bin/busybox" || l == "init" || strings.HasPrefix(l, "/") || strings.Contains(l, "..") {
			continue
		}
		links = append(links, l)
		dirs[filepath.Dir(l)] = true
	}
	var modFiles []string
	err = filepath.WalkDir(filepath.Join(stage, "lib"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		if d.IsDir() {
			dirs[rel] = true
		} else {
			modFiles = append(modFiles, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Parents before children: add every ancestor, then sort.
	for d := range dirs {
		for p := filepath.Dir(d); p != "." && p != "/"; p = filepath.Dir(p) {
			dirs[p] = true
		}
	}
	sortedDirs := make([]string, 0, len(dirs))
	for d := range dirs {
		if d != "." {
			sortedDirs = append(sortedDirs, d)
		}
	}
	sort.Strings(sortedDirs)

	c.Dir(".", 0o755)
	for _, d := range sortedDirs {
		perm := uint32(0o755)
		if d == "tmp" {
			perm = 0o1777
		}
		c.Dir(d, perm)
	}
	// The kernel opens /dev/console for /init before devtmpfs is mounted.
	c.CharDev("dev/console", 0o600, 5, 1)
	c.CharDev("dev/null", 0o666, 1, 3)
	c.Symlink("var/run", "/run")

	bb, err := os.Open(busybox)
	if err != nil {
		return err
	}
	st, err := bb.Stat()
	if err != nil {
		bb.Close()
		return err
	}
	c.FileFrom("bin/busybox", 0o755, st.Size(), bb)
	bb.Close()
	sort.Strings(links)
	for _, l := range links {
		c.Symlink(l, "/bin/busybox")
	}

	c.File("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	c.File("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	c.File("etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost vigil-vm\n::1\tlocalhost ip6-localhost\n"))
	c.File("etc/nsswitch.conf", 0o644, []byte("hosts: files\n"))
	c.File("etc/vmtest/modules", 0o644, []byte(strings.Join(mods, "\n")+"\n"))
	c.File("etc/vmtest/kernel", 0o644, []byte(kver+"\n"))

	sort.Strings(modFiles)
	for _, rel := range modFiles {
		data, err := os.ReadFile(filepath.Join(stage, rel))
		if err != nil {
			return err
		}
		c.File(rel, 0o644, data)
	}
	c.File("init", 0o755, []byte(initScript))
	if err := c.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if r := cw.n % 512; r != 0 {
		if _, err := w.Write(make([]byte, 512-r)); err != nil {
			return err
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// findStaticBusybox returns a statically linked busybox (package
// busybox-static); a dynamic one cannot run in the library-less guest.
func findStaticBusybox() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("busybox"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/bin/busybox", "/usr/bin/busybox")
	for _, p := range candidates {
		if ok, err := isStaticELF(p); err == nil && ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no statically linked busybox (apt-get install busybox-static)", ErrUnavailable)
}

// isStaticELF reports whether path is an ELF executable without a program
// interpreter (a dynamic loader).
func isStaticELF(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// aptPackageOf names the Debian package that provides a tool.
func aptPackageOf(tool string) string {
	switch tool {
	case "qemu-system-x86_64":
		return "qemu-system-x86"
	case "depmod", "modprobe":
		return "kmod"
	case "xz":
		return "xz-utils"
	case "dpkg-deb":
		return "dpkg"
	case "apt-get", "apt-cache":
		return "apt"
	}
	return tool
}

// lookTool finds an external command, also in the sbin directories that a
// non-root PATH often lacks.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s not found (apt-get install %s)", ErrUnavailable, name, aptPackageOf(name))
}

// runTool runs a command with a time limit and returns its standard output;
// errors carry the command line and its standard error.
func runTool(ctx context.Context, limit time.Duration, dir, name string, args ...string) ([]byte, error) {
	path := name
	if !strings.Contains(name, "/") {
		var err error
		if path, err = lookTool(name); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", limit)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// writeFileAtomic writes path through a temporary file and a rename, so
// readers see the old or the new content, never a part.
func writeFileAtomic(path string, perm os.FileMode, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
