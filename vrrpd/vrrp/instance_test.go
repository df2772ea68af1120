package vrrp

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0    = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func cfg(prio uint8, mods ...func(*Config)) Config {
	c := Config{VRID: 1, Version: 3, Priority: prio, Interval: time.Second, Preempt: true, Primary: addrA}
	for _, m := range mods {
		m(&c)
	}
	return c
}

func mustNew(t *testing.T, c Config) *Instance {
	t.Helper()
	in, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// describe renders actions compactly for comparisons.
func describe(as []Action) string {
	var parts []string
	for _, a := range as {
		switch x := a.(type) {
		case SendAdvert:
			parts = append(parts, fmt.Sprintf("advert(%d)", x.Priority))
		case AddVIPs:
			parts = append(parts, "add")
		case RemoveVIPs:
			parts = append(parts, "remove")
		case SendGARP:
			parts = append(parts, "garp")
		case StateChanged:
			parts = append(parts, fmt.Sprintf("%v>%v", x.From, x.To))
		}
	}
	return strings.Join(parts, " ")
}

// RFC 5798 §6.4.1: only the address owner goes straight to Master.
func TestInitialize(t *testing.T) {
	tests := []struct {
		name     string
		c        Config
		want     string
		state    State
		deadline time.Duration
	}{
		{"owner with state MASTER", cfg(255, func(c *Config) { c.StartMaster = true }), "INIT>MASTER add garp advert(255)", Master, time.Second},
		{"owner with state BACKUP waits", cfg(255), "INIT>BACKUP", Backup, 3*time.Second + time.Second/256},
		{"state MASTER below 255 waits (keepalived)", cfg(100, func(c *Config) { c.StartMaster = true }), "INIT>BACKUP", Backup, ms(3609.375)},
		{"backup", cfg(100), "INIT>BACKUP", Backup, ms(3609.375)},
		{"preempt_delay extends the first wait", cfg(100, func(c *Config) { c.PreemptDelay = 2 * time.Second }), "INIT>BACKUP", Backup, ms(5609.375)},
		{"fault at start", cfg(100, func(c *Config) { c.Tracks = []Track{{Kind: TrackScript, Name: "chk", InitDown: true}} }), "INIT>FAULT", Fault, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustNew(t, tt.c)
			got := describe(in.Step(t0, Start{}))
			if got != tt.want {
				t.Errorf("actions %q, want %q", got, tt.want)
			}
			if in.State() != tt.state {
				t.Errorf("state %v, want %v", in.State(), tt.state)
			}
			var want time.Time
			if tt.deadline > 0 {
				want = t0.Add(tt.deadline)
			}
			if !in.Deadline().Equal(want) {
				t.Errorf("deadline %v, want +%v", in.Deadline().Sub(t0), tt.deadline)
			}
		})
	}
}

// Skew_Time and Master_Down_Interval, RFC 3768 §6.1 and RFC 5798 §6.1.
func TestTimers(t *testing.T) {
	tests := []struct {
		name           string
		version        uint8
		prio           uint8
		interval       time.Duration
		learned        time.Duration // v3 master's interval, 0: none learned
		skew, downIntv time.Duration
	}{
		{"v2 priority 100", 2, 100, time.Second, 0, ms(609.375), ms(3609.375)},
		{"v2 priority 254", 2, 254, time.Second, 0, ms(7.8125), ms(3007.8125)},
		{"v2 skew ignores the interval", 2, 100, 3 * time.Second, 0, ms(609.375), ms(9609.375)},
		{"v3 own interval before any advert", 3, 100, ms(100), 0, ms(60.9375), ms(360.9375)},
		{"v3 uses the master's interval, not its own", 3, 100, time.Second, ms(200), ms(121.875), ms(721.875)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustNew(t, cfg(tt.prio, func(c *Config) { c.Version = tt.version; c.Interval = tt.interval }))
			in.Step(t0, Start{})
			if tt.learned > 0 {
				in.Step(t0, Advert{Src: addrB, Priority: 200, Interval: tt.learned})
				if in.MasterInterval() != tt.learned {
					t.Fatalf("master interval %v, want %v", in.MasterInterval(), tt.learned)
				}
				if want := t0.Add(tt.downIntv); !in.Deadline().Equal(want) {
					t.Errorf("master-down timer at +%v, want +%v", in.Deadline().Sub(t0), tt.downIntv)
				}
			}
			if got := in.SkewTime(); got != tt.skew {
				t.Errorf("skew %v, want %v", got, tt.skew)
			}
			if got := in.MasterDownInterval(); got != tt.downIntv {
				t.Errorf("master down interval %v, want %v", got, tt.downIntv)
			}
		})
	}
}

