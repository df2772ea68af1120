// Package handover is what passes between a vrrpd and the supervisor so a
// restart moves no VIP: the snapshot vrrpd reports, and the stand-in that
// keeps a vanished vrrpd's masters advertising until a new vrrpd resumes,
// or releases them cleanly when the supervisor gives up.
//
// The supervisor imports this package, never the engine: it needs the
// advert bytes vrrpd last sent, not VRRP logic.
package handover

import (
	"net/netip"
	"time"

	"github.com/vigil-ha/vigil/config"
)

// Snapshot is vrrpd's state as the supervisor keeps it (and writes it to
// the run directory, so a re-executed supervisor has it too).
type Snapshot struct {
	Taken     time.Time  `json:"taken"`
	Instances []Instance `json:"instances"`
}

// Instance is one vrrp_instance in a snapshot.
type Instance struct {
	Name           string        `json:"name"`
	State          string        `json:"state"` // MASTER, BACKUP, FAULT, ...
	Priority       uint8         `json:"priority"`
	MasterInterval time.Duration `json:"master_interval"`

	// What a stand-in needs to advertise exactly as vrrpd did.
	Family   int           `json:"family"`
	IfIndex  int           `json:"ifindex"` // where adverts leave
	Src      netip.Addr    `json:"src"`
	Interval time.Duration `json:"interval"`
	Adverts  []Advert      `json:"adverts"` // one per destination, current priority
	Release  []Advert      `json:"release"` // the same with priority 0

	// What a stand-in needs to release the addresses.
	VIPDev string              `json:"vip_dev"`
	VIPs   []*config.IPAddress `json:"vips"`
}

// Advert is one encoded advertisement and where it goes.
type Advert struct {
	Dst     netip.Addr `json:"dst"`
	Payload []byte     `json:"payload"`
}

// Lookup returns the snapshot of an instance by name.
func (s *Snapshot) Lookup(name string) (Instance, bool) {
	if s == nil {
		return Instance{}, false
	}
	for _, in := range s.Instances {
		if in.Name == name {
			return in, true
		}
	}
	return Instance{}, false
}

// Masters returns the instances that were MASTER.
func (s *Snapshot) Masters() []Instance {
	var out []Instance
	if s == nil {
		return out
	}
	for _, in := range s.Instances {
		if in.State == "MASTER" {
			out = append(out, in)
		}
	}
	return out
}
