package ipc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWriteTimeout bounds each frame write on a Conn: a peer that stops
// reading fails the write, and the Conn closes, after this long.
const DefaultWriteTimeout = 5 * time.Second

// MaxInflight is how many requests from the peer a Conn's Serve runs at once.
// A request beyond that is answered at once with an Error ("busy") rather
// than queued, so the read loop never waits for a handler.
const MaxInflight = 1024

// Limits on events read but not yet handled (HandleEvent runs one at a time,
// in arrival order, on its own goroutine). A peer that outruns the handler
// past either limit has its connection closed: the alternative, stalling the
// read loop, would also stall the responses a handler may be waiting for.
const (
	MaxQueuedEvents     = 1 << 16
	MaxQueuedEventBytes = 64 << 20 // or twice the Conn's frame limit, if larger
)

// ErrClosed is the error of operations on a Conn closed by Close. Every
// error that reports a closed Conn, whatever closed it (the peer hanging up,
// a protocol violation, a failed write, Serve's ctx ending), also matches
// ErrClosed with errors.Is, besides its own cause (io.EOF,
// *ProtocolError, os.ErrDeadlineExceeded, context.Canceled, …).
var ErrClosed = errors.New("ipc: connection closed")

// closedError is the cause of a Conn's closing, marked as ErrClosed.
type closedError struct{ cause error }

func (e *closedError) Error() string   { return e.cause.Error() }
func (e *closedError) Unwrap() []error { return []error{e.cause, ErrClosed} }

func markClosed(err error) error {
	if err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	return &closedError{cause: err}
}

// Hello is the body of the first frame each side sends: an Event of
// TypeHello.
type Hello struct {
	Version int    `json:"version"` // protocol version; must be Version
	Role    string `json:"role"`    // "core", "vrrpd", "checkd", "lvsd", "arbiter", "cli", …
	PID     int    `json:"pid"`
	Binary  string `json:"binary"` // build id or version of the sender's executable
}

// Handler receives what the peer sends; see Conn.Serve.
type Handler interface {
	// HandleEvent is called for each event, one at a time, in the order
	// the peer sent them.
	HandleEvent(t Type, body json.RawMessage)
	// HandleRequest is called for each request, concurrently with other
	// requests and with HandleEvent. The result is marshalled to JSON as
	// the Response body (nil: empty body); an error becomes an Error frame
	// carrying err.Error(), which the requester gets as a *RemoteError.
	// ctx ends when Serve returns.
	HandleRequest(ctx context.Context, t Type, body json.RawMessage) (any, error)
}

// HandlerFuncs adapts functions to a Handler. A nil Event drops events; a
// nil Request answers every request with an error.
type HandlerFuncs struct {
	Event   func(t Type, body json.RawMessage)
	Request func(ctx context.Context, t Type, body json.RawMessage) (any, error)
}

// HandleEvent implements Handler.
func (h HandlerFuncs) HandleEvent(t Type, body json.RawMessage) {
	if h.Event != nil {
		h.Event(t, body)
	}
}

// HandleRequest implements Handler.
func (h HandlerFuncs) HandleRequest(ctx context.Context, t Type, body json.RawMessage) (any, error) {
	if h.Request == nil {
		return nil, fmt.Errorf("%s requests are not handled here", t)
	}
	return h.Request(ctx, t, body)
}

// RemoteError is an Error frame from the peer: the failure of a request
// (Type is the request's type) or, with Type 0, the peer's reason for
// closing the connection (for example a refused handshake).
type RemoteError struct {
	Type    Type
	Peer    string // who answered, e.g. "vrrpd[4242]"
	Message string
}

func (e *RemoteError) Error() string {
	if e.Type == 0 {
		return fmt.Sprintf("ipc: %s closed the connection: %s", e.Peer, e.Message)
	}
	return fmt.Sprintf("ipc: %s request to %s failed: %s", e.Type, e.Peer, e.Message)
}

type errorBody struct {
	Message string `json:"message"`
}

