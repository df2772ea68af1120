package vrrpd_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
	"github.com/vigil-ha/vigil/vrrpd"
)

// Shared helpers of the e2e_*_test.go files. They build on node and
// masterDown of e2e_test.go; what they add is awaiting log lines, status
// snapshots, LANs of any size, IPv6, and frame decoding for the captures.

// logBuffer is a daemon's output, safe to read while the daemon writes,
// with a signal on every write so a test awaits a line instead of polling.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{}, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Len is a mark: waitLog(from = Len()) sees only what is written later.
func (l *logBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// speaker is a Vigil node of a lan: the e2e_test.go node (its kill and
// die work as there) plus a readable log, a status file, an address watch
// and its MAC.
type speaker struct {
	*node
	log        *logBuffer
	statusPath string
	watch      *lab.AddrWatch
	mac        net.HardwareAddr
	conf       string // path of the last configuration started
}

// lan is N speakers and a client on one lab switch. Speaker i has
// 198.18.1.(i+1)/24, the client 198.18.1.100/24; with IPv6 also
// 2001:db8::(i+1)/64 and 2001:db8::100/64, and DAD is off in every
// namespace so link-local addresses are usable at once.
type lan struct {
	l        *lab.Lab
	nodes    []*speaker
	client   *lab.NS
	clientIf string
	vip      netip.Addr // 198.18.1.50, the VIP of instanceConf
	vip6     netip.Addr // 2001:db8::50
	neigh    *lab.NeighWatch
	// dir is scratch space that outlives the daemons (flag files, notify
	// logs): unlike a later t.TempDir, it is removed after they are killed.
	dir string
}

var lanRoles = []string{"a", "b", "c", "d"}

func newLAN(t *testing.T, n int, ipv6 bool) *lan {
	t.Helper()
	// Directories first: cleanups run last-in first-out, so these are
	// removed only after the lab has killed the daemons writing into them.
	scratch := t.TempDir()
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	l := lab.New(t)
	g := &lan{l: l, dir: scratch, vip: netip.MustParseAddr("198.18.1.50"), vip6: netip.MustParseAddr("2001:db8::50")}
	mkns := func(role string) *lab.NS {
		ns := l.Namespace(role)
		if ipv6 {
			ns.Sysctl("net.ipv6.conf.all.accept_dad", "0")
			ns.Sysctl("net.ipv6.conf.default.accept_dad", "0")
		}
		return ns
	}
	for i := range n {
		ns := mkns(lanRoles[i])
		addrs := []string{fmt.Sprintf("198.18.1.%d/24", i+1)}
		if ipv6 {
			addrs = append(addrs, fmt.Sprintf("2001:db8::%d/64", i+1))
		}
		ifname := l.Connect(ns, addrs...)
		nd := &node{ns: ns, ifname: ifname, addr: netip.MustParsePrefix(addrs[0]).Addr(), dir: dirs[i]}
		s := &speaker{node: nd, log: newLogBuffer(), statusPath: filepath.Join(nd.dir, "status.json"),
			watch: ns.WatchAddrs(), mac: ns.MAC(ifname)}
		ns.Serve(8080)
		g.nodes = append(g.nodes, s)
	}
	g.client = mkns("client")
	caddrs := []string{"198.18.1.100/24"}
	if ipv6 {
		caddrs = append(caddrs, "2001:db8::100/64")
	}
	g.clientIf = l.Connect(g.client, caddrs...)
	g.neigh = g.client.WatchNeigh()
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range g.nodes {
				t.Logf("--- %s output:\n%s", s.ns.Role, s.log.String())
			}
		}
	})
	return g
}

// start runs `vigil vrrpd` on conf, appending to the speaker's log (a
// restart keeps the earlier output, marked).
func (s *speaker) start(t *testing.T, conf string) {
	t.Helper()
	s.conf = filepath.Join(s.dir, "keepalived.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(s.log, "--- start %s\n", time.Now().Format(time.StampMilli))
	s.cmd = s.ns.StartOutput(s.log, s.log, vigilBin, "vrrpd", "-f", s.conf,
		"--status-file", s.statusPath, "--log-format", "json")
}

// exitCode waits (bounded) for the daemon to exit by itself.
func (s *speaker) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: wait: %v", s.ns.Role, err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("%s still running %v after start; it should have refused the configuration", s.ns.Role, timeout)
		return -1
	}
}

