// Package vm is Vigil's harness for tests that need a real kernel feature
// this machine's kernel lacks (IPVS): it boots Debian's stock kernel under
// QEMU and runs a statically linked Go test binary inside it.
//
//   - vmkit: preparing the cached kernel and base initramfs, and running one
//     test binary in a fresh VM.
//   - cmd/vmprep: prepares the cache (make vm).
//   - cmd/vmexec: the runner for go test -exec.
//   - ipvssmoke: an IPVS smoke test that only works inside the VM.
//
// This package's own test (vm_test.go) builds the smoke test and runs it
// through vmexec. See README.md in this directory.
package vm
