package tracker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/ipc"
)

// A tracked script that does not exist counts as failing, with or without
// enable_script_security, and the log says what is wrong (keepalived
// instead drops it from tracking: "Disabling track script ... since not
// found/accessible", and the instance runs as if untracked).
func TestMissingScriptCountsAsFailing(t *testing.T) {
	for _, enforce := range []bool{false, true} {
		t.Run(fmt.Sprintf("enable_script_security=%v", enforce), func(t *testing.T) {
			global := ""
			if enforce {
				global = "global_defs {\n    enable_script_security\n}\n"
			}
			text := global + `vrrp_script chk {
    script "/nonexistent/vigil-test/check.sh"
    interval 1
    fall 1
    rise 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.18.0.50/24
    }
    track_script {
        chk
    }
}
`
			cfg, diags := config.Parse("test.conf", []byte(text), config.Options{})
			if len(diags.Errors()) > 0 {
				t.Fatalf("config: %v", diags.Errors())
			}
			core, logs := observer.New(zap.InfoLevel)
			tracks := make(chan ipc.Track, 16)
			tr := New(cfg, zap.New(core), nil, func(tk ipc.Track) { tracks <- tk })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { tr.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			deadline := time.After(5 * time.Second)
			for failed := false; !failed; {
				select {
				case tk := <-tracks:
					failed = tk.Kind == "script" && tk.Name == "chk" && !tk.Up
				case <-deadline:
					t.Fatal("no failing state reported for the missing script within 5 s")
				}
			}
			found := false
			for _, e := range logs.All() {
				if strings.Contains(e.Message, "VRRP_Script(chk) not found or not executable") {
					found = true
				}
				if strings.Contains(e.Message, "non-root user") {
					t.Errorf("a missing script logged as a security problem: %q", e.Message)
				}
			}
			if !found {
				t.Errorf("no log line names the missing script; got %d lines", logs.Len())
			}
		})
	}
}
