package lvsd

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
)

// TestKeepalivedLogPhrases: lvsd logs each IPVS change in keepalived's
// words (ipwrapper.c), which existing log alerting matches on.
func TestKeepalivedLogPhrases(t *testing.T) {
	ctx := context.Background()
	obs, logs := observer.New(zap.InfoLevel)
	d := New(Options{Config: parse(t, daemonConf), Backend: ipvs.NewFake(), Log: zap.New(obs), RunScript: (&scriptLog{}).run})
	if _, err := d.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	d.SetVerdict(verdict("198.18.0.1:80 TCP", "198.18.0.10:80", false, 1))
	d.SetVerdict(verdict("198.18.0.2:443 TCP", "198.18.0.20:443", false, 5))
	if _, err := d.Update(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(ctx, true); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"Adding VS ",
		"Adding service 198.18.0.10:80 to VS ",
		"Removing service 198.18.0.10:80 from VS ", // dead, no inhibit_on_failure
		"Adding service 198.18.0.99:80 to VS ",     // the sorry server, quorum lost
		"Changing weight to 0 for rs 198.18.0.20:443 in VS ",
		"Removing VS ", // release at stop
	} {
		if !strings.Contains(all, want) {
			t.Errorf("lvsd's log lacks %q:\n%s", want, all)
		}
	}
}
