// Package mysqlpair_test proves examples/mysql-pair end to end: real
// MariaDB servers in two node namespaces with GTID replication A→B, the
// example's keepalived.conf, arbiter block and scripts driven by `vigil
// run` (and by keepalived, the baseline), `vigil arbiter` on a third
// namespace, application writers inserting through the VIP, and a sampler
// reading both servers' read_only through their unix sockets.
//
// Two networks, each a lab (its own switch), the example's addresses:
// the service net 198.18.2.0/24 (A .1, B .2, VIP .50, the application
// client .100), which also carries replication, and the arbiter net
// 198.18.3.0/24 (A .1, B .2, arbiter .10).
package mysqlpair_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

var vigilBin string

func TestMain(m *testing.M) { lab.MainWithVigil(m, &vigilBin) }

// exampleDir is the deployment under test.
const exampleDir = "../../examples/mysql-pair"

var (
	vip     = netip.MustParseAddr("198.18.2.50")
	arbAddr = netip.MustParseAddr("198.18.3.10")
)

// skipUnlessTools skips unless root with mariadbd, the client, nft and
// (for the baseline) keepalived.
func skipUnlessTools(t *testing.T, keepalived bool) {
	t.Helper()
	lab.Skip(t)
	tools := []string{"mariadbd", "mariadb-install-db", "mariadb", "my_print_defaults", "nft"}
	if keepalived {
		tools = append(tools, "keepalived")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (make test installs mariadb-server, mariadb-client, keepalived, nftables)", tool)
		}
	}
}

type node struct {
	t            *testing.T
	name         string // "a" or "b"
	peer         string // the example's name for this node: db-a, db-b
	ns           *lab.NS
	vif, gif     string
	vaddr, gaddr netip.Addr
	dir          string
	db           *server
	cmd          *lab.Proc
	out          lab.Buffer
	watch        *lab.AddrWatch
}

type bed struct {
	t          *testing.T
	keepalived bool
	vnet, gnet *lab.Lab
	a, b       *node
	client     *lab.NS
	arbNS      *lab.NS
	arbDir     string
	arb        *lab.Proc
	arbOut     lab.Buffer
	load       *load
	aMaster    time.Time // when A became the writable primary
}

// newBed builds the networks, starts both databases with replication
// A→B, then the HA daemons (Vigil with the arbiter, or keepalived), and
// waits for the steady state: A MASTER and writable, B read-only.
func newBed(t *testing.T, tmpl string, keepalived bool) *bed {
	b := &bed{t: t, keepalived: keepalived}
	b.vnet, b.gnet = lab.New(t), lab.New(t)
	mk := func(name string, last byte) *node {
		n := &node{t: t, name: name, peer: "db-" + name, ns: b.vnet.Namespace(name), dir: t.TempDir(),
			vaddr: netip.AddrFrom4([4]byte{198, 18, 2, last}), gaddr: netip.AddrFrom4([4]byte{198, 18, 3, last})}
		n.vif = b.vnet.Connect(n.ns, n.vaddr.String()+"/24")
		if !keepalived {
			n.gif = b.gnet.Connect(n.ns, n.gaddr.String()+"/24")
		}
		n.watch = n.ns.WatchAddrs()
		return n
	}
	b.a, b.b = mk("a", 1), mk("b", 2)
	b.client = b.vnet.Namespace("client")
	b.vnet.Connect(b.client, "198.18.2.100/24")
	if !keepalived {
		b.arbNS = b.gnet.Namespace("arb")
		b.gnet.Connect(b.arbNS, arbAddr.String()+"/24")
		b.arbDir = t.TempDir()
	}
	// Cleanups run LIFO: this one before the labs' teardown, so the
	// daemons stop while their directories exist, and logs show on
	// failure (always with VIGIL_MYSQLPAIR_LOGS=1).
	t.Cleanup(func() {
		if b.load != nil {
			b.load.stop()
		}
		for _, n := range []*node{b.a, b.b} {
			n.cmd.Kill(t, syscall.SIGKILL)
		}
		b.arb.Kill(t, syscall.SIGKILL)
		for _, n := range []*node{b.a, b.b} {
			if n.db != nil {
				n.db.cmd.Kill(t, syscall.SIGKILL)
			}
		}
		if t.Failed() || os.Getenv("VIGIL_MYSQLPAIR_LOGS") != "" {
			for _, n := range []*node{b.a, b.b} {
				t.Logf("--- %s daemon output:\n%s", n.name, tail(n.out.String(), 150))
				if n.db != nil {
					t.Logf("--- %s mariadbd output:\n%s", n.name, tail(n.db.out.String(), 40))
				}
			}
			if b.arb != nil {
				t.Logf("--- arbiter output:\n%s", tail(b.arbOut.String(), 40))
			}
		}
	})

	for _, n := range []*node{b.a, b.b} {
		n.installScripts()
		n.db = startServer(t, n, tmpl)
	}
	b.a.db.rootSQL(t, readExample(t, "setup-primary.sql")+testSchema)
	b.b.db.rootSQL(t, readExample(t, "setup-replica.sql"))
	b.waitReplicated(20 * time.Second)
	b.startDaemons()
	return b
}

