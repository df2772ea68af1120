package sched

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/probe"
)

// 2,000 real TCP_CHECKs against loopback listeners at delay_loop 1 s: the
// probes are spread over the second (no 100 ms slice holds more than twice
// the average), every one succeeds, and each check keeps its cadence.
func TestScaleTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	const (
		checks   = 2000
		interval = time.Second
		runFor   = 3500 * time.Millisecond
		bucket   = 100 * time.Millisecond
	)
	// Four listeners (127.0.0.1-4) share the connection load, so the
	// client side's TIME_WAIT ports are spread over four destinations.
	var targets []netip.AddrPort
	var listeners []net.Listener
	var wg sync.WaitGroup
	t.Cleanup(func() {
		for _, ln := range listeners {
			ln.Close()
		}
		wg.Wait()
	})
	for i := 1; i <= 4; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, ln)
		targets = append(targets, netip.MustParseAddrPort(ln.Addr().String()))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}

	var mu sync.Mutex
	var starts []time.Duration
	var failures []string
	perCheck := map[string]int{}
	begin := time.Now()
	s := New(Options{OnEvent: func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, e.Start.Sub(begin))
		perCheck[e.ID]++
		if !e.Result.OK && len(failures) < 10 {
			failures = append(failures, e.ID+": "+e.Result.Detail)
		}
	}})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range checks {
		m := health.NewChecker(health.CheckerConfig{DelayLoop: interval, Warmup: interval, Retry: 1, DelayBeforeRetry: interval})
		m.Start(begin, rng.Float64())
		target := targets[i%len(targets)]
		// keepalived's default connect_timeout: a SYN the kernel drops
		// under load is retransmitted within it.
		conn := probe.Conn{Addr: target, Timeout: probe.DefaultTimeout}
		c := Check{ID: fmt.Sprint(i), Machine: m, Timeout: 10 * time.Second,
			Probe: func(ctx context.Context) probe.Result { return probe.TCP(ctx, conn) }}
		if i%2 == 0 || os.Getenv("VIGIL_ALL_START") != "" {
			// Half without a goroutine per probe, as TCP_CHECK runs.
			c.Start = func(done func(probe.Result)) func() { return probe.StartTCP(conn, done) }
		}
		err := s.Add(c)
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), runFor)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Errorf("failed probes, e.g. %v", failures)
	}
	// Whole buckets from the start to the last full one.
	nb := int(3 * time.Second / bucket)
	counts := make([]int, nb)
	total := 0
	for _, st := range starts {
		if b := int(st / bucket); b >= 0 && b < nb {
			counts[b]++
			total++
		}
	}
	avg := float64(total) / float64(nb)
	peak := 0
	for _, c := range counts {
		peak = max(peak, c)
	}
	t.Logf("%d probes in 3 s (%.0f per 100 ms on average, peak %d), stats %+v", total, avg, peak, s.Stats())
	if float64(peak) > 2*avg {
		t.Errorf("probes bunch: %d in one 100 ms slice, average %.0f; slices: %v", peak, avg, counts)
	}
	if total < 5000 {
		t.Errorf("only %d probes in 3 s, want about %d", total, 3*checks)
	}
	for i := range checks {
		if n := perCheck[fmt.Sprint(i)]; n < 2 || n > 4 {
			t.Errorf("check %d ran %d times in %v", i, n, runFor)
			break
		}
	}
}
