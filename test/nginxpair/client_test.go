package nginxpair_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// request is one GET through the VIP.
type request struct {
	At   time.Time // when it started
	Took time.Duration
	OK   bool   // 200 with a body naming a node
	Node string // who served it ("served by NODE")
	Err  string
}

// client fetches a URL from inside a namespace every interval, each
// request on a new connection (no keep-alive: each one is routed afresh,
// by the client's ARP entry for the VIP at that moment) and bounded by
// timeout, and records every one.
type client struct {
	mu     sync.Mutex
	reqs   []request
	cancel context.CancelFunc
	done   chan struct{}
	// Dials in flight, and whether stop has begun (a WaitGroup would not
	// do: net/http starts dials at any time, concurrently with stop).
	dialMu   sync.Mutex
	dialIdle *sync.Cond
	dials    int
	stopping bool
}

// maxRequests bounds the record (and the loop): 3 minutes at 10 ms.
const maxRequests = 18000

func startClient(t *testing.T, ns *lab.NS, url string, interval, timeout time.Duration) *client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{cancel: cancel, done: make(chan struct{})}
	c.dialIdle = sync.NewCond(&c.dialMu)
	// Each connection is dialled inside the namespace: Do pins the
	// dialling thread there, and the socket stays in it. The dial has
	// its own timeout and is counted: net/http lets a dial outlive the
	// request that started it, and a thread left in the namespace at
	// teardown would make the lab's sweep (every pid in the namespace
	// gets SIGKILL) hit the test binary.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !c.dialStart() {
			return nil, errors.New("client stopped")
		}
		defer c.dialEnd()
		var conn net.Conn
		err := ns.Do(func() (err error) {
			d := net.Dialer{Timeout: timeout}
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for n := 0; n < maxRequests; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			r := get(ctx, hc, url)
			if ctx.Err() != nil {
				return
			}
			c.mu.Lock()
			c.reqs = append(c.reqs, r)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(c.stop)
	return c
}

func get(ctx context.Context, hc *http.Client, url string) request {
	r := request{At: time.Now()}
	defer func() { r.Took = time.Since(r.At) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	resp, err := hc.Do(req)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case err != nil:
		r.Err = err.Error()
	case resp.StatusCode != http.StatusOK:
		r.Err = resp.Status
	default:
		node, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "served by ")
		r.OK, r.Node = ok, node
		if !ok {
			r.Err = "unexpected body " + string(body)
		}
	}
	return r
}

// stop ends the loop and waits for every dial still in flight (each is
// bounded by the request timeout).
func (c *client) stop() {
	c.cancel()
	<-c.done
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	c.stopping = true
	for c.dials > 0 {
		c.dialIdle.Wait()
	}
}

// dialStart counts a dial in, unless stop has begun.
func (c *client) dialStart() bool {
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	if c.stopping {
		return false
	}
	c.dials++
	return true
}

func (c *client) dialEnd() {
	c.dialMu.Lock()
	defer c.dialMu.Unlock()
	c.dials--
	c.dialIdle.Broadcast()
}

// since returns the requests started at or after from.
func (c *client) since(from time.Time) []request {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []request
	for _, r := range c.reqs {
		if !r.At.Before(from) {
			out = append(out, r)
		}
	}
	return out
}

// between returns the requests started in [from, to).
func (c *client) between(from, to time.Time) []request {
	var out []request
	for _, r := range c.since(from) {
		if r.At.Before(to) {
			out = append(out, r)
		}
	}
	return out
}

// waitServedBy blocks until a request started after from succeeded on
// node, and returns it.
func (c *client) waitServedBy(t *testing.T, node string, from time.Time, timeout time.Duration) request {
	t.Helper()
	var got request
	waitFor(t, timeout, "a request served by "+node, func() bool {
		for _, r := range c.since(from) {
			if r.OK && r.Node == node {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// summary is what a window of requests says.
type summary struct {
	Total, Failed       int
	FirstFail, LastFail time.Time // zero without failures
	ByNode              map[string]int
	Errors              []string // the first few failures' reasons
}

func summarize(rs []request) summary {
	s := summary{Total: len(rs), ByNode: map[string]int{}}
	for _, r := range rs {
		if r.OK {
			s.ByNode[r.Node]++
			continue
		}
		if s.Failed == 0 {
			s.FirstFail = r.At
		}
		s.LastFail = r.At
		s.Failed++
		if len(s.Errors) < 5 {
			s.Errors = append(s.Errors, r.At.Format("15:04:05.000")+" "+r.Err)
		}
	}
	return s
}