// RFC 5798 §6.4.2: Backup.
func TestBackup(t *testing.T) {
	down := ms(3609.375)
	tests := []struct {
		name     string
		c        Config
		at       time.Duration
		ev       Event
		want     string
		state    State
		deadline time.Duration // from t0
	}{
		{"master down timer makes us master", cfg(100), down, Timeout{}, "BACKUP>MASTER add garp advert(100)", Master, down + time.Second},
		{"timeout before the deadline does nothing", cfg(100), down - 1, Timeout{}, "", Backup, down},
		{"priority 0 advert: take over after skew time", cfg(100), time.Second, Advert{Src: addrB, Priority: 0}, "", Backup, time.Second + ms(609.375)},
		{"higher priority advert resets the timer", cfg(100), time.Second, Advert{Src: addrB, Priority: 150, Interval: time.Second}, "", Backup, time.Second + down},
		{"equal priority advert resets the timer (no address tie-break in backup)", cfg(100), time.Second, Advert{Src: addrB, Priority: 100, Interval: time.Second}, "", Backup, time.Second + down},
		{"lower priority advert is discarded with preempt", cfg(100), time.Second, Advert{Src: addrB, Priority: 50, Interval: time.Second}, "", Backup, down},
		{"lower priority advert resets the timer with nopreempt", cfg(100, func(c *Config) { c.Preempt = false }), time.Second, Advert{Src: addrB, Priority: 50, Interval: time.Second}, "", Backup, time.Second + down},
		{"stop", cfg(100), time.Second, Stop{}, "BACKUP>STOPPED", Stopped, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustNew(t, tt.c)
			in.Step(t0, Start{})
			got := describe(in.Step(t0.Add(tt.at), tt.ev))
			if got != tt.want {
				t.Errorf("actions %q, want %q", got, tt.want)
			}
			if in.State() != tt.state {
				t.Errorf("state %v, want %v", in.State(), tt.state)
			}
			var want time.Time
			if tt.deadline > 0 {
				want = t0.Add(tt.deadline)
			}
			if !in.Deadline().Equal(want) {
				t.Errorf("deadline +%v, want +%v", in.Deadline().Sub(t0), tt.deadline)
			}
		})
	}
}

// masterAt returns an instance that became master at t0.
func masterAt(t *testing.T, c Config) *Instance {
	t.Helper()
	c.StartMaster, c.Priority = true, 255
	in := mustNew(t, c)
	in.Step(t0, Start{})
	in.cfg.Priority = 100 // behave as a priority-100 master from here on
	in.recompute()
	return in
}

// RFC 5798 §6.4.3: Master.
func TestMaster(t *testing.T) {
	tests := []struct {
		name  string
		ev    Event
		want  string
		state State
	}{
		{"advert timer", Timeout{}, "advert(100)", Master},
		{"higher priority advert: yield, then notify the winner", Advert{Src: addrB, Priority: 150, Interval: time.Second}, "MASTER>BACKUP remove advert(100)", Backup},
		{"equal priority, higher address wins", Advert{Src: addrB, Priority: 100, Interval: time.Second}, "MASTER>BACKUP remove advert(100)", Backup},
		{"equal priority, lower address loses", Advert{Src: netip.MustParseAddr("198.18.0.0"), Priority: 100, Interval: time.Second}, "advert(100) garp", Master},
		{"lower priority rival: answer and announce", Advert{Src: addrB, Priority: 50, Interval: time.Second}, "advert(100) garp", Master},
		{"priority 0 from a stopping router: answer", Advert{Src: addrB, Priority: 0}, "advert(100)", Master},
		{"stop keeps the addresses until a successor speaks", Stop{}, "advert(0)", Master},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := masterAt(t, cfg(100))
			got := describe(in.Step(t0.Add(time.Second), tt.ev))
			if got != tt.want {
				t.Errorf("actions %q, want %q", got, tt.want)
			}
			if in.State() != tt.state {
				t.Errorf("state %v, want %v", in.State(), tt.state)
			}
		})
	}
}

