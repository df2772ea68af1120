package probe

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strconv"
	"time"
)

// HTTP versions of HTTP_GET/SSL_GET requests (http_protocol), and the two
// keep-alive variants keepalived's genhash accepts for testing.
const (
	HTTP10  = "1.0"  // HTTP/1.0, keepalived's default
	HTTP10C = "1.0C" // HTTP/1.0 with "Connection: close"
	HTTP11  = "1.1"  // HTTP/1.1 with "Connection: close"
	HTTP10K = "1.0K" // HTTP/1.0 with "Connection: keep-alive"
	HTTP11K = "1.1K" // HTTP/1.1 with "Connection: keep-alive"
)

// StatusRange is an inclusive range of accepted HTTP status codes.
type StatusRange struct{ Min, Max int }

// URL is one url block of an HTTP_GET/SSL_GET checker.
type URL struct {
	Path string
	// Digest is the expected MD5 of the body in hex (genhash's output);
	// empty means the body is not checked.
	Digest string
	// Status lists the accepted status codes; empty means 200-299.
	Status []StatusRange
	// Host is the Host header (the url's, checker's, real server's or
	// virtual server's virtualhost); empty sends the address and port.
	Host string
}

// HTTPTarget is an HTTP_GET or SSL_GET checker. The server is up when
// every URL answers with an accepted status and, where a digest is given,
// a body with that MD5.
type HTTPTarget struct {
	Conn
	// TLS makes this SSL_GET. keepalived does not verify the server's
	// certificate, and neither does Vigil: the configuration is used for
	// client certificates; InsecureSkipVerify is forced on.
	TLS *tls.Config
	// SNIName is sent as TLS server name (sni_name); failing that, with
	// EnableSNI each URL's Host is sent (enable_sni).
	SNIName   string
	EnableSNI bool
	// Protocol is HTTP10 (default), HTTP10C, HTTP11, HTTP10K or HTTP11K.
	Protocol string
	URLs     []URL
}

// Response is what one GET returned.
type Response struct {
	// Status is the status code; Header the raw header block, status line
	// included, up to and including the blank line.
	Status int
	Header []byte
	// ContentLength is the Content-Length header, -1 when absent.
	ContentLength int64
	// BodyBytes counts the body bytes received; Digest is the MD5 of the
	// body as keepalived hashes it: the raw bytes after the header (no
	// chunked decoding), at most ContentLength of them.
	BodyBytes int64
	Digest    [md5.Size]byte
}

// DigestHex is the digest as genhash prints it and digest lines hold it.
func (r *Response) DigestHex() string { return hex.EncodeToString(r.Digest[:]) }

// maxHeader bounds the header block kept in memory.
const maxHeader = 64 << 10

// HTTP is HTTP_GET or SSL_GET: each URL is fetched in turn and the first
// one that fails fails the probe. keepalived checks one URL per delay_loop
// and brings the server up once all have passed; Vigil checks them all in
// one probe, which is what keepalived's fast_recovery does.
func HTTP(ctx context.Context, t HTTPTarget) Result {
	start := time.Now()
	if len(t.URLs) == 0 {
		return fail(start, "no url to check")
	}
	for _, u := range t.URLs {
		resp, err := Fetch(ctx, t, u)
		if err != nil {
			return fail(start, "GET %s: %v", u.Path, err)
		}
		if !statusOK(resp.Status, u.Status) {
			return fail(start, "GET %s: HTTP status %d not accepted", u.Path, resp.Status)
		}
		if u.Digest != "" && resp.DigestHex() != u.Digest {
			return fail(start, "GET %s: MD5 digest %s, want %s", u.Path, resp.DigestHex(), u.Digest)
		}
	}
	last := t.URLs[len(t.URLs)-1]
	if len(t.URLs) == 1 {
		return pass(start, "GET %s: status and digest accepted", last.Path)
	}
	return pass(start, "%d urls accepted", len(t.URLs))
}

