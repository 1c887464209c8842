package batch_test

import (
	"context"
	"slices"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// sliceSource is a checked input held in memory.
type sliceSource []batch.Row

func (s sliceSource) Each(ctx context.Context, fn func(batch.Row) error) error {
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

func (s sliceSource) Rows() int { return len(s) }

func (s sliceSource) Valid() int {
	n := 0
	for _, r := range s {
		if r.Invalid == "" {
			n++
		}
	}
	return n
}

func (s sliceSource) Distinct(f batch.Field) ([]string, bool) {
	var out []string
	for _, r := range s {
		if t := r.Targets[f]; t.Set && t.Value != "" && !slices.Contains(out, t.Value) {
			out = append(out, t.Value)
		}
	}
	return out, false
}
