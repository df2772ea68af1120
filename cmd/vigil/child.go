package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/vigil-ha/vigil/internal/logging"
	"github.com/vigil-ha/vigil/ipc"
)

// childSession is a subsystem's side of its socket to the supervisor: the
// handshake, liveness and stop requests, and the rule that a child whose
// parent disappears exits at once without releasing anything (the next
// parent resumes from the run directory's snapshots).
type childSession struct {
	role string
	log  *zap.Logger
	conn *ipc.Conn
	// ctx ends on the parent's Stop request.
	ctx  context.Context
	stop context.CancelFunc
	once sync.Once
	done chan struct{} // closed by finish
}

// childHandlers are what a subsystem serves beyond ping and stop.
type childHandlers struct {
	event   func(t ipc.Type, body json.RawMessage)
	request func(ctx context.Context, t ipc.Type, body json.RawMessage) (any, error)
}

func startChildSession(role string, log *zap.Logger, h childHandlers) (*childSession, error) {
	fd, err := strconv.Atoi(os.Getenv("VIGIL_IPC_FD"))
	if err != nil {
		return nil, fmt.Errorf("%s: --child needs VIGIL_IPC_FD (run by vigil run): %w", role, err)
	}
	nc, err := ipc.InheritedConn(uintptr(fd))
	if err != nil {
		return nil, err
	}
	conn := ipc.NewConn(nc, role)
	hctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = conn.Handshake(hctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%s: handshake with the parent: %w", role, err)
	}
	// The supervisor orchestrates: a terminal's Ctrl-C, or a SIGTERM sent
	// to the whole process group, reaches every child, but only the parent
	// acts on it and stops the children in order (vrrpd hands over while
	// the arbiter agent still gives its lease back). A child whose parent
	// is gone exits by itself (below). systemd's KillMode=mixed sends
	// SIGTERM to the parent only anyway.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	s := &childSession{role: role, log: log, conn: conn, ctx: ctx, stop: stop, done: make(chan struct{})}
	go func() {
		_ = conn.Serve(context.Background(), ipc.HandlerFuncs{
			Event: func(t ipc.Type, body json.RawMessage) {
				if h.event != nil {
					h.event(t, body)
				}
			},
			Request: func(rctx context.Context, t ipc.Type, body json.RawMessage) (any, error) {
				switch t {
				case ipc.TypePing:
					return struct{}{}, nil
				case ipc.TypeStop:
					s.stop()
					select {
					case <-s.done:
					case <-rctx.Done():
					}
					return struct{}{}, nil
				}
				if h.request != nil {
					return h.request(rctx, t, body)
				}
				return nil, fmt.Errorf("%s: unknown request %v", role, t)
			},
		})
	}()
	go func() {
		<-conn.Done()
		select {
		case <-s.done:
		default:
			log.Warn("parent gone; exiting without releasing anything (the next vigil resumes)")
			os.Exit(3)
		}
	}()
	return s, nil
}

// request asks the parent for something at start (configuration, state).
func (s *childSession) request(t ipc.Type, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.conn.Request(ctx, t, nil, out); err != nil {
		return fmt.Errorf("%s: %v from the parent: %w", s.role, t, err)
	}
	return nil
}

// finish ends the session after the subsystem stopped: the answer to the
// stop request and the last snapshot go out before the socket closes.
func (s *childSession) finish() {
	s.once.Do(func() { close(s.done) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.conn.Shutdown(ctx)
	s.stop()
}

// childCommand is a subsystem that runs only under `vigil run` (checkd,
// lvsd, the arbiter agent): the same flags, logger and checks for each;
// run does the subsystem's work.
func childCommand(name, usage string, run func(*zap.Logger) error) *cli.Command {
	return &cli.Command{
		Name:  name,
		Usage: usage,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "child", Usage: "run under vigil run (IPC on VIGIL_IPC_FD)"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json"},
			&cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		},
		Action: func(c *cli.Context) error {
			// The parent's SIGUSR1 dump must not kill a child that gets
			// the signal through the process group.
			signal.Ignore(syscall.SIGUSR1, syscall.SIGUSR2)
			format, err := logFormat(c, name)
			if err != nil {
				return err
			}
			log := logging.New(name, format, c.Bool("debug"))
			defer func() { _ = log.Sync() }()
			if !c.Bool("child") {
				fmt.Fprintf(c.App.ErrWriter, "vigil %s: runs under vigil run (--child)\n", name)
				return exitError(2)
			}
			if err := run(log); err != nil {
				log.Error(name+" child failed", zap.Error(err))
				return exitError(1)
			}
			return nil
		},
	}
}

// logFormat reads --log-format for the subcommand name; an unknown value
// is refused with a clear message and status 2 before anything starts, so
// a typo in a unit file fails at once instead of logging in a format
// nothing parses.
func logFormat(c *cli.Context, name string) (logging.Format, error) {
	format, err := logging.ParseFormat(c.String("log-format"))
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "vigil %s: %v\n", name, err)
		return "", exitError(2)
	}
	return format, nil
}
