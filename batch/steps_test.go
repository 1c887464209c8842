package batch_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// afterMigration is the seeded numbers once migration() ran with the app pinned.
var afterMigration = map[string]sandbox.Number{
	"12025550001": {AppID: app2, Alias: "one"},
	"12025550002": {AppID: app1, Alias: "moved", Subaccount: sub2},
	"12025550003": {AppID: "", Alias: "renamed only"},
	"12025550004": {AppID: "", Alias: "four"},
	"12025550005": {AppID: app2, Alias: "", Subaccount: sub1},
}

// checkState checks each number's app, alias and subaccount; a nil want is the seed.
func checkState(t *testing.T, fx *fixture, want map[string]sandbox.Number) {
	t.Helper()
	if want == nil {
		want = map[string]sandbox.Number{}
		for _, n := range seed {
			want[n.Number] = n
		}
	}
	for n, w := range want {
		if got, _ := fx.srv.Number(n); got.AppID != w.AppID || got.Alias != w.Alias || got.Subaccount != w.Subaccount {
			t.Errorf("%s: app %q alias %q sub %q; want app %q alias %q sub %q", n, got.AppID, got.Alias, got.Subaccount, w.AppID, w.Alias, w.Subaccount)
		}
	}
}

// TestUpdate_pinApp: an update without app_id makes Plivo assign the default app, so PinApp reads the number
// and sends its app back; without PinApp (--allow-default-app) the row goes as it is, unread.
func TestUpdate_pinApp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pin               bool
		row               batch.Row
		wantApp, wantSent string // the app_id after, and sent ("-" for none)
		wantReads         int
	}{
		{true, row(2, "12025550001", batch.Alias, "new"), app1, app1, 1},
		{false, row(2, "12025550001", batch.Alias, "new"), defaultApp, "-", 0},
		{true, row(2, "12025550001", batch.AppID, app2), app2, app2, 0},
	} {
		fx := newFixture(t, nil, seed...)
		_, results, err := fx.run(t, batch.Job{Input: batch.MemSource{tt.row}, Step: batch.Update{PinApp: tt.pin}})
		checkAll(t, results, 1, batch.StatusOK)
		posts := fx.requests(http.MethodPost, "/Number/")
		sent := "-"
		if len(posts) == 1 && posts[0].Fields["app_id"] != nil {
			sent = *posts[0].Fields["app_id"]
		}
		got, _ := fx.srv.Number("12025550001")
		if app, reads := got.AppID, fx.count(http.MethodGet, "/Number/"); err != nil || app != tt.wantApp || sent != tt.wantSent || reads != tt.wantReads || len(posts) != 1 {
			t.Errorf("pin %v, %v: err %v, app %q, sent %q, %d reads, %d updates; want app %q, sent %q, %d reads, 1 update",
				tt.pin, tt.row.Targets, err, app, sent, reads, len(posts), tt.wantApp, tt.wantSent, tt.wantReads)
		}
	}
}

