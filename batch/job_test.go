package batch_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// TestRun_authFailureAborts: bad credentials stop the run at the account
// check: one request, nothing sent, no row handed to the sink.
func TestRun_authFailureAborts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		authID, token func(fx *fixture) string
	}{
		{"wrong token", func(fx *fixture) string { return fx.srv.Config().AuthID }, func(*fixture) string { return "wrongTokenwrongTokenwrongToken" }},
		{"wrong auth id", func(*fixture) string { return "MAZZZZZZZZZZZZZZZZZZ" }, func(fx *fixture) string { return fx.srv.Config().AuthToken }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, nil, seed...)
			cl, err := client.New(fx.url, tt.authID(fx), tt.token(fx))
			if err != nil {
				t.Fatal(err)
			}
			began := false
			sum, results, err := fx.run(t, batch.Job{
				Client: cl, Input: migration(), Step: batch.Update{PinApp: true},
				Begin: func(batch.Estimate) error { began = true; return nil },
			})
			if !errors.Is(err, batch.ErrAborted) || !strings.Contains(err.Error(), "authentication failed") {
				t.Errorf("err = %v, want ErrAborted saying authentication failed", err)
			}
			if err != nil && strings.Contains(err.Error(), tt.token(fx)) {
				t.Errorf("the error shows the token: %v", err)
			}
			if n := fx.count("", ""); n != 1 {
				t.Errorf("%d requests, want 1 (the account check)", n)
			}
			if len(results) != 0 || began {
				t.Errorf("%d results, began %v; want none before the account check passed", len(results), began)
			}
			if sum.Rows != 5 || sum.NotAttempted() != 5 {
				t.Errorf("rows %d not attempted %d, want 5 and 5", sum.Rows, sum.NotAttempted())
			}
		})
	}
}

