package vrrpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/internal/smtpalert"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/vrrpd/addrs"
	"github.com/vigil-ha/vigil/vrrpd/announce"
	"github.com/vigil-ha/vigil/vrrpd/handover"
	"github.com/vigil-ha/vigil/vrrpd/linkwatch"
	"github.com/vigil-ha/vigil/vrrpd/netio"
	"github.com/vigil-ha/vigil/vrrpd/packet"
	"github.com/vigil-ha/vigil/vrrpd/vrrp"
)

// Reporter receives what the engine wants the rest of Vigil to know: the
// supervisor's snapshot, the arbiter agent, status. Calls are made from the
// engine goroutine and must not block.
type Reporter interface {
	InstanceChanged(st InstanceStatus)
	// Snapshot receives the state a restarted vrrpd resumes from, at most
	// every 100 ms while something changes.
	Snapshot(s *handover.Snapshot)
}

// Options configures an Engine.
type Options struct {
	Logger   *zap.Logger
	Reporter Reporter
	// Restore is the snapshot a previous vrrpd left (hitless restart,
	// reload); nil for a cold start.
	Restore *handover.Snapshot
	// Tracks gives the current states of tracked scripts and files at
	// start. The engine runs no scripts itself: results arrive through
	// ApplyTrack, from checkd (vigil run) or from checkd/tracker run
	// in-process by the standalone command, so both behave the same.
	Tracks []TrackResult
	// Holds are the arbiter agent's verdicts in force at start: applied
	// before the instances start or resume, so a held master restarting
	// never advertises as MASTER.
	Holds []Verdict
}

// TrackResult is the state of a tracked script or file, as checkd reports
// it over IPC.
type TrackResult = ipc.Track

// Engine runs every vrrp_instance of one node in one goroutine: packets,
// timers and tracking events are serialised into the pure state machines,
// and their actions carried out here.
type Engine struct {
	log  *zap.Logger
	cfg  *config.Config
	rep  Reporter
	nl   *netlink.Handle
	adr  *addrs.Manager
	ann  *announce.Sender
	conn map[int]*netio.Conn // by family

	insts  []*instance
	groups []*syncGroup
	byKey  map[demuxKey]*instance

	pkts   chan received
	links  chan linkwatch.Event
	tracks chan trackEvent
	ctrl   chan func()

	notify *notifier
	alerts *smtpalert.Sender // smtp_alert e-mails; nil when none configured
	gate   *script.Gate
	drops  map[packet.Drop]uint64 // drops before an instance is known
	wg     sync.WaitGroup

	timers timerHeap

	// GARP work: at most one pending announcement per instance, so the
	// queue never overflows and no ownership change goes unannounced.
	garpMu      sync.Mutex
	garpPending []*instance
	garpWake    chan struct{}

	restore  *handover.Snapshot
	initial  []TrackResult
	holds    []Verdict
	dirty    bool // state or priority changed since the last snapshot
	lastSnap time.Time
}

type demuxKey struct {
	ifindex int
	family  int
	vrid    uint8
}

type received struct {
	family int
	p      netio.Packet
	at     time.Time
}

type trackEvent struct {
	kind  vrrp.TrackKind
	name  string
	up    bool
	value int64
}

