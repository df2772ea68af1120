package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sockets returns the two ends of a real socketpair as net.Conns.
func sockets(t *testing.T) (a, b net.Conn) {
	t.Helper()
	pf, cf, err := Socketpair()
	if err != nil {
		t.Fatal(err)
	}
	a, err = FileConn(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err = FileConn(cf)
	cf.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// served is a Conn whose Serve runs in the background.
type served struct {
	*Conn
	done   chan struct{} // closed when Serve has returned
	result error         // what Serve returned
}

// handshakeBoth runs both handshakes at once (each sends before it reads,
// but running them concurrently is what real processes do).
func handshakeBoth(t *testing.T, a, b *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := b.Handshake(ctx); errc <- err }()
	if _, err := a.Handshake(ctx); err != nil {
		t.Fatalf("handshake %s: %v", a.Role(), err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("handshake %s: %v", b.Role(), err)
	}
}

func serve(t *testing.T, c *Conn, h Handler) *served {
	t.Helper()
	s := &served{Conn: c, done: make(chan struct{})}
	go func() {
		s.result = c.Serve(context.Background(), h)
		close(s.done)
	}()
	t.Cleanup(func() {
		c.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Errorf("Serve of %s did not return after Close", c.Role())
		}
	})
	return s
}

// connPair returns two handshaken Conns over a socketpair, both serving.
func connPair(t *testing.T, ha, hb Handler) (a, b *served) {
	t.Helper()
	na, nb := sockets(t)
	ca, cb := NewConn(na, "core"), NewConn(nb, "vrrpd")
	handshakeBoth(t, ca, cb)
	return serve(t, ca, ha), serve(t, cb, hb)
}

func (s *served) waitErr(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.result
	case <-time.After(10 * time.Second):
		t.Fatalf("Serve of %s did not return", s.Role())
		return nil
	}
}

// echo answers every request with its own body.
var echo = HandlerFuncs{Request: func(_ context.Context, _ Type, body json.RawMessage) (any, error) {
	return body, nil
}}

// rawPeer is the far end of a Conn driven by hand, frame by frame.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
}

func (p *rawPeer) write(m Message) {
	p.t.Helper()
	if err := WriteMessage(p.nc, m); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

func (p *rawPeer) writeBytes(b []byte) {
	p.t.Helper()
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("raw peer write: %v", err)
	}
}

func (p *rawPeer) read() (Message, error) {
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return ReadMessage(p.nc, 0)
}

func helloMessage(h Hello) Message {
	b, _ := json.Marshal(h)
	return Message{Kind: Event, Type: TypeHello, Body: b}
}