// Adverts leave on a fixed schedule: a late timer delivery does not shift
// the following adverts.
func TestAdvertsDoNotDrift(t *testing.T) {
	in := masterAt(t, cfg(100))
	for i := 1; i <= 5; i++ {
		late := time.Duration(i) * ms(30)
		if got := describe(in.Step(t0.Add(time.Duration(i)*time.Second+late), Timeout{})); got != "advert(100)" {
			t.Fatalf("tick %d: %q", i, got)
		}
		if want := t0.Add(time.Duration(i+1) * time.Second); !in.Deadline().Equal(want) {
			t.Fatalf("tick %d: next advert at +%v, want +%v", i, in.Deadline().Sub(t0), want.Sub(t0))
		}
	}
}

func TestStopMakeBeforeBreak(t *testing.T) {
	t.Run("successor's advert releases the addresses", func(t *testing.T) {
		in := masterAt(t, cfg(100))
		in.Step(t0, Stop{})
		if got := describe(in.Step(t0.Add(ms(700)), Advert{Src: addrB, Priority: 90, Interval: time.Second})); got != "" {
			t.Errorf("at the successor's advert: %q, want nothing yet (the addresses linger)", got)
		}
		if want := t0.Add(ms(700) + HandoverLinger); !in.Deadline().Equal(want) {
			t.Errorf("release due at +%v, want +%v", in.Deadline().Sub(t0), want.Sub(t0))
		}
		if got := describe(in.Step(t0.Add(ms(710)), Advert{Src: addrB, Priority: 90, Interval: time.Second})); got != "" {
			t.Errorf("a second advert while lingering: %q, want nothing", got)
		}
		if got := describe(in.Step(t0.Add(ms(700)+HandoverLinger), Timeout{})); got != "remove MASTER>STOPPED" {
			t.Errorf("after the linger: %q", got)
		}
	})
	t.Run("bounded when nobody takes over", func(t *testing.T) {
		in := masterAt(t, cfg(100))
		in.Step(t0, Stop{})
		if got := describe(in.Step(t0.Add(time.Second), Timeout{})); got != "advert(0)" {
			t.Errorf("at +1s: %q", got)
		}
		if got := describe(in.Step(t0.Add(2*time.Second), Timeout{})); got != "remove MASTER>STOPPED" {
			t.Errorf("at +2s: %q", got)
		}
		if !in.Deadline().IsZero() {
			t.Errorf("timers left armed after stop")
		}
	})
}

func TestGARPSchedule(t *testing.T) {
	in := masterAt(t, cfg(100, func(c *Config) { c.GARPDelay = 5 * time.Second; c.GARPRefresh = 60 * time.Second }))
	var garps []time.Duration
	for now := t0; now.Before(t0.Add(130 * time.Second)); now = in.Deadline() {
		for _, a := range in.Step(now, Timeout{}) {
			if _, ok := a.(SendGARP); ok {
				garps = append(garps, now.Sub(t0))
			}
		}
	}
	want := []time.Duration{5 * time.Second, 60 * time.Second, 120 * time.Second}
	if !reflect.DeepEqual(garps, want) {
		t.Errorf("GARPs at %v, want %v", garps, want)
	}
}

