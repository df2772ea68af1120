package probe

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// httpServer is a raw HTTP server: it records each request head and
// answers with whatever respond returns for the path.
type httpServer struct {
	*tcpServer
	mu   sync.Mutex
	reqs []string
}

func startHTTP(t *testing.T, tlsCfg *tls.Config, respond func(path string, c net.Conn)) *httpServer {
	t.Helper()
	h := &httpServer{}
	h.tcpServer = startTCP(t, func(c net.Conn) {
		if tlsCfg != nil {
			tc := tls.Server(c, tlsCfg)
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
		}
		req, err := readRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		h.mu.Lock()
		h.reqs = append(h.reqs, req)
		h.mu.Unlock()
		path := ""
		if f := strings.Fields(req); len(f) > 1 {
			path = f[1]
		}
		respond(path, c)
	})
	return h
}

func (h *httpServer) lastRequest() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reqs) == 0 {
		return ""
	}
	return h.reqs[len(h.reqs)-1]
}

// site is the test web site: a few pages and misbehaviours.
func site(release <-chan struct{}) func(string, net.Conn) {
	return func(path string, c net.Conn) {
		switch path {
		case "/ok":
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n")
		case "/cl":
			io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello, and more that is not hashed")
		case "/chunked":
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello\n\r\n0\r\n\r\n")
		case "/keepalive":
			// Content-Length given, connection left open: the probe must
			// not wait for the close.
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
			<-release
		case "/redirect":
			io.WriteString(c, "HTTP/1.0 301 Moved\r\nLocation: /ok\r\n\r\n")
		case "/slow":
			<-release
		case "/slowbody":
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nhel")
			<-release
		case "/empty":
			// close without a word
		case "/garbage":
			io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n\r\n")
		default:
			io.WriteString(c, "HTTP/1.0 404 Not Found\r\n\r\nnot here\n")
		}
	}
}

func TestHTTP(t *testing.T) {
	ctx := testCtx(t)
	release := make(chan struct{})
	srv := startHTTP(t, nil, site(release))
	t.Cleanup(func() { close(release) }) // before the server's cleanup waits for its handlers
	conn := Conn{Addr: srv.addr(t), Timeout: 500 * time.Millisecond}
	ok := URL{Path: "/ok", Digest: md5hex("hello\n")}
	tests := []struct {
		name    string
		urls    []URL
		proto   string
		conn    *Conn
		ok      bool
		detail  string
		maxTime time.Duration
	}{
		{name: "up: status and digest", urls: []URL{ok}, ok: true},
		{name: "status only", urls: []URL{{Path: "/ok"}}, ok: true},
		{name: "wrong status", urls: []URL{{Path: "/missing"}}, detail: "HTTP status 404 not accepted"},
		{name: "status_code 404 accepted", urls: []URL{{Path: "/missing", Status: []StatusRange{{404, 404}}}}, ok: true},
		{name: "status ranges", urls: []URL{{Path: "/redirect", Status: []StatusRange{{200, 299}, {300, 399}}}}, ok: true},
		{name: "3xx is not 2xx", urls: []URL{{Path: "/redirect"}}, detail: "status 301"},
		{name: "wrong digest", urls: []URL{{Path: "/ok", Digest: md5hex("bye\n")}}, detail: "MD5 digest " + md5hex("hello\n") + ", want"},
		{name: "Content-Length bounds the hashed body", urls: []URL{{Path: "/cl", Digest: md5hex("hello")}}, ok: true},
		{name: "chunked bodies are hashed raw, as keepalived does",
			urls: []URL{{Path: "/chunked", Digest: md5hex("6\r\nhello\n\r\n0\r\n\r\n")}}, proto: HTTP11, ok: true},
		{name: "keep-alive answer ends at Content-Length", urls: []URL{{Path: "/keepalive", Digest: md5hex("hello\n")}}, proto: HTTP11K, ok: true, maxTime: 400 * time.Millisecond},
		{name: "every url must pass", urls: []URL{ok, {Path: "/missing"}}, detail: "GET /missing"},
		{name: "several urls pass", urls: []URL{ok, {Path: "/cl"}}, ok: true, detail: "2 urls"},
		{name: "slow answer: timeout", urls: []URL{{Path: "/slow"}}, detail: "timeout", maxTime: 2 * time.Second},
		{name: "slow body: timeout", urls: []URL{{Path: "/slowbody"}}, detail: "timeout", maxTime: 2 * time.Second},
		{name: "nothing received", urls: []URL{{Path: "/empty"}}, detail: "no data received"},
		{name: "not HTTP", urls: []URL{{Path: "/garbage"}}, detail: "malformed status line"},
		{name: "down: refused", urls: []URL{ok}, conn: &Conn{Addr: refusedAddr(t)}, detail: "connection refused"},
		{name: "down: connect timeout", urls: []URL{ok}, conn: &Conn{Addr: blackholeAddr(t), Timeout: 200 * time.Millisecond}, detail: "timeout", maxTime: 2 * time.Second},
		{name: "no url", detail: "no url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conn
			if tt.conn != nil {
				c = *tt.conn
			}
			r := HTTP(ctx, HTTPTarget{Conn: c, Protocol: tt.proto, URLs: tt.urls})
			if r.OK != tt.ok || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("got ok=%v %q, want ok=%v ~%q", r.OK, r.Detail, tt.ok, tt.detail)
			}
			if tt.maxTime > 0 && r.Latency > tt.maxTime {
				t.Errorf("took %v, more than %v", r.Latency, tt.maxTime)
			}
		})
	}
}