// conn returns a Conn whose peer is a rawPeer; with handshake set the raw
// peer has already exchanged hellos with it.
func rawPair(t *testing.T, handshake bool) (*Conn, *rawPeer) {
	t.Helper()
	na, nb := sockets(t)
	c := NewConn(na, "core")
	p := &rawPeer{t: t, nc: nb}
	t.Cleanup(func() { c.Close() })
	if handshake {
		p.write(helloMessage(Hello{Version: 1, Role: "raw", PID: 1}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Handshake(ctx); err != nil {
			t.Fatal(err)
		}
		if m, err := p.read(); err != nil || m.Type != TypeHello {
			t.Fatalf("raw peer: reading hello: %+v, %v", m, err)
		}
	}
	return c, p
}

func TestHandshake(t *testing.T) {
	na, nb := sockets(t)
	ca, cb := NewConn(na, "core"), NewConn(nb, "vrrpd")
	cb.SetBinary("v1.2.3")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hb Hello
	var errB error
	done := make(chan struct{})
	go func() { hb, errB = cb.Handshake(ctx); close(done) }()
	ha, errA := ca.Handshake(ctx)
	<-done
	if errA != nil || errB != nil {
		t.Fatalf("handshake: %v, %v", errA, errB)
	}
	if want := (Hello{Version: 1, Role: "vrrpd", PID: os.Getpid(), Binary: "v1.2.3"}); ha != want {
		t.Errorf("core saw %+v, want %+v", ha, want)
	}
	if hb.Role != "core" || hb.PID != os.Getpid() || hb.Version != 1 || hb.Binary != BuildID() || hb.Binary == "" {
		t.Errorf("vrrpd saw %+v (BuildID %q)", hb, BuildID())
	}
	if ca.Peer() != ha || cb.Peer() != hb {
		t.Errorf("Peer() disagrees with Handshake's result")
	}
	if _, err := ca.Handshake(ctx); err == nil {
		t.Errorf("second Handshake succeeded")
	}
}

func TestHandshakeRefusals(t *testing.T) {
	tests := []struct {
		name  string
		first func(p *rawPeer)
		want  string
	}{
		{"hello of version 2", func(p *rawPeer) {
			p.write(helloMessage(Hello{Version: 2, Role: "vrrpd", PID: 9}))
		}, `peer "vrrpd" speaks protocol version 2, this side speaks 1`},
		{"frame of version 2", func(p *rawPeer) {
			p.writeBytes(frame(-1, 2, 1, 1, 0, 0, `{"version":2,"role":"vrrpd"}`))
		}, "unsupported protocol version 2"},
		{"a request first", func(p *rawPeer) {
			p.write(Message{Kind: Request, Type: TypePing, ID: 1})
		}, "expected a hello event first, got a ping request"},
		{"another event first", func(p *rawPeer) {
			p.write(Message{Kind: Event, Type: TypeSnapshot, Body: json.RawMessage(`{}`)})
		}, "expected a hello event first, got a snapshot event"},
		{"hello without a body", func(p *rawPeer) {
			p.write(Message{Kind: Event, Type: TypeHello})
		}, "hello with an empty body"},
		{"hello that is not an object", func(p *rawPeer) {
			p.write(Message{Kind: Event, Type: TypeHello, Body: json.RawMessage(`[1]`)})
		}, "malformed hello"},
		{"hello without a role", func(p *rawPeer) {
			p.write(helloMessage(Hello{Version: 1, PID: 9}))
		}, "hello without a role"},
		{"garbage", func(p *rawPeer) {
			p.writeBytes([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"))
		}, "exceeds 16 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := rawPair(t, false)
			tt.first(p)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := c.Handshake(ctx)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a *ProtocolError containing %q", err, tt.want)
			}
			// The peer got our hello, then our reason, then the end.
			if m, err := p.read(); err != nil || m.Type != TypeHello || m.Kind != Event {
				t.Fatalf("raw peer: first frame %+v, %v; want our hello", m, err)
			}
			m, err := p.read()
			if err != nil || m.Kind != Error || m.ID != 0 || !strings.Contains(string(m.Body), "refused") {
				t.Fatalf("raw peer: second frame %+v (%s), %v; want an Error with id 0 saying why", m, m.Body, err)
			}
			if _, err := p.read(); err != io.EOF {
				t.Fatalf("raw peer: after the goodbye got %v, want io.EOF", err)
			}
			select {
			case <-c.Done():
			default:
				t.Fatal("refused Conn is not closed")
			}
			if err := c.Notify(TypeTrack, nil); err == nil {
				t.Fatal("Notify on a refused Conn succeeded")
			}
		})
	}
}

// A peer that refuses us says why; Handshake returns that as a *RemoteError.
func TestHandshakePeerRefuses(t *testing.T) {
	c, p := rawPair(t, false)
	p.write(Message{Kind: Error, Type: TypeHello, Body: encodeErrorBody("refused: go away")})
	_, err := c.Handshake(context.Background())
	var re *RemoteError
	if !errors.As(err, &re) || re.Message != "refused: go away" {
		t.Fatalf("got %v, want a *RemoteError carrying the peer's reason", err)
	}
}

func TestHandshakeContext(t *testing.T) {
	c, _ := rawPair(t, false) // the raw peer never says hello
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Handshake(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Handshake took %v to notice its deadline", d)
	}

	c2, _ := rawPair(t, false)
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := c2.Handshake(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: got %v", err)
	}
}

func TestNotReadyBeforeHandshake(t *testing.T) {
	na, _ := sockets(t)
	c := NewConn(na, "core")
	defer c.Close()
	if err := c.Notify(TypeTrack, nil); err == nil {
		t.Error("Notify before Handshake succeeded")
	}
	if err := c.Request(context.Background(), TypePing, nil, nil); err == nil {
		t.Error("Request before Handshake succeeded")
	}
	if err := c.Serve(context.Background(), echo); err == nil {
		t.Error("Serve before Handshake succeeded")
	}
}

type pingBody struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

func TestRequestResponse(t *testing.T) {
	a, b := connPair(t, echo, HandlerFuncs{Request: func(_ context.Context, ty Type, body json.RawMessage) (any, error) {
		switch ty {
		case TypePing:
			var p pingBody
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, err
			}
			return pingBody{N: p.N + 1, Text: "pong " + p.Text}, nil
		case TypeStop:
			return nil, nil // empty body
		}
		return nil, fmt.Errorf("unexpected %s", ty)
	}})
	ctx := context.Background()
	var got pingBody
	if err := a.Request(ctx, TypePing, pingBody{N: 41, Text: "hi"}, &got); err != nil {
		t.Fatal(err)
	}
	if got != (pingBody{N: 42, Text: "pong hi"}) {
		t.Fatalf("got %+v", got)
	}
	if err := a.Request(ctx, TypeStop, nil, nil); err != nil {
		t.Fatal(err)
	}
	got = pingBody{N: 7}
	if err := a.Request(ctx, TypeStop, nil, &got); err != nil || got.N != 7 {
		t.Fatalf("empty response body: got %+v, %v; want resp untouched", got, err)
	}
	// Either side may request.
	var raw json.RawMessage
	if err := b.Request(ctx, TypeStatus, json.RawMessage(`{"x":[1,2]}`), &raw); err != nil || string(raw) != `{"x":[1,2]}` {
		t.Fatalf("reverse request: %s, %v", raw, err)
	}
	// A response that does not fit resp is an error for that request only.
	var wrong []int
	if err := a.Request(ctx, TypePing, pingBody{}, &wrong); err == nil || !strings.Contains(err.Error(), "decoding ping response") {
		t.Fatalf("got %v, want a decoding error", err)
	}
	if err := a.Request(ctx, TypePing, pingBody{}, nil); err != nil {
		t.Fatalf("Conn unusable after a decoding error: %v", err)
	}
	if err := a.Request(ctx, TypePing, json.RawMessage(`{bad`), nil); err == nil {
		t.Fatal("sent a malformed json.RawMessage")
	}
	if err := a.Request(ctx, TypeHello, nil, nil); err == nil {
		t.Fatal("sent a hello request")
	}
}

func TestConcurrentRequests(t *testing.T) {
	a, b := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, _ Type, body json.RawMessage) (any, error) {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond) // answer out of order
		return body, nil
	}})
	_ = b
	const workers, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				want := pingBody{N: w*each + i, Text: fmt.Sprintf("worker %d request %d", w, i)}
				var got pingBody
				if err := a.Request(context.Background(), TypePing, want, &got); err != nil {
					errs <- err
					return
				}
				if got != want {
					errs <- fmt.Errorf("sent %+v, got the answer %+v", want, got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorResponse(t *testing.T) {
	a, _ := connPair(t, echo, HandlerFuncs{Request: func(_ context.Context, ty Type, _ json.RawMessage) (any, error) {
		if ty == TypeStatus {
			return nil, errors.New("no such instance VI_9")
		}
		if ty == TypeReload {
			return nil, &RemoteError{Type: TypeReload, Peer: "checkd[7]", Message: "relayed as it is"}
		}
		return func() {}, nil // cannot be marshalled
	}})
	ctx := context.Background()
	err := a.Request(ctx, TypeStatus, nil, nil)
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v (%T), want a *RemoteError", err, err)
	}
	if re.Type != TypeStatus || re.Message != "no such instance VI_9" || re.Peer != "vrrpd["+fmt.Sprint(os.Getpid())+"]" {
		t.Fatalf("got %+v", re)
	}
	if want := "ipc: status request to vrrpd[" + fmt.Sprint(os.Getpid()) + "] failed: no such instance VI_9"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if err := a.Request(ctx, TypeReload, nil, nil); !errors.As(err, &re) || re.Message != "relayed as it is" {
		t.Fatalf("relayed error: %v", err)
	}
	if err := a.Request(ctx, TypePing, nil, nil); !errors.As(err, &re) || !strings.Contains(re.Message, "encoding body") {
		t.Fatalf("unmarshallable response: %v", err)
	}
	// The Conn survives all that.
	if err := a.Request(ctx, TypeStatus, nil, nil); !errors.As(err, &re) {
		t.Fatal(err)
	}
	// No handler for requests at all.
	c, _ := connPair(t, echo, HandlerFuncs{})
	if err := c.Request(ctx, TypePing, nil, nil); !errors.As(err, &re) || !strings.Contains(re.Message, "not handled") {
		t.Fatalf("nil Request handler: %v", err)
	}
}

// recorder collects events.
type recorder struct {
	mu   sync.Mutex
	got  []int
	cond chan struct{} // signalled on every event
}

func newRecorder() *recorder { return &recorder{cond: make(chan struct{}, 1)} }

func (r *recorder) HandleEvent(t Type, body json.RawMessage) {
	var n int
	json.Unmarshal(body, &n)
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	select {
	case r.cond <- struct{}{}:
	default:
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for r.count() < n {
		select {
		case <-r.cond:
		case <-deadline:
			t.Fatalf("got %d events, want %d", r.count(), n)
		}
	}
}

type recordingHandler struct {
	*recorder
	request func(ctx context.Context, t Type, body json.RawMessage) (any, error)
}

func (h recordingHandler) HandleRequest(ctx context.Context, t Type, body json.RawMessage) (any, error) {
	return h.request(ctx, t, body)
}

// Events arrive in order, and a slow request does not hold them up.
func TestEventsInOrderPastASlowRequest(t *testing.T) {
	rec := newRecorder()
	release := make(chan struct{})
	started := make(chan struct{})
	a, _ := connPair(t, echo, recordingHandler{rec, func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "done", nil
	}})
	reqErr := make(chan error, 1)
	go func() { reqErr <- a.Request(context.Background(), TypeStatus, nil, nil) }()
	<-started
	const n = 2000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := a.Notify(TypeTrack, i); err != nil {
				t.Error(err)
				return
			}
		}
	})
	rec.waitFor(t, n) // while the request is still blocked
	wg.Wait()
	select {
	case err := <-reqErr:
		t.Fatalf("slow request finished early: %v", err)
	default:
	}
	close(release)
	if err := <-reqErr; err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, v := range rec.got {
		if v != i {
			t.Fatalf("event %d carried %d: out of order", i, v)
		}
	}
}

