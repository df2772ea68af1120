package vmkit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseLdd(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd1c5f2000)\n" +
		"\tlibpopt.so.0 => /lib/x86_64-linux-gnu/libpopt.so.0 (0x00007f1)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)\n"
	got, err := parseLdd(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libpopt.so.0", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseLdd = %q, want %q", got, want)
	}
	if _, err := parseLdd("\tlibgone.so.1 => not found\n"); err == nil || !strings.Contains(err.Error(), "libgone.so.1") {
		t.Fatalf("a missing library: err = %v, want one naming it", err)
	}
}

// requireIpvsadm skips without the host's ipvsadm (make test-deps installs
// it; in CI its absence fails).
func requireIpvsadm(t *testing.T) string {
	t.Helper()
	const p = "/usr/sbin/ipvsadm"
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v (make test-deps installs ipvsadm)", p, err)
		}
		t.Skipf("%s: %v (apt-get install ipvsadm)", p, err)
	}
	return p
}

// TestHostFilesIpvsadm checks what goes into the guest's archive for
// /usr/sbin/ipvsadm: the program, its libraries (libc, libnl, popt) at the
// paths ldd prints and the loader, all as regular files with the resolved
// content, each parent directory before its files.
func TestHostFilesIpvsadm(t *testing.T) {
	ipvsadm := requireIpvsadm(t)
	data := filepath.Join(t.TempDir(), "data.conf")
	if err := os.WriteFile(data, []byte("virtual_server {}\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	files, err := HostClosure(context.Background(), []string{ipvsadm, ipvsadm}, []string{data})
	if err != nil {
		t.Fatal(err)
	}
	byGuest := map[string]HostFile{}
	for _, f := range files {
		if _, dup := byGuest[f.Guest]; dup {
			t.Errorf("%s listed twice", f.Guest)
		}
		byGuest[f.Guest] = f
	}
	for _, want := range []string{ipvsadm, "/lib64/ld-linux-x86-64.so.2", data} {
		if _, ok := byGuest[want]; !ok {
			t.Errorf("%s missing from %v", want, files)
		}
	}
	for _, lib := range []string{"libc.so.6", "libnl-3.so.200", "libnl-genl-3.so.200", "libpopt.so.0"} {
		found := false
		for g := range byGuest {
			found = found || filepath.Base(g) == lib
		}
		if !found {
			t.Errorf("library %s missing from %v", lib, files)
		}
	}

	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	if err := addHostFiles(c, files); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	entries := readCpio(t, buf.Bytes())
	dirs := map[string]bool{}
	inArchive := map[string]cpioEntry{}
	for _, e := range entries {
		switch e.mode &^ 0o7777 {
		case modeDir:
			dirs[e.name] = true
		case modeFile:
			if d := filepath.Dir(e.name); d != "." && !dirs[d] {
				t.Errorf("%s comes before its directory %s", e.name, d)
			}
			inArchive["/"+e.name] = e
		default:
			t.Errorf("%s: mode %o, want only directories and regular files", e.name, e.mode)
		}
	}
	if len(inArchive) != len(files) {
		t.Errorf("archive holds %d files, want %d", len(inArchive), len(files))
	}
	for _, f := range files {
		e, ok := inArchive[f.Guest]
		if !ok {
			t.Errorf("%s not in the archive", f.Guest)
			continue
		}
		want, err := os.ReadFile(f.Guest) // through the host's symlinks
		if err != nil {
			t.Fatal(err)
		}
		if e.data != string(want) {
			t.Errorf("%s: %d bytes in the archive, want the %d of %s", f.Guest, len(e.data), len(want), f.Host)
		}
		if got := fsPerm(e.mode); got != f.Perm {
			t.Errorf("%s: mode %v, want %v", f.Guest, got, f.Perm)
		}
		if f.Guest != data && !strings.HasPrefix(e.data, "\x7fELF") {
			t.Errorf("%s is not an ELF file", f.Guest)
		}
	}
	if e := inArchive[data]; fsPerm(e.mode) != 0o640 {
		t.Errorf("data file mode %v, want 0640", fsPerm(e.mode))
	}
}

func fsPerm(mode uint32) os.FileMode { return os.FileMode(mode & 0o777) }

func TestHostClosureErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		bins, fls []string
	}{
		{"relative path", nil, []string{"etc/passwd"}},
		{"missing file", nil, []string{"/nonexistent/vigil-vmkit"}},
		{"directory", nil, []string{t.TempDir()}},
		{"not an ELF", []string{mustAbsPath(t, "hostfiles.go")}, nil},
	} {
		if _, err := HostClosure(context.Background(), tc.bins, tc.fls); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	// A static binary brings no libraries.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if static, err := isStaticELF(self); err == nil && static {
		files, err := HostClosure(context.Background(), []string{self}, nil)
		if err != nil || len(files) != 1 {
			t.Errorf("static binary: %v, %v; want itself only", files, err)
		}
	}
}

func mustAbsPath(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
