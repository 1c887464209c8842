package batch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestRun_adaptsToThrottlingServer runs the pool, through the real client,
// against the sandbox limited to 100 requests/s, asking for ten times that.
// Without adaptation most first attempts would be 429s and rows would run
// out of attempts; with it every row is ok and few requests are refused.
// (Speed itself is measured in bench/throttle.sh, not here.)
func TestRun_adaptsToThrottlingServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 3 s")
	}
	const rows, limit = 250, 100
	srv := sandbox.New(sandbox.Config{RateLimit: limit, NoRetryAfter: true})
	srv.AddApplication("app", "App")
	input := make([]batch.Row, rows)
	for i := range input {
		n := fmt.Sprintf("1202555%04d", i)
		srv.AddNumber(sandbox.Number{Number: n})
		input[i] = batch.Row{Line: i + 2, Number: n, Targets: batch.Targets{batch.AppID: {Value: "app", Set: true}}}
	}
	url, stop, err := sandbox.Start(srv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop(context.Background()) })
	cfg := srv.Config()
	cl, err := client.New(url, cfg.AuthID, cfg.AuthToken)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ok := 0
	sum, err := batch.Run(context.Background(), batch.Job{
		Client: cl,
		Pace: pace.Config{
			Rate: 10 * limit, Adaptive: true, MaxAttempts: 5,
			BackoffBase: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		},
		Input: sliceSource(input),
		Step:  batch.Update{},
		Sink: func(r batch.Result) error {
			mu.Lock()
			defer mu.Unlock()
			if r.Status == batch.StatusOK {
				ok++
			} else {
				t.Errorf("row %d: %s %s", r.Row.Line, r.Status, r.Error)
			}
			return nil
		},
	})
	stats := sum.Stats
	if err != nil {
		t.Fatal(err)
	}
	if ok != rows {
		t.Errorf("%d rows ok, want %d", ok, rows)
	}
	// Unadapted, nine requests in ten would be refused. The bound is loose
	// because requests already in flight when the first 429 comes back are
	// refused too, and on a loaded machine there are many of them;
	// bench/throttle.sh measures the real figure (about 2%).
	if share := float64(stats.RateLimited) / float64(stats.Requests); share > 0.5 {
		t.Errorf("%d of %d requests answered 429 (%.0f%%), want the run to back off to the server's limit", stats.RateLimited, stats.Requests, 100*share)
	}
	t.Logf("%d requests, %d answered 429", stats.Requests, stats.RateLimited)
}