// New builds the engine for the VRRP part of cfg in the current network
// namespace. Nothing is sent until Run.
func New(cfg *config.Config, opts Options) (*Engine, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	nl, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("vrrpd: netlink: %w", err)
	}
	e := &Engine{
		log: log, cfg: cfg, rep: opts.Reporter, nl: nl,
		adr:      addrs.New(nl),
		ann:      announce.NewSender(),
		conn:     map[int]*netio.Conn{},
		byKey:    map[demuxKey]*instance{},
		pkts:     make(chan received, 1024),
		links:    make(chan linkwatch.Event, 64),
		tracks:   make(chan trackEvent, 64),
		ctrl:     make(chan func()),
		garpWake: make(chan struct{}, 1),
		drops:    map[packet.Drop]uint64{},
		restore:  opts.Restore,
		initial:  opts.Tracks,
		holds:    opts.Holds,
	}
	e.gate = newScriptGate(log, &cfg.Global)
	e.notify = newNotifier(log, e.gate)
	e.alerts = smtpalert.NewFromGlobal(&cfg.Global, log)
	scripts := map[string]*config.VRRPScript{}
	for _, s := range cfg.Scripts {
		scripts[s.Name] = s
	}
	for _, c := range cfg.Instances {
		warnUnimplemented(log, c)
		in, err := buildInstance(&cfg.Global, c, scripts, e.interfaceInfo)
		if err != nil {
			e.close()
			return nil, err
		}
		if in.vmac != "" {
			if err := e.setupVMAC(in); err != nil {
				e.close()
				return nil, err
			}
		}
		key := demuxKey{in.xmitIndex, in.family, uint8(c.VirtualRouterID)}
		if other, dup := e.byKey[key]; dup {
			e.close()
			return nil, fmt.Errorf("vrrpd: instances %s and %s both use VRID %d on %s", other.cfg.Name, c.Name, key.vrid, in.ifname)
		}
		e.byKey[key] = in
		e.insts = append(e.insts, in)
	}
	e.buildSyncGroups()
	// One membership per interface and group: instances share it (a second
	// join of the same group on the same interface fails with EADDRINUSE).
	type membership struct {
		ifindex int
		group   netip.Addr
	}
	joined := map[membership]bool{}
	for _, in := range e.insts {
		conn, err := e.connFor(in.family)
		if err != nil {
			e.close()
			return nil, err
		}
		if m := (membership{in.xmitIndex, in.dsts[0]}); !in.unicast && !joined[m] {
			joined[m] = true
			if err := conn.Join(in.xmitIndex, in.dsts[0]); err != nil {
				e.close()
				return nil, fmt.Errorf("vrrpd: instance %s: %w", in.cfg.Name, err)
			}
		}
	}
	return e, nil
}

func (e *Engine) connFor(family int) (*netio.Conn, error) {
	if c := e.conn[family]; c != nil {
		return c, nil
	}
	c, err := netio.Listen(family)
	if err != nil {
		return nil, fmt.Errorf("vrrpd: open IPv%d VRRP socket: %w", family, err)
	}
	e.conn[family] = c
	return c, nil
}

func (e *Engine) interfaceInfo(name string) (interfaceInfo, error) {
	link, err := e.nl.LinkByName(name)
	if err != nil {
		return interfaceInfo{}, err
	}
	info := interfaceInfo{index: link.Attrs().Index, mac: link.Attrs().HardwareAddr}
	list, err := e.nl.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return interfaceInfo{}, err
	}
	for _, a := range list {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		switch {
		case ip.Is4() && !info.addr4.IsValid() && a.Flags&0x01 == 0: // not IFA_F_SECONDARY
			info.addr4 = ip
		case ip.Is6() && ip.IsLinkLocalUnicast() && !info.ll6.IsValid():
			info.ll6 = ip
		}
	}
	return info, nil
}

func (e *Engine) close() {
	for _, c := range e.conn {
		c.Close()
	}
	e.ann.Close()
	e.nl.Close()
}

