package checkd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-ha/vigil/checkd/health"
	"github.com/vigil-ha/vigil/checkd/sched"
	"github.com/vigil-ha/vigil/config"
)

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, diags := config.Parse("keepalived.conf", []byte(text), config.Options{})
	if diags.HasErrors() {
		t.Fatalf("config errors:\n%v", diags)
	}
	return cfg
}

const planConf = `
global_defs {
  router_id test
  script_user root
}
track_file weight_file {
  file /nonexistent/weight
  weight 2
}
vrrp_script chk_used {
  script "/bin/true"
  interval 2
  rise 3
  fall 2
  init_fail
}
vrrp_script chk_unused {
  script "/bin/false"
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 7
  priority 100
  virtual_ipaddress {
    198.18.0.7/24
  }
  track_script {
    chk_used
  }
}
virtual_server 198.18.0.1 80 {
  protocol TCP
  delay_loop 10
  omega
  real_server 127.0.0.1 8080 {
    weight 5
    TCP_CHECK {
      connect_timeout 2
    }
    HTTP_GET {
      url {
        path /health
        digest 9b3a0c85a887a256d6939da88aabd8cd
        status_code 200 301-302
      }
      virtualhost www.example.test
    }
    DNS_CHECK {
      type A
      name example.test
    }
    MISC_CHECK {
      misc_path "/bin/sh -c 'exit 0'"
      misc_dynamic
    }
    SMTP_CHECK {
      host {
        connect_ip 127.0.0.2
        connect_port 25
      }
    }
    FILE_CHECK {
      track_file weight_file
    }
    UDP_CHECK {
      payload ab12
      require_reply ab1x
    }
  }
  real_server 127.0.0.2 8080 {
    alpha
    retry 4
    delay_before_retry 2
    warmup 0
    PING_CHECK {
    }
  }
}
`

