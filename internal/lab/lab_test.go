package lab

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLabConnectsNamespaces(t *testing.T) {
	l := New(t)
	a, b := l.Namespace("a"), l.Namespace("b")
	ia := l.Connect(a, "198.18.10.1/24")
	l.Connect(b, "198.18.10.2/24")
	if len(ia) > 15 {
		t.Fatalf("interface name %q longer than 15 bytes", ia)
	}
	var ln net.Listener
	if err := b.Do(func() (err error) { ln, err = net.Listen("tcp", "198.18.10.2:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_, _ = c.Write([]byte("hi"))
			c.Close()
		}
	}()
	var conn net.Conn
	if err := a.Do(func() (err error) {
		conn, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("connect across the lab switch: %v", err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("read %q: %v", buf, err)
	}
	// Nothing leaked into the host's namespace.
	out, _ := os.ReadFile("/proc/net/dev")
	if strings.Contains(string(out), ia) {
		t.Fatalf("interface %s visible in the host namespace", ia)
	}
}

func TestLabRefusesForeignAddresses(t *testing.T) {
	Skip(t)
	ft := &fatalRecorder{TB: t}
	l := New(t)
	ns := l.Namespace("x")
	ifname := l.Connect(ns)
	func() {
		defer func() { _ = recover() }()
		ns.lab.tb = ft
		ns.AddAddr(ifname, "10.0.0.1/24")
	}()
	ns.lab.tb = t
	if !ft.failed {
		t.Fatal("AddAddr accepted 10.0.0.1/24")
	}
}

func TestLabCleansUp(t *testing.T) {
	Skip(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		l := New(t)
		name = l.Namespace("gone").Name
	})
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		t.Fatalf("namespace %s survived its test", name)
	}
}

// fatalRecorder turns Fatalf into a recorded failure plus a panic, so a
// test can check that a helper refuses input.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fatalRecorder) Helper()               {}
