package mysqlpair_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// testOverrides follow the example's snippet in each server's option
// file: paths in the node's directory, a small footprint, and no fsync
// (durability across a host crash is not what the test measures).
const testOverrides = `
[mariadbd]
user = root
port = 3306
skip_name_resolve = ON
innodb_buffer_pool_size = 16M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
performance_schema = OFF
`

// installTemplate runs mariadb-install-db once into dir/data; every node
// copies it.
func installTemplate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=socket", "--skip-test-db",
		"--innodb-buffer-pool-size=16M", "--innodb-log-file-size=16M").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	return data
}

// server is one node's mariadbd.
type server struct {
	n    *node
	cmd  *lab.Proc
	out  lab.Buffer
	sock string
}

// startServer copies the template datadir, writes the node's option file
// from the example's snippet (the "db-b:" lines for B) plus the test's
// overrides, starts mariadbd in the node's namespace and waits for it.
func startServer(t *testing.T, n *node, tmpl string) *server {
	t.Helper()
	data := filepath.Join(n.dir, "data")
	if out, err := exec.Command("cp", "-a", tmpl, data).CombinedOutput(); err != nil {
		t.Fatalf("copy datadir: %v\n%s", err, out)
	}
	s := &server{n: n, sock: n.socket()}
	s.start(t)
	return s
}

// start writes the option file and starts mariadbd on the node's datadir
// (a restart after a crash keeps it), waiting until it answers.
func (s *server) start(t *testing.T) {
	t.Helper()
	n := s.n
	data := filepath.Join(n.dir, "data")
	cnf := n.forNode(readExample(t, "mariadb.conf.d/60-mysql-pair.cnf")) + testOverrides +
		"datadir = " + data + "\nsocket = " + s.sock + "\npid_file = " + filepath.Join(n.dir, "mysqld.pid") + "\n"
	path := filepath.Join(n.dir, "my.cnf")
	if err := os.WriteFile(path, []byte(cnf), 0o644); err != nil {
		t.Fatal(err)
	}
	c := n.ns.Start(&s.out, &s.out, "mariadbd", "--defaults-file="+path)
	s.cmd = lab.Track(c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Up: it answers, even if only to refuse the probe user that
		// the setup creates later.
		m, err := s.probe()
		var refused *myErr
		if err == nil {
			m.Close()
			break
		} else if errors.As(err, &refused) {
			break
		}
		select {
		case <-s.cmd.Done():
			t.Fatalf("%s: mariadbd exited:\n%s", n.name, tail(s.out.String(), 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: mariadbd not answering within 30s:\n%s", n.name, tail(s.out.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rootSQL runs statements as root over the socket with the mariadb
// client (unix_socket authentication) and returns the output.
func (s *server) rootSQL(t *testing.T, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mariadb", "--no-defaults", "-S", s.sock, "-u", "root", "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: mariadb: %v\n%s\nSQL:\n%s", s.n.name, err, out, sql)
	}
	return string(out)
}

// probe logs in as the test's probe user over the unix socket, which no
// network cut reaches.
func (s *server) probe() (*myConn, error) {
	return myDial(func() (net.Conn, error) {
		return net.DialTimeout("unix", s.sock, time.Second)
	}, "probe", "probe", "", 2*time.Second)
}

// readOnly is @@read_only (0 or 1), or -1 when the server cannot be
// asked.
func (s *server) readOnly() int {
	m, err := s.probe()
	if err != nil {
		return -1
	}
	defer m.Close()
	v, err := m.value("SELECT @@global.read_only")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}
