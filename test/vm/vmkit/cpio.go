package vmkit

import (
	"fmt"
	"io"
	"strings"
)

// Mode bits of the newc cpio format (the same as st_mode).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// cpioWriter writes an uncompressed "newc" (SVR4, no CRC) cpio archive, the
// format the kernel unpacks into its initial root file system. Every entry
// is owned by root with mtime 0, so an archive depends only on its content.
type cpioWriter struct {
	w   io.Writer
	n   int64  // bytes written so far
	ino uint32 // last inode number handed out
	err error
}

func newCpioWriter(w io.Writer) *cpioWriter { return &cpioWriter{w: w} }

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

// pad writes zero bytes up to the next multiple of four.
func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) {
	name = strings.TrimPrefix(name, "/")
	if name == "" {
		name = "."
	}
	if size < 0 || size > 0xffffffff {
		if c.err == nil {
			c.err = fmt.Errorf("cpio: %s: size %d does not fit the newc format", name, size)
		}
		return
	}
	c.ino++
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write(append([]byte(name), 0))
	c.pad()
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string, perm uint32) {
	c.header(name, modeDir|perm&0o7777, 0, 0, 0)
}

// File adds a regular file with the given content.
func (c *cpioWriter) File(name string, perm uint32, data []byte) {
	c.header(name, modeFile|perm&0o7777, int64(len(data)), 0, 0)
	c.write(data)
	c.pad()
}

// FileFrom adds a regular file of exactly size bytes read from r.
func (c *cpioWriter) FileFrom(name string, perm uint32, size int64, r io.Reader) {
	c.header(name, modeFile|perm&0o7777, size, 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.CopyN(c.w, r, size)
	c.n += n
	if err != nil {
		c.err = fmt.Errorf("cpio: %s: %w", name, err)
		return
	}
	c.pad()
}

// Symlink adds a symbolic link name pointing to target.
func (c *cpioWriter) Symlink(name, target string) {
	c.header(name, modeSymlink|0o777, int64(len(target)), 0, 0)
	c.write([]byte(target))
	c.pad()
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) {
	c.header(name, modeCharDev|perm&0o7777, 0, major, minor)
}

// Close writes the trailer entry and reports the first error.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.err
}
