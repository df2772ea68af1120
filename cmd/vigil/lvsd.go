package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/config"
	"github.com/vigil-ha/vigil/internal/addrwatch"
	"github.com/vigil-ha/vigil/internal/script"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/kernel"
)

// lvsdResync is how often lvsd compares the kernel's tables with what it
// wants even when nothing changed, repairing changes made behind its back.
const lvsdResync = 5 * time.Second

// lvsdRetryIPVS is how often lvsd tries again to open IPVS when the kernel
// had none (the module may be loaded later).
const lvsdRetryIPVS = 30 * time.Second

// lvsdCommand is the IPVS subsystem, run by `vigil run` as a child.
func lvsdCommand() *cli.Command {
	return childCommand("lvsd", "the IPVS subsystem (started by vigil run)", runLVSDChild)
}

func runLVSDChild(log *zap.Logger) error {
	var mu sync.Mutex
	var d *lvsd.Daemon
	var early []ipc.Backend
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	daemon := func() *lvsd.Daemon { mu.Lock(); defer mu.Unlock(); return d }
	s, err := startChildSession("lvsd", log, childHandlers{
		event: func(t ipc.Type, body json.RawMessage) {
			var b ipc.Backend
			if t != ipc.TypeBackend || json.Unmarshal(body, &b) != nil {
				return
			}
			mu.Lock()
			if d == nil {
				early = append(early, b)
			} else {
				d.SetVerdict(b)
			}
			mu.Unlock()
			poke()
		},
		request: func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
			dd := daemon()
			if dd == nil {
				return nil, errors.New("lvsd: starting")
			}
			if t == ipc.TypeStatus {
				return dd.Status(ctx), nil
			}
			return nil, fmt.Errorf("lvsd: unknown request %v", t)
		},
	})
	if err != nil {
		return err
	}
	defer s.finish()
	var cfg config.Config
	if err := s.request(ipc.TypeConfig, &cfg); err != nil {
		return err
	}
	var restore *lvsd.State
	if err := s.request(ipc.TypeRestore, &restore); err != nil {
		return err
	}
	var verdicts []ipc.Backend
	if err := s.request(ipc.TypeBackend, &verdicts); err != nil {
		return err
	}
	backend, berr := kernel.New()
	if berr != nil {
		log.Error("IPVS unavailable: virtual servers are not programmed (checkd and vrrpd are unaffected)", zap.Error(berr))
	}
	gate := &script.Gate{Enforce: cfg.Global.EnableScriptSecurity, Log: log, User: scriptUser(&cfg), Group: scriptGroup(&cfg)}
	opts := lvsd.Options{Config: &cfg, BackendErr: berr, Log: log, Restore: restore, Gate: gate}
	if backend != nil {
		opts.Backend = backend
	}
	dd := lvsd.New(opts)
	mu.Lock()
	for _, b := range verdicts {
		dd.SetVerdict(b)
	}
	for _, b := range early {
		dd.SetVerdict(b)
	}
	early = nil
	d = dd
	mu.Unlock()

	if needsHeld(&cfg) {
		w, err := addrwatch.Start(s.ctx, func(held map[netip.Addr]bool) {
			dd.SetHeld(func(a netip.Addr) bool { return held[a] })
			poke()
		})
		if err != nil {
			log.Error("ha_suspend: cannot watch local addresses; services are kept", zap.Error(err))
		} else {
			defer w.Close()
		}
	}
	log.Info("Starting IPVS child process", zap.Int("virtual_servers", len(cfg.VirtualServers)),
		zap.Bool("resuming", restore != nil), zap.Bool("ipvs", backend != nil))

	var last []byte
	sync := func(full bool) {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		defer cancel()
		apply := dd.Update
		if full {
			apply = dd.Sync
		}
		if _, err := apply(ctx); err != nil && dd.HasBackend() {
			log.Warn("IPVS reconcile incomplete; retrying", zap.Error(err))
		}
		st := dd.State()
		st.Taken = time.Time{}
		if b, _ := json.Marshal(st); string(b) != string(last) {
			last = b
			_ = s.conn.Notify(ipc.TypeSnapshot, dd.State())
		}
	}
	resync := time.NewTicker(lvsdResync)
	defer resync.Stop()
	retry := time.NewTicker(lvsdRetryIPVS)
	defer retry.Stop()
	sync(true)
loop:
	for {
		full := true
		select {
		case <-s.ctx.Done():
			break loop
		case <-kick:
			full = false // a new verdict or address: no need to read the tables back
		case <-resync.C:
		case <-retry.C:
			if dd.HasBackend() {
				continue
			}
			if b, err := kernel.New(); err == nil {
				log.Info("IPVS is available now")
				dd.SetBackend(b)
			} else {
				continue
			}
		}
		sync(full)
	}
	// A stop request (daemon shutdown) releases our services, as
	// keepalived does; a killed or orphaned lvsd never gets here.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := dd.Stop(ctx, true); err != nil {
		log.Warn("stop", zap.Error(err))
	}
	_ = s.conn.Notify(ipc.TypeSnapshot, dd.State())
	if backend != nil {
		_ = backend.Close()
	}
	return nil
}

// needsHeld reports whether a virtual server uses ha_suspend.
func needsHeld(cfg *config.Config) bool {
	for _, vs := range cfg.VirtualServers {
		if vs.HASuspend {
			return true
		}
	}
	return false
}

var _ ipvs.Backend = (*kernel.Backend)(nil)