// Every ownership change ends with GARP from the sole owner: after a rival
// master yields, the winner announces once more when the rival went quiet.
func TestFinalGARPAfterRivalYields(t *testing.T) {
	in := masterAt(t, cfg(100))
	rival := Advert{Src: addrB, Priority: 50, Interval: time.Second}
	if got := describe(in.Step(t0.Add(ms(500)), rival)); got != "advert(100) garp" {
		t.Fatalf("first rival advert: %q", got)
	}
	if got := describe(in.Step(t0.Add(ms(1400)), rival)); got != "advert(100)" {
		t.Fatalf("second rival advert: %q (one GARP per episode)", got)
	}
	var final time.Duration
	for now := in.Deadline(); now.Before(t0.Add(10 * time.Second)); now = in.Deadline() {
		for _, a := range in.Step(now, Timeout{}) {
			if g, ok := a.(SendGARP); ok && strings.Contains(g.Reason, "yielded") {
				final = now.Sub(t0)
			}
		}
		if final > 0 {
			break
		}
	}
	if want := ms(1400) + ms(1500); final != want {
		t.Errorf("final GARP at +%v, want +%v (1.5 intervals after the rival's last advert)", final, want)
	}
}

// keepalived's weight rules, keepalived.conf(5) "track_script",
// "track_interface" and "Track files".
func TestEffectivePriority(t *testing.T) {
	tests := []struct {
		name   string
		base   uint8
		track  Track
		up     bool
		value  int64
		prio   uint8
		faulty bool
	}{
		{"positive weight added while up", 100, Track{Weight: 10}, true, 0, 110, false},
		{"positive weight nothing while down", 100, Track{Weight: 10}, false, 0, 100, false},
		{"negative weight nothing while up", 100, Track{Weight: -10}, true, 0, 100, false},
		{"negative weight subtracted while down", 100, Track{Weight: -10}, false, 0, 90, false},
		{"reverse positive: subtracted while up", 100, Track{Weight: 10, Reverse: true}, true, 0, 90, false},
		{"reverse negative: added while down", 100, Track{Weight: -10, Reverse: true}, false, 0, 110, false},
		{"weight 0: fault while down", 100, Track{Weight: 0}, false, 0, 100, true},
		{"weight 0 reverse: fault while up", 100, Track{Weight: 0, Reverse: true}, true, 0, 100, true},
		{"clamped to 254", 250, Track{Weight: 10}, true, 0, 254, false},
		{"clamped to 1", 5, Track{Weight: -10}, false, 0, 1, false},
		{"owner is never moved", 255, Track{Weight: -50}, false, 0, 255, false},
		{"file value times weight", 100, Track{Kind: TrackFile, Weight: 2}, true, 7, 114, false},
		{"file negative value", 100, Track{Kind: TrackFile, Weight: 1}, true, -30, 70, false},
		{"file below -253 is a fault", 100, Track{Kind: TrackFile, Weight: 254}, true, -1, 100, true},
		{"file weight 0: non-zero is a fault", 100, Track{Kind: TrackFile, Weight: 0}, true, 3, 100, true},
		{"file weight 0: zero is fine", 100, Track{Kind: TrackFile, Weight: 0}, true, 0, 100, false},
		{"file reverse", 100, Track{Kind: TrackFile, Weight: 2, Reverse: true}, true, 7, 86, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.track.Name = "x"
			in := mustNew(t, cfg(tt.base, func(c *Config) { c.Tracks = []Track{tt.track} }))
			if tt.track.Kind == TrackFile {
				in.Step(t0, TrackValue{Name: "x", Value: tt.value})
			} else {
				in.Step(t0, TrackUpdate{Kind: tt.track.Kind, Name: "x", Up: tt.up})
			}
			if in.Priority() != tt.prio || in.faulty != tt.faulty {
				t.Errorf("priority %d faulty %v, want %d %v", in.Priority(), in.faulty, tt.prio, tt.faulty)
			}
		})
	}
}

