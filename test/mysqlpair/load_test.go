package mysqlpair_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

const (
	writeEvery  = 20 * time.Millisecond
	sampleEvery = 50 * time.Millisecond
	// maxWrites bounds each writer (a minute at writeEvery).
	maxWrites = 3000
)

// load is the application side of the pair: two writers and the
// read_only sampler, running until stop.
type load struct {
	// gate: writers hold it shared for each attempt; pause takes it, so
	// the tables can be compared while nothing is written.
	gate    sync.RWMutex
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	writers []*writer
	sampler *sampler
}

// startLoad starts the writers and the sampler. Writer "a" is an
// application co-located on node A, writer "b" one on the service
// network's client: when A is cut off, "a" still reaches A (while A holds
// the VIP) and "b" reaches whichever node answers the VIP on the switch.
// Two writers on two sides is what lets a split brain diverge.
func (b *bed) startLoad() {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{ctx: ctx, cancel: cancel, sampler: &sampler{a: b.a.db, b: b.b.db}}
	for _, w := range []*writer{{name: "a", ns: b.a.ns}, {name: "b", ns: b.client}} {
		l.writers = append(l.writers, w)
		l.wg.Add(1)
		go func() { defer l.wg.Done(); w.run(ctx, &l.gate) }()
	}
	l.wg.Add(1)
	go func() { defer l.wg.Done(); l.sampler.run(ctx) }()
	b.load = l
}

// pause waits for the writers' attempts in progress and holds the next
// ones until resume.
func (l *load) pause()  { l.gate.Lock() }
func (l *load) resume() { l.gate.Unlock() }

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// writer inserts sequential rows through the VIP as the application user,
// one every writeEvery on one connection, reconnecting after an error.
type writer struct {
	name string
	ns   *lab.NS
	mu   sync.Mutex
	ok   []write // acknowledged inserts
	errs int
	last string // the last error
}

type write struct {
	seq int
	id  uint64
	at  time.Time
}

func (w *writer) run(ctx context.Context, gate *sync.RWMutex) {
	var c *myConn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	t := time.NewTicker(writeEvery)
	defer t.Stop()
	for seq := 1; seq <= maxWrites; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c = w.attempt(c, seq, gate)
	}
}

// attempt makes one insert (connecting first when needed) and returns the
// connection to use next, nil after an error.
func (w *writer) attempt(c *myConn, seq int, gate *sync.RWMutex) *myConn {
	gate.RLock()
	defer gate.RUnlock()
	if c == nil {
		var err error
		c, err = myDial(func() (net.Conn, error) {
			var conn net.Conn
			err := w.ns.Do(func() (err error) {
				conn, err = net.DialTimeout("tcp", net.JoinHostPort(vip.String(), "3306"), 300*time.Millisecond)
				return err
			})
			return conn, err
		}, "app", "change-me-app", "appdb", 500*time.Millisecond)
		if err != nil {
			w.fail(err)
			return nil
		}
	}
	at := time.Now()
	r, err := c.Query(fmt.Sprintf("INSERT INTO writes (writer, seq, server) VALUES ('%s', %d, @@server_id)", w.name, seq))
	if err != nil {
		w.fail(err)
		c.Close()
		return nil
	}
	w.mu.Lock()
	w.ok = append(w.ok, write{seq: seq, id: r.InsertID, at: at})
	w.mu.Unlock()
	return c
}

func (w *writer) fail(err error) {
	w.mu.Lock()
	w.errs++
	w.last = err.Error()
	w.mu.Unlock()
}

// acked counts the writer's acknowledged inserts since from.
func (w *writer) acked(from time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, x := range w.ok {
		if !x.at.Before(from) {
			n++
		}
	}
	return n
}

// sampler reads @@read_only of both servers every sampleEvery through
// their unix sockets, independent of any network cut.
type sampler struct {
	a, b    *server
	mu      sync.Mutex
	samples []sample
}

// sample: 0 writable, 1 read-only, -1 not answering.
type sample struct {
	at   time.Time
	a, b int
}

func (s *sampler) run(ctx context.Context) {
	conns := map[*server]*myConn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	read := func(srv *server) int {
		c := conns[srv]
		if c == nil {
			var err error
			if c, err = srv.probe(); err != nil {
				return -1
			}
			conns[srv] = c
		}
		v, err := c.value("SELECT @@global.read_only")
		if err != nil {
			c.Close()
			delete(conns, srv)
			return -1
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return -1
		}
		return n
	}
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for range 100000 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		x := sample{at: time.Now(), a: read(s.a), b: read(s.b)}
		s.mu.Lock()
		s.samples = append(s.samples, x)
		s.mu.Unlock()
	}
}

// window returns the samples taken in [from, to].
func (s *sampler) window(from, to time.Time) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sample
	for _, x := range s.samples {
		if !x.at.Before(from) && !x.at.After(to) {
			out = append(out, x)
		}
	}
	return out
}

// waitSample waits for a sample after now that satisfies ok.
func (s *sampler) waitSample(timeout time.Duration, ok func(sample) bool) bool {
	from := time.Now()
	deadline := from.Add(timeout)
	for time.Now().Before(deadline) {
		for _, x := range s.window(from, time.Now()) {
			if ok(x) {
				return true
			}
		}
		time.Sleep(sampleEvery)
	}
	return false
}