// liar answers the first update of each number (or every one, with
// always) "changed" without passing it on, as Plivo does for a null.
func liar(always bool) func(http.Handler) http.Handler {
	var mu sync.Mutex
	swallowed := map[string]bool{}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			lie := r.Method == http.MethodPost && (always || !swallowed[r.URL.Path])
			swallowed[r.URL.Path] = swallowed[r.URL.Path] || r.Method == http.MethodPost
			mu.Unlock()
			if !lie {
				next.ServeHTTP(w, r)
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"message":"changed","api_id":"not-really"}`)
		})
	}
}

// TestUpdate_verify: against a server that says "changed" without changing, Verify reads the number back,
// sees the lie and sends again; without Verify the lie goes unnoticed.
func TestUpdate_verify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		always, verify bool
		status         batch.Status
		attempts       int
		kind           client.Kind
		state          map[string]sandbox.Number // nil: as seeded
	}{
		{false, true, batch.StatusOK, 2, "", afterMigration},
		{false, false, batch.StatusOK, 1, "", nil},
		{true, true, batch.StatusFailed, 3, client.KindVerify, nil},
	} {
		fx := newFixture(t, liar(tt.always), seed...)
		_, results, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Verify: tt.verify, PinApp: true}})
		if err != nil {
			t.Fatal(err)
		}
		checkAll(t, results, 5, tt.status)
		for line, r := range results {
			if r.Attempts != tt.attempts || r.Kind != tt.kind || r.Status == batch.StatusOK && (r.APIID == "not-really") == tt.verify {
				t.Errorf("lie always %v, verify %v: row %d: attempts %d kind %q api_id %q, want %d and %q", tt.always, tt.verify, line, r.Attempts, r.Kind, r.APIID, tt.attempts, tt.kind)
			}
		}
		checkState(t, fx, tt.state)
	}
}

// undoRecorder keeps what Update hands the undo file, and the updates sent before it.
type undoRecorder struct {
	fx          *fixture
	mu          sync.Mutex
	current     map[string]batch.Targets
	postsBefore int
}

func (u *undoRecorder) Write(r batch.Row, current batch.Targets) error {
	posts := u.fx.count(http.MethodPost, "/Number/"+r.Number+"/")
	u.mu.Lock()
	defer u.mu.Unlock()
	u.current[r.Number], u.postsBefore = current, u.postsBefore+posts
	return nil
}

// TestUpdate_undoRoundTrip: the undo recorder is told each number's settings before its update is sent;
// setting them back restores every number as it was.
func TestUpdate_undoRoundTrip(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	before := fx.srv.Numbers()
	undo := &undoRecorder{fx: fx, current: map[string]batch.Targets{}}
	_, results, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Undo: undo, Verify: true, PinApp: true}})
	checkAll(t, results, 5, batch.StatusOK)
	checkState(t, fx, afterMigration)
	if err != nil || len(undo.current) != 5 || undo.postsBefore != 0 {
		t.Fatalf("%v: %d numbers recorded, %d updates before their record; want 5 and none", err, len(undo.current), undo.postsBefore)
	}
	var restore batch.MemSource
	for _, r := range migration() {
		for f, s := range r.Targets {
			if s.Set {
				r.Targets[f] = undo.current[r.Number][f]
			}
		}
		restore = append(restore, r)
	}
	if _, results, err = fx.run(t, batch.Job{Input: restore, Step: batch.Update{PinApp: true}}); err != nil {
		t.Fatal(err)
	}
	checkAll(t, results, 5, batch.StatusOK)
	if after := fx.srv.Numbers(); !slices.Equal(after, before) {
		t.Errorf("after the undo rows %+v\nwant %+v", after, before)
	}
}

// TestRead_changes: plan's step reads each valid row's number, changes
// nothing, and says per row whether the row would change it.
func TestRead_changes(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	in := append(migration(),
		row(7, "12025550099", batch.AppID, app1), // not on the account
		batch.Row{Line: 8, Number: "12025550077", Invalid: "nothing to change"},
		row(9, "12025550001", batch.AppID, app1), // already so
	)
	sum, results, err := fx.run(t, batch.Job{Input: in, Step: batch.Read{}})
	if posts, gets := fx.count(http.MethodPost, ""), fx.count(http.MethodGet, "/Number/"); err != nil || posts != 0 || gets != 7 {
		t.Errorf("%v: %d updates, %d reads; want none and 7 (an invalid row is not read)", err, posts, gets)
	}
	for line, want := range map[int]string{2: batch.ChangeYes, 4: batch.ChangeYes, 7: batch.ChangeError, 8: batch.ChangeError, 9: batch.ChangeNo} {
		if r := results[line]; r.Change() != want || line == 9 && (r.Status != batch.StatusOK || r.Current[batch.AppID].Value != app1) || line == 7 && r.Kind != client.KindNotFound {
			t.Errorf("row %d: change %s, %s %s %q, current %+v; want %s", line, r.Change(), r.Status, r.Kind, r.Error, r.Current, want)
		}
	}
	if c := sum.Changes; c[batch.ChangeYes] != 5 || c[batch.ChangeNo] != 1 || c[batch.ChangeError] != 2 {
		t.Errorf("Changes = %v, want yes 5, no 1, error 2", c)
	}
	checkState(t, fx, nil)
}