// The request is keepalived's, byte for byte, for every http_protocol, and
// the Host header is the virtualhost or else address:port.
func TestHTTPRequest(t *testing.T) {
	ctx := testCtx(t)
	srv := startHTTP(t, nil, site(nil))
	a := srv.addr(t)
	tests := []struct {
		proto, host, want string
	}{
		{"", "", "GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: " + a.String() + "\r\n\r\n"},
		{HTTP10C, "", "GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: " + a.String() + "\r\n\r\n"},
		{HTTP11, "www.example.test", "GET /ok HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n"},
		{HTTP10K, "", "GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: keep-alive\r\nHost: " + a.String() + "\r\n\r\n"},
		{HTTP11K, "v", "GET /ok HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: keep-alive\r\nHost: v\r\n\r\n"},
	}
	for _, tt := range tests {
		r := HTTP(ctx, HTTPTarget{Conn: Conn{Addr: a}, Protocol: tt.proto, URLs: []URL{{Path: "/ok", Host: tt.host}}})
		if !r.OK {
			t.Errorf("%s: %+v", tt.proto, r)
		}
		if got := srv.lastRequest(); got != tt.want {
			t.Errorf("protocol %q host %q: sent\n%q\nwant\n%q", tt.proto, tt.host, got, tt.want)
		}
	}
	// IPv6 literals are bracketed (RFC 2732), as keepalived's template does.
	v6 := HTTPTarget{Conn: Conn{Addr: mustAddrPort("[::1]:8080")}}
	if got := string(Request(v6, URL{Path: "/"})); !strings.Contains(got, "Host: [::1]:8080\r\n") {
		t.Errorf("IPv6 Host: %q", got)
	}
}

