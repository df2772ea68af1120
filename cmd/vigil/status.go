package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vigil-ha/vigil/arbiter/agent"
	"github.com/vigil-ha/vigil/checkd"
	"github.com/vigil-ha/vigil/core"
	"github.com/vigil-ha/vigil/ipc"
	"github.com/vigil-ha/vigil/lvsd"
	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/vrrpd"
)

// defaultWatchInterval is vigil status --watch's redraw interval.
const defaultWatchInterval = 2 * time.Second

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show instances, VIPs, peers, checks, IPVS and children (--watch [INTERVAL] redraws until Ctrl-C)",
		ArgsUsage: "[INTERVAL with --watch, default 2s]",
		Flags: []cli.Flag{runDirFlag(), &cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "redraw every INTERVAL (default 2s) until interrupted"},
			&cli.BoolFlag{Name: "stats", Usage: "IPVS counters instead of weights (as ipvsadm -Ln --stats)"},
			&cli.BoolFlag{Name: "rate", Usage: "IPVS rates instead of weights (as ipvsadm -Ln --rate)"}},
		Action: func(c *cli.Context) error {
			opts := statusOptions{JSON: c.Bool("json"), Stats: c.Bool("stats"), Rate: c.Bool("rate")}
			fetch := func() ([]byte, error) {
				var raw json.RawMessage
				err := control(c, core.Command{Name: "status"}, &raw)
				return raw, err
			}
			if !c.Bool("watch") {
				if c.NArg() > 0 {
					fmt.Fprintln(c.App.ErrWriter, "vigil status: takes no argument (an interval goes with --watch)")
					return exitError(2)
				}
				raw, err := fetch()
				if err != nil {
					fmt.Fprintf(c.App.ErrWriter, "vigil status: %v\n", err)
					return exitError(1)
				}
				opts.Now = time.Now()
				return renderStatus(c.App.Writer, raw, opts)
			}
			interval := defaultWatchInterval
			if c.NArg() > 1 {
				fmt.Fprintln(c.App.ErrWriter, "vigil status: --watch takes at most one INTERVAL")
				return exitError(2)
			}
			if c.NArg() == 1 {
				d, err := parseInterval(c.Args().First())
				if err != nil {
					fmt.Fprintf(c.App.ErrWriter, "vigil status: %v\n", err)
					return exitError(2)
				}
				interval = d
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return watchStatus(ctx, c.App.Writer, isTerminalWriter(c.App.Writer), interval, fetch, opts)
		},
	}
}

// parseInterval reads --watch's INTERVAL: a Go duration ("500ms", "5s")
// or a number of seconds ("5", as watch(1)).
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return 0, fmt.Errorf("bad interval %q (e.g. 2s, 500ms or 5)", s)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 100*time.Millisecond {
		return 0, fmt.Errorf("interval %v is below 100ms", d)
	}
	return d, nil
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ansiClear moves the cursor home and clears the screen.
const ansiClear = "\x1b[H\x1b[2J"

