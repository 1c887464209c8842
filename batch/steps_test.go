package batch_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// afterMigration is the seeded numbers once migration() ran with the app
// pinned: no row without app_id moved to the default app.
var afterMigration = map[string]sandbox.Number{
	"12025550001": {AppID: app2, Alias: "one"},
	"12025550002": {AppID: app1, Alias: "moved", Subaccount: sub2},
	"12025550003": {AppID: "", Alias: "renamed only"},
	"12025550004": {AppID: "", Alias: "four"},
	"12025550005": {AppID: app2, Alias: "", Subaccount: sub1},
}

// checkState fails t for each number whose app, alias or subaccount is not
// as want says.
func checkState(t *testing.T, fx *fixture, want map[string]sandbox.Number) {
	t.Helper()
	for n, w := range want {
		got := fx.number(t, n)
		if got.AppID != w.AppID || got.Alias != w.Alias || got.Subaccount != w.Subaccount {
			t.Errorf("%s: app %q alias %q sub %q; want app %q alias %q sub %q", n, got.AppID, got.Alias, got.Subaccount, w.AppID, w.Alias, w.Subaccount)
		}
	}
}

// checkAll fails t unless results holds want rows, each with status.
func checkAll(t *testing.T, results map[int]batch.Result, want int, status batch.Status) {
	t.Helper()
	if len(results) != want {
		t.Errorf("%d results, want %d", len(results), want)
	}
	for line, r := range results {
		if r.Status != status {
			t.Errorf("row %d: status %s (%s %s), want %s", line, r.Status, r.Kind, r.Error, status)
		}
	}
}

// TestUpdate_Attempt_pinApp: an update without app_id makes Plivo assign
// the default app, so PinApp reads the number and sends its app back; with
// PinApp off (--allow-default-app) the row goes as it is, unread.
func TestUpdate_Attempt_pinApp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pin       bool
		row       batch.Row
		wantApp   string
		wantReads int
		wantSent  string // the app_id sent; "-" for none
	}{
		{"pinned", true, row(2, "12025550001", batch.Alias, "new"), app1, 1, app1},
		{"allow default app", false, row(2, "12025550001", batch.Alias, "new"), defaultApp, 0, "-"},
		{"row sets the app", true, row(2, "12025550001", batch.AppID, app2), app2, 0, app2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, nil, seed...)
			_, results, err := fx.run(t, batch.Job{Input: batch.MemSource{tt.row}, Step: batch.Update{PinApp: tt.pin}})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, results, 1, batch.StatusOK)
			if got := fx.number(t, "12025550001").AppID; got != tt.wantApp {
				t.Errorf("app = %q, want %q", got, tt.wantApp)
			}
			if got := fx.count(http.MethodGet, "/Number/"); got != tt.wantReads {
				t.Errorf("%d reads of the number, want %d", got, tt.wantReads)
			}
			posts := fx.requests(http.MethodPost, "/Number/")
			if len(posts) != 1 {
				t.Fatalf("%d updates, want 1", len(posts))
			}
			sent := "-"
			if v, ok := posts[0].Fields["app_id"]; ok && v != nil {
				sent = *v
			}
			if sent != tt.wantSent {
				t.Errorf("app_id sent = %q, want %q (body %s)", sent, tt.wantSent, posts[0].Body)
			}
		})
	}
}

// TestUpdate_Attempt_skipUnchanged: a second run of the same rows reads
// every number, finds it already as asked, and sends no update.
func TestUpdate_Attempt_skipUnchanged(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	step := batch.Update{SkipUnchanged: true, PinApp: true}
	sum, results, err := fx.run(t, batch.Job{Input: migration(), Step: step})
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, results, 5, batch.StatusOK)
	if sum.OK != 5 || sum.Skipped != 0 {
		t.Errorf("first run: ok %d skipped %d, want 5 and 0", sum.OK, sum.Skipped)
	}
	checkState(t, fx, afterMigration)
	posts1, gets1 := fx.count(http.MethodPost, "/Number/"), fx.count(http.MethodGet, "/Number/")
	if posts1 != 5 || gets1 != 5 {
		t.Errorf("first run: %d updates and %d reads, want 5 and 5", posts1, gets1)
	}

	sum, results, err = fx.run(t, batch.Job{Input: migration(), Step: step})
	if err != nil {
		t.Fatal(err)
	}
	if posts := fx.count(http.MethodPost, "/Number/") - posts1; posts != 0 {
		t.Errorf("the second run sent %d updates, want 0: everything was unchanged", posts)
	}
	if gets := fx.count(http.MethodGet, "/Number/") - gets1; gets != 5 {
		t.Errorf("the second run read %d numbers, want 5", gets)
	}
	checkAll(t, results, 5, batch.StatusSkipped)
	for line, r := range results {
		if !strings.Contains(r.Error, "unchanged") || r.HTTPStatus != 200 || r.Change() != batch.ChangeNo {
			t.Errorf("row %d: error %q http %d change %s, want unchanged, 200, no", line, r.Error, r.HTTPStatus, r.Change())
		}
	}
	if sum.Skipped != 5 || sum.OK != 0 {
		t.Errorf("second run: skipped %d ok %d, want 5 and 0", sum.Skipped, sum.OK)
	}
	checkState(t, fx, afterMigration)
}