// Run starts every instance and serves until ctx is cancelled, then stops
// them gracefully (make-before-break for masters) and returns.
func (e *Engine) Run(ctx context.Context) error {
	defer e.close()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	ns, err := netns.Get()
	if err != nil {
		return fmt.Errorf("vrrpd: current namespace: %w", err)
	}
	linkEvents, err := linkwatch.Watch(watchCtx, ns)
	ns.Close()
	if err != nil {
		return fmt.Errorf("vrrpd: watch links: %w", err)
	}
	for fam, c := range e.conn {
		e.wg.Add(1)
		go e.readLoop(fam, c)
	}
	go e.garpLoop(watchCtx)
	// Known track states first, so instances start with the right
	// priority (a restarted vrrpd must not flap on a failing script).
	for _, t := range e.initial {
		e.track(trackEventOf(t))
	}
	for _, v := range e.holds {
		for _, in := range e.insts {
			if in.cfg.Name == v.Instance && v.Hold {
				in.m.Step(time.Now(), vrrp.Hold{On: true, Reason: v.Reason})
			}
		}
	}

	// vrrp_startup_delay holds a cold start back (keepalived's rule); a
	// resuming vrrpd must not wait, its masters are advertising.
	if d := e.cfg.Global.VRRPStartupDelay.D(); d > 0 && e.restore == nil {
		e.log.Info("delaying start-up (vrrp_startup_delay)", zap.Duration("delay", d))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil
		}
	}
	e.startInstances(time.Now())

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	stopping := false
	var stopDeadline time.Time
	for {
		now := time.Now()
		e.fireTimers(now)
		if stopping && (e.allStopped() || now.After(stopDeadline)) {
			e.removeVMACs()
			if e.rep != nil {
				e.rep.Snapshot(e.snapshot())
			}
			e.notify.drain(notifyDrainBound)
			e.alerts.Close(alertDrainBound)
			return nil
		}
		next := e.nextDeadline()
		if due := e.maybeSnapshot(now); !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now), 0)
		}
		timer.Reset(wait)
		select {
		case r := <-e.pkts:
			e.receive(r)
		case ev, ok := <-linkEvents:
			if ok {
				e.link(ev)
			} else {
				linkEvents = nil
			}
		case ev := <-e.tracks:
			e.track(ev)
		case f := <-e.ctrl:
			f()
		case <-timer.C:
		case <-ctx.Done():
			if !stopping {
				stopping = true
				stopDeadline = time.Now().Add(e.stopBound())
				for _, in := range e.insts {
					e.step(in, time.Now(), vrrp.Stop{})
				}
			}
			ctx = context.Background() // keep serving until released
		}
	}
}

// stopBound is how long a graceful stop may wait for successors.
func (e *Engine) stopBound() time.Duration {
	longest := time.Second
	for _, in := range e.insts {
		longest = max(longest, in.cfg.AdvertInt.D())
	}
	return 2*longest + 500*time.Millisecond
}

func (e *Engine) allStopped() bool {
	for _, in := range e.insts {
		if in.m.State() != vrrp.Stopped {
			return false
		}
	}
	return true
}

func (e *Engine) readLoop(family int, c *netio.Conn) {
	defer e.wg.Done()
	buf := make([]byte, 65536)
	for {
		p, err := c.Recv(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			e.log.Warn("VRRP receive failed", zap.Int("family", family), zap.Error(err))
			time.Sleep(100 * time.Millisecond)
			continue
		}
		p.Payload = slices.Clone(p.Payload)
		e.pkts <- received{family: family, p: p, at: time.Now()}
	}
}

// receive decodes, checks and delivers one packet.
func (e *Engine) receive(r received) {
	adv, drop := packet.Decode(r.p.Payload, r.p.Src, r.p.Dst, r.p.TTL)
	if drop != packet.Accept {
		e.drops[drop]++
		return
	}
	in := e.byKey[demuxKey{r.p.IfIndex, r.family, adv.VRID}]
	if in == nil {
		e.drops[packet.DropUnknownVRID]++
		return
	}
	if adv.Src == in.src {
		return // our own advert, looped back
	}
	if in.checkSrc && !in.peers[adv.Src] {
		in.stats.Drops["unknown_unicast_source"]++
		return
	}
	if d := packet.Check(adv, &in.expect); d != packet.Accept {
		in.stats.Drops[d.String()]++
		if in.stats.Drops[d.String()] == 1 {
			e.log.Warn("dropping adverts", zap.String("instance", in.cfg.Name), zap.Uint8("vrid", adv.VRID),
				zap.Stringer("peer", adv.Src), zap.Stringer("reason", d))
		}
		return
	}
	in.stats.AdvertsReceived++
	if adv.Priority == 0 {
		in.stats.PriorityZeroReceived++
	}
	e.step(in, r.at, vrrp.Advert{Src: adv.Src, Priority: adv.Priority,
		Interval: time.Duration(adv.Interval) * 10 * time.Millisecond})
}

