package kernel

import (
	"cmp"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// compareService orders services as ipvsadm -Ln lists them once sorted:
// address-based services (by family, protocol, address, port) before
// fwmark services (by family, mark), so Read is deterministic.
func compareService(a, b ipvs.ServiceKey) int {
	af, bf := a.FWMark != 0, b.FWMark != 0
	if af != bf {
		if af {
			return 1
		}
		return -1
	}
	return cmp.Or(
		cmp.Compare(a.Family, b.Family),
		cmp.Compare(a.Protocol, b.Protocol),
		a.Addr.Compare(b.Addr),
		cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.FWMark, b.FWMark),
	)
}

func compareDest(a, b ipvs.DestKey) int {
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
}
