package batch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// The tests' account, and the default app Plivo assigns to an update without app_id.
const (
	app1, app2, defaultApp = "1001", "1002", "1999"
	sub1, sub2             = "SAAAAAAAAAAAAAAAAAA1", "SAAAAAAAAAAAAAAAAAA2"
	compliance             = "C0FFEE"
)

var seed = []sandbox.Number{
	{Number: "12025550001", AppID: app1, Alias: "one"},
	{Number: "12025550002", AppID: app1, Alias: "two", Subaccount: sub1},
	{Number: "12025550003", Alias: "three"},
	{Number: "12025550004", AppID: app2, Alias: "four"},
	{Number: "12025550005", AppID: app2, Alias: "five", Subaccount: sub1},
}

// migration is one row per seeded number, each changing something.
func migration() batch.MemSource {
	return batch.MemSource{
		row(2, "12025550001", batch.AppID, app2),
		row(3, "12025550002", batch.Subaccount, sub2, batch.Alias, "moved"),
		row(4, "12025550003", batch.Alias, "renamed only"),
		row(5, "12025550004", batch.AppID, ""),
		row(6, "12025550005", batch.Alias, ""),
	}
}

// row returns a valid row that sets the fields and values given in pairs.
func row(line int, number string, pairs ...any) batch.Row {
	r := batch.Row{Line: line, Number: number}
	for i := 0; i < len(pairs); i += 2 {
		r.Targets[pairs[i].(batch.Field)] = batch.Setting{Value: pairs[i+1].(string), Set: true}
	}
	return r
}

// numbered is n numbers on app1 and their rows setting pairs; the sandbox
// refuses (400) a compliance change on those refused(i) says.
func numbered(n int, refused func(int) bool, pairs ...any) ([]sandbox.Number, batch.MemSource) {
	var numbers []sandbox.Number
	var rows batch.MemSource
	for i := range n {
		nb := sandbox.Number{Number: fmt.Sprintf("1202555%04d", i), AppID: app1, ComplianceStatus: "pending"}
		if refused != nil && refused(i) {
			nb.ComplianceStatus = "accepted"
		}
		numbers = append(numbers, nb)
		rows = append(rows, row(i+2, nb.Number, pairs...))
	}
	return numbers, rows
}

// request is what the fixture records of one request the sandbox served.
type request struct {
	Method, Path string
	Fields       map[string]*string // an update's values, nil for null
}

// fixture is the sandbox on loopback, recording every request, and a real client for it.
type fixture struct {
	srv       *sandbox.Server
	cl        *client.Client
	mu        sync.Mutex
	reqs      []request
	intercept func(http.ResponseWriter, *http.Request) bool // answers a request itself when true
}

func newFixture(t *testing.T, numbers ...sandbox.Number) *fixture {
	t.Helper()
	srv := sandbox.New(sandbox.Config{DefaultAppOnMissing: true, DefaultApp: defaultApp})
	srv.AddApplication(app1, "one")
	srv.AddApplication(app2, "two")
	srv.AddSubaccount(sub1, "one")
	srv.AddSubaccount(sub2, "two")
	srv.AddNumber(numbers...)
	fx := &fixture{srv: srv}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		q := request{Method: r.Method, Path: r.URL.Path}
		_ = json.Unmarshal(body, &q.Fields)
		fx.mu.Lock()
		fx.reqs = append(fx.reqs, q)
		intercept := fx.intercept
		fx.mu.Unlock()
		if intercept == nil || !intercept(w, r) {
			srv.ServeHTTP(w, r)
		}
	})
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	var err error
	if fx.cl, err = client.New(hs.URL, srv.Config().AuthID, srv.Config().AuthToken, client.Options{}); err != nil {
		t.Fatal(err)
	}
	return fx
}

// requests returns the requests served of method ("" for any) whose path contains part.
func (fx *fixture) requests(method, part string) []request {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	var out []request
	for _, r := range fx.reqs {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, part) {
			out = append(out, r)
		}
	}
	return out
}

func (fx *fixture) count(method, part string) int { return len(fx.requests(method, part)) }

// notApplied makes fx answer "changed" to the updates of number that pick (given the count so far)
// chooses, without applying them.
func (fx *fixture) notApplied(number string, pick func(n int) bool) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || !strings.Contains(r.URL.Path, number) || !pick(fx.count(http.MethodPost, number)) {
			return false
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"message":"changed","api_id":"not-applied"}`)
		return true
	}
}

// run runs job against fx; the client, reads one by one, a fast pace and a
// sink keeping the results by line unless the test says otherwise.
func (fx *fixture) run(t *testing.T, job batch.Job) (batch.Summary, map[int]batch.Result, error) {
	t.Helper()
	if job.Client == nil {
		job.Client = fx.cl
	}
	if job.Read == "" {
		job.Read = batch.ReadEach
	}
	if job.Pace.MaxAttempts == 0 {
		job.Pace = pace.Config{MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
	}
	results := map[int]batch.Result{}
	if job.Sink == nil {
		job.Sink = func(r batch.Result) error {
			if _, dup := results[r.Row.Line]; dup {
				t.Errorf("row %d handed to the sink twice", r.Row.Line)
			}
			results[r.Row.Line] = r
			return nil
		}
	}
	sum, err := batch.Run(context.Background(), job)
	return sum, results, err
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
