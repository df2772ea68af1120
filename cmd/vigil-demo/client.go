package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

const (
	fetchInterval = 10 * time.Millisecond
	// fetchTimeout: a GET not answered by then failed. A LAN round trip
	// and a static page take well under a millisecond, but a busy 2-core
	// machine stalls the client for hundreds of ms at times: a slow GET
	// is not an outage (the lab's probes allow a second too). A GET sent
	// to a host without the VIP is never answered, so it still fails.
	fetchTimeout = time.Second
	// maxFetches bounds the client (10 minutes; the demo is capped far
	// below), maxInFlight the GETs running at once.
	maxFetches  = 60000
	maxInFlight = 2 * int(fetchTimeout/fetchInterval)
)

// client is the user in front of the pair: an HTTP GET of http://VIP/
// every fetchInterval from the client namespace, each on a new connection
// (as many browsers arriving would) and run concurrently so a slow one
// does not delay the next. It keeps every outcome by start time, with
// the node named in the page that answered.
type client struct {
	url     string
	http    *http.Client
	dials   sync.WaitGroup
	mu      sync.Mutex
	fetches []fetch // sorted by at
	slice   sliceCount
	changed chan struct{} // closed and replaced on every result
	quit    chan struct{}
	done    chan struct{}
}

type fetch struct {
	at   time.Time
	node string // who served it; "" if it failed
	err  error  // why it failed
}

func (f fetch) ok() bool { return f.node != "" }

// sliceCount is what the live view shows for its last half second.
type sliceCount struct {
	served map[string]int
	failed int
}

// newHTTP returns an HTTP client whose connections are opened on a thread
// inside ns (a socket belongs to the namespace it was made in). Every dial
// is counted in dials and bounded by fetchTimeout: the transport may go on
// dialing after a request gave up, and the lab's teardown kills whatever
// process is inside a namespace it deletes, the demo itself if a dial
// holds its main thread there, so the owner waits for dials before it.
func newHTTP(ns *lab.NS, dials *sync.WaitGroup) *http.Client {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		defer dials.Done()
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = (&net.Dialer{Timeout: fetchTimeout}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
	return &http.Client{
		Timeout:   fetchTimeout,
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
	}
}

// get fetches url and returns the node the page names.
func get(h *http.Client, url string) (string, error) {
	resp, err := h.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, rest, _ := strings.Cut(string(body), "served by ")
	words := strings.Fields(rest)
	if len(words) == 0 {
		return "", fmt.Errorf("GET %s: the page names no node", url)
	}
	return words[0], nil
}

func startClient(r *reporter, ns *lab.NS, url string) *client {
	c := &client{url: url, changed: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{}),
		slice: sliceCount{served: map[string]int{}}}
	c.http = newHTTP(ns, &c.dials)
	go c.loop()
	r.Cleanup(c.stop)
	return c
}

func (c *client) loop() {
	defer close(c.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxInFlight)
	t := time.NewTicker(fetchInterval)
	defer t.Stop()
	for range maxFetches {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		at := time.Now()
		select {
		case slots <- struct{}{}:
		default:
			c.add(fetch{at: at, err: errors.New("the client is stuck: too many GETs in flight")})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			node, err := get(c.http, c.url)
			c.add(fetch{at: at, node: node, err: err})
		}()
	}
}

func (c *client) add(f fetch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, _ := slices.BinarySearchFunc(c.fetches, f.at, func(x fetch, t time.Time) int { return x.at.Compare(t) })
	c.fetches = slices.Insert(c.fetches, i, f)
	if f.ok() {
		c.slice.served[f.node]++
	} else {
		c.slice.failed++
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *client) stop() {
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	<-c.done
	c.dials.Wait()
}

// takeSlice returns the counts since the last call and starts anew.
func (c *client) takeSlice() sliceCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slice
	c.slice = sliceCount{served: map[string]int{}}
	return s
}

// waitServed waits for n GETs in a row, started at or after since, all
// served by node, and returns when the first of them started.
func (c *client) waitServed(since time.Time, node string, n int, timeout time.Duration) (time.Time, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		at, ok := findRun(c.fetches, since, node, n)
		changed := c.changed
		c.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-changed:
		case <-c.done:
			return time.Time{}, false
		case <-deadline.C:
			return time.Time{}, false
		}
	}
}

func findRun(fs []fetch, since time.Time, node string, n int) (time.Time, bool) {
	run := 0
	var start time.Time
	for _, f := range fs {
		if f.at.Before(since) {
			continue
		}
		if f.node != node {
			run = 0
			continue
		}
		if run == 0 {
			start = f.at
		}
		if run++; run == n {
			return start, true
		}
	}
	return time.Time{}, false
}

// window is a stretch of consecutive failed GETs.
type window struct {
	from, to time.Time // first failed start, last failed start + interval
	count    int
	err      error // the first one's error
}

// failures returns the failed windows, in order.
func (c *client) failures() []window {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ws []window
	open := false
	for _, f := range c.fetches {
		switch {
		case f.ok():
			open = false
		case open:
			ws[len(ws)-1].to = f.at.Add(fetchInterval)
			ws[len(ws)-1].count++
		default:
			ws = append(ws, window{from: f.at, to: f.at.Add(fetchInterval), count: 1, err: f.err})
			open = true
		}
	}
	return ws
}

// totals counts the GETs: served per node and failed.
func (c *client) totals() (served map[string]int, failed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	served = map[string]int{}
	for _, f := range c.fetches {
		if f.ok() {
			served[f.node]++
		} else {
			failed++
		}
	}
	return served, failed
}

// failedBetween counts the GETs started in [from, to) that failed.
func (c *client) failedBetween(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, f := range c.fetches {
		if !f.ok() && !f.at.Before(from) && f.at.Before(to) {
			n++
		}
	}
	return n
}

// waitPage GETs url until the page names node, for at most timeout.
func waitPage(h *http.Client, url, node string, timeout time.Duration) (time.Time, bool) {
	for deadline := time.Now().Add(timeout); ; time.Sleep(50 * time.Millisecond) {
		if got, err := get(h, url); err == nil && got == node {
			return time.Now(), true
		}
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
	}
}
