package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/checkd/probe"
	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
)

// MaxProbeRecords bounds the probes a Vigil child remembers (about 200 s
// of 10,000 checks a second).
const MaxProbeRecords = 2_000_000

// ProbeReport is Vigil's own view of its probes that started and ended in
// the window.
type ProbeReport struct {
	Checkers int  `json:"checkers"`
	Probes   int  `json:"probes"`
	Failed   int  `json:"failed"`
	Latency  Dist `json:"latency"` // probe start to end, ms
	Dropped  int  `json:"dropped"` // probes not recorded (MaxProbeRecords)
}

type probeRecord struct {
	start int64 // unix ns
	dur   time.Duration
	ok    bool
}

// RunVigil is the Vigil checker process: it loads the configuration at
// conf, builds checkd's plan and runs it with checkd.Runner, as the daemon
// does, with every probe timed. It prints "READY <checkers>" on out, then
// waits for "WINDOW <from-unix-ns> <to-unix-ns>" on in, stops, and prints
// "RESULT <ProbeReport JSON>" for the probes run in that window.
func RunVigil(conf string, in io.Reader, out io.Writer) error {
	cfg, diags := config.Load(conf, config.Options{})
	if diags.HasErrors() {
		return fmt.Errorf("%s: %v", conf, diags.Errors())
	}
	checkd.TuneRuntime() // as the daemon's checkd child
	plan := checkd.Build(cfg, checkd.Env{})
	if len(plan.Refused) > 0 {
		return fmt.Errorf("refused checkers: %v", plan.Refused)
	}
	var mu sync.Mutex
	recs := make([]probeRecord, 0, 1<<16)
	dropped := 0
	record := func(s time.Time, r probe.Result) {
		d := time.Since(s)
		mu.Lock()
		if len(recs) < MaxProbeRecords {
			recs = append(recs, probeRecord{start: s.UnixNano(), dur: d, ok: r.OK})
		} else {
			dropped++
		}
		mu.Unlock()
	}
	for i := range plan.Checkers {
		if start := plan.Checkers[i].Start; start != nil {
			plan.Checkers[i].Start = func(done func(probe.Result)) func() {
				s := time.Now()
				return start(func(r probe.Result) { record(s, r); done(r) })
			}
		}
		orig := plan.Checkers[i].Probe
		plan.Checkers[i].Probe = func(ctx context.Context) probe.Result {
			s := time.Now()
			r := orig(ctx)
			d := time.Since(s)
			mu.Lock()
			if len(recs) < MaxProbeRecords {
				recs = append(recs, probeRecord{start: s.UnixNano(), dur: d, ok: r.OK})
			} else {
				dropped++
			}
			mu.Unlock()
			return r
		}
	}
	r := checkd.NewRunner(plan, zap.NewNop(), nil, func(ipc.Backend) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	fmt.Fprintf(out, "READY %d\n", len(plan.Checkers))

	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil {
		return fmt.Errorf("waiting for the window: %w", err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "WINDOW" {
		return fmt.Errorf("want WINDOW FROM TO, got %q", line)
	}
	from, err1 := strconv.ParseInt(f[1], 10, 64)
	to, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad window %q", line)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("checkd.Runner did not stop within 30 s")
	}
	mu.Lock()
	defer mu.Unlock()
	rep := ProbeReport{Checkers: len(plan.Checkers), Dropped: dropped}
	var lat []float64
	for _, p := range recs {
		// Probes that ended in the window: the ones cut short by the stop
		// after it are not counted.
		if p.start < from || p.start+int64(p.dur) >= to {
			continue
		}
		rep.Probes++
		if !p.ok {
			rep.Failed++
		}
		lat = append(lat, ms(p.dur))
	}
	rep.Latency = Summarise(lat)
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "RESULT %s\n", b)
	return nil
}