func TestBuild(t *testing.T) {
	plan := Build(parse(t, planConf), Env{})
	if len(plan.Refused) > 0 || len(plan.Warnings) > 0 {
		t.Fatalf("refused %v, warnings %v", plan.Refused, plan.Warnings)
	}
	type want struct {
		id string
		hc health.CheckerConfig
	}
	s := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	vs := "198.18.0.1:80 TCP"
	wants := []want{
		// keepalived.conf(5): retry "Default: 1 unless specified below";
		// delay_before_retry "3 seconds for HTTP_GET and SSL_GET, and 1
		// second otherwise", delay_loop for DNS_CHECK; warmup defaults to
		// delay_loop; DNS_CHECK "The retry default is 3", MISC_CHECK 0.
		{vs + "/127.0.0.1:8080/TCP_CHECK[0]", health.CheckerConfig{DelayLoop: s(10), Retry: 1, DelayBeforeRetry: s(1), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.1:8080/HTTP_GET[1]", health.CheckerConfig{DelayLoop: s(10), Retry: 1, DelayBeforeRetry: s(3), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.1:8080/DNS_CHECK[2]", health.CheckerConfig{DelayLoop: s(10), Retry: 3, DelayBeforeRetry: s(10), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.1:8080/MISC_CHECK[3]", health.CheckerConfig{DelayLoop: s(10), Retry: 0, DelayBeforeRetry: s(1), Warmup: s(10), Omega: true, FromStart: true}},
		{vs + "/127.0.0.1:8080/SMTP_CHECK[4]", health.CheckerConfig{DelayLoop: s(10), Retry: 1, DelayBeforeRetry: s(1), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.1:8080/SMTP_CHECK[4].host[0]", health.CheckerConfig{DelayLoop: s(10), Retry: 1, DelayBeforeRetry: s(1), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.1:8080/FILE_CHECK[5]", health.CheckerConfig{DelayLoop: FilePoll, Omega: true}},
		{vs + "/127.0.0.1:8080/UDP_CHECK[6]", health.CheckerConfig{DelayLoop: s(10), Retry: 1, DelayBeforeRetry: s(1), Warmup: s(10), Omega: true}},
		{vs + "/127.0.0.2:8080/PING_CHECK[0]", health.CheckerConfig{DelayLoop: s(10), Retry: 4, DelayBeforeRetry: s(2), Alpha: true, Omega: true}},
	}
	if len(plan.Checkers) != len(wants) {
		var ids []string
		for _, c := range plan.Checkers {
			ids = append(ids, c.ID)
		}
		t.Fatalf("%d checkers %v, want %d", len(ids), ids, len(wants))
	}
	for i, w := range wants {
		c := plan.Checkers[i]
		if c.ID != w.id || c.Health != w.hc || c.Probe == nil || c.Timeout <= 0 {
			t.Errorf("checker %d: %s %+v timeout %v\nwant       %s %+v", i, c.ID, c.Health, c.Timeout, w.id, w.hc)
		}
	}
	if len(plan.RealServers) != 2 || plan.RealServers[0].Weight != 5 || len(plan.RealServers[0].Checkers) != 8 ||
		!plan.RealServers[1].Alpha[wants[8].id] {
		t.Errorf("real servers %+v", plan.RealServers)
	}
}

// writeScript writes an executable script under dir.
func writeScript(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "check.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// enable_script_security refuses a script others could change (here: in a
// directory under world-writable /tmp), naming why; without it the danger
// is a warning and the script runs. /bin/sh itself is safe.
func TestBuildScriptSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("script security concerns scripts root runs")
	}
	path := writeScript(t, t.TempDir(), "exit 0")
	conf := func(enforce string) string {
		return fmt.Sprintf(`global_defs {
  %s
}
virtual_server 198.18.0.1 80 {
  protocol TCP
  real_server 127.0.0.1 80 {
    MISC_CHECK {
      misc_path %s
    }
    MISC_CHECK {
      misc_path "/bin/sh -c 'exit 0'"
    }
  }
}
`, enforce, path)
	}
	plan := Build(parse(t, conf("enable_script_security")), Env{})
	if len(plan.Checkers) != 1 || !strings.Contains(plan.Checkers[0].ID, "MISC_CHECK[1]") {
		t.Errorf("checkers %+v", plan.Checkers)
	}
	if len(plan.Refused) != 1 || !strings.Contains(plan.Refused[0], "MISC_CHECK at line 7: refused by enable_script_security: /tmp is writable by group or others") {
		t.Errorf("refused %q", plan.Refused)
	}
	plan = Build(parse(t, conf("router_id x")), Env{})
	if len(plan.Checkers) != 2 || len(plan.Refused) != 0 || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "set enable_script_security") {
		t.Errorf("without enable_script_security: %d checkers, refused %v, warnings %v", len(plan.Checkers), plan.Refused, plan.Warnings)
	}
}

func TestTLSConfig(t *testing.T) {
	cfg, err := TLSConfig(nil)
	if err != nil || !cfg.InsecureSkipVerify {
		t.Fatalf("%+v %v", cfg, err)
	}
	if _, err := TLSConfig(&config.SSLConfig{CA: "/nonexistent/ca.pem"}); err == nil {
		t.Error("unreadable CA accepted")
	}
	if _, err := TLSConfig(&config.SSLConfig{Certificate: "/x.pem"}); err == nil {
		t.Error("certificate without key accepted")
	}
}

// End to end: a configuration's checkers, built and scheduled, against a
// real TCP server and a script; the real server's health follows.
func TestBuildAndRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	flag := filepath.Join(t.TempDir(), "healthy")
	os.WriteFile(flag, nil, 0o644)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global_defs {
  script_user %s
}
virtual_server 198.18.0.1 80 {
  protocol TCP
  real_server 127.0.0.1 %d {
    weight 3
    delay_loop 0.2
    warmup 0
    TCP_CHECK {
    }
    MISC_CHECK {
      misc_path "/bin/sh -c 'test -e %s && exit 9'"
      misc_dynamic
      retry 0
    }
  }
}
`, me.Username, port, flag)
	plan := Build(parse(t, conf), Env{})
	if len(plan.Checkers) != 2 || len(plan.Refused) > 0 {
		t.Fatalf("plan %+v", plan)
	}
	rs := plan.RealServers[0]
	alpha := map[string]bool{}
	for _, id := range rs.Checkers {
		alpha[id] = !rs.Alpha[id]
	}
	server := health.NewServer(rs.Weight, alpha)
	var mu sync.Mutex
	var log []string
	changed := make(chan health.ServerDecision, 100)
	s := sched.New(sched.Options{OnEvent: func(e sched.Event) {
		if !e.Decision.Changed && !e.Decision.WeightChanged {
			return
		}
		d := server.Update(e.ID, e.Decision, e.Result.WeightDelta)
		mu.Lock()
		log = append(log, fmt.Sprintf("%s %s", e.ID, e.Decision))
		mu.Unlock()
		if d.AliveChanged || d.WeightChanged {
			changed <- d
		}
	}})
	for _, c := range plan.Checkers {
		m := health.NewChecker(c.Health)
		m.Start(time.Now(), 0)
		if err := s.Add(sched.Check{ID: c.ID, Probe: c.Probe, Machine: m, Timeout: c.Timeout}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; ln.Close() }()

	expect := func(what string, ok func(health.ServerDecision) bool) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case d := <-changed:
				if ok(d) {
					return
				}
			case <-timeout:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("timed out waiting for %s; events:\n%s", what, strings.Join(log, "\n"))
			}
		}
	}
	// Exit status 9 with misc_dynamic: weight 7.
	expect("weight 7", func(d health.ServerDecision) bool { return d.Alive && d.Weight == 7 })
	os.Remove(flag) // the script now exits 1: down at once (retry 0)
	expect("the server down", func(d health.ServerDecision) bool { return !d.Alive })
	os.WriteFile(flag, nil, 0o644)
	expect("the server back with weight 7", func(d health.ServerDecision) bool { return d.Alive && d.Weight == 7 })
	ln.Close() // TCP_CHECK fails twice (retry 1): down
	expect("the server down after the listener closed", func(d health.ServerDecision) bool {
		return !d.Alive && len(d.Failed) == 1 && strings.Contains(d.Failed[0], "TCP_CHECK")
	})
}
