// Package bench is the checkd benchmark: N TCP_CHECKs at delay_loop 1 s
// (100 real servers per virtual server) against TCP listeners this process
// runs, checked by Vigil's checkd (checkd.Build and checkd.Runner in a child
// process) and, inside the IPVS VM, by keepalived's checker (keepalived -C)
// on the same targets in the same run, one after the other. Both sides are
// measured the same way: CPU of the checker's processes from /proc/PID/stat
// over a window of equal length, and from the target side the interval
// between two checks of each target (accept times recorded by the
// listeners). Vigil's own probe latency comes from its probes' start and
// end times.
//
// The benchmark runs only when asked: VIGIL_BENCH_CHECKD=1 (see README.md).
// Plain `go test ./...` only compiles it and runs its fast unit tests.
package bench