// liar answers the first update of each number (or every update, with
// always) "changed" without passing it on, as Plivo does for a null.
func liar(always bool) func(http.Handler) http.Handler {
	var mu sync.Mutex
	swallowed := map[string]bool{}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				lie := always || !swallowed[r.URL.Path]
				swallowed[r.URL.Path] = true
				mu.Unlock()
				if lie {
					_, _ = io.Copy(io.Discard, r.Body)
					w.WriteHeader(http.StatusAccepted)
					fmt.Fprint(w, `{"message":"changed","api_id":"not-really"}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestUpdate_Attempt_verify: against a server that says "changed" without
// changing, Verify reads the number back, sees the lie and sends again;
// without Verify the lie goes unnoticed.
func TestUpdate_Attempt_verify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		always       bool
		verify       bool
		wantStatus   batch.Status
		wantAttempts int
		wantKind     client.Kind
		wantState    map[string]sandbox.Number // nil: as seeded
	}{
		{"verify retries the lie", false, true, batch.StatusOK, 2, "", afterMigration},
		{"without verify the lie passes", false, false, batch.StatusOK, 1, "", nil},
		{"a server that always lies fails the row", true, true, batch.StatusFailed, 3, client.KindVerify, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, liar(tt.always), seed...)
			_, results, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Verify: tt.verify, PinApp: true}})
			if err != nil {
				t.Fatal(err)
			}
			checkAll(t, results, 5, tt.wantStatus)
			for line, r := range results {
				if r.Attempts != tt.wantAttempts || r.Kind != tt.wantKind {
					t.Errorf("row %d: attempts %d kind %q, want %d and %q", line, r.Attempts, r.Kind, tt.wantAttempts, tt.wantKind)
				}
				lied := r.APIID == "not-really"
				if r.Status == batch.StatusOK && lied == tt.verify {
					t.Errorf("row %d: api_id %q with verify %v", line, r.APIID, tt.verify)
				}
			}
			want := tt.wantState
			if want == nil {
				want = map[string]sandbox.Number{}
				for _, n := range seed {
					want[n.Number] = n
				}
			}
			checkState(t, fx, want)
		})
	}
}

// undoRecorder keeps what Update hands to the undo file, and how many
// updates of the number the server had seen at that moment.
type undoRecorder struct {
	fx *fixture
	mu sync.Mutex
	// rows and current by number; postsBefore counts the updates sent
	// before each write.
	rows        map[string]batch.Row
	current     map[string]batch.Targets
	postsBefore map[string]int
	writes      int
}

func (u *undoRecorder) Write(r batch.Row, current batch.Targets) error {
	posts := u.fx.count(http.MethodPost, "/Number/"+r.Number+"/")
	u.mu.Lock()
	defer u.mu.Unlock()
	u.writes++
	u.rows[r.Number], u.current[r.Number], u.postsBefore[r.Number] = r, current, posts
	return nil
}

// TestUpdate_Attempt_undoRoundTrip: the undo recorder is told each
// number's settings before its update is sent; rows that set those
// settings back restore every number as it was.
func TestUpdate_Attempt_undoRoundTrip(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	before := fx.srv.Numbers()
	undo := &undoRecorder{fx: fx, rows: map[string]batch.Row{}, current: map[string]batch.Targets{}, postsBefore: map[string]int{}}
	_, results, err := fx.run(t, batch.Job{Input: migration(), Step: batch.Update{Undo: undo, Verify: true, PinApp: true}})
	if err != nil {
		t.Fatal(err)
	}
	checkAll(t, results, 5, batch.StatusOK)
	checkState(t, fx, afterMigration)
	if undo.writes != 5 {
		t.Errorf("%d undo writes, want 5 (one per row)", undo.writes)
	}
	for _, n := range seed {
		cur, ok := undo.current[n.Number]
		switch {
		case !ok:
			t.Errorf("%s: no undo write", n.Number)
			continue
		case undo.postsBefore[n.Number] != 0:
			t.Errorf("%s: undo written after %d updates, want before any", n.Number, undo.postsBefore[n.Number])
		}
		if cur[batch.AppID].Value != n.AppID || cur[batch.Subaccount].Value != n.Subaccount || cur[batch.Alias].Value != n.Alias {
			t.Errorf("%s: undo told %+v, want the settings before the run %+v", n.Number, cur, n)
		}
	}

	// Set back what each row changed, as the undo file does.
	var restore batch.MemSource
	for i, n := range seed {
		r := batch.Row{Line: i + 2, Number: n.Number}
		for f, s := range undo.rows[n.Number].Targets {
			if s.Set {
				r.Targets[f] = batch.Setting{Value: undo.current[n.Number][f].Value, Set: true}
			}
		}
		restore = append(restore, r)
	}
	if _, results, err = fx.run(t, batch.Job{Input: restore, Step: batch.Update{PinApp: true}}); err != nil {
		t.Fatal(err)
	}
	checkAll(t, results, 5, batch.StatusOK)
	after := fx.srv.Numbers()
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("after the undo rows %+v\nwant %+v", after[i], before[i])
		}
	}
}

// TestRead_Attempt_changes: plan's step reads each number, changes
// nothing, and says per row whether the row would change it.
func TestRead_Attempt_changes(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil, seed...)
	in := append(migration(),
		row(7, "12025550099", batch.AppID, app1), // not on the account
		batch.Row{Line: 8, Number: "12025550077", Invalid: "nothing to change"},
		row(9, "12025550098", batch.AppID, "4040"), // no such application
		row(10, "12025550001", batch.AppID, app1),  // already so
	)
	sum, results, err := fx.run(t, batch.Job{Input: in, Step: batch.Read{}})
	if err != nil {
		t.Fatal(err)
	}
	if n := fx.count(http.MethodPost, ""); n != 0 {
		t.Errorf("plan sent %d updates, want none", n)
	}
	if n := fx.count(http.MethodGet, "/Number/"); n != 7 {
		t.Errorf("%d reads of numbers, want 7 (invalid rows are not read)", n)
	}
	tests := []struct {
		line    int
		change  string
		status  batch.Status
		field   batch.Field
		current string
		errPart string
	}{
		{2, batch.ChangeYes, batch.StatusOK, batch.AppID, app1, ""},
		{3, batch.ChangeYes, batch.StatusOK, batch.Subaccount, sub1, ""},
		{4, batch.ChangeYes, batch.StatusOK, batch.Alias, "three", ""},
		{5, batch.ChangeYes, batch.StatusOK, batch.AppID, app2, ""},
		{6, batch.ChangeYes, batch.StatusOK, batch.Alias, "five", ""},
		{7, batch.ChangeError, batch.StatusFailed, batch.AppID, "", "not found"},
		{8, batch.ChangeError, batch.StatusInvalid, batch.AppID, "", "nothing to change"},
		{9, batch.ChangeError, batch.StatusInvalid, batch.AppID, "", "not an application of this account"},
		{10, batch.ChangeNo, batch.StatusOK, batch.AppID, app1, ""},
	}
	for _, tt := range tests {
		r, ok := results[tt.line]
		if !ok {
			t.Errorf("row %d: no result", tt.line)
			continue
		}
		if r.Change() != tt.change || r.Status != tt.status || r.Current[tt.field].Value != tt.current || !strings.Contains(r.Error, tt.errPart) {
			t.Errorf("row %d: change %s status %s %s current %q error %q; want %s %s %q %q", tt.line,
				r.Change(), r.Status, tt.field, r.Current[tt.field].Value, r.Error, tt.change, tt.status, tt.current, tt.errPart)
		}
	}
	if r := results[7]; r.Kind != client.KindNotFound || r.HTTPStatus != 404 {
		t.Errorf("row 7: kind %q http %d, want %s 404", r.Kind, r.HTTPStatus, client.KindNotFound)
	}
	want := map[string]int{batch.ChangeYes: 5, batch.ChangeNo: 1, batch.ChangeError: 3}
	for k, v := range want {
		if sum.Changes[k] != v {
			t.Errorf("Changes[%s] = %d, want %d (%v)", k, sum.Changes[k], v, sum.Changes)
		}
	}
	checkState(t, fx, map[string]sandbox.Number{"12025550001": seed[0], "12025550005": seed[4]})
}