func TestTrackingTransitions(t *testing.T) {
	c := cfg(100, func(c *Config) {
		c.Tracks = []Track{{Kind: TrackScript, Name: "chk", Weight: -20}, {Kind: TrackInterface, Name: "eth1", Weight: 0}}
	})
	in := masterAt(t, c)
	steps := []struct {
		ev   Event
		want string
	}{
		{TrackUpdate{Kind: TrackScript, Name: "chk", Up: false}, "advert(80)"},
		{TrackUpdate{Kind: TrackScript, Name: "chk", Up: false}, ""},
		{TrackUpdate{Kind: TrackInterface, Name: "eth1", Up: false}, "advert(0) remove MASTER>FAULT"},
		{Advert{Src: addrB, Priority: 90}, ""},
		{TrackUpdate{Kind: TrackInterface, Name: "eth1", Up: true}, "FAULT>BACKUP"},
		{Link{Up: false}, "BACKUP>FAULT"},
		{Link{Up: true}, "FAULT>BACKUP"},
	}
	for i, s := range steps {
		if got := describe(in.Step(t0.Add(time.Duration(i)*time.Millisecond), s.ev)); got != s.want {
			t.Errorf("step %d (%T %+v): %q, want %q", i, s.ev, s.ev, got, s.want)
		}
	}
}

func TestHold(t *testing.T) {
	in := masterAt(t, cfg(100))
	if got := describe(in.Step(t0, Hold{On: true, Reason: "arbiter"})); got != "MASTER>BACKUP remove" {
		t.Fatalf("hold on master: %q", got)
	}
	for now := in.Deadline(); now.Before(t0.Add(20 * time.Second)); now = in.Deadline() {
		if got := describe(in.Step(now, Timeout{})); got != "" {
			t.Fatalf("held backup acted at +%v: %q", now.Sub(t0), got)
		}
	}
	if !in.Waiting() {
		t.Fatal("a held backup past its master-down time does not report Waiting")
	}
	// Released after the master-down timer expired: take over at once.
	if got := describe(in.Step(t0.Add(20*time.Second), Hold{On: false})); got != "BACKUP>MASTER add garp advert(100)" {
		t.Errorf("release after master down: %q", got)
	}
}

// A held backup that hears its master again is no longer waiting: a
// released hold then changes nothing.
func TestHoldReleasedWithLiveMaster(t *testing.T) {
	in := mustNew(t, cfg(100))
	in.Step(t0, Start{})
	in.Step(t0, Hold{On: true, Reason: "peer master alive"})
	in.Step(in.Deadline(), Timeout{})
	if !in.Waiting() {
		t.Fatal("not waiting after master down while held")
	}
	now := in.Deadline().Add(-time.Millisecond)
	in.Step(now, Advert{Src: addrB, Priority: 200, Interval: time.Second})
	if in.Waiting() {
		t.Fatal("still waiting after an advert from the master")
	}
	if got := describe(in.Step(now, Hold{On: false})); got != "" {
		t.Errorf("release with a live master: %q", got)
	}
	if held, _ := in.Held(); held {
		t.Error("Held after release")
	}
}

func TestPreemptDelay(t *testing.T) {
	in := mustNew(t, cfg(100, func(c *Config) { c.PreemptDelay = 5 * time.Second }))
	in.Step(t0, Start{})
	low := Advert{Src: addrB, Priority: 50, Interval: time.Second}
	// Within the delay the lower master is followed.
	for s := 1; s <= 5; s++ {
		in.Step(t0.Add(time.Duration(s)*time.Second), low)
		if in.State() != Backup {
			t.Fatalf("took over at +%ds, inside preempt_delay", s)
		}
	}
	// After it, its adverts are discarded and we take over.
	for s := 6; s <= 12; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		if d := in.Deadline(); !d.After(now) {
			in.Step(d, Timeout{})
		}
		if in.State() == Master {
			if s > 10 {
				t.Errorf("took over only at +%ds", s)
			}
			return
		}
		in.Step(now, low)
	}
	t.Fatal("never preempted the lower master")
}