func statusOK(code int, ranges []StatusRange) bool {
	if len(ranges) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range ranges {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

// Request is the request keepalived sends for a URL (check_http.c
// request_template), byte for byte: servers whose answer depends on the
// request see the same one.
func Request(t HTTPTarget, u URL) []byte {
	minor, conn := 0, ""
	switch t.Protocol {
	case HTTP10C:
		conn = "Connection: close\r\n"
	case HTTP11:
		minor, conn = 1, "Connection: close\r\n"
	case HTTP10K:
		conn = "Connection: keep-alive\r\n"
	case HTTP11K:
		minor, conn = 1, "Connection: keep-alive\r\n"
	}
	host := u.Host
	if host == "" {
		a := t.Addr.Addr().WithZone("")
		if a.Is6() && !a.Is4In6() {
			host = "[" + a.String() + "]"
		} else {
			host = a.Unmap().String()
		}
		host += ":" + strconv.Itoa(int(t.Addr.Port()))
	}
	return fmt.Appendf(nil, "GET %s HTTP/1.%d\r\nUser-Agent: KeepAliveClient\r\n%sHost: %s\r\n\r\n", u.Path, minor, conn, host)
}

// Fetch sends one GET and reads the answer: the status and the body's
// digest. It reads until the server closes the connection or the body
// reaches its Content-Length.
func Fetch(ctx context.Context, t HTTPTarget, u URL) (*Response, error) {
	nc, err := t.dial(ctx, "tcp")
	if err != nil {
		return nil, errors.New(describe(ctx, err))
	}
	defer nc.Close()
	var rw io.ReadWriter = nc
	tlsOn := t.TLS != nil
	if tlsOn {
		cfg := t.TLS.Clone()
		cfg.InsecureSkipVerify = true
		cfg.ServerName = t.SNIName
		if cfg.ServerName == "" && t.EnableSNI {
			cfg.ServerName = u.Host
		}
		if ip := net.ParseIP(cfg.ServerName); ip != nil {
			cfg.ServerName = "" // an address is never sent as SNI
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %s", describe(ctx, err))
		}
		defer tc.Close()
		rw = tc
	}
	if _, err := rw.Write(Request(t, u)); err != nil {
		return nil, fmt.Errorf("send request: %s", describe(ctx, err))
	}
	r := newReader()
	buf := make([]byte, 16<<10)
	for !r.done() {
		n, err := rw.Read(buf)
		if n > 0 {
			if perr := r.feed(buf[:n]); perr != nil {
				return nil, perr
			}
		}
		if err == nil {
			continue
		}
		// EOF ends the answer. Over TLS keepalived also accepts a close
		// without close_notify once the header has arrived.
		if errors.Is(err, io.EOF) || (tlsOn && r.head != nil && errors.Is(err, io.ErrUnexpectedEOF)) {
			break
		}
		return nil, fmt.Errorf("read: %s", describe(ctx, err))
	}
	if r.head == nil {
		return nil, errors.New("no data received (no complete HTTP header)")
	}
	return r.response(), nil
}

// reader collects an answer: the header until the blank line, then the
// body into the digest.
type reader struct {
	pending []byte // header bytes so far
	head    []byte
	resp    Response
	md5     hash.Hash
}

func newReader() *reader {
	return &reader{md5: md5.New(), resp: Response{ContentLength: -1}}
}

func (r *reader) done() bool {
	return r.head != nil && r.resp.ContentLength >= 0 && r.resp.BodyBytes >= r.resp.ContentLength
}

func (r *reader) feed(p []byte) error {
	if r.head == nil {
		r.pending = append(r.pending, p...)
		i := bytes.Index(r.pending, []byte("\r\n\r\n"))
		if i < 0 {
			if len(r.pending) > maxHeader {
				return fmt.Errorf("HTTP header longer than %d bytes", maxHeader)
			}
			return nil
		}
		r.head = r.pending[:i+4]
		h, err := ParseHead(r.head)
		if err != nil {
			return err
		}
		r.resp.Status, r.resp.ContentLength = h.Status, h.ContentLength
		p = r.pending[i+4:]
	}
	if cl := r.resp.ContentLength; cl >= 0 && int64(len(p)) > cl-r.resp.BodyBytes {
		p = p[:cl-r.resp.BodyBytes]
	}
	r.md5.Write(p)
	r.resp.BodyBytes += int64(len(p))
	return nil
}

func (r *reader) response() *Response {
	r.resp.Header = r.head
	copy(r.resp.Digest[:], r.md5.Sum(nil))
	return &r.resp
}

// Head is what a probe needs of an HTTP response header.
type Head struct {
	Status        int
	ContentLength int64 // -1 when absent or unreadable
}

// ParseHead reads the status code and Content-Length from a header block
// (status line and fields, CRLF separated). As keepalived's
// extract_status_code does, the status is the number after the first
// space of the first line; it must be three digits.
func ParseHead(head []byte) (Head, error) {
	h := Head{ContentLength: -1}
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	_, after, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return h, fmt.Errorf("malformed status line %q", clip(line))
	}
	code, _, _ := bytes.Cut(after, []byte(" "))
	if len(code) != 3 || !allDigits(code) {
		return h, fmt.Errorf("malformed status line %q", clip(line))
	}
	h.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			continue
		}
		v := bytes.TrimSpace(value)
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n >= 0 && allDigits(v) {
			h.ContentLength = n
		}
	}
	return h, nil
}

func allDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
