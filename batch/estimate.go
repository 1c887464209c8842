package batch

import (
	"cmp"
	"context"
	"slices"
)

// OtherValues stands, in Estimate.Changes, for the values past the
// maxCountedValues most seen of a field (aliases are often all different).
const OtherValues = "(other values)"

// maxCountedValues bounds the distinct values counted per field.
const maxCountedValues = 10000

// neededNumbers collects the numbers whose settings the step needs, one
// per row to send.
func (j *jobRun) neededNumbers(ctx context.Context) ([]uint64, error) {
	var keys []uint64
	err := j.job.Input.Each(ctx, func(r Row) error {
		// --read page lists the account for the canary too: it then knows
		// every row's number and never runs out of reads.
		if j.toSend(r) && (j.job.Step.NeedsState(r) || j.job.Canary > 0 && j.job.Read == ReadPage) {
			keys = append(keys, NumberKey(r.Number))
		}
		return nil
	})
	return keys, err
}

// estimate counts what the run will cost and change: the rows to send,
// the rows a resumed run has already, the requests (a row the listing
// settles costs none) and, per field, the values the numbers change to.
func (j *jobRun) estimate(ctx context.Context) (Estimate, error) {
	est := Estimate{Rows: j.job.Input.Rows(), Read: j.sum.Read}
	var counts [NumFields]map[string]int
	var others [NumFields]int
	step := j.job.Step
	err := j.job.Input.Each(ctx, func(r Row) error {
		switch {
		case r.Invalid != "" || j.invalid(r) != "":
			return nil
		case j.job.Completed != nil && j.job.Completed(r):
			est.AlreadyOK++
			return nil
		}
		est.ToSend++
		current, known := Targets{}, false
		if step.NeedsState(r) {
			current, known = j.api.known.get(r.Number)
		}
		if known {
			if _, settled := step.Settle(r, current); settled {
				return nil
			}
			est.Requests += step.Requests(r) - 1 // the listing gave the read
		} else {
			est.Requests += step.Requests(r)
		}
		for f, t := range r.Targets {
			if !t.Set || known && current[f].Value == t.Value {
				continue
			}
			m := counts[f]
			if m == nil {
				m = map[string]int{}
				counts[f] = m
			}
			if _, ok := m[t.Value]; ok || len(m) < maxCountedValues {
				m[t.Value]++
			} else {
				others[f]++
			}
		}
		return nil
	})
	// The requests made before Begin count too, so that a run never
	// sends more than it announced.
	est.Requests += 1 + j.checked + est.Read.Pages + j.canary.reads // 1: the account check
	est.Preflight, est.CanaryReads = j.checked, j.canary.reads
	if v, ok := step.(verifying); ok {
		// The canary reads each of its rows back after the update.
		est.Requests += (v.verifying().Requests(Row{}) - step.Requests(Row{})) * len(j.canary.rows)
	}
	for f, m := range counts {
		vc := make([]ValueCount, 0, len(m)+1)
		for v, n := range m {
			vc = append(vc, ValueCount{Value: v, Numbers: n})
		}
		slices.SortFunc(vc, func(a, b ValueCount) int {
			return cmp.Or(cmp.Compare(b.Numbers, a.Numbers), cmp.Compare(a.Value, b.Value))
		})
		if others[f] > 0 {
			vc = append(vc, ValueCount{Value: OtherValues, Numbers: others[f]})
		}
		est.Changes[f] = vc
	}
	return est, err
}
