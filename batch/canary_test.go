package batch_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// slow is a job one row at a time, each failure final: rows end in file order.
func slow(rows batch.MemSource) batch.Job {
	return batch.Job{Input: rows, Step: batch.Update{PinApp: true}, Pace: pace.Config{Concurrency: 1, MaxAttempts: 1}}
}

// TestRun_canarySpreadsOverTargetsThenSendsTheRest: the canary is the first
// row of each distinct target, then the next rows in file order, each read
// back; the rest follows once AfterCanary is told, and no row is sent twice.
func TestRun_canarySpreadsOverTargetsThenSendsTheRest(t *testing.T) {
	t.Parallel()
	numbers, rows := numbered(30, nil, batch.AppID, app2)
	rows[17].Targets[batch.AppID], rows[25].Targets[batch.AppID] = batch.Setting{Set: true}, batch.Setting{Set: true}
	fx := newFixture(t, numbers...)
	var order, canary []int
	job := slow(rows)
	job.Canary, job.Sink = 4, func(r batch.Result) error { order = append(order, r.Row.Line); return nil }
	job.AfterCanary = func(rs []batch.Result) error {
		for _, r := range rs {
			canary = append(canary, r.Row.Line)
		}
		if n, reads := fx.count("POST", ""), fx.count("GET", "/Number/"); n != 4 || reads != 4+4 {
			t.Errorf("%d updates and %d reads before the canary passed, want the 4 canary rows', read to choose them and back", n, reads)
		}
		return nil
	}
	sum, _, err := fx.run(t, job)
	if want := []int{2, 3, 4, 19}; err != nil || !slices.Equal(canary, want) || len(order) < 4 || !slices.Equal(slices.Sorted(slices.Values(order[:4])), want) {
		t.Errorf("%v: canary rows %v, rows ended in the order %v; want %v first", err, canary, order, want)
	}
	if sum.OK != 30 || fx.count("POST", "") != 30 || fx.count("GET", "/Number/") != 8 { // 30 ok by 30 updates: none sent twice
		t.Errorf("%d ok by %d updates, %d reads; want 30, 30, and the canary's 8 only", sum.OK, fx.count("POST", ""), fx.count("GET", "/Number/"))
	}
}

// TestRun_maxFailures: the budget stops the dispatch where it is spent; a percentage counts from the 20th row
// sent, ok or not, and rows the listing settled (sending nothing) do not dilute it.
func TestRun_maxFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		budget   batch.FailureBudget
		settled  int              // rows first, whose numbers the listing shows as asked
		refused  func(i int) bool // which of the 60 rows the sandbox refuses
		wantStop int              // rows ended when the budget is spent; 0: never
	}{
		{batch.FailureBudget{Count: 3}, 0, func(i int) bool { return i%2 == 0 }, 5},
		{batch.FailureBudget{Count: 3}, 0, func(i int) bool { return i == 7 || i == 30 }, 0},
		{batch.FailureBudget{Percent: 50}, 0, func(i int) bool { return i < 25 }, 20},
		{batch.FailureBudget{Percent: 10}, 0, func(i int) bool { return i >= 30 && i%2 == 0 }, 37},
		{batch.FailureBudget{Percent: 5}, 0, func(i int) bool { return i == 3 || i == 9 }, 20}, // spent as an ok 20th row ends
		{batch.FailureBudget{Percent: 10}, 0, func(i int) bool { return i == 3 || i == 50 }, 0},
		{batch.FailureBudget{Percent: 60}, 30, func(i int) bool { return i >= 30 }, 50},
	} {
		numbers, rows := numbered(60, tt.refused, batch.ComplianceApplicationID, compliance)
		for i := range tt.settled {
			numbers[i].ComplianceApplicationID = compliance
		}
		fx := newFixture(t, numbers...)
		job := slow(rows)
		job.MaxFailures, job.Read, job.Step = tt.budget, batch.ReadPage, batch.Update{SkipUnchanged: true}
		sum, _, err := fx.run(t, job)
		ended := sum.OK + sum.Failed
		switch {
		case tt.wantStop == 0 && (err != nil || ended != 60-tt.settled):
			t.Errorf("%v: %v after %d rows, want every row sent", tt.budget, err, ended)
		case tt.wantStop > 0 && (!errors.Is(err, batch.ErrTooManyFailures) || sum.StoppedBy != "max_failures" || ended+sum.Skipped < tt.wantStop || ended+sum.Skipped > tt.wantStop+2): // the one worker's row, and the next one, may be on their way
			t.Errorf("%v: %v (stopped by %q) after %d rows, %d failed; want ErrTooManyFailures at %d", tt.budget, err, sum.StoppedBy, ended, sum.Failed, tt.wantStop)
		case fx.count("POST", "") != ended || sum.NotAttempted() != 60-ended-sum.Skipped:
			t.Errorf("%v: %d updates, %d rows ended, %d not attempted", tt.budget, fx.count("POST", ""), ended, sum.NotAttempted())
		}
	}
}

