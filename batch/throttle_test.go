package batch_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
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
	srv := sandbox.New(sandbox.Config{RateLimit: limit})
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
		Input: batch.MemSource(input),
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

// TestRun_busyAccountLosesNoRow: the account is busy with other traffic
// (the server answers 429 to 95% of requests for a while, without
// Retry-After). A 429 never uses up a row's attempts, so even with
// --max-attempts 1 every row ends ok once the account frees up.
// CI runs a 3 s spell; BUSY_FOR=1m runs the minute issue 12 asks for
// (BENCHMARKS.md has its figures).
func TestRun_busyAccountLosesNoRow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 5 s")
	}
	const rows = 60
	busyFor := 3 * time.Second
	if v := os.Getenv("BUSY_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BUSY_FOR=%q: %v", v, err)
		}
		busyFor = d
	}
	srv := sandbox.New(sandbox.Config{})
	srv.AddApplication("1001", "App")
	input := make([]batch.Row, rows)
	for i := range input {
		n := fmt.Sprintf("1202555%04d", i)
		srv.AddNumber(sandbox.Number{Number: n})
		input[i] = batch.Row{Line: i + 2, Number: n, Targets: batch.Targets{batch.AppID: {Value: "1001", Set: true}}}
	}
	start := time.Now()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	var refused, served int
	busy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		throttle := time.Since(start) < busyFor && rng.Float64() < 0.95
		if throttle {
			refused++
		} else {
			served++
		}
		mu.Unlock()
		if throttle {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"too many requests"}`))
			return
		}
		srv.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(busy)
	t.Cleanup(hs.Close)
	cfg := srv.Config()
	cl, err := client.New(hs.URL, cfg.AuthID, cfg.AuthToken)
	if err != nil {
		t.Fatal(err)
	}
	var results []batch.Result
	sum, err := batch.Run(context.Background(), batch.Job{
		Client: cl,
		Pace: pace.Config{Rate: 100, Adaptive: true, MaxAttempts: 1,
			BackoffBase: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		Input: batch.MemSource(input),
		Step:  batch.Update{},
		Sink:  func(r batch.Result) error { results = append(results, r); return nil },
	})
	if err != nil {
		t.Fatalf("Run: %v (%d refused, %d served)", err, refused, served)
	}
	if sum.OK != rows || sum.Failed != 0 {
		t.Errorf("ok %d, failed %d; want %d ok: a 429 must not use up a row's attempts", sum.OK, sum.Failed, rows)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused < 5 {
		t.Errorf("only %d requests were refused: the test did not keep the account busy", refused)
	}
	t.Logf("%d rows ok in %s; %d requests refused, %d served", sum.OK, time.Since(start).Round(time.Millisecond), refused, served)
}