// Handlers may call back into the Conn: an event handler and a request
// handler each make a Request to the peer without deadlocking the read loop.
func TestHandlersMayRequest(t *testing.T) {
	var b *served
	got := make(chan string, 1)
	a, bb := connPair(t, echo, HandlerFuncs{
		Event: func(_ Type, body json.RawMessage) {
			var s string
			if err := b.Request(context.Background(), TypePing, body, &s); err != nil {
				got <- "error: " + err.Error()
				return
			}
			got <- s
		},
		Request: func(ctx context.Context, _ Type, body json.RawMessage) (any, error) {
			var s string
			err := b.Request(ctx, TypePing, body, &s)
			return "relayed " + s, err
		},
	})
	b = bb
	if err := a.Notify(TypeTrack, "from event"); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "from event" {
			t.Fatalf("event handler's request: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event handler's request never finished")
	}
	var s string
	if err := a.Request(context.Background(), TypeStatus, "x", &s); err != nil || s != "relayed x" {
		t.Fatalf("nested request: %q, %v", s, err)
	}
}

func TestRequestContextCancel(t *testing.T) {
	release := make(chan struct{})
	var answered atomic.Int32
	a, _ := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, ty Type, _ json.RawMessage) (any, error) {
		if ty == TypeStatus {
			<-release
			answered.Add(1)
			return "late", nil
		}
		return "pong", nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := a.Request(ctx, TypeStatus, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Request took %v to notice its deadline", d)
	}
	close(release) // the late answer arrives and is dropped
	for answered.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var s string
	if err := a.Request(context.Background(), TypePing, nil, &s); err != nil || s != "pong" {
		t.Fatalf("after a cancelled request: %q, %v", s, err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := a.Request(done, TypePing, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("already cancelled ctx: %v", err)
	}
}

func TestPeerCloseFailsPending(t *testing.T) {
	started := make(chan struct{}, 10)
	a, b := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() { errs <- a.Request(context.Background(), TypeStatus, nil, nil) }()
	}
	for range n {
		<-started
	}
	b.Close()
	for range n {
		select {
		case err := <-errs:
			if !errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "vrrpd") {
				t.Errorf("pending request: got %v, want the peer's close (io.EOF)", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("pending request did not fail when the peer closed")
		}
	}
	if err := a.waitErr(t); !errors.Is(err, io.EOF) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve returned %v, want io.EOF and ErrClosed", err)
	}
	if want := fmt.Sprintf("ipc: vrrpd[%d] closed the connection: EOF", os.Getpid()); a.Err().Error() != want {
		t.Fatalf("Err() = %q, want %q", a.Err(), want)
	}
	if err := b.waitErr(t); err != ErrClosed {
		t.Fatalf("peer's Serve returned %v, want ErrClosed", err)
	}
	if err := a.Request(context.Background(), TypePing, nil, nil); !errors.Is(err, io.EOF) {
		t.Fatalf("Request after close: %v", err)
	}
	if err := a.Notify(TypeTrack, 1); !errors.Is(err, io.EOF) {
		t.Fatalf("Notify after close: %v", err)
	}
}

func TestCloseFailsPending(t *testing.T) {
	started := make(chan struct{})
	a, _ := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, nil
	}})
	errc := make(chan error, 1)
	go func() { errc <- a.Request(context.Background(), TypeStatus, nil, nil) }()
	<-started
	a.Close()
	if err := <-errc; err != ErrClosed {
		t.Fatalf("pending request: %v, want ErrClosed", err)
	}
	if err := a.Request(context.Background(), TypePing, nil, nil); err != ErrClosed {
		t.Fatalf("Request after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServeContextCancel(t *testing.T) {
	na, nb := sockets(t)
	ca, cb := NewConn(na, "core"), NewConn(nb, "vrrpd")
	handshakeBoth(t, ca, cb)
	serve(t, cb, HandlerFuncs{Request: func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		<-ctx.Done()
		return nil, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	go func() { serveErr <- ca.Serve(ctx, echo) }()
	reqErr := make(chan error, 1)
	go func() { reqErr <- ca.Request(context.Background(), TypeStatus, nil, nil) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-serveErr:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrClosed) {
			t.Fatalf("Serve returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve ignored ctx")
	}
	if err := <-reqErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("pending request: %v", err)
	}
}

// Everything read before the peer closed is handled before Serve returns:
// a child's last snapshot is not lost because it exited right after.
func TestServeDeliversEventsBeforeReturning(t *testing.T) {
	na, nb := sockets(t)
	ca, cb := NewConn(na, "core"), NewConn(nb, "vrrpd")
	handshakeBoth(t, ca, cb)
	rec := newRecorder()
	slow := HandlerFuncs{Event: func(ty Type, body json.RawMessage) {
		time.Sleep(100 * time.Microsecond)
		rec.HandleEvent(ty, body)
	}}
	s := serve(t, ca, slow)
	const n = 500
	for i := range n {
		if err := cb.Notify(TypeSnapshot, i); err != nil {
			t.Fatal(err)
		}
	}
	cb.Close()
	if err := s.waitErr(t); !errors.Is(err, io.EOF) {
		t.Fatalf("Serve: %v", err)
	}
	if got := rec.count(); got != n {
		t.Fatalf("Serve returned with %d of %d events handled", got, n)
	}
}

func TestGarbageClosesOnlyThatConn(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"oversized frame", frame(20<<20, 1, 1, 4, 0, 0, ""), "ipc: frame of 20 MiB exceeds 16 MiB"},
		{"bad version", frame(-1, 7, 1, 4, 0, 0, ""), "unsupported protocol version 7"},
		{"bad kind", frame(-1, 1, 9, 4, 0, 0, ""), "unknown message kind 9"},
		{"reserved bits", frame(-1, 1, 1, 4, 0xdead, 0, ""), "reserved header bytes"},
		{"malformed JSON", frame(-1, 1, 1, 4, 0, 0, "{]"), "malformed JSON"},
		{"second hello", frame(-1, 1, 1, 1, 0, 0, `{"version":1,"role":"x"}`), "a second hello"},
		{"text", []byte("hello there, this is not vigil\n"), "exceeds"},
		{"response for the wrong type", nil, "answers a status request"},
	}
	// A healthy pair that must not notice any of it.
	good, _ := connPair(t, echo, echo)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, p := rawPair(t, true)
			s := serve(t, c, echo)
			if tt.in == nil { // answer a request with the wrong type
				go c.Request(context.Background(), TypeStatus, nil, nil)
				m, err := p.read()
				if err != nil || m.Kind != Request {
					t.Fatalf("raw peer: %+v, %v", m, err)
				}
				p.write(Message{Kind: Response, Type: TypePing, ID: m.ID})
			} else {
				p.writeBytes(tt.in)
			}
			err := s.waitErr(t)
			var pe *ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Serve returned %v, want a *ProtocolError containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "(from raw[1])") {
				t.Errorf("error %q does not name the peer", err)
			}
			// The peer is told why, then the connection ends.
			for {
				m, err := p.read()
				if err != nil {
					t.Fatalf("raw peer: no goodbye before %v", err)
				}
				if m.Kind == Error && m.ID == 0 {
					if !strings.Contains(string(m.Body), "protocol violation") {
						t.Errorf("goodbye says %s", m.Body)
					}
					break
				}
			}
			var s2 string
			if err := good.Request(context.Background(), TypePing, "still here", &s2); err != nil || s2 != "still here" {
				t.Fatalf("the other Conn broke: %q, %v", s2, err)
			}
		})
	}
}