// testSchema is what the test adds on the primary: the writers' table,
// and a user that reads it and read_only over the unix socket.
const testSchema = `
CREATE TABLE appdb.writes (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    writer VARCHAR(16) NOT NULL,
    seq INT NOT NULL,
    server INT NOT NULL,
    at DATETIME(6) NOT NULL DEFAULT NOW(6)
);
CREATE USER 'probe'@'localhost' IDENTIFIED BY 'probe';
GRANT SELECT ON appdb.* TO 'probe'@'localhost';
`

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(exampleDir, name))
	if err != nil {
		t.Fatalf("example file: %v", err)
	}
	return string(b)
}

// forNode turns an example file (written for db-a) into this node's:
// every line marked "# db-b: TEXT" becomes TEXT on db-b, the example's
// /etc paths become the node's directory, eth0 its service interface.
func (n *node) forNode(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if i := strings.Index(l, "# db-b:"); i >= 0 {
			if n.name == "b" {
				indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
				l = indent + strings.TrimSpace(l[i+len("# db-b:"):])
			}
		}
		out = append(out, l)
	}
	s := strings.Join(out, "\n")
	s = strings.ReplaceAll(s, "/etc/keepalived/mysql-pair/", n.scriptDir()+"/")
	s = strings.ReplaceAll(s, "/etc/keepalived/arbiter.conf", filepath.Join(n.dir, "arbiter.conf"))
	s = strings.ReplaceAll(s, "interface eth0", "interface "+n.vif)
	s = strings.ReplaceAll(s, "/run/vigil/", filepath.Join(n.dir, "run")+"/")
	return s
}

func (n *node) scriptDir() string { return filepath.Join(n.dir, "mysql-pair") }
func (n *node) socket() string    { return filepath.Join(n.dir, "mysqld.sock") }

// installScripts copies the example's scripts and pair.cnf as an operator
// would into /etc/keepalived/mysql-pair, pointing pair.cnf at the node's
// socket.
func (n *node) installScripts() {
	n.t.Helper()
	if err := os.MkdirAll(n.scriptDir(), 0o755); err != nil {
		n.t.Fatal(err)
	}
	for _, f := range []string{"lib.sh", "check_mysql.sh", "promote.sh", "demote.sh", "pair.cnf"} {
		body := readExample(n.t, f)
		mode := os.FileMode(0o755)
		switch f {
		case "pair.cnf":
			body = strings.ReplaceAll(body, "/run/mysqld/mysqld.sock", n.socket())
			mode = 0o600
		case "lib.sh":
			mode = 0o644
		}
		if err := os.WriteFile(filepath.Join(n.scriptDir(), f), []byte(body), mode); err != nil {
			n.t.Fatal(err)
		}
	}
}

// waitReplicated waits until B has applied everything A has written.
func (b *bed) waitReplicated(timeout time.Duration) {
	b.t.Helper()
	pos := strings.TrimSpace(b.a.db.rootSQL(b.t, "SELECT @@gtid_binlog_pos"))
	got := strings.TrimSpace(b.b.db.rootSQL(b.t, fmt.Sprintf("SELECT MASTER_GTID_WAIT('%s', %d)", pos, int(timeout.Seconds()))))
	if got != "0" {
		b.t.Fatalf("B did not apply A's %s within %v (MASTER_GTID_WAIT %s); B's slave status:\n%s", pos, timeout, got,
			b.b.db.rootSQL(b.t, "SHOW SLAVE STATUS\\G"))
	}
}

