package batch

import (
	"context"
	"slices"
)

// MemSource is a checked input held in memory, for the tests of this
// package and of batch_test (this file is compiled into both).
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

func (s MemSource) Valid() int {
	n := 0
	for _, r := range s {
		if r.Invalid == "" {
			n++
		}
	}
	return n
}

func (s MemSource) Distinct(f Field) ([]string, bool) {
	var out []string
	for _, r := range s {
		if t := r.Targets[f]; t.Set && t.Value != "" && !slices.Contains(out, t.Value) {
			out = append(out, t.Value)
		}
	}
	return out, false
}

var _ Source = MemSource(nil)