func decodeErrorBody(b json.RawMessage) string {
	var eb errorBody
	if len(b) == 0 {
		return "(no reason given)"
	}
	if err := json.Unmarshal(b, &eb); err != nil || eb.Message == "" {
		return string(b)
	}
	return eb.Message
}

func encodeErrorBody(msg string) json.RawMessage {
	b, _ := json.Marshal(errorBody{Message: msg}) // a string always marshals
	return b
}

// Conn states.
const (
	stateNew = iota
	stateHandshaking
	stateReady
)

type pendingRequest struct {
	t  Type
	ch chan Message // buffered, 1
}

// Conn is one end of a Vigil IPC connection over a Unix stream socket. It is
// safe for concurrent use: frames written by different goroutines never
// interleave. Use: NewConn, optional Set* calls, Handshake, then Serve in a
// goroutine while Notify and Request are called from anywhere.
type Conn struct {
	nc   net.Conn
	role string
	br   *bufio.Reader

	maxFrame     atomic.Int64
	writeTimeout atomic.Int64 // nanoseconds
	nextID       atomic.Uint64

	wmu sync.Mutex // serialises frame writes

	mu      sync.Mutex
	binary  string
	state   int
	serving bool
	// Answers owed to the peer: requests being handled, or refused and
	// not yet answered. Shutdown waits for them.
	inflight     int
	shuttingDown bool
	drained      chan struct{} // closed when inflight drops to 0 during Shutdown
	peer         Hello
	pending      map[uint64]pendingRequest
	closed       bool
	cause        error
	done         chan struct{}
}

// NewConn wraps c, a connected Unix stream socket, as this process's end of
// an IPC connection; role names this side in its hello ("core", "vrrpd", …).
func NewConn(c net.Conn, role string) *Conn {
	cn := &Conn{
		nc:      c,
		role:    role,
		br:      bufio.NewReaderSize(c, 64<<10),
		binary:  BuildID(),
		pending: make(map[uint64]pendingRequest),
		done:    make(chan struct{}),
	}
	cn.maxFrame.Store(DefaultMaxFrame)
	cn.writeTimeout.Store(int64(DefaultWriteTimeout))
	return cn
}

// SetMaxFrame sets the largest frame (header and body) this Conn reads or
// writes; n <= 0 restores DefaultMaxFrame. A frame over it from the peer
// closes the Conn; a message over it from this side fails with an error and
// leaves the Conn open. Both sides should use the same limit.
func (c *Conn) SetMaxFrame(n int) {
	if n <= 0 {
		n = DefaultMaxFrame
	}
	c.maxFrame.Store(min(int64(n), math.MaxUint32)) // what a length prefix can say
}

// SetWriteTimeout sets how long one frame write may block before the Conn
// gives up on the peer and closes; d <= 0 restores DefaultWriteTimeout.
func (c *Conn) SetWriteTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultWriteTimeout
	}
	c.writeTimeout.Store(int64(d))
}

// SetBinary overrides the "binary" field of this side's hello (by default
// BuildID()). Call it before Handshake.
func (c *Conn) SetBinary(s string) {
	c.mu.Lock()
	c.binary = s
	c.mu.Unlock()
}

// Role is this side's role, as given to NewConn.
func (c *Conn) Role() string { return c.role }

// Peer is the peer's hello; zero before Handshake succeeds.
func (c *Conn) Peer() Hello {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer
}

// Done is closed when the Conn closes, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the Conn closed (ErrClosed after Close; see ErrClosed), or nil
// while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

func (c *Conn) peerName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerNameLocked()
}

func (c *Conn) peerNameLocked() string {
	if c.peer.Role == "" {
		return "peer"
	}
	return c.peer.Role + "[" + strconv.Itoa(c.peer.PID) + "]"
}

// Close closes the connection. Pending requests fail with ErrClosed, and a
// running Serve returns. Close is idempotent and always returns nil.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	return nil
}

