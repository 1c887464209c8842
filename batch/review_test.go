package batch

import (
	"context"
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
