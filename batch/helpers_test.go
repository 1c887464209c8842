package batch_test

import (
	"context"
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

// The account the engine tests run against: two applications, two
// subaccounts and a default app that Plivo assigns to an update without
// app_id.
const (
	app1, app2, defaultApp = "1001", "1002", "1999"
	sub1, sub2             = "SAAAAAAAAAAAAAAAAAA1", "SAAAAAAAAAAAAAAAAAA2"
)

// seed is the numbers the tests start from.
var seed = []sandbox.Number{
	{Number: "12025550001", AppID: app1, Alias: "one"},
	{Number: "12025550002", AppID: app1, Alias: "two", Subaccount: sub1},
	{Number: "12025550003", Alias: "three"}, // no app
	{Number: "12025550004", AppID: app2, Alias: "four"},
	{Number: "12025550005", AppID: app2, Alias: "five", Subaccount: sub1},
}

// migration is one row per seeded number, each changing something: the
// README's migration, as the input reader would check it.
func migration() batch.MemSource {
	return batch.MemSource{
		row(2, "12025550001", batch.AppID, app2),
		row(3, "12025550002", batch.Subaccount, sub2, batch.Alias, "moved"),
		row(4, "12025550003", batch.Alias, "renamed only"),
		row(5, "12025550004", batch.AppID, ""),
		row(6, "12025550005", batch.Alias, ""),
	}
}

// row returns a valid row at line that sets the fields and values given
// in pairs.
func row(line int, number string, pairs ...any) batch.Row {
	r := batch.Row{Line: line, Number: number}
	for i := 0; i < len(pairs); i += 2 {
		r.Targets[pairs[i].(batch.Field)] = batch.Setting{Value: pairs[i+1].(string), Set: true}
	}
	return r
}

// fixture is a sandbox on loopback with a real client for it, recording
// every request it serves.
type fixture struct {
	srv *sandbox.Server
	url string // the sandbox's base URL
	cl  *client.Client

	mu   sync.Mutex
	reqs []sandbox.Request
}

// newFixture starts the sandbox, optionally behind wrap, seeded with
// numbers, two applications and two subaccounts.
func newFixture(t *testing.T, wrap func(http.Handler) http.Handler, numbers ...sandbox.Number) *fixture {
	t.Helper()
	srv := sandbox.New(sandbox.Config{DefaultAppOnMissing: true, DefaultApp: defaultApp})
	srv.AddApplication(app1, "one")
	srv.AddApplication(app2, "two")
	srv.AddSubaccount(sub1, "one")
	srv.AddSubaccount(sub2, "two")
	srv.SeedNumbers(numbers)
	fx := &fixture{srv: srv}
	srv.SetRecorder(func(r sandbox.Request) {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		fx.reqs = append(fx.reqs, r)
	})
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	fx.url = hs.URL
	cfg := srv.Config()
	var err error
	if fx.cl, err = client.New(hs.URL, cfg.AuthID, cfg.AuthToken); err != nil {
		t.Fatal(err)
	}
	return fx
}

// requests returns the requests served so far that match: a method
// ("" for any) and a path part such as "/Number/" ("" for any).
func (fx *fixture) requests(method, pathPart string) []sandbox.Request {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	var out []sandbox.Request
	for _, r := range fx.reqs {
		if (method == "" || r.Method == method) && strings.Contains(r.Path, pathPart) {
			out = append(out, r)
		}
	}
	return out
}

// count is len(fx.requests(method, pathPart)).
func (fx *fixture) count(method, pathPart string) int { return len(fx.requests(method, pathPart)) }

// fastPace runs as fast as the server answers and retries at once.
func fastPace() pace.Config {
	return pace.Config{Rate: 0, MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 2 * time.Millisecond}
}

// run runs job against fx, filling in what the test leaves out (client,
// reads one by one, pace, a sink that keeps the results), and returns the results by line.
func (fx *fixture) run(t *testing.T, job batch.Job) (batch.Summary, map[int]batch.Result, error) {
	t.Helper()
	if job.Client == nil {
		job.Client = fx.cl
	}
	if job.Read == "" { // the steps' own reads, one per row, unless the test says
		job.Read = batch.ReadEach
	}
	if job.Pace.MaxAttempts == 0 { // the test set no pace of its own
		job.Pace = fastPace()
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

// number returns the sandbox's state of n.
func (fx *fixture) number(t *testing.T, n string) sandbox.Number {
	t.Helper()
	got, ok := fx.srv.Number(n)
	if !ok {
		t.Fatalf("number %s is not on the account", n)
	}
	return got
}