func (e *Engine) link(ev linkwatch.Event) {
	now := time.Now()
	for _, in := range e.insts {
		own, tracked := in.tracksInterface(ev.Name)
		if own {
			e.step(in, now, vrrp.Link{Up: ev.Up})
		}
		if tracked {
			e.step(in, now, vrrp.TrackUpdate{Kind: vrrp.TrackInterface, Name: ev.Name, Up: ev.Up})
		}
	}
}

func (e *Engine) track(ev trackEvent) {
	now := time.Now()
	for _, in := range e.insts {
		switch ev.kind {
		case vrrp.TrackFile:
			e.step(in, now, vrrp.TrackValue{Name: ev.name, Value: ev.value})
		default:
			e.step(in, now, vrrp.TrackUpdate{Kind: ev.kind, Name: ev.name, Up: ev.up})
		}
	}
}

// step feeds one event to an instance and carries out its actions.
func (e *Engine) step(in *instance, now time.Time, ev vrrp.Event) {
	prio := in.m.Priority()
	for _, a := range in.m.Step(now, ev) {
		e.do(in, a)
	}
	if in.m.Priority() != prio {
		e.dirty = true
	}
	e.schedule(in)
	e.report(in)
}

// report tells the Reporter (the parent, and through it the arbiter
// agent) when what it sees of an instance changed: state, effective
// priority, the hold, or a held backup starting to wait.
func (e *Engine) report(in *instance) {
	if in.m.State() == vrrp.Init {
		// Not started or resumed yet: the known track states and holds
		// are applied first. Reporting INIT would tell the arbiter agent
		// that a resuming master stopped being one, and the agent gives
		// its lease back (a kill -9 of a master's vrrpd with a
		// track_script then cost the VIP for a master-down interval).
		return
	}
	held, why := in.m.Held()
	key := reportKey{state: in.m.State(), prio: in.m.Priority(), held: held, reason: why, waiting: in.m.Waiting(), stepping: in.m.Stepping()}
	if key == in.reported {
		return
	}
	in.reported = key
	if e.rep != nil {
		e.rep.InstanceChanged(e.status(in))
	}
}

// reportKey is what report compares.
type reportKey struct {
	state    vrrp.State
	prio     uint8
	held     bool
	reason   string
	waiting  bool
	stepping bool
}

// timeoutEvent is shared: Timeout carries no data.
var timeoutEvent vrrp.Event = vrrp.Timeout{}

func (e *Engine) do(in *instance, a vrrp.Action) {
	switch x := a.(type) {
	case vrrp.SendAdvert:
		e.sendAdvert(in, x.Priority)
	case vrrp.AddVIPs:
		e.addVIPs(in)
	case vrrp.RemoveVIPs:
		e.removeVIPs(in)
	case vrrp.SendGARP:
		in.stats.GARPs++
		repeat := in.garpRepeat
		switch {
		case strings.HasPrefix(x.Reason, "garp_master_refresh"):
			repeat = in.garpRefreshRepeat
		case strings.HasPrefix(x.Reason, "rival master"):
			repeat = in.garpRivalRepeat
		}
		if x.Reason == "became master" {
			// The first packet now, before the advert that follows:
			// see vrrp's becomeMaster. The rest of the burst is paced
			// by the announcer.
			e.sendGARPNow(in)
			repeat--
		}
		if repeat > 0 {
			e.queueGARP(in, repeat)
		}
	case vrrp.StateChanged:
		e.stateChanged(in, x)
	}
}