// fail closes the Conn with cause err, unless it is already closed.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.cause = markClosed(err)
	c.pending = nil // waiting requests see done and return the cause
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
}

// goodbyeWait bounds how long a goodbye waits for another writer (one
// finishing a frame) before the connection closes without it.
const goodbyeWait = 100 * time.Millisecond

// failWithGoodbye tells the peer why (an Error frame of TypeHello with id 0),
// if another writer lets it within goodbyeWait (a writer stuck on a full
// socket must not hold the close up), then closes with err.
func (c *Conn) failWithGoodbye(err error, reason string) {
	deadline := time.Now().Add(goodbyeWait)
	locked := c.wmu.TryLock()
	for !locked && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		locked = c.wmu.TryLock()
	}
	if locked {
		c.nc.SetWriteDeadline(time.Now().Add(min(c.timeout(), 500*time.Millisecond)))
		writeMessage(c.nc, Message{Kind: Error, Type: TypeHello, Body: encodeErrorBody(reason)}, false)
		c.wmu.Unlock()
	}
	c.fail(err)
}

func (c *Conn) timeout() time.Duration { return time.Duration(c.writeTimeout.Load()) }

func (c *Conn) maxFrameLen() int { return int(c.maxFrame.Load()) }

// closedErr is the cause if the Conn is closed, else nil.
func (c *Conn) closedErr() error {
	select {
	case <-c.done:
		return c.Err()
	default:
		return nil
	}
}

// errTooLarge reports a message this side will not send.
type errTooLarge struct {
	m   Message
	max int
}

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("ipc: %s %s of %s exceeds %s", e.m.Type, e.m.Kind,
		sizeString(uint64(HeaderSize+len(e.m.Body))), sizeString(uint64(e.max)))
}

// send writes one frame. A message this side should not send fails without
// harm to the Conn; a failed write closes the Conn, since part of a frame
// may have gone out.
func (c *Conn) send(m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	if limit := c.maxFrameLen(); HeaderSize+len(m.Body) > limit {
		return &errTooLarge{m: m, max: limit}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.closedErr(); err != nil {
		return err
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout()))
	if err := writeMessage(c.nc, m, false); err != nil {
		err = fmt.Errorf("ipc: writing %s %s to %s: %w", m.Type, m.Kind, c.peerName(), err)
		c.fail(err)
		return c.Err()
	}
	return nil
}

// marshalBody turns a Go value into a frame body: nil gives an empty body, a
// json.RawMessage is used as it is (after a validity check), anything else
// goes through json.Marshal.
func marshalBody(v any) (json.RawMessage, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if len(b) > 0 && !json.Valid(b) {
			return nil, errors.New("ipc: body is a json.RawMessage holding malformed JSON")
		}
		return b, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("ipc: encoding body: %w", err)
	}
	return b, nil
}

