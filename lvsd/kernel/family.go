package kernel

import (
	"errors"
	"fmt"
	"syscall"
	_ "unsafe" // for go:linkname

	_ "github.com/moby/ipvs" // the package whose variable is linked below
	"github.com/vishvananda/netlink"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// mobyIPVSFamily is github.com/moby/ipvs's package variable ipvsFamily
// (v1.1.0, netlink_linux.go): the generic netlink id every moby request is
// sent to. moby sets it once per process and offers no way to reset it, so
// a first lookup that failed (IPVS not loaded yet: the id stays 0 and the
// kernel silently acknowledges every request) or a module reload (a new
// id) would break every handle for the life of the process. Reaching into
// the variable is the only repair short of forking moby; the go.mod pin
// keeps the name stable, and a moby without it fails to link rather than
// misbehave. Access only with mobyMu held.
//
//go:linkname mobyIPVSFamily github.com/moby/ipvs.ipvsFamily
var mobyIPVSFamily int

func mobyFamily() int { return mobyIPVSFamily }

func setMobyFamily(id int) { mobyIPVSFamily = id }

// resolveFamily asks the generic netlink controller for the IPVS family's
// current id. ENOENT means IPVS is not registered: no IPVS in this kernel.
func resolveFamily() (int, error) {
	f, err := netlink.GenlFamilyGet("IPVS")
	if errors.Is(err, syscall.ENOENT) {
		return 0, fmt.Errorf("%w: no IPVS generic netlink family", ipvs.ErrNoIPVS)
	}
	if err != nil {
		return 0, fmt.Errorf("look up the IPVS generic netlink family: %w", err)
	}
	if f.ID == 0 {
		return 0, errors.New("look up the IPVS generic netlink family: the kernel returned id 0")
	}
	return int(f.ID), nil
}
