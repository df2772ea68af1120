package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StartOutput is Start with any writers for the command's output (a
// goroutine-safe buffer a test reads while the command runs, a file).
// The process group is killed when the test ends, as with Start.
func (ns *NS) StartOutput(stdout, stderr io.Writer, name string, args ...string) *exec.Cmd {
	ns.lab.tb.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		ns.lab.tb.Fatalf("lab %s: start %s: %v", ns.Role, name, err)
	}
	ns.lab.mu.Lock()
	ns.lab.procs = append(ns.lab.procs, cmd)
	ns.lab.mu.Unlock()
	return cmd
}

// Switch is the namespace holding the lab's bridge, for tests that act on
// the wire: pull a port's cable, filter traffic between ports.
func (l *Lab) Switch() *NS { return l.sw }

// SwitchPort is the switch-side end of the veth that Connect made for the
// interface ifname: setting it down makes ifname lose carrier, as pulling
// the cable would.
func (l *Lab) SwitchPort(ifname string) string {
	l.tb.Helper()
	head := "vg" + l.id
	if !strings.HasPrefix(ifname, head) || len(ifname) == len(head) {
		l.tb.Fatalf("lab: %s was not made by Connect of this lab", ifname)
	}
	return head + "p" + ifname[len(head):]
}

// SetPort sets the switch port of ifname (an interface Connect made) up or
// down: down is a pulled cable for the namespace on the other end.
func (l *Lab) SetPort(ifname string, up bool) {
	l.tb.Helper()
	state := "down"
	if up {
		state = "up"
	}
	l.sw.MustRun("ip", "link", "set", "dev", l.SwitchPort(ifname), state)
}

// MAC is the hardware address of an interface of ns.
func (ns *NS) MAC(ifname string) net.HardwareAddr {
	ns.lab.tb.Helper()
	var hw net.HardwareAddr
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		hw = ifi.HardwareAddr
		return nil
	})
	if err != nil || len(hw) == 0 {
		ns.lab.tb.Fatalf("lab %s: MAC of %s: %v", ns.Role, ifname, err)
	}
	return hw
}

// Sysctl sets a sysctl inside the namespace (net.* keys are per
// namespace), e.g. Sysctl("net.ipv6.conf.default.accept_dad", "0").
func (ns *NS) Sysctl(key, value string) {
	ns.lab.tb.Helper()
	ns.MustRun("sysctl", "-q", "-w", fmt.Sprintf("%s=%s", key, value))
}

// StartProbeTimeout is StartProbe with every connect bounded by timeout
// rather than by the interval: on a busy test host a connect may take
// longer than a 10 ms interval without anything being lost, while a VIP
// answered by the wrong host still fails it (the SYN is dropped and not
// retried within the timeout).
func (ns *NS) StartProbeTimeout(addr netip.AddrPort, interval, timeout time.Duration) *Probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Probe{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = ns.Do(func() error {
			d := net.Dialer{Timeout: timeout}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
				at := time.Now()
				c, err := d.DialContext(ctx, "tcp", addr.String())
				if ctx.Err() != nil {
					return nil
				}
				p.mu.Lock()
				p.attempts++
				if err != nil {
					p.failures = append(p.failures, at)
					if len(p.reasons) < 20 {
						p.reasons = append(p.reasons, at.Format("15:04:05.000")+" "+err.Error())
					}
				} else {
					c.Close()
				}
				p.mu.Unlock()
			}
		})
	}()
	ns.lab.tb.Cleanup(p.Stop)
	return p
}