// TestRun_preflightMarksRowsInvalid: each distinct application and
// subaccount is read once before the run; rows naming a missing one are
// reported invalid and their numbers are not touched.
func TestRun_preflightMarksRowsInvalid(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	in := batch.MemSource{
		row(2, "12025550001", batch.AppID, "4040"),
		row(3, "12025550002", batch.Subaccount, "SAAAAAAAAAAAAAAAAAA9"),
		row(4, "12025550003", batch.AppID, app1),
		row(5, "12025550004", batch.AppID, "4040"),
		row(6, "12025550005", batch.Subaccount, sub2),
	}
	var est batch.Estimate
	sum, results, err := fx.run(t, batch.Job{Input: in, Step: batch.Update{}, Begin: func(e batch.Estimate) error { est = e; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if n := fx.count(http.MethodGet, "/Application/"); n != 2 {
		t.Errorf("%d application reads, want 2 (4040 and %s, once each)", n, app1)
	}
	if n := fx.count(http.MethodGet, "/Subaccount/"); n != 2 {
		t.Errorf("%d subaccount reads, want 2", n)
	}
	for line, want := range map[int]string{
		2: `app_id "4040" is not an application of this account`,
		3: `subaccount "SAAAAAAAAAAAAAAAAAA9" is not a subaccount of this account`,
		5: `app_id "4040" is not an application of this account`,
	} {
		r := results[line]
		if r.Status != batch.StatusInvalid || r.Kind != client.KindInvalid || !strings.Contains(r.Error, want) {
			t.Errorf("row %d: %s %s %q, want invalid: %s", line, r.Status, r.Kind, r.Error, want)
		}
		if n := fx.count("", "/Number/"+r.Row.Number+"/"); n != 0 {
			t.Errorf("row %d: %d requests for its number, want 0", line, n)
		}
	}
	for _, line := range []int{4, 6} {
		if r := results[line]; r.Status != batch.StatusOK {
			t.Errorf("row %d: %s %q, want ok", line, r.Status, r.Error)
		}
	}
	if sum.Invalid != 3 || sum.OK != 2 || est.ToSend != 2 || est.Requests != 2+1+est.Preflight {
		t.Errorf("invalid %d ok %d to send %d requests %d, want 3, 2, 2, 2 and the checks", sum.Invalid, sum.OK, est.ToSend, est.Requests)
	}
}

// TestRun_doneRowsAreNotSent: a resumed run sends nothing for the rows an
// earlier run finished, counts them, and still reports invalid rows.
func TestRun_doneRowsAreNotSent(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	in := append(migration(), batch.Row{Line: 7, Number: "12025550006", Invalid: "nothing to change"})
	done := map[int]bool{2: true, 4: true, 7: true}
	var est batch.Estimate
	sum, results, err := fx.run(t, batch.Job{
		Input: in, Step: batch.Update{},
		Completed: func(r batch.Row) bool { return done[r.Line] },
		Begin:     func(e batch.Estimate) error { est = e; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in {
		_, reported := results[r.Line]
		sent := fx.count("", "/Number/"+r.Number+"/")
		switch {
		case r.Invalid != "":
			if !reported || results[r.Line].Status != batch.StatusInvalid {
				t.Errorf("row %d: invalid row not reported as invalid on a resumed run: %+v", r.Line, results[r.Line])
			}
		case done[r.Line] && (reported || sent != 0):
			t.Errorf("row %d was done: reported %v, %d requests; want neither", r.Line, reported, sent)
		case !done[r.Line] && (!reported || sent != 1):
			t.Errorf("row %d: reported %v, %d requests; want reported after 1", r.Line, reported, sent)
		}
	}
	if sum.AlreadyOK != 2 || sum.OK != 3 || sum.Invalid != 1 || sum.NotAttempted() != 0 {
		t.Errorf("already ok %d ok %d invalid %d not attempted %d, want 2, 3, 1, 0", sum.AlreadyOK, sum.OK, sum.Invalid, sum.NotAttempted())
	}
	if est.Rows != 6 || est.ToSend != 3 || est.AlreadyOK != 2 || est.Requests != 3+1+est.Preflight {
		t.Errorf("estimate %+v, want 6 rows, 3 to send, 2 already ok, 3 requests and the checks", est)
	}
}

// TestRun_sinkErrorAborts: when the report cannot be written the run
// stops with ErrAborted, and the refused result and every later one go to
// Unrecorded, so that no applied update goes unrecorded.
func TestRun_sinkErrorAborts(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	errDisk := errors.New("disk full")
	var mu sync.Mutex
	var refused []int
	var unrecorded []batch.Result
	job := batch.Job{
		Input: migration(), Step: batch.Update{}, Pace: fastPace(),
		Sink: func(r batch.Result) error {
			refused = append(refused, r.Row.Line)
			return errDisk
		},
		Unrecorded: func(r batch.Result) {
			mu.Lock()
			defer mu.Unlock()
			unrecorded = append(unrecorded, r)
		},
	}
	job.Pace.Concurrency = 1
	sum, _, err := fx.run(t, job)
	if !errors.Is(err, batch.ErrAborted) || !errors.Is(err, errDisk) {
		t.Errorf("err = %v, want ErrAborted wrapping the sink's error", err)
	}
	if len(refused) != 1 {
		t.Fatalf("the sink was called %d times, want once: after its error results go to Unrecorded", len(refused))
	}
	if len(unrecorded) == 0 || unrecorded[0].Row.Line != refused[0] {
		t.Fatalf("unrecorded %v, want the refused row %d first", unrecorded, refused[0])
	}
	applied := 0
	for _, r := range unrecorded {
		if r.Status == batch.StatusOK {
			applied++
		}
	}
	posts := 0
	for _, q := range fx.requests(http.MethodPost, "/Number/") {
		if q.Applied {
			posts++
		}
	}
	if sum.Unrecorded != len(unrecorded) || sum.AppliedUnrecorded != applied || applied != posts {
		t.Errorf("unrecorded %d (applied %d); %d handed over, %d ok, %d updates applied: want them equal",
			sum.Unrecorded, sum.AppliedUnrecorded, len(unrecorded), applied, posts)
	}
	if sum.OK != 0 || sum.NotAttempted() != 5-len(unrecorded) {
		t.Errorf("ok %d not attempted %d, want 0 and %d", sum.OK, sum.NotAttempted(), 5-len(unrecorded))
	}
}

// TestRun_estimate: Begin is told, before the first update or read of a
// number, what each Update option costs per row (or, reading by page, what
// the listing saved); a fault-free run sends exactly that.
func TestRun_estimate(t *testing.T) {
	t.Parallel()
	undo := batch.UndoRecorder(nopUndo{})
	tests := []struct {
		name string
		step batch.Step
		read batch.ReadMode // "": one by one
		want int            // requests for migration()'s 5 rows
	}{
		{"plain", batch.Update{}, "", 5},
		{"pin app: rows 3, 4 and 6 set no app_id", batch.Update{PinApp: true}, "", 8},
		{"skip unchanged", batch.Update{SkipUnchanged: true}, "", 10},
		{"verify", batch.Update{Verify: true}, "", 10},
		{"undo", batch.Update{Undo: undo}, "", 10},
		{"undo verify pin", batch.Update{Undo: undo, Verify: true, PinApp: true}, "", 15},
		{"read", batch.Read{}, "", 5},
		// One page lists the 5 numbers instead of 5 reads before.
		{"undo verify pin, by page", batch.Update{Undo: undo, Verify: true, PinApp: true}, batch.ReadPage, 11},
		{"read, by page", batch.Read{}, batch.ReadPage, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, nil, seed...)
			var est batch.Estimate
			begun, touchedBefore := 0, 0
			_, results, err := fx.run(t, batch.Job{Input: migration(), Step: tt.step, Read: tt.read, Begin: func(e batch.Estimate) error {
				est = e
				begun++
				touchedBefore = fx.count("", "/Number/1")
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, results, 5, batch.StatusOK)
			if begun != 1 || touchedBefore != 0 {
				t.Errorf("Begin called %d times, after %d number requests; want once, before any", begun, touchedBefore)
			}
			if est.Rows != 5 || est.ToSend != 5 || est.AlreadyOK != 0 || est.Requests != tt.want+1+est.Preflight {
				t.Errorf("estimate %+v, want 5 rows, 5 to send, %d requests and the checks", est, tt.want)
			}
			if n := fx.count("", "/Number/"); n != tt.want {
				t.Errorf("%d number requests sent, want the %d estimated", n, tt.want)
			}
		})
	}
}

type nopUndo struct{}

func (nopUndo) Write(batch.Row, batch.Targets) error { return nil }

// TestRun_summary: every kind of outcome is counted once, by status, by
// failure kind and by change; Stats counts every request sent.
func TestRun_summary(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	in := batch.MemSource{
		row(2, "12025550001", batch.AppID, app2),                              // ok
		row(3, "12025550099", batch.AppID, app2),                              // not on the account
		{Line: 4, Number: "12345", Invalid: "number has fewer than 7 digits"}, // invalid
		row(5, "12025550004", batch.AppID, app2),                              // already so: skipped
		row(6, "12025550005", batch.AppID, app1),                              // done by an earlier run
	}
	sum, results, err := fx.run(t, batch.Job{
		Input: in, Step: batch.Update{SkipUnchanged: true},
		Completed: func(r batch.Row) bool { return r.Line == 6 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Errorf("%d results, want 4", len(results))
	}
	got := []int{sum.Rows, sum.OK, sum.Failed, sum.Invalid, sum.Skipped, sum.AlreadyOK, sum.Unrecorded, sum.NotAttempted()}
	if want := []int{5, 1, 1, 1, 1, 1, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("rows, ok, failed, invalid, skipped, already ok, unrecorded, not attempted = %v, want %v", got, want)
	}
	if len(sum.FailedByKind) != 1 || sum.FailedByKind[string(client.KindNotFound)] != 1 {
		t.Errorf("FailedByKind = %v, want not_found: 1", sum.FailedByKind)
	}
	if len(sum.Changes) != 3 || sum.Changes[batch.ChangeYes] != 1 || sum.Changes[batch.ChangeNo] != 1 || sum.Changes[batch.ChangeError] != 2 {
		t.Errorf("Changes = %v, want yes 1, no 1, error 2", sum.Changes)
	}
	if n := fx.count("", ""); sum.Stats.Requests != int64(n) || sum.Stats.Retries != 0 {
		t.Errorf("Stats: %d requests %d retries; the server served %d, want equal and no retries", sum.Stats.Requests, sum.Stats.Retries, n)
	}
	if sum.Elapsed <= 0 || sum.Rate() <= 0 {
		t.Errorf("elapsed %v rate %v, want both above 0", sum.Elapsed, sum.Rate())
	}
}