// logTimeLayout is zap's ISO8601 time encoder's layout.
const logTimeLayout = "2006-01-02T15:04:05.000Z0700"

// waitLog waits until a line containing substr appears in the speaker's
// output after mark from (a logBuffer.Len), and returns that line's own
// timestamp (when the daemon logged it; millisecond precision).
func (s *speaker) waitLog(t *testing.T, from int, substr string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		out := s.log.String()
		if from > len(out) {
			from = len(out)
		}
		if i := strings.Index(out[from:], substr); i >= 0 {
			lineStart := strings.LastIndexByte(out[:from+i], '\n') + 1
			line, _, _ := strings.Cut(out[lineStart:], "\n")
			var rec struct {
				TS string `json:"ts"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil {
				if at, err := time.Parse(logTimeLayout, rec.TS); err == nil {
					return at
				}
			}
			return time.Now()
		}
		select {
		case <-s.log.changed:
		case <-deadline.C:
			t.Fatalf("%s did not log %q within %v", s.ns.Role, substr, timeout)
		}
	}
}

// status asks the daemon for a status snapshot (SIGUSR1) and returns its
// first instance. The daemon must be past its start-up (have logged a
// state): SIGUSR1 kills a process that has not installed its handler yet. The daemon writes the file asynchronously; there is no
// event to await for a file, so this polls for it, bounded.
func (s *speaker) status(t *testing.T) vrrpd.InstanceStatus {
	t.Helper()
	_ = os.Remove(s.statusPath)
	if err := syscall.Kill(s.cmd.Process.Pid, syscall.SIGUSR1); err != nil {
		t.Fatalf("%s: SIGUSR1: %v", s.ns.Role, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, err := os.ReadFile(s.statusPath)
		if err == nil {
			var st vrrpd.Status
			if err := json.Unmarshal(data, &st); err != nil {
				t.Fatalf("%s: status file: %v\n%s", s.ns.Role, err, data)
			}
			if len(st.Instances) == 0 {
				t.Fatalf("%s: status has no instance:\n%s", s.ns.Role, data)
			}
			return st.Instances[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s wrote no status file within 5s of SIGUSR1", s.ns.Role)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startSettled starts the master-to-be, waits until it holds vip, then
// starts the backup and waits until the backup follows it (BACKUP, master
// at masterPrio). Two routers started together with intervals this short
// may both time out before either hears the other (a brief dual master the
// RFC allows, which TestE2EThreeNodeElection's longer interval avoids);
// tests about something else start from this settled state instead.
func startSettled(t *testing.T, vip netip.Addr, m *speaker, mconf string, masterPrio int, b *speaker, bconf string) {
	t.Helper()
	m.start(t, mconf)
	m.watch.Wait(vip, true, 10*time.Second)
	mark := b.log.Len()
	b.start(t, bconf)
	// Only then is SIGUSR1 (status) handled; before, it would kill b.
	b.waitLog(t, mark, "Entering BACKUP STATE", 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := b.status(t)
		if st.State == "BACKUP" && st.Master.IsValid() && int(st.MasterPriority) == masterPrio {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s following %v (%d) 5s after its start, want BACKUP under the master (%d)",
				b.ns.Role, st.State, st.Master, st.MasterPriority, masterPrio)
		}
		time.Sleep(50 * time.Millisecond) // status has no event to await
	}
	if b.watch.Has(vip) {
		t.Fatalf("%s holds the VIP as a backup", b.ns.Role)
	}
}

// addedSince lists when the address was added on the speaker after t0.
func addedSince(w *lab.AddrWatch, a netip.Addr, t0 time.Time) []time.Time {
	var out []time.Time
	for _, e := range w.Events(a) {
		if e.Added && e.At.After(t0) {
			out = append(out, e.At)
		}
	}
	return out
}

// neverHolds proves a negative the only way one can: it watches for the
// whole bounded window and fails if the speaker added the address at any
// moment since t0 (or holds it at the end).
func neverHolds(t *testing.T, s *speaker, a netip.Addr, t0 time.Time, window time.Duration, why string) {
	t.Helper()
	time.Sleep(time.Until(t0.Add(window)))
	if adds := addedSince(s.watch, a, t0); len(adds) > 0 || s.watch.Has(a) {
		t.Fatalf("%s took %s (%d times, first %v after the window opened): %s",
			s.ns.Role, a, len(adds), firstSince(adds, t0), why)
	}
}

func firstSince(ts []time.Time, t0 time.Time) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	return ts[0].Sub(t0).Round(time.Millisecond)
}

// dialOnce connects once from ns to addr (bounded), so the client's neighbour
// cache learns who answers for the address.
func dialOnce(t *testing.T, ns *lab.NS, addr netip.AddrPort) {
	t.Helper()
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr.String(), 2*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatalf("client cannot reach %v: %v", addr, err)
	}
}

// conf6 renders a VRRPv3 instance for the IPv6 VIP 2001:db8::50/64; the
// adverts go from the interface's link-local address to ff02::12.
func conf6(n *node, prio int, interval, extra string) string {
	return fmt.Sprintf(`global_defs {
    router_id %s
    vrrp_garp_master_delay 1
}
vrrp_instance VI_6 {
    state BACKUP
    interface %s
    virtual_router_id 61
    priority %d
    advert_int %s
    version 3
    virtual_ipaddress {
        2001:db8::50/64
    }
%s}
`, n.ns.Role, n.ifname, prio, interval, extra)
}

// lineOf is the 1-based line of the first occurrence of substr in text.
func lineOf(text, substr string) int {
	sc := bufio.NewScanner(strings.NewReader(text))
	for i := 1; sc.Scan(); i++ {
		if strings.Contains(sc.Text(), substr) {
			return i
		}
	}
	return 0
}

// --- frame decoding for lab captures ---

var (
	vrrpMcast6  = netip.MustParseAddr("ff02::12")
	macBcast    = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ethHdrLen   = 14
	ipProtoVRRP = byte(112)
)

// ethType reads the EtherType, skipping one 802.1Q tag.
func ethType(d []byte) (uint16, []byte, bool) {
	if len(d) < ethHdrLen {
		return 0, nil, false
	}
	et := binary.BigEndian.Uint16(d[12:14])
	if et == 0x8100 && len(d) >= 18 {
		return binary.BigEndian.Uint16(d[16:18]), d[18:], true
	}
	return et, d[14:], true
}

// vrrpFrame is a VRRP advert seen on the wire.
type vrrpFrame struct {
	at        time.Time
	srcMAC    net.HardwareAddr
	dstMAC    net.HardwareAddr
	src, dst  netip.Addr
	ttl       uint8
	version   uint8
	vrid      uint8
	priority  uint8
	intervalC uint16 // v3 centiseconds; v2 seconds
}

func (v vrrpFrame) multicast() bool { return v.dst.IsMulticast() || v.dstMAC[0]&1 == 1 }

// parseVRRP decodes an IPv4 or IPv6 VRRP advert (no IPv6 extension
// headers, as VRRP senders use none).
func parseVRRP(f lab.Frame) (vrrpFrame, bool) {
	et, p, ok := ethType(f.Data)
	if !ok {
		return vrrpFrame{}, false
	}
	v := vrrpFrame{at: f.At, dstMAC: net.HardwareAddr(f.Data[0:6]), srcMAC: net.HardwareAddr(f.Data[6:12])}
	var payload []byte
	switch et {
	case lab.EtherTypeIPv4:
		if len(p) < 20 || p[0]>>4 != 4 || p[9] != ipProtoVRRP {
			return vrrpFrame{}, false
		}
		ihl := int(p[0]&0x0f) * 4
		if len(p) < ihl+8 {
			return vrrpFrame{}, false
		}
		v.ttl = p[8]
		v.src = netip.AddrFrom4([4]byte(p[12:16]))
		v.dst = netip.AddrFrom4([4]byte(p[16:20]))
		payload = p[ihl:]
	case lab.EtherTypeIPv6:
		if len(p) < 48 || p[0]>>4 != 6 || p[6] != ipProtoVRRP {
			return vrrpFrame{}, false
		}
		v.ttl = p[7]
		v.src = netip.AddrFrom16([16]byte(p[8:24]))
		v.dst = netip.AddrFrom16([16]byte(p[24:40]))
		payload = p[40:]
	default:
		return vrrpFrame{}, false
	}
	v.version = payload[0] >> 4
	v.vrid = payload[1]
	v.priority = payload[2]
	if v.version == 3 {
		v.intervalC = binary.BigEndian.Uint16(payload[4:6]) & 0x0fff
	} else {
		v.intervalC = uint16(payload[5])
	}
	return v, true
}

// adverts returns the adverts in frames, optionally only those from src.
func adverts(frames []lab.Frame, src netip.Addr) []vrrpFrame {
	var out []vrrpFrame
	for _, f := range frames {
		if v, ok := parseVRRP(f); ok && (!src.IsValid() || v.src == src) {
			out = append(out, v)
		}
	}
	return out
}

// isAdvertFrom matches adverts from src (any VRID).
func isAdvertFrom(src netip.Addr) func(lab.Frame) bool {
	return func(f lab.Frame) bool {
		v, ok := parseVRRP(f)
		return ok && v.src == src
	}
}

// arpFrame is an Ethernet ARP packet.
type arpFrame struct {
	at       time.Time
	ethSrc   net.HardwareAddr
	ethDst   net.HardwareAddr
	op       uint16
	sha, tha net.HardwareAddr
	spa, tpa netip.Addr
}

func parseARP(f lab.Frame) (arpFrame, bool) {
	et, p, ok := ethType(f.Data)
	if !ok || et != lab.EtherTypeARP || len(p) < 28 {
		return arpFrame{}, false
	}
	if binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		return arpFrame{}, false
	}
	return arpFrame{
		at: f.At, ethDst: net.HardwareAddr(f.Data[0:6]), ethSrc: net.HardwareAddr(f.Data[6:12]),
		op:  binary.BigEndian.Uint16(p[6:8]),
		sha: net.HardwareAddr(p[8:14]), spa: netip.AddrFrom4([4]byte(p[14:18])),
		tha: net.HardwareAddr(p[18:24]), tpa: netip.AddrFrom4([4]byte(p[24:28])),
	}, true
}

// isGARP matches keepalived's gratuitous ARP for vip from mac: a broadcast
// request whose sender and target address are both the VIP.
func isGARP(vip netip.Addr, mac net.HardwareAddr) func(lab.Frame) bool {
	return func(f lab.Frame) bool {
		a, ok := parseARP(f)
		return ok && a.op == 1 && a.spa == vip && a.tpa == vip && bytes.Equal(a.sha, mac) &&
			bytes.Equal(a.ethSrc, mac) && bytes.Equal(a.ethDst, macBcast)
	}
}

// garps returns the GARPs for vip in frames, from any sender.
func garps(frames []lab.Frame, vip netip.Addr) []arpFrame {
	var out []arpFrame
	for _, f := range frames {
		if a, ok := parseARP(f); ok && a.op == 1 && a.spa == vip && a.tpa == vip {
			out = append(out, a)
		}
	}
	return out
}

// naFrame is an ICMPv6 neighbour advertisement.
type naFrame struct {
	at                          time.Time
	src, dst, target            netip.Addr
	hopLimit                    uint8
	router, solicited, override bool
	tlla                        net.HardwareAddr
}

func parseNA(f lab.Frame) (naFrame, bool) {
	et, p, ok := ethType(f.Data)
	if !ok || et != lab.EtherTypeIPv6 || len(p) < 40+24 || p[6] != 58 {
		return naFrame{}, false
	}
	icmp := p[40:]
	if icmp[0] != 136 {
		return naFrame{}, false
	}
	n := naFrame{at: f.At, hopLimit: p[7],
		src: netip.AddrFrom16([16]byte(p[8:24])), dst: netip.AddrFrom16([16]byte(p[24:40])),
		router: icmp[4]&0x80 != 0, solicited: icmp[4]&0x40 != 0, override: icmp[4]&0x20 != 0,
		target: netip.AddrFrom16([16]byte(icmp[8:24]))}
	for opts := icmp[24:]; len(opts) >= 8; {
		l := int(opts[1]) * 8
		if l == 0 || l > len(opts) {
			break
		}
		if opts[0] == 2 && l >= 8 { // target link-layer address
			n.tlla = net.HardwareAddr(opts[2:8])
		}
		opts = opts[l:]
	}
	return n, true
}

// isUnsolicitedNA matches keepalived's unsolicited NA for target with
// mac as its link-layer address.
func isUnsolicitedNA(target netip.Addr, mac net.HardwareAddr) func(lab.Frame) bool {
	return func(f lab.Frame) bool {
		n, ok := parseNA(f)
		return ok && n.target == target && !n.solicited && n.override && bytes.Equal(n.tlla, mac)
	}
}