// Handshake sends this side's hello and reads the peer's, which it returns.
// A peer whose first frame is not a hello event, or whose hello speaks
// another protocol version, is refused: it is told why (an Error frame with
// id 0) and the Conn closes. Any failure, including ctx ending, closes the
// Conn. Handshake must succeed before Notify, Request or Serve.
func (c *Conn) Handshake(ctx context.Context) (Hello, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Hello{}, c.Err()
	}
	if c.state != stateNew {
		c.mu.Unlock()
		return Hello{}, errors.New("ipc: Handshake called twice")
	}
	c.state = stateHandshaking
	ours := Hello{Version: Version, Role: c.role, PID: os.Getpid(), Binary: c.binary}
	c.mu.Unlock()

	if err := ctx.Err(); err != nil {
		err = fmt.Errorf("ipc: handshake: %w", err)
		c.fail(err)
		return Hello{}, markClosed(err)
	}
	// Interrupt a blocked read or write when ctx ends.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	theirs, err := c.handshake(ours)
	stopped := stop()
	if err == nil && !stopped {
		err = fmt.Errorf("ipc: handshake: %w", ctx.Err())
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.As(err, new(*ProtocolError)) && !errors.As(err, new(*RemoteError)) {
			err = fmt.Errorf("ipc: handshake: %w", ctxErr)
		}
		c.fail(err)
		return Hello{}, markClosed(err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed { // Close was called meanwhile
		return Hello{}, c.cause
	}
	c.state = stateReady
	c.peer = theirs
	return theirs, nil
}

func (c *Conn) handshake(ours Hello) (Hello, error) {
	body, err := json.Marshal(ours)
	if err != nil {
		return Hello{}, fmt.Errorf("ipc: encoding hello: %w", err)
	}
	if err := c.send(Message{Kind: Event, Type: TypeHello, Body: body}); err != nil {
		return Hello{}, err
	}
	m, err := ReadMessage(c.br, c.maxFrameLen())
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			c.failWithGoodbye(err, "refused: "+pe.Reason)
			return Hello{}, err
		}
		if err == io.EOF {
			return Hello{}, fmt.Errorf("ipc: peer closed the connection before its hello: %w", io.ErrUnexpectedEOF)
		}
		return Hello{}, fmt.Errorf("ipc: reading the peer's hello: %w", err)
	}
	if m.Kind == Error && m.ID == 0 {
		return Hello{}, &RemoteError{Peer: "peer", Message: decodeErrorBody(m.Body)}
	}
	refuse := func(format string, args ...any) (Hello, error) {
		err := protoErr(format, args...)
		c.failWithGoodbye(err, "refused: "+err.Reason)
		return Hello{}, err
	}
	if m.Kind != Event || m.Type != TypeHello {
		return refuse("expected a hello event first, got a %s %s", m.Type, m.Kind)
	}
	if len(m.Body) == 0 {
		return refuse("hello with an empty body")
	}
	var h Hello
	if err := json.Unmarshal(m.Body, &h); err != nil {
		return refuse("malformed hello: %v", err)
	}
	if h.Version != Version {
		return refuse("peer %q speaks protocol version %d, this side speaks %d", h.Role, h.Version, Version)
	}
	if h.Role == "" {
		return refuse("hello without a role")
	}
	return h, nil
}

// ready returns an error unless the handshake is done and the Conn is open.
func (c *Conn) ready() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.cause
	}
	if c.state != stateReady {
		return errors.New("ipc: connection not ready: Handshake has not succeeded")
	}
	return nil
}

// Notify sends an event. body is marshalled to JSON (nil: empty body; a
// json.RawMessage goes as it is). It blocks at most the write timeout; a
// write that times out closes the Conn.
func (c *Conn) Notify(t Type, body any) error {
	if err := c.ready(); err != nil {
		return err
	}
	if t == TypeHello {
		return errors.New("ipc: hello is sent by Handshake, not Notify")
	}
	b, err := marshalBody(body)
	if err != nil {
		return err
	}
	return c.send(Message{Kind: Event, Type: t, Body: b})
}

// Request sends a request and waits for its answer, which a running Serve
// delivers. A Response body is unmarshalled into resp (unless resp is nil
// or the body empty); an Error comes back as a *RemoteError. Request returns
// early, with an error wrapping ctx's, when ctx ends (a late answer is then
// dropped), and with the Conn's error when it closes.
func (c *Conn) Request(ctx context.Context, t Type, req, resp any) error {
	if err := c.ready(); err != nil {
		return err
	}
	if t == TypeHello {
		return errors.New("ipc: hello is not a request")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ipc: %s request: %w", t, err)
	}
	b, err := marshalBody(req)
	if err != nil {
		return err
	}
	id := c.nextID.Add(1)
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.cause
	}
	c.pending[id] = pendingRequest{t: t, ch: ch}
	c.mu.Unlock()

	if err := c.send(Message{Kind: Request, Type: t, ID: id, Body: b}); err != nil {
		c.forget(id)
		return err
	}
	var m Message
	select {
	case m = <-ch:
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("ipc: %s request to %s: %w", t, c.peerName(), ctx.Err())
	case <-c.done:
		select {
		case m = <-ch: // answered just before the close
		default:
			return c.Err()
		}
	}
	if m.Kind == Error {
		return &RemoteError{Type: t, Peer: c.peerName(), Message: decodeErrorBody(m.Body)}
	}
	if resp != nil && len(m.Body) > 0 {
		if err := json.Unmarshal(m.Body, resp); err != nil {
			return fmt.Errorf("ipc: decoding %s response from %s: %w", t, c.peerName(), err)
		}
	}
	return nil
}

