package kernel

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	mipvs "github.com/moby/ipvs"

	"github.com/vigil-ha/vigil/lvsd/ipvs"
	"github.com/vigil-ha/vigil/lvsd/plan"
)

// Benchmark table size: 1,000 virtual services with 10 real servers each.
const (
	benchServices = 1000
	benchDests    = 10
	ipvsadmPath   = "/usr/sbin/ipvsadm"
)

// benchTable is the benchmark's desired table: TCP VIPs from 198.18.0.0/16
// and real servers from 198.19.0.0/16, weighted round robin, NAT.
func benchTable() []plan.Desired {
	ds := make([]plan.Desired, 0, benchServices)
	for i := range benchServices {
		svc := ipvs.Service{ServiceKey: tcp(fmt.Sprintf("198.18.%d.%d", i/250, i%250+1), 80), Sched: "wrr", Netmask: 0xffffffff}
		d := plan.Desired{Service: svc}
		for j := range benchDests {
			d.Dests = append(d.Dests, dest(fmt.Sprintf("198.19.%d.%d", i/25, (i%25)*benchDests+j+1), 8080, 1, "NAT"))
		}
		ds = append(ds, d)
	}
	return ds
}

// ipvsadmRules renders the same table as ipvsadm -R input.
func ipvsadmRules(ds []plan.Desired) []byte {
	var buf bytes.Buffer
	for _, d := range ds {
		vip := fmt.Sprintf("%s:%d", d.Service.Addr, d.Service.Port)
		fmt.Fprintf(&buf, "-A -t %s -s %s\n", vip, d.Service.Sched)
		for _, r := range d.Dests {
			fmt.Fprintf(&buf, "-a -t %s -r %s:%d -m -w %d\n", vip, r.Addr, r.Port, r.Weight)
		}
	}
	return buf.Bytes()
}