func (e *Engine) sendAdvert(in *instance, prio uint8) {
	adv := in.advert
	adv.Priority = prio
	conn := e.conn[in.family]
	for _, dst := range in.dsts {
		b, err := adv.Marshal(in.src, dst, in.checksum)
		if err != nil {
			e.log.Error("cannot encode advert", zap.String("instance", in.cfg.Name), zap.Error(err))
			return
		}
		if err := conn.Send(in.xmitIndex, in.src, dst, b); err != nil {
			in.stats.SendErrors++
			// One line per failure streak, not one per interval (a
			// firewall dropping adverts would flood the log at 0.1 s).
			if in.stats.SendErrors == 1 || in.stats.SendErrors%100 == 0 {
				e.log.Warn("advert not sent", zap.String("instance", in.cfg.Name), zap.Uint8("vrid", adv.VRID),
					zap.Stringer("peer", dst), zap.Error(err), zap.Uint64("failures", in.stats.SendErrors))
			}
			continue
		}
		if in.stats.SendErrors > 0 {
			e.log.Info("adverts are being sent again", zap.String("instance", in.cfg.Name),
				zap.Uint64("failed", in.stats.SendErrors))
			in.stats.SendErrors = 0
		}
		in.stats.AdvertsSent++
		if prio == 0 {
			in.stats.PriorityZeroSent++
		}
	}
}

func (e *Engine) addVIPs(in *instance) {
	c := in.cfg
	all := append(slices.Clone(c.VirtualIPAddresses), c.VirtualIPAddressesExcluded...)
	if err := e.adr.AddAddrs(in.vipDev, all); err != nil {
		e.log.Error("adding VIPs failed", zap.String("instance", c.Name), zap.Error(err))
	}
	if err := e.adr.AddRoutes(in.vipDev, c.VirtualRoutes); err != nil {
		e.log.Error("adding virtual routes failed", zap.String("instance", c.Name), zap.Error(err))
	}
	if err := e.adr.AddRules(c.VirtualRules); err != nil {
		e.log.Error("adding virtual rules failed", zap.String("instance", c.Name), zap.Error(err))
	}
}

func (e *Engine) removeVIPs(in *instance) {
	c := in.cfg
	if err := e.adr.RemoveRules(c.VirtualRules); err != nil {
		e.log.Error("removing virtual rules failed", zap.String("instance", c.Name), zap.Error(err))
	}
	if err := e.adr.RemoveRoutes(in.vipDev, c.VirtualRoutes); err != nil {
		e.log.Error("removing virtual routes failed", zap.String("instance", c.Name), zap.Error(err))
	}
	all := append(slices.Clone(c.VirtualIPAddresses), c.VirtualIPAddressesExcluded...)
	if err := e.adr.RemoveAddrs(in.vipDev, all); err != nil {
		e.log.Error("removing VIPs failed", zap.String("instance", c.Name), zap.Error(err))
	}
}

// keepalivedPhrase keeps the log lines existing alerting matches on.
var keepalivedPhrase = map[vrrp.State]string{
	vrrp.Master:  "Entering MASTER STATE",
	vrrp.Backup:  "Entering BACKUP STATE",
	vrrp.Fault:   "Entering FAULT STATE",
	vrrp.Stopped: "Stopped",
	vrrp.Init:    "Entering INIT STATE",
}

func (e *Engine) stateChanged(in *instance, x vrrp.StateChanged) {
	e.dirty = true
	if x.Resumed {
		e.log.Info(fmt.Sprintf("(%s) Resuming %s STATE after restart", in.cfg.Name, x.To),
			zap.String("instance", in.cfg.Name), zap.Uint8("vrid", uint8(in.cfg.VirtualRouterID)),
			zap.Uint8("priority", in.m.Priority()))
		return
	}
	in.stats.Transitions++
	in.stats.LastTransition = time.Now()
	if x.To == vrrp.Master {
		in.stats.BecameMaster++
	}
	if x.From == vrrp.Master {
		in.stats.ReleasedMaster++
	}
	master, masterPrio := in.m.Master()
	fields := []zap.Field{zap.String("instance", in.cfg.Name), zap.Uint8("vrid", uint8(in.cfg.VirtualRouterID)),
		zap.Stringer("from", x.From), zap.Stringer("to", x.To), zap.String("reason", x.Reason),
		zap.Uint8("priority", in.m.Priority())}
	if master.IsValid() {
		fields = append(fields, zap.Stringer("master", master), zap.Uint8("master_priority", masterPrio))
	}
	e.log.Info(fmt.Sprintf("(%s) %s", in.cfg.Name, keepalivedPhrase[x.To]), fields...)
	if x.To == vrrp.Master {
		in.epoch++
	}
	e.notify.transition(in.cfg, x.To, in.m.Priority(), x.Reason)
	e.mailTransition(in.cfg, x, in.m.Priority())
	e.propagate(in, x)
}