func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id) // no-op on the nil map of a closed Conn
	c.mu.Unlock()
}

// Serve reads from the peer until the Conn fails or ctx ends, then closes the
// Conn (failing pending requests) and returns why, as an error matching
// ErrClosed and also: io.EOF when the peer closed cleanly, a *ProtocolError
// when it sent a bad frame, a *RemoteError when it said why it was closing,
// ctx's error when ctx ended; exactly ErrClosed after Close.
//
// Events go to h.HandleEvent one at a time, in arrival order, on a goroutine
// of their own; each request goes to h.HandleRequest on a new goroutine, so
// a slow request stalls neither events nor other requests, and handlers may
// themselves call Request on this Conn. Responses go to the waiting
// Request calls. Before Serve returns, every event it read has been handled
// and every handler it started has returned.
func (c *Conn) Serve(ctx context.Context, h Handler) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return c.cause
	case c.state != stateReady:
		c.mu.Unlock()
		return errors.New("ipc: Serve before a successful Handshake")
	case c.serving:
		c.mu.Unlock()
		return errors.New("ipc: Serve called twice")
	}
	c.serving = true
	c.mu.Unlock()

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		c.fail(fmt.Errorf("ipc: stopped serving %s: %w", c.peerName(), ctx.Err()))
	})
	defer stop()

	q := &eventQueue{wake: make(chan struct{}, 1), maxBytes: max(MaxQueuedEventBytes, 2*c.maxFrameLen())}
	var wg sync.WaitGroup
	wg.Go(func() { q.run(h) })
	sem := make(chan struct{}, MaxInflight)

	err := c.readLoop(hctx, h, q, sem, &wg)
	c.fail(err) // no-op if something else closed the Conn first
	cancel()
	q.close()
	wg.Wait()
	return c.Err()
}

func (c *Conn) readLoop(ctx context.Context, h Handler, q *eventQueue, sem chan struct{}, wg *sync.WaitGroup) error {
	for {
		m, err := ReadMessage(c.br, c.maxFrameLen())
		if err != nil {
			if cause := c.closedErr(); cause != nil {
				return cause // we closed it; the read error is a consequence
			}
			var pe *ProtocolError
			switch {
			case err == io.EOF:
				return fmt.Errorf("ipc: %s closed the connection: %w", c.peerName(), io.EOF)
			case errors.As(err, &pe):
				return c.refuse(pe)
			default:
				return fmt.Errorf("%w (from %s)", err, c.peerName())
			}
		}
		if m.Type == TypeHello && (m.Kind == Event || m.Kind == Request) {
			return c.refuse(&ProtocolError{Reason: "a second hello"})
		}
		switch m.Kind {
		case Event:
			if !q.push(m) {
				err := fmt.Errorf("ipc: %s sent events faster than they were handled (%d queued, %s)",
					c.peerName(), q.len(), sizeString(uint64(q.size())))
				c.failWithGoodbye(err, "closing: events arrive faster than they are handled")
				return err
			}
		case Request:
			if !c.startHandler() {
				wg.Go(func() {
					defer c.endHandler()
					c.send(Message{Kind: Error, Type: m.Type, ID: m.ID,
						Body: encodeErrorBody("shutting down: no new requests")})
				})
				continue
			}
			select {
			case sem <- struct{}{}:
				wg.Go(func() {
					defer func() { <-sem }()
					defer c.endHandler()
					c.handle(ctx, h, m)
				})
			default:
				wg.Go(func() {
					defer c.endHandler()
					c.send(Message{Kind: Error, Type: m.Type, ID: m.ID,
						Body: encodeErrorBody(fmt.Sprintf("busy: %d requests already running", MaxInflight))})
				})
			}
		case Response, Error:
			if m.ID == 0 { // only an Error can have id 0: the peer's goodbye
				return &RemoteError{Peer: c.peerName(), Message: decodeErrorBody(m.Body)}
			}
			c.mu.Lock()
			p, ok := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if !ok {
				continue // its Request gave up (ctx ended); drop the late answer
			}
			if p.t != m.Type {
				return c.refuse(protoErr("%s %s with id %d answers a %s request", m.Type, m.Kind, m.ID, p.t))
			}
			p.ch <- m
		}
	}
}

