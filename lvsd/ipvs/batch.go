package ipvs

import "context"

// BatchApplier is implemented by backends that can perform many
// operations faster together than one Apply at a time (the kernel backend
// sends them over netlink in pipelined batches). plan uses it when the
// backend has it; Apply stays the reference for what one operation means.
type BatchApplier interface {
	// ApplyBatch performs ops in order, each exactly as Apply would, and
	// returns one error per op (nil for success); len(result) == len(ops).
	// One op's failure does not stop the others: an op that depends on a
	// failed one fails in its own right (a destination of a service whose
	// add failed). Ops not attempted because ctx ended get an error
	// wrapping ctx.Err().
	ApplyBatch(ctx context.Context, ops []Op) []error
}

// ApplyBatch performs ops one Apply at a time: the fake has no transport
// to save, and this keeps plan's batch path under test.
func (f *Fake) ApplyBatch(ctx context.Context, ops []Op) []error {
	errs := make([]error, len(ops))
	for i, op := range ops {
		if err := ctx.Err(); err != nil {
			for j := i; j < len(ops); j++ {
				errs[j] = err
			}
			break
		}
		errs[i] = f.Apply(ctx, op)
	}
	return errs
}

var _ BatchApplier = (*Fake)(nil)
