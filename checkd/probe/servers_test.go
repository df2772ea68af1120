package probe

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Every probe in these tests runs against servers on 127.0.0.0/8 that the
// test starts, and every wait is bounded by a context or a timeout.

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func addrOf(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// tcpServer accepts connections on 127.0.0.1 and hands each to serve in a
// goroutine; everything is closed when the test ends.
type tcpServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
	peers []netip.AddrPort
}

func startTCP(t *testing.T, serve func(net.Conn)) *tcpServer {
	t.Helper()
	return startTCPAt(t, "127.0.0.1:0", serve)
}

func startTCPAt(t *testing.T, addr string, serve func(net.Conn)) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.peers = append(s.peers, addrOf(t, c.RemoteAddr()))
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *tcpServer) addr(t *testing.T) netip.AddrPort { return addrOf(t, s.ln.Addr()) }

func (s *tcpServer) lastPeer() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.peers) == 0 {
		return netip.AddrPort{}
	}
	return s.peers[len(s.peers)-1]
}

// refusedAddr is a loopback port nobody listens on.
func refusedAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := addrOf(t, ln.Addr())
	ln.Close()
	return a
}

// blackholeAddr is a loopback port whose accept queue is full, so a
// connection attempt hangs until its timeout: listen(fd, 0) admits one
// connection that is never accepted, and the kernel drops further SYNs.
func blackholeAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	filler, err := net.DialTimeout("tcp", a.String(), time.Second)
	if err != nil {
		t.Fatalf("filling the accept queue: %v", err)
	}
	t.Cleanup(func() { filler.Close() })
	// Make sure the queue is full now: a further attempt must time out.
	if c, err := net.DialTimeout("tcp", a.String(), 100*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel accepts beyond a zero backlog; no black hole on loopback")
	}
	return a
}

// selfSigned makes a certificate for the names, valid for an hour.
func selfSigned(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     names,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// readRequest reads an HTTP request head (up to the blank line).
func readRequest(br *bufio.Reader) (string, error) {
	var head []byte
	for {
		line, err := br.ReadString('\n')
		head = append(head, line...)
		if err != nil {
			return string(head), err
		}
		if line == "\r\n" {
			return string(head), nil
		}
		if len(head) > 16<<10 {
			return string(head), errors.New("request too long")
		}
	}
}

// udpServer answers datagrams on 127.0.0.1 with whatever reply returns
// (nil: no answer).
func startUDP(t *testing.T, reply func(req []byte) [][]byte) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, r := range reply(append([]byte(nil), buf[:n]...)) {
				_, _ = pc.WriteTo(r, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return addrOf(t, pc.LocalAddr())
}

// refusedUDP is a loopback UDP port nobody listens on (the kernel answers
// port unreachable).
func refusedUDP(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := addrOf(t, pc.LocalAddr())
	pc.Close()
	return a
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