// A peer that stops reading makes writes fail within the write timeout, and
// the Conn closes rather than wedging every later writer.
func TestNotifyWriteTimeout(t *testing.T) {
	c, _ := rawPair(t, true) // the raw peer never reads again
	const timeout = 200 * time.Millisecond
	c.SetWriteTimeout(timeout)
	body := json.RawMessage(`"` + strings.Repeat("v", 64<<10) + `"`)
	start := time.Now()
	var err error
	for i := 0; err == nil; i++ {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("after %d notifies and %v, still no error", i, time.Since(start))
		}
		t0 := time.Now()
		err = c.Notify(TypeSnapshot, body)
		if d := time.Since(t0); d > timeout+2*time.Second {
			t.Fatalf("one Notify blocked %v with a write timeout of %v", d, timeout)
		}
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want a write deadline error that closed the Conn", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Conn still open after a timed-out write")
	}
	// Later writers fail at once.
	t0 := time.Now()
	if err := c.Notify(TypeTrack, 1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Notify after the timeout: %v", err)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Fatalf("Notify on a failed Conn took %v", d)
	}
}

// Many writers blocked behind a hung peer all return within a bound.
func TestConcurrentWritersBounded(t *testing.T) {
	c, _ := rawPair(t, true)
	const timeout = 200 * time.Millisecond
	c.SetWriteTimeout(timeout)
	body := json.RawMessage(`"` + strings.Repeat("w", 256<<10) + `"`)
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for c.Notify(TypeSnapshot, body) == nil {
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("writers took %v to give up", d)
	}
}

