package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Socketpair returns the two ends of a connected AF_UNIX SOCK_STREAM pair,
// both close-on-exec. The parent keeps parent (see FileConn) and hands child
// to the child process through exec.Cmd.ExtraFiles, which clears
// close-on-exec on the child's copy only; the parent closes its copy of child
// once the child has started.
func Socketpair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("ipc: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "ipc-parent"), os.NewFile(uintptr(fds[1]), "ipc-child"), nil
}

// FileConn returns a net.Conn (a *net.UnixConn) for the Unix stream socket
// f. Like net.FileConn it works on a duplicate of f's descriptor: f stays
// the caller's to close.
func FileConn(f *os.File) (net.Conn, error) {
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("ipc: %s: %w", f.Name(), err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("ipc: %s: not a Unix socket (%s)", f.Name(), c.LocalAddr().Network())
	}
	if err := checkStream(uc); err != nil {
		uc.Close()
		return nil, fmt.Errorf("ipc: %s: %w", f.Name(), err)
	}
	return uc, nil
}

func checkStream(uc *net.UnixConn) error {
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var typ int
	var typErr error
	if err := raw.Control(func(fd uintptr) {
		typ, typErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
	}); err != nil {
		return err
	}
	if typErr != nil {
		return typErr
	}
	if typ != unix.SOCK_STREAM {
		return errors.New("not a stream socket")
	}
	return nil
}

// InheritedConn is the child's side of Socketpair: it takes over descriptor
// fd (3 for the first of exec.Cmd.ExtraFiles), returns it as a net.Conn, and
// closes the original descriptor.
func InheritedConn(fd uintptr) (net.Conn, error) {
	f := os.NewFile(fd, "ipc-inherited-fd-"+fmt.Sprint(fd))
	if f == nil {
		return nil, fmt.Errorf("ipc: descriptor %d is not valid", fd)
	}
	defer f.Close()
	return FileConn(f)
}

// PeerCred returns the uid and pid of the process at the other end of c, a
// Unix socket, as the kernel recorded them (SO_PEERCRED) when it connected
// (or, for a socketpair, when the pair was created).
func PeerCred(c net.Conn) (uid, pid int, err error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, 0, fmt.Errorf("ipc: peer credentials: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("ipc: peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, fmt.Errorf("ipc: peer credentials: %w", err)
	}
	if credErr != nil {
		return 0, 0, fmt.Errorf("ipc: peer credentials: %w", credErr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// DialControl connects to the control socket at path.
func DialControl(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("ipc: control socket: %w", err)
	}
	return c, nil
}

// ListenControl listens on the Unix stream socket at path, whose directory
// must exist. The socket file is created with mode 0600 whatever the umask:
// the mode is set on the socket before bind, so there is no moment at which
// the file is more open than that, and set again after bind. A file already
// at path is replaced only if it is a socket that nobody listens on (left by
// a daemon that died); a live socket, or anything that is not a socket, is
// refused. Closing the listener removes the socket file, unless another has
// replaced it meanwhile.
func ListenControl(path string) (net.Listener, error) {
	ln, err := listenControl(path)
	if err != nil {
		return nil, fmt.Errorf("ipc: control socket %s: %w", path, err)
	}
	return ln, nil
}

func listenControl(path string) (net.Listener, error) {
	fd, err := bindPrivate(path)
	if errors.Is(err, unix.EADDRINUSE) {
		if err := removeStale(path); err != nil {
			return nil, err
		}
		fd, err = bindPrivate(path)
	}
	if err != nil {
		return nil, err
	}
	// bind applied the umask to 0600; make it exactly 0600.
	if err := os.Chmod(path, 0o600); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Listen(fd, unix.SOMAXCONN); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, fmt.Errorf("listen: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	l, err := net.FileListener(f) // a duplicate; ours closes below
	f.Close()
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	ul, ok := l.(*net.UnixListener)
	if !ok { // cannot happen for an AF_UNIX socket
		l.Close()
		os.Remove(path)
		return nil, fmt.Errorf("unexpected listener type %T", l)
	}
	ul.SetUnlinkOnClose(false) // controlListener unlinks, checking the inode first
	return &controlListener{UnixListener: ul, path: path, dev: uint64(st.Dev), ino: st.Ino}, nil
}

// bindPrivate creates an AF_UNIX stream socket bound to path with mode 0600
// (before the umask, which can only narrow it). On Linux the mode of the
// socket's inode before bind becomes the mode of the file bind creates.
func bindPrivate(path string) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("fchmod socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind: %w", err)
	}
	return fd, nil
}

// removeStale removes the socket at path if nobody listens on it.
func removeStale(path string) error {
	var before unix.Stat_t
	if err := unix.Lstat(path, &before); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // gone meanwhile; bind again
		}
		return err
	}
	if before.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return errors.New("exists and is not a socket; not removing it")
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return errors.New("in use: another process listens on it (is vigil already running?)")
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		return fmt.Errorf("exists, and probing it failed: %w", err)
	}
	// Stale. Make sure it is still the file we probed before removing it.
	var now unix.Stat_t
	if err := unix.Lstat(path, &now); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if now.Dev != before.Dev || now.Ino != before.Ino {
		return errors.New("replaced by another process while starting")
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	return nil
}

// controlListener removes its socket file on Close if the file is still the
// one it created.
type controlListener struct {
	*net.UnixListener
	path string
	dev  uint64
	ino  uint64
}

func (l *controlListener) Close() error {
	err := l.UnixListener.Close()
	var st unix.Stat_t
	if unix.Lstat(l.path, &st) == nil && uint64(st.Dev) == l.dev && st.Ino == l.ino {
		os.Remove(l.path)
	}
	return err
}