// SSL_GET against a server with a self-signed certificate made here: no
// verification (as keepalived), SNI only when asked for, client
// certificates from the SSL block.
func TestSSLGet(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	var sni []string
	serverCert := selfSigned(t, "real.example.test")
	cfg := &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, h.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	srv := startHTTP(t, cfg, site(nil))
	lastSNI := func() string {
		mu.Lock()
		defer mu.Unlock()
		return sni[len(sni)-1]
	}
	base := HTTPTarget{Conn: Conn{Addr: srv.addr(t), Timeout: time.Second}, TLS: &tls.Config{},
		URLs: []URL{{Path: "/ok", Digest: md5hex("hello\n"), Host: "www.example.test"}}}

	if r := HTTP(ctx, base); !r.OK {
		t.Fatalf("SSL_GET: %+v", r)
	}
	if got := lastSNI(); got != "" {
		t.Errorf("SNI %q sent without enable_sni", got)
	}
	withSNI := base
	withSNI.EnableSNI = true
	if r := HTTP(ctx, withSNI); !r.OK || lastSNI() != "www.example.test" {
		t.Errorf("enable_sni: %+v, SNI %q", r, lastSNI())
	}
	named := withSNI
	named.SNIName = "sni.example.test"
	if r := HTTP(ctx, named); !r.OK || lastSNI() != "sni.example.test" {
		t.Errorf("sni_name: %+v, SNI %q", r, lastSNI())
	}
	if !strings.Contains(srv.lastRequest(), "Host: www.example.test\r\n") {
		t.Errorf("Host header: %q", srv.lastRequest())
	}
	plain := base
	plain.TLS = nil
	if r := HTTP(ctx, plain); r.OK {
		t.Errorf("HTTP_GET against a TLS server passed: %+v", r)
	}
}

func TestSSLGetClientCertificate(t *testing.T) {
	ctx := testCtx(t)
	client := selfSigned(t, "director.example.test")
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSigned(t, "real.example.test")}, ClientAuth: tls.RequireAnyClientCert}
	srv := startHTTP(t, cfg, site(nil))
	target := HTTPTarget{Conn: Conn{Addr: srv.addr(t), Timeout: time.Second}, TLS: &tls.Config{}, URLs: []URL{{Path: "/ok"}}}
	if r := HTTP(ctx, target); r.OK {
		t.Errorf("no client certificate, yet up: %+v", r)
	}
	target.TLS = &tls.Config{Certificates: []tls.Certificate{client}}
	if r := HTTP(ctx, target); !r.OK {
		t.Errorf("with a client certificate: %+v", r)
	}
}

// A real net/http server (Go's), for the common case.
func TestHTTPAgainstNetHTTP(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "api.example.test" {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		fmt.Fprint(w, "{\"healthy\":true}\n")
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	for _, proto := range []string{HTTP10, HTTP10C, HTTP11} {
		r := HTTP(ctx, HTTPTarget{Conn: Conn{Addr: addrOf(t, ln.Addr())}, Protocol: proto,
			URLs: []URL{{Path: "/health", Host: "api.example.test", Digest: md5hex("{\"healthy\":true}\n")}}})
		if !r.OK {
			t.Errorf("protocol %s: %+v", proto, r)
		}
	}
}

func TestParseHead(t *testing.T) {
	tests := []struct {
		head   string
		status int
		cl     int64
		err    bool
	}{
		{"HTTP/1.0 200 OK\r\n\r\n", 200, -1, false},
		{"HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\n", 404, 12, false},
		{"HTTP/1.1 204\r\n\r\n", 204, -1, false},
		{"HTTP/1.1 200 OK\r\ncontent-length:7\r\n\r\n", 200, 7, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", 200, -1, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 200, -1, false},
		{"HTTP/1.1 200 OK\r\nX-Content-Length: 9\r\n\r\n", 200, -1, false},
		{"HTTP/1.1 2000 OK\r\n\r\n", 0, -1, true},
		{"HTTP/1.1\r\n\r\n", 0, -1, true},
		{"garbage", 0, -1, true},
	}
	for _, tt := range tests {
		h, err := ParseHead([]byte(tt.head))
		if (err != nil) != tt.err || (err == nil && (h.Status != tt.status || h.ContentLength != tt.cl)) {
			t.Errorf("%q: %+v %v", tt.head, h, err)
		}
	}
}