// TestRun_estimateCounts: the estimate counts, per field, the values the numbers change to (where the listing
// shows what they hold, only real changes; past MaxCountedValues, together), and at most what the run then
// sends, the canary's reads and read-backs included.
func TestRun_estimateCounts(t *testing.T) {
	t.Parallel()
	numbers := []sandbox.Number{
		{Number: "12025550001", AppID: app2, Alias: "same"}, // holds both targets already
		{Number: "12025550002", AppID: app1, Alias: "same"}, // app changes, alias not
		{Number: "12025550003", AppID: app2, Alias: "old"},  // alias changes, app not
		{Number: "12025550004", AppID: app1, Alias: "old"},  // both change
		{Number: "12025550005", AppID: app1},                // app changes to another value
	}
	rows := batch.MemSource{
		row(2, "12025550001", batch.AppID, app2, batch.Alias, "same"),
		row(3, "12025550002", batch.AppID, app2, batch.Alias, "same"),
		row(4, "12025550003", batch.AppID, app2, batch.Alias, ""),
		row(5, "12025550004", batch.AppID, app2, batch.Alias, ""),
		row(6, "12025550005", batch.AppID, ""),
		{Line: 7, Number: "x", Invalid: "not a number"},
	}
	vc := func(kv ...any) (out []batch.ValueCount) {
		for i := 0; i < len(kv); i += 2 {
			out = append(out, batch.ValueCount{Value: kv[i].(string), Numbers: kv[i+1].(int)})
		}
		return out
	}
	for _, tt := range []struct {
		read             batch.ReadMode
		step             batch.Update
		canary           int
		wantApp, wantAli []batch.ValueCount
		wantRequests     int // past the checks
	}{
		{batch.ReadPage, batch.Update{Undo: nopUndo{}}, 0, vc(app2, 2, "", 1), vc("", 2), 1 + 5}, // a page, then the updates
		{batch.ReadPage, batch.Update{SkipUnchanged: true}, 0, vc(app2, 2, "", 1), vc("", 2), 1 + 4},
		{batch.ReadEach, batch.Update{}, 0, vc(app2, 4, "", 1), vc("", 2, "same", 2), 5},
		{batch.ReadEach, batch.Update{}, 3, vc(app2, 4, "", 1), vc("", 2, "same", 2), 5 + 4 + 3}, // the canary's reads (row 2 holds) and read-backs
	} {
		fx := newFixture(t, numbers...)
		var est batch.Estimate
		sent := 0
		job := batch.Job{Input: rows, Step: tt.step, Read: tt.read, Canary: tt.canary, Begin: func(e batch.Estimate) error {
			est, sent = e, fx.count("", "")
			return nil
		}}
		_, _, err := fx.run(t, job)
		if all := fx.count("", ""); err != nil || !slices.Equal(est.Changes[batch.AppID], tt.wantApp) || !slices.Equal(est.Changes[batch.Alias], tt.wantAli) ||
			est.Rows != 6 || est.ToSend != 5 || est.Requests != tt.wantRequests+1+est.Preflight || all > est.Requests || sent != 1+est.Preflight+est.Read.Pages+est.CanaryReads {
			t.Errorf("%s %+v canary %d: %v; changes %v %v; estimate %+v; %d requests before Begin, %d in all; want %v %v, %d requests past the checks",
				tt.read, tt.step, tt.canary, err, est.Changes[batch.AppID], est.Changes[batch.Alias], est, sent, all, tt.wantApp, tt.wantAli, tt.wantRequests)
		}
	}
	var many batch.MemSource
	for i := range batch.MaxCountedValues + 5 {
		many = append(many, row(i+2, fmt.Sprintf("1202%07d", i), batch.Alias, fmt.Sprint("alias ", i), batch.AppID, app1))
	}
	fx := newFixture(t)
	var est batch.Estimate
	_, _, err := fx.run(t, batch.Job{Input: many, Step: batch.Update{}, Begin: func(e batch.Estimate) error { est = e; return batch.ErrDeclined }})
	aliases := est.Changes[batch.Alias]
	if !errors.Is(err, batch.ErrDeclined) || len(aliases) != batch.MaxCountedValues+1 || aliases[batch.MaxCountedValues] != (batch.ValueCount{Value: batch.OtherValues, Numbers: 5}) ||
		!slices.Equal(est.Changes[batch.AppID], vc(app1, batch.MaxCountedValues+5)) || fx.count("", "/Number/") != 0 {
		t.Errorf("%v: %d alias values, app %v, %d number requests; want %d and %q on 5, nothing sent", err, len(aliases), est.Changes[batch.AppID], fx.count("", "/Number/"), batch.MaxCountedValues+1, batch.OtherValues)
	}
}
