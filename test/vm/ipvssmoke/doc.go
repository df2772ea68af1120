// Package ipvssmoke holds a smoke test of IPVS through github.com/moby/ipvs
// that does real work only inside the VM harness (test/vm/README.md): on the
// host its tests skip, in the guest a missing IPVS is a failure.
package ipvssmoke
