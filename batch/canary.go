package batch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// verifying is a step that can read each row back after its update, as a
// canary does.
type verifying interface {
	verifying() Step
}

func (u Update) verifying() Step {
	u.Verify = true
	return u
}

// pickCanary chooses up to n rows to send first, spread over the file's
// distinct targets: the first row of each distinct set of targets, in file
// order, then, if that is fewer than n, the next rows.
func (j *jobRun) pickCanary(ctx context.Context, n int) (map[int]bool, error) {
	picked := map[int]bool{}
	seen := map[string]bool{}
	err := j.job.Input.Each(ctx, func(r Row) error {
		if len(picked) == n || !j.toSend(r) {
			return nil
		}
		key := targetsKey(r.Targets)
		if !seen[key] {
			seen[key] = true
			picked[r.Line] = true
		}
		return nil
	})
	if err != nil || len(picked) == n {
		return picked, err
	}
	err = j.job.Input.Each(ctx, func(r Row) error {
		if len(picked) < n && j.toSend(r) {
			picked[r.Line] = true
		}
		return nil
	})
	return picked, err
}

func targetsKey(t Targets) string {
	var b strings.Builder
	for _, s := range t {
		if s.Set {
			b.WriteString(s.Cell())
		}
		b.WriteByte(0)
	}
	return b.String()
}

// runCanary sends the canary rows, each read back after its update, and
// says whether the rest may follow: every canary row ok (or already in its
// target state) and holding its targets.
func (j *jobRun) runCanary(ctx context.Context) (map[int]bool, error) {
	picked, err := j.pickCanary(ctx, j.job.Canary)
	if err != nil || len(picked) == 0 {
		return picked, err
	}
	step := j.job.Step
	if v, ok := step.(verifying); ok {
		step = v.verifying()
	}
	var results []Result
	sink := j.job.Sink
	j.job.Sink = func(r Result) error {
		results = append(results, r)
		return sink(r)
	}
	err = j.send(ctx, step, func(r Row) bool { return picked[r.Line] })
	j.job.Sink = sink
	if err != nil {
		return picked, err
	}
	// Rows end in any order: the file's makes the reason and the rows
	// shown the same from one run to the next.
	slices.SortFunc(results, func(a, b Result) int { return cmp.Compare(a.Row.Line, b.Row.Line) })
	var bad []string
	for _, r := range results {
		if r.Status != StatusOK && r.Status != StatusSkipped {
			bad = append(bad, fmt.Sprintf("row %d (%s): %s", r.Row.Line, r.Row.Number, r.Error))
		}
	}
	if len(bad) > 0 {
		more := ""
		if len(bad) > 3 {
			more = fmt.Sprintf(" and %d more", len(bad)-3)
			bad = bad[:3]
		}
		return picked, fmt.Errorf("%w: %d of %d canary rows are not in their target state: %s%s; nothing else was sent",
			ErrCanary, len(results)-countOK(results), len(results), strings.Join(bad, "; "), more)
	}
	if j.job.AfterCanary != nil {
		if err := j.job.AfterCanary(results); err != nil {
			return picked, err
		}
	}
	return picked, nil
}

func countOK(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Status == StatusOK || r.Status == StatusSkipped {
			n++
		}
	}
	return n
}
