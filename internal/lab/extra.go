package lab

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
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
