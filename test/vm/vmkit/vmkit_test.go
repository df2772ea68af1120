package vmkit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

type cpioEntry struct {
	name       string
	mode       uint32
	data       string
	rdev       [2]uint32
	dataOffset int
}

// readCpio is an independent newc reader for the tests: it checks the
// 4-byte alignment the kernel insists on.
func readCpio(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatalf("bad header field %d at %d: %v", i, off, err)
		}
		return uint32(v)
	}
	for {
		if off%4 != 0 {
			t.Fatalf("entry at %d is not 4-byte aligned", off)
		}
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, b[off:off+6])
		}
		mode, size, namesize := field(1), int(field(6)), int(field(11))
		rdev := [2]uint32{field(9), field(10)}
		name := string(b[off+110 : off+110+namesize-1])
		dataOff := (off + 110 + namesize + 3) &^ 3
		if name == "TRAILER!!!" {
			if end := (dataOff + 3) &^ 3; end != len(b) {
				t.Fatalf("archive ends at %d, trailer at %d", len(b), end)
			}
			return out
		}
		out = append(out, cpioEntry{name, mode, string(b[dataOff : dataOff+size]), rdev, dataOff})
		off = (dataOff + size + 3) &^ 3
	}
}

func TestCpioWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCpioWriter(&buf)
	c.Dir("/", 0o755)
	c.Dir("etc", 0o755)
	c.File("etc/a", 0o644, []byte("x"))
	c.File("etc/bb", 0o600, []byte("hello"))
	c.FileFrom("bin/odd-name", 0o755, 3, strings.NewReader("abcdef"))
	c.Symlink("bin/sh", "/bin/busybox")
	c.CharDev("dev/console", 0o600, 5, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := readCpio(t, buf.Bytes())
	want := []cpioEntry{
		{name: ".", mode: modeDir | 0o755},
		{name: "etc", mode: modeDir | 0o755},
		{name: "etc/a", mode: modeFile | 0o644, data: "x"},
		{name: "etc/bb", mode: modeFile | 0o600, data: "hello"},
		{name: "bin/odd-name", mode: modeFile | 0o755, data: "abc"},
		{name: "bin/sh", mode: modeSymlink | 0o777, data: "/bin/busybox"},
		{name: "dev/console", mode: modeCharDev | 0o600, rdev: [2]uint32{5, 1}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		g.dataOffset = 0
		if g != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
	}

	// A short reader is an error, not a silently truncated archive.
	c = newCpioWriter(&bytes.Buffer{})
	c.FileFrom("x", 0o644, 10, strings.NewReader("abc"))
	if err := c.Close(); err == nil {
		t.Error("FileFrom with a short reader: no error")
	}
}

// fakeBzImage builds the parts of an x86 boot image ExtractVmlinux reads:
// the setup header and a compressed payload followed by its size.
func fakeBzImage(t *testing.T, payload []byte, plainLen int) []byte {
	t.Helper()
	const setupSects = 3
	pm := (setupSects + 1) * 512
	off := 0x100 // payload_offset within the protected-mode part
	img := make([]byte, pm+off+len(payload)+4+64)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x020f)
	binary.LittleEndian.PutUint32(img[0x248:], uint32(off))
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)+4))
	copy(img[pm+off:], payload)
	binary.LittleEndian.PutUint32(img[pm+off+len(payload):], uint32(plainLen))
	// Trailing noise after the payload, as in a real image.
	for i := pm + off + len(payload) + 4; i < len(img); i++ {
		img[i] = 0xa5
	}
	return img
}

func TestExtractVmlinux(t *testing.T) {
	plain := append([]byte("\x7fELF"), bytes.Repeat([]byte("kernel text "), 5000)...)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	formats := map[string][]byte{"gzip": gz.Bytes()}
	if xz, err := exec.Command("sh", "-c", "printf '%s' \"$0\" | xz -c", string(plain)).Output(); err == nil {
		formats["xz"] = xz
	} else {
		t.Log("xz not available; xz payload not tested")
	}
	if zst, err := exec.Command("sh", "-c", "printf '%s' \"$0\" | zstd -qc", string(plain)).Output(); err == nil {
		formats["zstd"] = zst
	} else {
		t.Log("zstd not available; zstd payload not tested")
	}
	for name, payload := range formats {
		t.Run(name, func(t *testing.T) {
			got, err := ExtractVmlinux(context.Background(), fakeBzImage(t, payload, len(plain)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatalf("extracted %d bytes, want the %d-byte image", len(got), len(plain))
			}
		})
	}

	t.Run("scan without header", func(t *testing.T) {
		img := append(bytes.Repeat([]byte{0x1f, 0x8b, 0x08, 0}, 3), gz.Bytes()...)
		got, err := ExtractVmlinux(context.Background(), img)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("scan: %d bytes, %v", len(got), err)
		}
	})
	t.Run("no kernel", func(t *testing.T) {
		if _, err := ExtractVmlinux(context.Background(), bytes.Repeat([]byte("nothing"), 100)); err == nil {
			t.Fatal("no error for an image without a compressed kernel")
		}
	})
}

