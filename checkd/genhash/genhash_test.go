package genhash

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// pages answers by path; each answer is written raw and the connection
// closed. The server records the Host header and SNI it saw.
var pages = map[string]string{
	"/index.html": "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>hello</html>\n",
	"/cl":         "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbodyand-trailing-junk",
	"/chunked":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"/missing":    "HTTP/1.0 404 Not Found\r\n\r\nnot here\n",
}

type server struct {
	addr     string
	port     string
	mu       sync.Mutex
	hosts    []string
	sniNames []string
}

func startServer(t *testing.T, useTLS bool) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.addr, s.port, _ = net.SplitHostPort(ln.Addr().String())
	var cfg *tls.Config
	if useTLS {
		cfg = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			s.sniNames = append(s.sniNames, h.ServerName)
			s.mu.Unlock()
			return nil, nil
		}}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				var rw net.Conn = c
				if cfg != nil {
					tc := tls.Server(c, cfg)
					if tc.Handshake() != nil {
						return
					}
					defer tc.Close()
					rw = tc
				}
				br := bufio.NewReader(rw)
				var path, host string
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if f := strings.Fields(line); len(f) > 1 && f[0] == "GET" {
						path = f[1]
					}
					if h, ok := strings.CutPrefix(line, "Host: "); ok {
						host = strings.TrimSpace(h)
					}
					if line == "\r\n" {
						break
					}
				}
				s.mu.Lock()
				s.hosts = append(s.hosts, host)
				s.mu.Unlock()
				io.WriteString(rw, pages[path])
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return s
}

func selfSigned(t *testing.T) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "www.example.test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"www.example.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func run(args ...string) (int, string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestGenhash(t *testing.T) {
	s := startServer(t, false)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-u", "/index.html"}, md5hex("<html>hello</html>\n")},
		{[]string{"--url", "/cl"}, md5hex("body")},
		// The body is hashed as received, chunk framing included, as
		// keepalived's checker and genhash do.
		{[]string{"-u", "/chunked", "-P", "1.1"}, md5hex("5\r\nhello\r\n0\r\n\r\n")},
		// genhash prints the digest whatever the status.
		{[]string{"-u", "/missing"}, md5hex("not here\n")},
	}
	for _, tt := range tests {
		args := append([]string{"-s", s.addr, "-p", s.port}, tt.args...)
		code, out, errs := run(args...)
		if code != 0 || out != tt.want+"\n" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %s", tt.args, code, out, errs, tt.want)
		}
	}
	code, _, _ := run("--server", s.addr, "--port", s.port, "-u", "/index.html", "--use-virtualhost", "www.example.test")
	s.mu.Lock()
	host := s.hosts[len(s.hosts)-1]
	s.mu.Unlock()
	if code != 0 || host != "www.example.test" {
		t.Errorf("virtualhost: exit %d, Host %q", code, host)
	}
	code, out, _ := run("-s", s.addr, "-p", s.port, "-u", "/index.html", "-v")
	if code != 0 || !strings.Contains(out, "HTTP/1.0 200 OK") || !strings.HasSuffix(out, md5hex("<html>hello</html>\n")+"\n") {
		t.Errorf("verbose: %d %q", code, out)
	}
}

func TestGenhashSSL(t *testing.T) {
	s := startServer(t, true)
	want := md5hex("<html>hello</html>\n") + "\n"
	lastSNI := func() string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.sniNames[len(s.sniNames)-1]
	}
	cases := []struct {
		args []string
		sni  string
	}{
		{[]string{"-S"}, ""},
		{[]string{"--use-ssl", "-I", "-V", "www.example.test"}, "www.example.test"},
		{[]string{"-S", "--sni", "sni.example.test", "--virtualhost", "www.example.test"}, "sni.example.test"},
	}
	for _, c := range cases {
		args := append([]string{"-s", s.addr, "-p", s.port, "-u", "/index.html"}, c.args...)
		code, out, errs := run(args...)
		if code != 0 || out != want || lastSNI() != c.sni {
			t.Errorf("%v: exit %d %q %q, SNI %q want %q", c.args, code, out, errs, lastSNI(), c.sni)
		}
	}
}

func TestGenhashErrors(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{[]string{"-h"}, 0, "", "Usage: vigil genhash"},
		{[]string{"-s", "127.0.0.1", "-p", "80"}, 1, "-s, -p and -u are required", ""},
		{[]string{"-s", "localhost", "-p", "80", "-u", "/"}, 1, "server should be an IP", ""},
		{[]string{"-s", "127.0.0.1", "-p", "0", "-u", "/"}, 1, "invalid port number", ""},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "-P", "2"}, 1, "invalid HTTP protocol version", ""},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "-H", "sha1"}, 1, "not supported", ""},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "--sni", "x"}, 1, "SNI needs --use-ssl", ""},
		{[]string{"-s", "127.0.0.1", "-p", "80", "-u", "/", "extra"}, 1, "unexpected argument", ""},
		{[]string{"--bogus"}, 1, "flag provided but not defined", ""},
	}
	for _, tt := range tests {
		code, out, errs := run(tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.stderr) || !strings.Contains(out, tt.stdout) {
			t.Errorf("%v: exit %d stdout %q stderr %q", tt.args, code, out, errs)
		}
	}
	// A refused connection is a failure, said on stderr.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	code, out, errs := run("-s", "127.0.0.1", "-p", port, "-u", "/", "-t", "2")
	if code != 1 || out != "" || !strings.Contains(errs, "connection refused") {
		t.Errorf("refused: exit %d stdout %q stderr %q", code, out, errs)
	}
}

// The digest is keepalived's: run keepalived's own genhash (installed with
// keepalived for the agreement tests) against the same pages.
func TestGenhashAgreesWithKeepalived(t *testing.T) {
	kgen, err := exec.LookPath("genhash")
	if err != nil {
		t.Skip("keepalived's genhash is not installed")
	}
	for _, useTLS := range []bool{false, true} {
		s := startServer(t, useTLS)
		for path := range pages {
			for _, proto := range []string{"1.0", "1.1"} {
				args := []string{"-s", s.addr, "-p", s.port, "-u", path, "-P", proto}
				if useTLS {
					args = append(args, "-S")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				theirs, err := exec.CommandContext(ctx, kgen, args...).Output()
				cancel()
				if err != nil {
					t.Fatalf("genhash %v: %v", args, err)
				}
				code, ours, errs := run(args...)
				if code != 0 || ours != string(theirs) {
					t.Errorf("TLS %v %s %s: keepalived %q, vigil %q (%s)", useTLS, path, proto, theirs, ours, errs)
				}
			}
		}
	}

}
