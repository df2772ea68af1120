package core

import (
	"testing"
	"time"

	"github.com/vigil-ha/vigil/vrrpd/handover"
)

// A dead parent's masters may be resumed only while no backup can have
// taken over: within three adverts of the shortest MASTER instance.
func TestResumeWindow(t *testing.T) {
	inst := func(state string, interval time.Duration) handover.Instance {
		return handover.Instance{Name: "VI", State: state, Interval: interval}
	}
	tests := []struct {
		name string
		snap handover.Snapshot
		want time.Duration
	}{
		{"no instances", handover.Snapshot{}, stateFresh},
		{"a backup only", handover.Snapshot{Instances: []handover.Instance{inst("BACKUP", time.Second)}}, stateFresh},
		{"a master at 1 s", handover.Snapshot{Instances: []handover.Instance{inst("MASTER", time.Second)}}, 3 * time.Second},
		{"the shortest master wins", handover.Snapshot{Instances: []handover.Instance{
			inst("MASTER", 2*time.Second), inst("MASTER", 100*time.Millisecond), inst("BACKUP", 10*time.Millisecond)}}, 300 * time.Millisecond},
		{"long adverts are capped", handover.Snapshot{Instances: []handover.Instance{inst("MASTER", 10*time.Second)}}, stateFresh},
		{"released masters count for nothing", handover.Snapshot{Instances: []handover.Instance{inst("RELEASED", time.Second)}}, stateFresh},
	}
	for _, tt := range tests {
		if got := resumeWindow(&tt.snap); got != tt.want {
			t.Errorf("%s: resumeWindow = %v, want %v", tt.name, got, tt.want)
		}
	}
}