// figure prints one measurement in the form BenchmarkApplyInVM parses:
// "BENCH <name> <value> <unit>".
func figure(name string, v float64, unit string) {
	fmt.Printf("BENCH %s %.3f %s\n", name, v, unit)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// TestGuestBench measures, in the guest, applying 1,000 services × 10 real
// servers from empty through this backend (plan.Reconcile: read, diff,
// 11,000 netlink requests in pipelined batches), then reconciling one
// weight change (which must be one op), against the per-op path, a bare
// moby handle, ipvsadm -R restoring the same table from empty and
// ipvsadm -e making the same one change. It runs only when the host's
// BenchmarkApplyInVM asks for it (VIGIL_LVSD_BENCH=1): it is a benchmark,
// not part of make test.
func TestGuestBench(t *testing.T) {
	if os.Getenv("VIGIL_LVSD_BENCH") != "1" {
		t.Skip("a benchmark: go test -bench ApplyInVM ./lvsd/kernel runs it in the VM")
	}
	b := openBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	desired := benchTable()
	owned := func(ipvs.ServiceKey) bool { return true }
	want := toEntries(desired)

	// *Backend is an ipvs.BatchApplier: plan hands it all the ops in one
	// ApplyBatch (pipelined netlink, batch.go).
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ops, err := plan.Reconcile(ctx, b, desired, owned)
	applyAll := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Reconcile from empty: %v", err)
	}
	if len(ops) != benchServices*(1+benchDests) {
		t.Fatalf("Reconcile from empty applied %d ops, want %d", len(ops), benchServices*(1+benchDests))
	}
	figure("apply-from-empty", ms(applyAll), "ms")
	figure("apply-from-empty", float64(len(ops)), "ops")
	figure("apply-from-empty-alloc", float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "MiB")

	start = time.Now()
	actual, err := b.Read(ctx)
	readAll := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	figure("read-full-table", ms(readAll), "ms")
	if g, w := render(actual), renderEntries(want); g != w {
		t.Fatalf("the table read back differs from the desired one")
	}

	desired[500].Dests[3].Weight = 5
	start = time.Now()
	ops, err = plan.Reconcile(ctx, b, desired, owned)
	one := time.Since(start)
	if err != nil {
		t.Fatalf("Reconcile one weight change: %v", err)
	}
	if len(ops) != 1 || ops[0].Kind != ipvs.UpdateDest {
		t.Fatalf("one weight change took %d ops, want 1 update-dest:\n%s", len(ops), opStrings(ops))
	}
	figure("reconcile-one-weight", ms(one), "ms")
	figure("reconcile-one-weight", float64(len(ops)), "ops")
	start = time.Now()
	if err := b.Apply(ctx, ipvs.Op{Kind: ipvs.UpdateDest, Service: desired[500].Service, Dest: desired[500].Dests[3]}); err != nil {
		t.Fatal(err)
	}
	figure("apply-one-weight-op", ms(time.Since(start)), "ms")

	// The daemon's path for a change: ApplyDiff against the table it
	// knows (no read back), one op through ApplyBatch.
	actual, err = b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	desired[500].Dests[3].Weight = 6
	start = time.Now()
	ops, err = plan.ApplyDiff(ctx, b, desired, actual, owned)
	if err != nil || len(ops) != 1 || ops[0].Kind != ipvs.UpdateDest {
		t.Fatalf("ApplyDiff one weight change: %v\n%s", err, opStrings(ops))
	}
	figure("applydiff-one-weight", ms(time.Since(start)), "ms")
	figure("applydiff-one-weight", float64(len(ops)), "ops")
	desired[500].Dests[3].Weight = 5
	start = time.Now()
	if errs := b.ApplyBatch(ctx, []ipvs.Op{{Kind: ipvs.UpdateDest, Service: desired[500].Service, Dest: desired[500].Dests[3]}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	figure("applybatch-one-weight-op", ms(time.Since(start)), "ms")
	rawMoby(t, desired)

	// The same table through the per-op path (one moby request per op),
	// in the same boot, for comparison.
	flush(t)
	runtime.ReadMemStats(&before)
	start = time.Now()
	ops, err = plan.Reconcile(ctx, perOp{b}, desired, owned)
	perOpAll := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || len(ops) != benchServices*(1+benchDests) {
		t.Fatalf("per-op Reconcile from empty: %d ops, %v", len(ops), err)
	}
	figure("per-op-apply-from-empty", ms(perOpAll), "ms")
	figure("per-op-apply-from-empty-alloc", float64(after.TotalAlloc-before.TotalAlloc)/(1<<20), "MiB")

	if _, err := os.Stat(ipvsadmPath); err != nil {
		fmt.Printf("BENCH-NOTE ipvsadm is not in the guest (%v): no ipvsadm -R comparison\n", err)
		return
	}
	flush(t)
	desired[500].Dests[3].Weight = 1
	rules := ipvsadmRules(desired)
	cmd := exec.CommandContext(ctx, ipvsadmPath, "-R")
	cmd.Stdin = bytes.NewReader(rules)
	start = time.Now()
	out, err := cmd.CombinedOutput()
	restore := time.Since(start)
	if err != nil {
		t.Fatalf("ipvsadm -R: %v\n%s", err, out)
	}
	figure("ipvsadm-restore-from-empty", ms(restore), "ms")
	figure("apply-vs-ipvsadm-ratio", float64(applyAll)/float64(restore), "x")
	actual, err = b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := render(actual), renderEntries(toEntries(desired)); g != w {
		t.Fatalf("ipvsadm -R built a different table:\n%s", firstDiff(g, w))
	}
	start = time.Now()
	out, err = exec.CommandContext(ctx, ipvsadmPath, "-e", "-t", fmt.Sprintf("%s:80", desired[500].Service.Addr),
		"-r", fmt.Sprintf("%s:8080", desired[500].Dests[3].Addr), "-m", "-w", "5").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -e: %v\n%s", err, out)
	}
	figure("ipvsadm-edit-one-weight", ms(time.Since(start)), "ms")
}

// perOp hides the backend's ApplyBatch, so plan applies one op at a time.
type perOp struct{ ipvs.Backend }

// rawMoby applies the same table from empty through a bare moby handle,
// to show what this backend's wrapping (conversion, per-call deadline and
// goroutine, locking) costs on top of moby's netlink round trips.
func rawMoby(t *testing.T, desired []plan.Desired) {
	t.Helper()
	flush(t)
	h, err := mipvs.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	type pair struct {
		s  *mipvs.Service
		ds []*mipvs.Destination
	}
	var all []pair
	for _, d := range desired {
		s, err := serviceToMoby(d.Service)
		if err != nil {
			t.Fatal(err)
		}
		p := pair{s: s}
		for _, r := range d.Dests {
			md, err := destToMoby(s.AddressFamily, r)
			if err != nil {
				t.Fatal(err)
			}
			p.ds = append(p.ds, md)
		}
		all = append(all, p)
	}
	start := time.Now()
	for _, p := range all {
		if err := h.NewService(p.s); err != nil {
			t.Fatalf("raw NewService: %v", err)
		}
		for _, d := range p.ds {
			if err := h.NewDestination(p.s, d); err != nil {
				t.Fatalf("raw NewDestination: %v", err)
			}
		}
	}
	figure("raw-moby-apply-from-empty", ms(time.Since(start)), "ms")
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}
