package batch_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// TestRun_summary: a resumed run sends nothing for the rows an earlier run finished; every outcome is counted
// once, by status, failure kind and change; Stats counts every request sent.
func TestRun_summary(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seed...)
	in := batch.MemSource{
		row(2, "12025550001", batch.AppID, app2),                              // ok
		row(3, "12025550099", batch.AppID, app2),                              // not on the account
		{Line: 4, Number: "12345", Invalid: "number has fewer than 7 digits"}, // invalid
		row(5, "12025550004", batch.AppID, app2),                              // already so: skipped
		row(6, "12025550005", batch.AppID, app1),                              // done by an earlier run
		{Line: 7, Number: "12025550003", Invalid: "nothing to change"},        // invalid, done by an earlier run
	}
	var est batch.Estimate
	sum, results, err := fx.run(t, batch.Job{Input: in, Step: batch.Update{SkipUnchanged: true},
		Completed: func(r batch.Row) bool { return r.Line >= 6 },
		Begin:     func(e batch.Estimate) error { est = e; return nil }})
	if _, done := results[6]; err != nil || len(results) != 5 || done || fx.count("", "/Number/12025550005/") != 0 {
		t.Errorf("%v: %d results (row 6 %v); want 5, and row 6, done, not sent", err, len(results), done)
	}
	got := []int{sum.Rows, sum.OK, sum.Failed, sum.Invalid, sum.Skipped, sum.AlreadyOK, sum.Unrecorded, sum.NotAttempted(),
		len(sum.FailedByKind), sum.FailedByKind[string(client.KindNotFound)], len(sum.Changes), sum.Changes[batch.ChangeYes], sum.Changes[batch.ChangeNo], sum.Changes[batch.ChangeError]}
	if want := []int{6, 1, 1, 2, 1, 1, 0, 0, 1, 1, 3, 1, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("rows, ok, failed, invalid, skipped, already ok, unrecorded, not attempted; failure kinds, not_found; changes, yes, no, error = %v, want %v", got, want)
	}
	if est.Rows != 6 || est.ToSend != 3 || est.AlreadyOK != 1 || est.Requests != 3*2+1+2 {
		t.Errorf("estimate %+v, want 6 rows, 3 to send, 1 already ok, 3 reads and updates, the checks", est)
	}
	if r := results[5]; !strings.Contains(r.Error, "unchanged") || r.HTTPStatus != 200 || fx.count(http.MethodPost, "/Number/12025550004/") != 0 {
		t.Errorf("row 5, already so: %q, HTTP %d, %d updates; want unchanged, 200 and none", r.Error, r.HTTPStatus, fx.count(http.MethodPost, "/Number/12025550004/"))
	}
	if n := fx.count("", ""); sum.Stats.Requests != int64(n) || sum.Stats.Retries != 0 || sum.Elapsed <= 0 || sum.Rate() <= 0 {
		t.Errorf("Stats %+v, elapsed %v; the server served %d, want equal, no retries, a rate", sum.Stats, sum.Elapsed, n)
	}
}

type nopUndo struct{}

func (nopUndo) Write(batch.Row, batch.Targets) error { return nil }

// TestRun_estimate: Begin is told, before the first request for a number, what each step costs per row (or,
// reading by page, what the listing saved); a fault-free run sends exactly that.
func TestRun_estimate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		step batch.Step
		read batch.ReadMode // "": one by one
		want int            // number requests for migration()'s 5 rows
	}{
		{batch.Update{}, "", 5},
		{batch.Update{PinApp: true}, "", 8}, // rows 4 to 6 set no app_id
		{batch.Update{SkipUnchanged: true}, "", 10},
		{batch.Update{SkipUnchanged: true, PinApp: true}, "", 10}, // one read for both
		{batch.Update{Verify: true}, "", 10},
		{batch.Update{Undo: nopUndo{}}, "", 10},
		{batch.Update{Undo: nopUndo{}, Verify: true, PinApp: true}, "", 15},
		{batch.Read{}, "", 5},
		{batch.Update{Undo: nopUndo{}, Verify: true, PinApp: true}, batch.ReadPage, 11}, // one page instead of 5 reads
		{batch.Read{}, batch.ReadPage, 1},
	} {
		fx := newFixture(t, seed...)
		var est batch.Estimate
		begun, before := 0, 0
		_, results, err := fx.run(t, batch.Job{Input: migration(), Step: tt.step, Read: tt.read, VerifyRead: batch.ReadEach, Begin: func(e batch.Estimate) error {
			est, begun, before = e, begun+1, fx.count("", "/Number/1")
			return nil
		}})
		checkAll(t, results, 5, batch.StatusOK)
		if n := fx.count("", "/Number/"); err != nil || begun != 1 || before != 0 || est.ToSend != 5 || est.Requests != tt.want+1+est.Preflight || n != tt.want {
			t.Errorf("%T%+v read %q: %v; Begin called %d times after %d number requests; estimate %+v; %d number requests; want %d",
				tt.step, tt.step, tt.read, err, begun, before, est, n, tt.want)
		}
	}
}