func TestMaxFrame(t *testing.T) {
	a, b := connPair(t, echo, HandlerFuncs{Request: func(_ context.Context, _ Type, body json.RawMessage) (any, error) {
		return strings.Repeat("r", 2048), nil
	}})
	a.SetMaxFrame(1024)
	b.SetMaxFrame(1024)
	big := strings.Repeat("x", 2000)
	err := a.Notify(TypeSnapshot, big)
	if err == nil || !strings.Contains(err.Error(), "snapshot event of 2018 bytes exceeds 1 KiB") {
		t.Fatalf("oversized Notify: %v", err)
	}
	if err := a.Request(context.Background(), TypeStatus, big, nil); err == nil || !strings.Contains(err.Error(), "exceeds 1 KiB") {
		t.Fatalf("oversized Request: %v", err)
	}
	// An oversized answer becomes an Error, and the Conn lives on.
	var re *RemoteError
	if err := a.Request(context.Background(), TypeStatus, "small", nil); !errors.As(err, &re) || !strings.Contains(re.Message, "exceeds 1 KiB") {
		t.Fatalf("oversized response: %v", err)
	}
	if err := a.Notify(TypeTrack, 1); err != nil {
		t.Fatalf("Conn unusable after refusing oversized messages: %v", err)
	}
}