// watchStatus redraws the status every interval until ctx ends (Ctrl-C).
// On a terminal each frame replaces the last; otherwise frames are
// printed one after another, separated by a dated line. A daemon that
// does not answer (restarting, stopped) is a frame of its own, and the
// watch goes on.
func watchStatus(ctx context.Context, w io.Writer, tty bool, interval time.Duration, fetch func() ([]byte, error), opts statusOptions) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for first := true; ; first = false {
		var frame bytes.Buffer
		now := time.Now()
		opts.Now = now
		raw, err := fetch()
		if err == nil {
			err = renderStatus(&frame, raw, opts)
		}
		if err != nil {
			frame.Reset()
			fmt.Fprintf(&frame, "vigil status: %v\n", err)
		}
		var out bytes.Buffer
		switch {
		case tty:
			out.WriteString(ansiClear)
			fmt.Fprintf(&out, "every %v: vigil status  %s\n\n", interval, now.Format("2006-01-02 15:04:05"))
		case !first:
			out.WriteString("\n")
			fallthrough
		default:
			if !opts.JSON {
				fmt.Fprintf(&out, "--- %s\n", now.Format(time.RFC3339))
			}
		}
		out.Write(frame.Bytes())
		if _, err := w.Write(out.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// statusOptions select what renderStatus prints.
type statusOptions struct {
	JSON  bool // the daemon's JSON as it came, on one line
	Stats bool // IPVS counters (ipvsadm --stats)
	Rate  bool // IPVS rates (ipvsadm --rate)
	// Now is the time leases are measured from.
	Now time.Time
}

// statusView is core.Status with its children's parts decoded.
type statusView struct {
	core.Status
	VRRP   *vrrpd.Status  `json:"vrrp"`
	LVS    *lvsd.Status   `json:"lvs"`
	Agent  *agent.Status  `json:"agent"`
	Checks *checkd.Status `json:"checks"`
}

// renderStatus prints the daemon's status (raw: the control socket's JSON
// answer) as tables: a summary line, the VRRP instances and their
// masters, the arbiter agent (holds, leases) and its peers, the checks
// (vrrp_scripts and real-server checkers), the real servers, the IPVS
// table and the children.
func renderStatus(w io.Writer, raw []byte, opts statusOptions) error {
	if opts.JSON {
		_, err := fmt.Fprintln(w, strings.TrimSpace(string(raw)))
		return err
	}
	var st statusView
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "vigil pid %d, up %s, config %s\n", st.PID, st.Uptime, st.Config)
	fmt.Fprintf(tw, "%s\n\n", summary(&st))
	if st.VRRP != nil {
		printInstances(tw, st.VRRP)
	}
	if st.Agent != nil {
		printAgent(tw, st.Agent, opts.Now)
	}
	if st.Checks != nil && (len(st.Checks.Scripts) > 0 || len(st.Checks.Checkers) > 0) {
		printChecks(tw, st.Checks)
	}
	if len(st.Backends) > 0 {
		printBackends(tw, st.Backends)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if st.LVS != nil {
		if st.LVS.Error != "" {
			fmt.Fprintf(w, "IPVS: %s\n", st.LVS.Error)
		}
		if st.LVS.Error == "" || len(st.LVS.Services) > 0 {
			if err := ipvs.Format(w, st.LVS.Services, ipvs.FormatOptions{Stats: opts.Stats, Rate: opts.Rate}); err != nil {
				return err
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(tw, "CHILD\tSTATE\tPID\tUPTIME\tRESTARTS\tLAST EXIT")
	for _, ch := range st.Children {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", ch.Name, ch.State, orDash(pidString(ch.PID)), orDash(ch.Uptime), ch.Restarts, orDash(ch.LastExit))
	}
	if st.StandIn != nil {
		fmt.Fprintf(tw, "\nstand-in adverts for an absent vrrpd: %d sent, %d errors\n", st.StandIn.Sent, st.StandIn.Errors)
	}
	return tw.Flush()
}

// summary is the one-line overview under the header.
func summary(st *statusView) string {
	var parts []string
	if st.VRRP != nil {
		byState := map[string]int{}
		var order []string
		vips, held := 0, 0
		for _, in := range st.VRRP.Instances {
			if byState[in.State] == 0 {
				order = append(order, in.State)
			}
			byState[in.State]++
			vips += len(in.VIPs)
			if in.State == "MASTER" {
				held += len(in.VIPs)
			}
		}
		var states []string
		for _, s := range order {
			states = append(states, fmt.Sprintf("%d %s", byState[s], s))
		}
		inst := fmt.Sprintf("%d instance%s", len(st.VRRP.Instances), plural(len(st.VRRP.Instances)))
		if len(states) > 0 {
			inst += " (" + strings.Join(states, ", ") + ")"
		}
		parts = append(parts, inst, fmt.Sprintf("%d/%d VIPs here", held, vips))
	}
	if st.Agent != nil {
		holds := 0
		for _, in := range st.Agent.Instances {
			if in.Decision.Held {
				holds++
			}
		}
		alive := 0
		for _, m := range st.Agent.Members {
			if m.Name != st.Agent.Node && m.State == "alive" {
				alive++
			}
		}
		parts = append(parts, fmt.Sprintf("%d arbiter hold%s", holds, plural(holds)), fmt.Sprintf("%d peer%s alive", alive, plural(alive)))
	}
	if st.Checks != nil && (len(st.Checks.Scripts) > 0 || len(st.Checks.Checkers) > 0) {
		up, n := 0, len(st.Checks.Scripts)+len(st.Checks.Checkers)
		for _, s := range st.Checks.Scripts {
			if s.Up {
				up++
			}
		}
		for _, c := range st.Checks.Checkers {
			if c.Up {
				up++
			}
		}
		parts = append(parts, fmt.Sprintf("%d/%d checks up", up, n))
	}
	if len(st.Backends) > 0 {
		up := 0
		for _, b := range st.Backends {
			if b.Alive {
				up++
			}
		}
		parts = append(parts, fmt.Sprintf("%d/%d real servers up", up, len(st.Backends)))
	}
	if st.LVS != nil {
		if st.LVS.Error != "" {
			parts = append(parts, "IPVS error")
		} else {
			parts = append(parts, fmt.Sprintf("%d IPVS service%s", len(st.LVS.Services), plural(len(st.LVS.Services))))
		}
	}
	running := 0
	for _, ch := range st.Children {
		if ch.State == "running" {
			running++
		}
	}
	parts = append(parts, fmt.Sprintf("%d/%d children running", running, len(st.Children)))
	return strings.Join(parts, ", ")
}

func printInstances(w io.Writer, v *vrrpd.Status) {
	fmt.Fprintln(w, "INSTANCE\tVRID\tINTERFACE\tSTATE\tPRIORITY\tMASTER\tVIPS")
	for _, in := range v.Instances {
		prio := fmt.Sprint(in.EffectivePriority)
		if in.EffectivePriority != in.Priority {
			prio = fmt.Sprintf("%d (base %d)", in.EffectivePriority, in.Priority)
		}
		state := in.State
		if in.Held {
			state += " (held: " + in.HoldReason + ")"
		}
		// The master is this node's source address when it is MASTER,
		// else the peer whose adverts it last heard.
		master := "-"
		if in.Master.IsValid() {
			master = in.Master.String()
			if in.MasterPriority != 0 {
				master += fmt.Sprintf(" (prio %d)", in.MasterPriority)
			}
		}
		vips := make([]string, 0, len(in.VIPs))
		for _, a := range in.VIPs {
			vips = append(vips, a.String())
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", in.Name, in.VRID, in.Interface, state, prio, master, orDash(strings.Join(vips, " ")))
	}
	fmt.Fprintln(w)
}

// printAgent is the arbiter agent's part of vigil status: per protected
// instance the hold and its reason, the lease and the live peers; then the
// gossip members (the peers and arbiters).
func printAgent(w io.Writer, a *agent.Status, now time.Time) {
	fmt.Fprintln(w, "ARBITER\tSTATE\tHELD\tLEASE\tPEERS ALIVE")
	for _, in := range a.Instances {
		d := in.Decision
		held := "no"
		if d.Held {
			held = "yes: " + d.Reason
		}
		lease := d.Mode
		if d.Mode == "lease" {
			lease = fmt.Sprintf("none (%d/%d grants)", d.Grants, d.Arbiters)
			if !d.LeaseValidUntil.IsZero() && d.LeaseValidUntil.After(now) {
				lease = fmt.Sprintf("valid %s (%d/%d grants)", d.LeaseValidUntil.Sub(now).Round(100*time.Millisecond), d.Grants, d.Arbiters)
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", in.Name, in.State, held, lease, orDash(strings.Join(d.PeersAlive, " ")))
	}
	fmt.Fprintln(w)
	if len(a.Members) == 0 {
		return
	}
	fmt.Fprintln(w, "PEER\tADDRESS\tROLE\tSTATE")
	for _, m := range a.Members {
		role := string(m.Role)
		if role == "" {
			role = "node"
		}
		name := m.Name
		if m.Name == a.Node {
			name += " (this node)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, orDash(m.Addr), role, m.State)
	}
	fmt.Fprintln(w)
}

// printChecks lists the vrrp_scripts and the real-server checkers with
// their verdicts, probe counts and mean probe latency.
func printChecks(w io.Writer, c *checkd.Status) {
	fmt.Fprintln(w, "CHECK\tTYPE\tTARGET\tVERDICT\tPROBES\tFAILED\tAVG LATENCY")
	for _, s := range c.Scripts {
		verdict := s.Status
		if s.Running {
			verdict += " (running)"
		}
		fmt.Fprintf(w, "%s\tvrrp_script\t-\t%s\t-\t-\t-\n", s.Name, verdict)
	}
	for _, ck := range c.Checkers {
		verdict := "up"
		switch {
		case ck.Suspended:
			verdict = "suspended"
		case !ck.HasRun:
			verdict = "checking"
		case !ck.Up:
			verdict = "down"
		}
		lat := "-"
		if ck.Probes > 0 {
			lat = roundLatency(time.Duration(ck.LatencySum / float64(ck.Probes) * float64(time.Second))).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", ck.ID, ck.Type, ck.RealServer, verdict, ck.Probes, ck.Failures, lat)
	}
	fmt.Fprintln(w)
}

// roundLatency keeps three significant digits or so.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

func printBackends(w io.Writer, bs []ipc.Backend) {
	fmt.Fprintln(w, "VIRTUAL SERVER\tREAL SERVER\tHEALTH\tWEIGHT\tFAILED CHECKS")
	for _, b := range bs {
		health := "up"
		switch {
		case !b.Alive:
			health = "down"
		case !b.Decided:
			health = "up (checking)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", b.VirtualServer, b.Server, health, b.Weight, orDash(strings.Join(b.Failed, " ")))
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pidString(pid int) string {
	if pid <= 0 {
		return ""
	}
	return strconv.Itoa(pid)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
