package batch

import (
	"context"
	"slices"
)

// MaxCountedValues is maxCountedValues, for the tests of batch_test.
const MaxCountedValues = maxCountedValues

// MemSource is a checked input held in memory, for the tests.
type MemSource []Row

func (s MemSource) Each(ctx context.Context, fn func(Row) error) error {
	for _, r := range s {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (s MemSource) Rows() int { return len(s) }

func (s MemSource) Distinct(f Field) ([]string, bool) {
	var out []string
	for _, r := range s {
		if t := r.Targets[f]; t.Set && t.Value != "" && !slices.Contains(out, t.Value) {
			out = append(out, t.Value)
		}
	}
	return out, false
}