func TestNewRejects(t *testing.T) {
	for _, c := range []Config{
		cfg(100, func(c *Config) { c.VRID = 0 }),
		cfg(100, func(c *Config) { c.Version = 4 }),
		cfg(0),
		cfg(100, func(c *Config) { c.Interval = 0 }),
		cfg(100, func(c *Config) { c.Version = 2; c.Interval = ms(500) }),
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestGroupEvents(t *testing.T) {
	t.Run("backup follows the group to master", func(t *testing.T) {
		in := mustNew(t, cfg(100))
		in.Step(t0, Start{})
		if got := describe(in.Step(t0.Add(time.Second), Group{To: Master, Reason: "VI_2 became master"})); got != "BACKUP>MASTER add garp advert(100)" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("master yields with the group", func(t *testing.T) {
		in := masterAt(t, cfg(100))
		if got := describe(in.Step(t0.Add(time.Second), Group{To: Backup})); got != "MASTER>BACKUP remove" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("group fault and recovery", func(t *testing.T) {
		in := masterAt(t, cfg(100))
		if got := describe(in.Step(t0.Add(time.Second), Group{To: Fault})); got != "advert(0) remove MASTER>FAULT" {
			t.Errorf("fault: %q", got)
		}
		if got := describe(in.Step(t0.Add(2*time.Second), Group{To: Backup})); got != "FAULT>BACKUP" {
			t.Errorf("recovery: %q", got)
		}
	})
	t.Run("a group recovery does not clear the member's own fault", func(t *testing.T) {
		in := mustNew(t, cfg(100, func(c *Config) { c.Tracks = []Track{{Kind: TrackScript, Name: "chk"}} }))
		in.Step(t0, Start{})
		in.Step(t0, Group{To: Fault})
		in.Step(t0, TrackUpdate{Kind: TrackScript, Name: "chk", Up: false})
		if got := describe(in.Step(t0.Add(time.Second), Group{To: Backup})); got != "" || in.State() != Fault {
			t.Errorf("got %q, state %v", got, in.State())
		}
	})
	t.Run("a held backup does not follow the group to master", func(t *testing.T) {
		in := mustNew(t, cfg(100))
		in.Step(t0, Start{})
		in.Step(t0, Hold{On: true})
		if got := describe(in.Step(t0.Add(time.Second), Group{To: Master})); got != "" {
			t.Errorf("got %q", got)
		}
	})
}

// Hitless restart: a resumed master adopts its addresses and advertises at
// once, with one GARP (a backup may have taken over meanwhile) and a
// Resumed transition (no notify).
func TestResume(t *testing.T) {
	tests := []struct {
		name  string
		c     Config
		r     Resume
		want  string
		state State
	}{
		{"master resumes at once", cfg(100), Resume{State: Master}, "INIT>MASTER add garp advert(100)", Master},
		{"backup starts as usual", cfg(100), Resume{State: Backup}, "INIT>BACKUP", Backup},
		{"a faulty master does not resume", cfg(100, func(c *Config) { c.Tracks = []Track{{Kind: TrackScript, Name: "x", InitDown: true}} }),
			Resume{State: Master}, "INIT>FAULT", Fault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustNew(t, tt.c)
			acts := in.Step(t0, tt.r)
			if got := describe(acts); got != tt.want {
				t.Errorf("actions %q, want %q", got, tt.want)
			}
			if in.State() != tt.state {
				t.Errorf("state %v", in.State())
			}
			if tt.state == Master {
				if sc, ok := acts[0].(StateChanged); !ok || !sc.Resumed {
					t.Errorf("first action %+v is not a resumed transition", acts[0])
				}
				if want := t0.Add(time.Second); !in.Deadline().Equal(want) {
					t.Errorf("next advert at +%v", in.Deadline().Sub(t0))
				}
			}
		})
	}
	t.Run("a v3 backup keeps the learned interval", func(t *testing.T) {
		in := mustNew(t, cfg(100))
		in.Step(t0, Resume{State: Backup, MasterInterval: ms(200)})
		if in.MasterDownInterval() != ms(721.875) {
			t.Errorf("master down interval %v", in.MasterDownInterval())
		}
	})
}
