package batch_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// TestVerifyByPage_resendsWhatWasPinned: read back by the page after a run that read by the page, what the
// listing shows holding its targets is ok without a read of its own; the number whose update was answered
// "changed" but not applied is read, then sent again with the app_id it was pinned to (without it, Plivo
// would assign the default app).
func TestVerifyByPage_resendsWhatWasPinned(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seed...)
	fx.notApplied("12025550002", func(n int) bool { return n == 1 }) // its row sets no app_id
	latest, attempts := map[int]batch.Status{}, map[string]int{}
	sum, _, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Undo: nopUndo{}, Verify: true, PinApp: true},
		Read: batch.ReadPage, VerifyRead: batch.ReadPage, Sink: func(r batch.Result) error {
			latest[r.Row.Line], attempts[r.Row.Number] = r.Status, r.Attempts
			return nil
		}})
	got, _ := fx.srv.Number("12025550002")
	posts, reads := fx.requests(http.MethodPost, "12025550002"), fx.count(http.MethodGet, "/Number/1")
	if v := sum.Verify; err != nil || sum.OK != 5 || len(latest) != 5 || v.Chosen != batch.ReadPage || v.Listed != 4 || v.Resent != 1 || reads != 2 {
		t.Errorf("%v: %d ok, latest %v, verify %+v, %d reads of one number; want 5 ok, 4 listed, 1 read, sent again and read back", err, sum.OK, latest, v, reads)
	}
	if len(posts) != 2 || posts[1].Fields["app_id"] == nil || *posts[1].Fields["app_id"] != app1 || got.AppID != app1 || got.Alias != "moved" {
		t.Errorf("updates %v; the number holds app %q alias %q; want the second with app_id %s, holding it and alias moved", posts, got.AppID, got.Alias, app1)
	}
	for n, a := range attempts { // the report's attempts are the updates sent, not the reads
		if want := 1 + strings.Count(n, "12025550002"); a != want {
			t.Errorf("%s: %d attempts, want %d", n, a, want)
		}
	}
}

// TestVerifyByPage_attemptsAreTheUpdatesSent: a number that never comes to hold what it is sent is sent
// --max-attempts updates in all and reported failed with as many attempts, not one more for the last read.
func TestVerifyByPage_attemptsAreTheUpdatesSent(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, seed...)
	fx.notApplied("12025550002", func(int) bool { return true })
	var last batch.Result
	_, _, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Undo: nopUndo{}, Verify: true, PinApp: true},
		Read: batch.ReadPage, VerifyRead: batch.ReadPage, Sink: func(r batch.Result) error {
			if r.Row.Number == "12025550002" {
				last = r
			}
			return nil
		}})
	if n := fx.count(http.MethodPost, "12025550002"); err != nil || last.Status != batch.StatusFailed || n != 3 || last.Attempts != n {
		t.Errorf("%v: %s with %d attempts after %d updates; want failed, 3 updates and as many attempts", err, last.Status, last.Attempts, n)
	}
}