// The peer sending more than MaxInflight requests at once gets "busy"
// answers instead of stalling the read loop.
func TestBusy(t *testing.T) {
	release := make(chan struct{})
	var running atomic.Int32
	a, _ := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		running.Add(1)
		<-release
		return nil, nil
	}})
	errs := make(chan error, MaxInflight+1)
	for range MaxInflight {
		go func() { errs <- a.Request(context.Background(), TypeStatus, nil, nil) }()
	}
	for running.Load() < MaxInflight {
		time.Sleep(time.Millisecond)
	}
	var re *RemoteError
	if err := a.Request(context.Background(), TypeStatus, nil, nil); !errors.As(err, &re) || !strings.Contains(re.Message, "busy") {
		t.Fatalf("request over the limit: %v", err)
	}
	if err := a.Notify(TypeTrack, 1); err != nil {
		t.Fatal(err)
	}
	close(release)
	for range MaxInflight {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// Shutdown lets the answers being worked on go out, refuses new requests,
// then closes: a child can answer "stop" and exit without a sleep.
func TestShutdownWaitsForAnswers(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	a, b := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, ty Type, _ json.RawMessage) (any, error) {
		if ty == TypeStop {
			close(started)
			<-release
			return "stopped", nil
		}
		return "pong", nil
	}})
	stopErr := make(chan error, 1)
	var answer string
	go func() { stopErr <- a.Request(context.Background(), TypeStop, nil, &answer) }()
	<-started
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- b.Shutdown(context.Background()) }()
	// New requests are refused while the stop is still being handled.
	var re *RemoteError
	for {
		err := a.Request(context.Background(), TypePing, nil, nil)
		if errors.As(err, &re) && strings.Contains(re.Message, "shutting down") {
			break
		}
		if err != nil {
			t.Fatalf("request during shutdown: %v", err)
		}
		time.Sleep(time.Millisecond) // Shutdown has not begun yet
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned (%v) before the stop was answered", err)
	default:
	}
	close(release)
	if err := <-stopErr; err != nil || answer != "stopped" {
		t.Fatalf("stop request: %q, %v", answer, err)
	}
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := a.waitErr(t); !errors.Is(err, io.EOF) {
		t.Fatalf("peer's Serve after Shutdown: %v", err)
	}
}

func TestShutdownContext(t *testing.T) {
	started := make(chan struct{})
	a, b := connPair(t, echo, HandlerFuncs{Request: func(ctx context.Context, _ Type, _ json.RawMessage) (any, error) {
		close(started)
		<-ctx.Done() // stuck until Serve ends
		return nil, ctx.Err()
	}})
	go a.Request(context.Background(), TypeStatus, nil, nil)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := b.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := b.waitErr(t); err != ErrClosed {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	// Nothing in flight: Shutdown closes at once.
	c, _ := connPair(t, echo, echo)
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(TypeTrack, 1); err != ErrClosed {
		t.Fatalf("Notify after Shutdown: %v", err)
	}
}