func TestParseMarker(t *testing.T) {
	const nonce = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		line string
		rc   int
		ok   bool
	}{
		{"VMTEST-EXIT=0 " + nonce, 0, true},
		{"VMTEST-EXIT=3 " + nonce + " ", 3, true},
		{"[   4.1] some kernel message VMTEST-EXIT=1 " + nonce, 1, true},
		{"VMTEST-EXIT=0 " + strings.Repeat("0", 32), 0, false},
		{"VMTEST-EXIT=0", 0, false},
		{"VMTEST-EXIT=0 " + nonce + " trailing", 0, false},
		{"VMTEST-EXIT=x " + nonce, 0, false},
		{"VMTEST-EXIT=256 " + nonce, 0, false},
		{"PASS", 0, false},
	} {
		rc, ok := parseMarker(tc.line, nonce)
		if rc != tc.rc || ok != tc.ok {
			t.Errorf("parseMarker(%q) = %d, %v; want %d, %v", tc.line, rc, ok, tc.rc, tc.ok)
		}
	}
	if _, ok := parseMarker("VMTEST-EXIT=0 ", ""); ok {
		t.Error("an empty nonce matched")
	}
}

func TestMarkerWriter(t *testing.T) {
	const nonce = "feedfacefeedfacefeedfacefeedface"
	var out bytes.Buffer
	calls := 0
	m := &markerWriter{out: &out, nonce: nonce, onMarker: func() { calls++ }}
	stream := "boot\r\nVMTEST-EXIT=0 " + strings.Repeat("f", 32) + "\r\n--- FAIL\r\n\r\nVMTEST-EXIT=1 " + nonce + "\r\nVMTEST-EXIT=0 " + nonce + "\r\n[ 4.0] reboot: Power down"
	for i := 0; i < len(stream); i += 7 { // split across writes
		m.Write([]byte(stream[i:min(i+7, len(stream))]))
	}
	m.flush()
	rc, ok := m.result()
	if !ok || rc != 1 || calls != 1 {
		t.Fatalf("result %d, %v after %d marker calls; want 1 (the first marker with the nonce), once", rc, ok, calls)
	}
	want := strings.ReplaceAll(stream, "\r\n", "\n") + "\n"
	if out.String() != want {
		t.Fatalf("passed through %q, want %q", out.String(), want)
	}
}

func TestRunScriptQuoting(t *testing.T) {
	args := []string{"-test.run=^TestX$", "it's", "a b", `$HOME`, "`id`", ""}
	script, err := runScript(args, []string{"VIGIL_X=o'dd $y"})
	if err != nil {
		t.Fatal(err)
	}
	// Run the script with sh, pointing its exec at printf.
	script = strings.Replace(script, "cd /vmtest/work || exit 125\n", "", 1)
	script = strings.Replace(script, "exec /vmtest/test", `printf '[%s]\n' "$VIGIL_IN_VM" "$VIGIL_X"`, 1)
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	want := "[1]\n[o'dd $y]\n"
	for _, a := range args {
		want += fmt.Sprintf("[%s]\n", a)
	}
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := runScript(nil, []string{"BAD KEY=1"}); err == nil {
		t.Error("a malformed environment entry was accepted")
	}
}

func TestCheckTestBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	static, err := isStaticELF(self)
	if err != nil {
		t.Fatal(err)
	}
	err = checkTestBinary(self)
	if static && err != nil {
		t.Errorf("static test binary refused: %v", err)
	}
	if !static && (err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0")) {
		t.Errorf("dynamic test binary: err = %v, want advice to build with CGO_ENABLED=0", err)
	}
	if err := checkTestBinary("vmkit_test.go"); err == nil {
		t.Error("a text file was accepted as a test binary")
	}
}