// startHandler counts an answer owed to the peer; it reports false (the
// answer is still counted) when Shutdown has begun and the request should be
// refused.
func (c *Conn) startHandler() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight++
	return !c.shuttingDown
}

func (c *Conn) endHandler() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	if c.inflight == 0 && c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

// Shutdown closes the Conn gracefully: requests from the peer that arrive
// from now on are refused with an Error, and Shutdown waits until every
// request already being handled has had its answer written before it
// closes the Conn. If ctx ends first it closes at once and returns ctx's
// error. A process that exits after answering a stop request should call
// Shutdown before exiting, so that the answer is not lost. Do not call it
// from a request handler: it would wait for that handler until ctx ends.
func (c *Conn) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.shuttingDown = true
	var wait chan struct{}
	if c.inflight > 0 && !c.closed {
		if c.drained == nil {
			c.drained = make(chan struct{})
		}
		wait = c.drained
	}
	c.mu.Unlock()
	var err error
	if wait != nil {
		select {
		case <-wait:
		case <-c.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	c.Close()
	return err
}

// refuse closes the Conn over a protocol violation by the peer, telling it why.
func (c *Conn) refuse(pe *ProtocolError) error {
	err := fmt.Errorf("%w (from %s)", pe, c.peerName())
	c.failWithGoodbye(err, "protocol violation: "+pe.Reason)
	return err
}

// handle runs one request and sends its answer.
func (c *Conn) handle(ctx context.Context, h Handler, m Message) {
	answer := Message{Kind: Response, Type: m.Type, ID: m.ID}
	res, err := h.HandleRequest(ctx, m.Type, m.Body)
	if err == nil {
		answer.Body, err = marshalBody(res)
	}
	if err == nil && HeaderSize+len(answer.Body) > c.maxFrameLen() {
		err = &errTooLarge{m: answer, max: c.maxFrameLen()}
	}
	if err != nil {
		msg := err.Error()
		if re, ok := err.(*RemoteError); ok { // relayed as it is: keep the original message
			msg = re.Message
		}
		answer.Kind, answer.Body = Error, encodeErrorBody(msg)
		if HeaderSize+len(answer.Body) > c.maxFrameLen() {
			answer.Body = encodeErrorBody(msg[:min(len(msg), 4096)] + "…")
		}
	}
	c.send(answer) // a failed write closes the Conn; nobody else to tell
}

// eventQueue holds events between the read loop and the goroutine that
// hands them, in order, to HandleEvent.
type eventQueue struct {
	mu       sync.Mutex
	items    []Message
	bytes    int
	maxBytes int
	closed   bool
	wake     chan struct{} // capacity 1
}

func (q *eventQueue) push(m Message) bool {
	q.mu.Lock()
	if len(q.items) >= MaxQueuedEvents || q.bytes+len(m.Body) > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, m)
	q.bytes += len(m.Body)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (q *eventQueue) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// close makes run return once the queue is empty.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *eventQueue) run(h Handler) {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				return
			}
			<-q.wake
			continue
		}
		m := q.items[0]
		q.items[0] = Message{}
		q.items = q.items[1:]
		q.bytes -= len(m.Body)
		q.mu.Unlock()
		h.HandleEvent(m.Type, m.Body)
	}
}