// startDaemons starts the arbiter (Vigil), then A, then B, and waits for
// the steady state.
func (b *bed) startDaemons() {
	b.t.Helper()
	for _, n := range []*node{b.a, b.b} {
		conf := n.forNode(readExample(b.t, "keepalived.conf"))
		if b.keepalived {
			conf = strings.ReplaceAll(conf, "include "+filepath.Join(n.dir, "arbiter.conf"), "")
		} else if err := os.WriteFile(filepath.Join(n.dir, "arbiter.conf"), []byte(n.forNode(readExample(b.t, "arbiter.conf"))), 0o600); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(n.dir, "keepalived.conf"), []byte(conf), 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	if !b.keepalived {
		// The README's way: the arbiter host runs with a node's block.
		c := b.arbNS.Start(&b.arbOut, &b.arbOut, vigilBin, "arbiter", "-f", filepath.Join(b.a.dir, "arbiter.conf"),
			"--state", filepath.Join(b.arbDir, "state.json"), "--status", "unix:"+b.arbSock(), "--log-format", "json")
		b.arb = lab.Track(c)
	}
	b.startNode(b.a)
	b.waitWritable(b.a, 20*time.Second)
	b.aMaster = time.Now()
	b.startNode(b.b)
	if !b.keepalived {
		b.waitFor(15*time.Second, "A (db-a) holds the lease at the arbiter", func() bool {
			return b.leaseHolder() == "db-a"
		})
	}
	// B is an established BACKUP once it says so (both daemons log
	// keepalived's phrase) and has heard A for a while.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(b.b.out.String(), "(MYSQL) Entering BACKUP STATE") {
		if time.Now().After(deadline) {
			b.t.Fatalf("B did not enter BACKUP within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if b.b.watch.Has(vip) {
		b.t.Fatalf("B holds the VIP in the steady state")
	}
	if ro := b.b.db.readOnly(); ro != 1 {
		b.t.Fatalf("B's read_only is %d in the steady state, want 1", ro)
	}
}

func (b *bed) startNode(n *node) {
	b.t.Helper()
	conf := filepath.Join(n.dir, "keepalived.conf")
	if b.keepalived {
		c := n.ns.Start(&n.out, &n.out, "keepalived", "-n", "-l", "-D", "-P", "-f", conf,
			"-p", filepath.Join(n.dir, "k.pid"), "-r", filepath.Join(n.dir, "v.pid"), "-c", filepath.Join(n.dir, "c.pid"))
		n.cmd = lab.Track(c)
		return
	}
	c := n.ns.Start(&n.out, &n.out, vigilBin, "run", "-f", conf, "--run-dir", filepath.Join(n.dir, "run"), "--log-format", "json")
	n.cmd = lab.Track(c)
}

// waitWritable waits until n holds the VIP and its server is writable
// (promote.sh ran).
func (b *bed) waitWritable(n *node, timeout time.Duration) {
	b.t.Helper()
	n.watch.Wait(vip, true, timeout)
	deadline := time.Now().Add(timeout)
	for n.db.readOnly() != 0 {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s holds the VIP but its server is not writable within %v", n.name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vigilPIDs lists the processes in ns running the test's vigil binary,
// with their first argument after the program (run, vrrpd, agent, ...).
func vigilPIDs(t *testing.T, ns *lab.NS) map[int]string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", ns.Name).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", ns.Name, err)
	}
	want, err := filepath.EvalSymlinks(vigilBin)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]string{}
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || exe != want {
			continue
		}
		cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(cl), "\x00")
		role := ""
		if len(args) > 1 {
			role = args[1]
		}
		pids[pid] = role
	}
	return pids
}

// ---------------------------------------------------------------- cuts

// cutVRRP: the nodes drop each other's packets on the service net (VRRP,
// and replication with it); the arbiter net is untouched.
func (b *bed) cutVRRP(on bool) {
	if !on {
		b.a.ns.Heal("vgt_vrrp")
		b.b.ns.Heal("vgt_vrrp")
		return
	}
	b.a.ns.DropFrom("vgt_vrrp", b.b.vaddr)
	b.b.ns.DropFrom("vgt_vrrp", b.a.vaddr)
}

// isolate cuts n off both networks at its switch ports (a dead switch,
// the links stay up): a bridge table in each switch namespace drops every
// frame from or to n's port, ARP included.
func (b *bed) isolate(n *node, on bool) {
	b.vnet.Isolate(n.vif, on)
	if n.gif != "" {
		b.gnet.Isolate(n.gif, on)
	}
}

func (b *bed) arbSock() string { return filepath.Join(b.arbDir, "status.sock") }

// leaseHolder asks the arbiter's status socket who holds the lease.
func (b *bed) leaseHolder() string {
	h := lab.LeaseHolders(b.arbSock())
	if len(h) != 1 {
		return ""
	}
	return h[0]
}
