package ipvssmoke

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/moby/ipvs"
)

// TestIpvsadmHostBinary runs the host's dynamically linked ipvsadm in the
// guest (vmkit's HostBinaries copied it there with its libraries and the
// dynamic loader) and checks that it lists a service made over netlink.
// The host test passes VIGIL_VMTEST_IPVSADM=1 when it asked for ipvsadm.
func TestIpvsadmHostBinary(t *testing.T) {
	inVM(t)
	if os.Getenv("VIGIL_VMTEST_IPVSADM") != "1" {
		t.Skip("the host has no /usr/sbin/ipvsadm to copy into the guest")
	}
	h := newHandle(t)
	svc := service("wrr")
	if err := h.NewService(svc); err != nil {
		t.Fatalf("NewService: %v", err)
	}
	if err := h.NewDestination(svc, &ipvs.Destination{
		AddressFamily: svc.AddressFamily, Address: net.ParseIP("198.51.100.7").To4(), Port: 8080,
		Weight: 3, ConnectionFlags: ipvs.ConnectionFlagMasq,
	}); err != nil {
		t.Fatalf("NewDestination: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/sbin/ipvsadm", "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	t.Logf("ipvsadm -Ln in the guest:\n%s", out)
	for _, want := range []string{"TCP  192.0.2.10:80 wrr", "-> 198.51.100.7:8080", "Masq    3"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ipvsadm -Ln lacks %q", want)
		}
	}
}
