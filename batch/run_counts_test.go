package batch

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestRun_estimateCountsTheCanaryReadBacks: the canary reads each of its
// rows back after the update, so the estimate's "at most" must count those
// reads; it left them out, and a run sent more requests than it announced.
func TestRun_estimateCountsTheCanaryReadBacks(t *testing.T) {
	t.Parallel()
	var numbers []sandbox.Number
	var rows MemSource
	for i := range 6 {
		numbers = append(numbers, ctNumber(i, false))
		rows = append(rows, Row{Line: i + 2, Number: numbers[i].Number, Targets: set(AppID, ctApp2)})
	}
	fx := startCanarySandbox(t, numbers...)
	var began atomic.Bool
	var after atomic.Int64 // number requests once Begin was told the cost
	fx.srv.SetRecorder(func(r sandbox.Request) {
		if r.Number != "" && began.Load() {
			after.Add(1)
		}
	})
	job := ctJob(fx, rows, nil)
	job.Step, job.Canary = Update{}, 3
	var est Estimate
	job.Begin = func(e Estimate) error { est = e; began.Store(true); return nil }
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := int(after.Load()); got > est.Requests {
		t.Errorf("the run sent %d number requests after Begin, but the estimate said at most %d", got, est.Requests)
	}
}

// TestRun_failureBudgetPercentCountsRowsSent: --max-failures P% is a share
// of the rows sent; rows the listing settled (--skip-unchanged, read by
// page) send nothing and must not dilute it. 30 such rows, then 30 rows
// that all fail: a 60% budget must stop the run, and did not.
func TestRun_failureBudgetPercentCountsRowsSent(t *testing.T) {
	t.Parallel()
	var numbers []sandbox.Number
	var rows MemSource
	for i := range 60 {
		n := ctNumber(i, false)
		if i < 30 {
			numbers = append(numbers, n) // holds ctApp1 already
		} // the rest are not on the account: their update fails
		rows = append(rows, Row{Line: i + 2, Number: n.Number, Targets: set(AppID, ctApp1)})
	}
	fx := startCanarySandbox(t, numbers...)
	job := ctJob(fx, rows, nil)
	job.Step, job.Read = Update{SkipUnchanged: true}, ReadPage
	job.MaxFailures = FailureBudget{Percent: 60}
	sum, err := Run(context.Background(), job)
	if sum.Skipped != 30 {
		t.Fatalf("skipped %d rows, want the 30 the listing settled", sum.Skipped)
	}
	if !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("Run error = %v after %d failed of %d sent; want ErrTooManyFailures", err, sum.Failed, sum.Failed+sum.OK)
	}
}
