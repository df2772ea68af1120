package vmkit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os/exec"
)

// Compression formats of an x86 bzImage payload, by leading magic.
var payloadFormats = []struct {
	name  string
	magic []byte
}{
	{"gzip", []byte{0x1f, 0x8b, 0x08}},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
}

var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// ExtractVmlinux returns the uncompressed kernel ELF image inside an x86
// bzImage, as the kernel's scripts/extract-vmlinux does. QEMU boots such an
// ELF through its PVH entry point, which under TCG takes about half the time
// of running the bzImage's own decompressor.
//
// The boot protocol header (2.08 and later) locates the compressed payload
// exactly; its last four bytes are the uncompressed size (the kernel build's
// size_append). When the header does not give it, the image is scanned for
// a compressed stream that decompresses to an ELF file, as extract-vmlinux
// does. gzip is decompressed here; xz and zstd need the xz and zstd tools.
func ExtractVmlinux(ctx context.Context, bz []byte) ([]byte, error) {
	if payload, ok := bzPayload(bz); ok && len(payload) > 4 {
		want := binary.LittleEndian.Uint32(payload[len(payload)-4:])
		out, err := decompressPayload(ctx, payload[:len(payload)-4])
		if err == nil && bytes.HasPrefix(out, elfMagic) && uint32(len(out)) == want {
			return out, nil
		}
		if err == nil {
			err = fmt.Errorf("payload is not an ELF image of %d bytes (got %d bytes)", want, len(out))
		}
		// Fall through to the scan, but keep the reason in case it fails too.
		if scanned, serr := scanVmlinux(ctx, bz); serr == nil {
			return scanned, nil
		}
		return nil, fmt.Errorf("extract vmlinux: %w", err)
	}
	return scanVmlinux(ctx, bz)
}

// bzPayload returns the compressed payload named by the boot protocol
// header (payload_offset and payload_length, protocol 2.08+).
func bzPayload(bz []byte) ([]byte, bool) {
	if len(bz) < 0x250 || string(bz[0x202:0x206]) != "HdrS" {
		return nil, false
	}
	if binary.LittleEndian.Uint16(bz[0x206:]) < 0x0208 {
		return nil, false
	}
	setupSects := int(bz[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	start := (setupSects + 1) * 512
	off := int(binary.LittleEndian.Uint32(bz[0x248:]))
	n := int(binary.LittleEndian.Uint32(bz[0x24c:]))
	if off < 0 || n <= 0 || start+off < 0 || start+off+n > len(bz) || start+off+n < start {
		return nil, false
	}
	return bz[start+off : start+off+n], true
}

func decompressPayload(ctx context.Context, p []byte) ([]byte, error) {
	for _, f := range payloadFormats {
		if bytes.HasPrefix(p, f.magic) {
			return decompress(ctx, f.name, p)
		}
	}
	n := min(len(p), 8)
	return nil, fmt.Errorf("unknown compression (magic % x); extract the kernel by hand or use a gzip, xz or zstd kernel", p[:n])
}

// decompress decompresses one stream. Trailing data after the stream is
// ignored; an error is returned only if nothing came out.
func decompress(ctx context.Context, format string, p []byte) ([]byte, error) {
	switch format {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(p))
		if err != nil {
			return nil, err
		}
		zr.Multistream(false)
		out, err := io.ReadAll(zr)
		if len(out) == 0 && err != nil {
			return nil, err
		}
		return out, nil
	case "xz":
		return runFilter(ctx, p, "xz", "-dc", "--single-stream")
	case "zstd":
		return runFilter(ctx, p, "zstd", "-dcq")
	}
	return nil, fmt.Errorf("unsupported compression %q", format)
}

// runFilter pipes in through a decompressor and returns what it wrote, even
// when it complained about trailing data.
func runFilter(ctx context.Context, in []byte, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found (install %s)", ErrUnavailable, name, aptPackageOf(name))
	}
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	err = cmd.Run()
	if out.Len() == 0 && err != nil {
		return nil, fmt.Errorf("%s %v: %v: %s", name, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.Bytes(), nil
}

// scanVmlinux tries every compressed stream start in bz and returns the first
// that decompresses to an ELF image.
func scanVmlinux(ctx context.Context, bz []byte) ([]byte, error) {
	tried := 0
	for _, f := range payloadFormats {
		for off := 0; ; {
			i := bytes.Index(bz[off:], f.magic)
			if i < 0 {
				break
			}
			off += i
			if tried++; tried > 64 {
				return nil, errors.New("extract vmlinux: no compressed ELF image found in the first 64 candidates")
			}
			out, err := decompress(ctx, f.name, bz[off:])
			if errors.Is(err, ErrUnavailable) {
				return nil, err
			}
			if err == nil && bytes.HasPrefix(out, elfMagic) {
				return out, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			off++
		}
	}
	return nil, errors.New("extract vmlinux: no compressed ELF image found in the kernel image")
}