// sendGARPNow sends one gratuitous ARP / unsolicited NA for in's VIPs
// from the engine goroutine (one packet per family).
func (e *Engine) sendGARPNow(in *instance) {
	ifindex := e.garpIndex(in)
	if len(in.vips4) > 0 {
		if err := e.ann.GARP(ifindex, in.mac, in.vips4); err != nil {
			e.log.Warn("gratuitous ARP failed", zap.String("instance", in.cfg.Name), zap.Error(err))
		}
	}
	if len(in.vips6) > 0 {
		if err := e.ann.NA(ifindex, in.mac, in.vips6); err != nil {
			e.log.Warn("unsolicited NA failed", zap.String("instance", in.cfg.Name), zap.Error(err))
		}
	}
}

// queueGARP asks the announcer for a burst for in. A burst already
// pending for in covers this one too.
func (e *Engine) queueGARP(in *instance, repeat int) {
	e.garpMu.Lock()
	if !in.garpQueued {
		in.garpQueued = true
		in.garpBurst = 0
		e.garpPending = append(e.garpPending, in)
	}
	in.garpBurst = max(in.garpBurst, repeat, 1)
	e.garpMu.Unlock()
	select {
	case e.garpWake <- struct{}{}:
	default:
	}
}

// garpLoop sends announcements off the engine goroutine, so a burst with
// an interval between packets never delays adverts. Bursts of different
// instances interleave: each round sends one packet set per pending
// instance, then waits the shortest interval among them.
func (e *Engine) garpLoop(ctx context.Context) {
	type burst struct {
		in      *instance
		ifindex int
		left    int
		next    time.Time
	}
	var active []*burst
	for {
		e.garpMu.Lock()
		for _, in := range e.garpPending {
			in.garpQueued = false
			active = append(active, &burst{in: in, ifindex: e.garpIndex(in), left: in.garpBurst})
		}
		e.garpPending = e.garpPending[:0]
		e.garpMu.Unlock()

		now := time.Now()
		var wait time.Duration = -1
		kept := active[:0]
		for _, b := range active {
			if !now.Before(b.next) {
				in := b.in
				if len(in.vips4) > 0 {
					if err := e.ann.GARP(b.ifindex, in.mac, in.vips4); err != nil {
						e.log.Warn("gratuitous ARP failed", zap.String("instance", in.cfg.Name), zap.Error(err))
					}
				}
				if len(in.vips6) > 0 {
					if err := e.ann.NA(b.ifindex, in.mac, in.vips6); err != nil {
						e.log.Warn("unsolicited NA failed", zap.String("instance", in.cfg.Name), zap.Error(err))
					}
				}
				b.left--
				b.next = now.Add(in.garpInterval)
			}
			if b.left > 0 {
				kept = append(kept, b)
				if d := b.next.Sub(now); wait < 0 || d < wait {
					wait = max(d, 0)
				}
			}
		}
		active = kept
		var timer <-chan time.Time
		if wait >= 0 {
			timer = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.garpWake:
		case <-timer:
		}
	}
}

func trackEventOf(t TrackResult) trackEvent {
	if t.Kind == "file" {
		return trackEvent{kind: vrrp.TrackFile, name: t.Name, value: t.Value}
	}
	return trackEvent{kind: vrrp.TrackScript, name: t.Name, up: t.Up}
}

// ApplyTrack delivers a track result from checkd. It does not block the
// caller beyond ctx.
func (e *Engine) ApplyTrack(ctx context.Context, t TrackResult) error {
	select {
	case e.tracks <- trackEventOf(t):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
