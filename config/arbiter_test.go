package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const arbiterInstance = `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 5
    priority 100
    virtual_ipaddress {
        198.18.0.50
    }
}
`

func TestArbiterBlock(t *testing.T) {
	cfg, diags := Parse("a.conf", []byte(arbiterInstance+`arbiter {
    cluster web
    bind 198.18.1.1
    peer 198.18.1.2:7000
    arbiter 198.18.1.10
    arbiter [2001:db8::10]:7001
    arbiter 198.18.1.11
    secret "s3cret"
    lease_ttl 2
    peer_timeout 0.8
    instances VI_1
}
`), Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	a := cfg.Arbiter
	if a == nil {
		t.Fatal("no arbiter block read")
	}
	if a.Cluster != "web" || a.Bind.String() != "198.18.1.1:7946" || a.Peers[0].String() != "198.18.1.2:7000" ||
		len(a.Arbiters) != 3 || a.Arbiters[1].String() != "[2001:db8::10]:7001" || a.Secret != "s3cret" {
		t.Errorf("read %+v", a)
	}
	if !a.RequireQuorum {
		t.Error("require_quorum is not on by default with arbiters")
	}
	if a.LeaseTTL.D() != 2*time.Second || a.PeerTimeout.D() != 800*time.Millisecond || a.RenewEvery.D() != 500*time.Millisecond {
		t.Errorf("timings %v %v %v", a.LeaseTTL.D(), a.PeerTimeout.D(), a.RenewEvery.D())
	}
	if !a.Protects("VI_1") || a.Protects("VI_2") {
		t.Error("Protects does not follow instances")
	}
}

func TestArbiterBlockErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"no bind", "peer 198.18.1.2\nsecret x", "no bind address"},
		{"nobody", "bind 198.18.1.1\nsecret x", "neither a peer nor an arbiter"},
		{"bad address", "bind 198.18.1.1:http\npeer 198.18.1.2\nsecret x", "is not an address"},
		{"margin", "bind 198.18.1.1\npeer 198.18.1.2\nsecret x\nlease_ttl 1\nmargin 1", "no time to renew"},
		{"heartbeat", "bind 198.18.1.1\npeer 198.18.1.2\nsecret x\nheartbeat_interval 0.6", "would time out the peer"},
		{"unknown instance", "bind 198.18.1.1\npeer 198.18.1.2\nsecret x\ninstances VI_9", `"VI_9" is not a vrrp_instance`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("a.conf", []byte(arbiterInstance+"arbiter {\n"+tc.body+"\n}\n"), Options{})
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
				t.Fatalf("diagnostics %v; want an error containing %q", diags, tc.want)
			}
		})
	}
	_, diags := Parse("a.conf", []byte(arbiterInstance+"arbiter {\nbind 198.18.1.1\npeer 198.18.1.2\n}\n"), Options{})
	if diags.HasErrors() || !strings.Contains(diags.Error(), "no secret") {
		t.Errorf("without a secret: %v; want only a warning", diags)
	}
}

// The agent child gets its configuration as JSON over IPC: the secret
// must survive it (it did not, and the nodes gossiped unencrypted).
func TestArbiterSecretSurvivesJSON(t *testing.T) {
	cfg, diags := Parse("a.conf", []byte(arbiterInstance+"arbiter {\n bind 198.18.1.1\n peer 198.18.1.2\n arbiter 198.18.1.10\n secret \"s3cret\"\n}\n"), Options{})
	if diags.HasErrors() {
		t.Fatalf("diagnostics: %v", diags)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Arbiter == nil || back.Arbiter.Secret != "s3cret" || !back.Arbiter.RequireQuorum {
		t.Fatalf("after a JSON round trip: %+v", back.Arbiter)
	}
}
