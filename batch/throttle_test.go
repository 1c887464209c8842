package batch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// direct hands each request straight to a handler: a synctest bubble cannot see through a socket's waits.
type direct struct{ http.Handler }

func (d direct) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := httptest.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
	sr.Header = r.Header
	w := httptest.NewRecorder()
	d.ServeHTTP(w, sr)
	return w.Result(), nil
}

// TestRun_adaptsToThrottlingServer: at ten times the server's limit, every row is ok, under 10% of
// requests are refused, and the run keeps near the server's pace (the targets: ratectl's simulation).
func TestRun_adaptsToThrottlingServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv := sandbox.New(sandbox.Config{Rate: sandbox.Rate{Limit: 100}})
		in := make(batch.MemSource, 300)
		for i := range in {
			n := fmt.Sprintf("1202555%04d", i)
			srv.AddNumber(sandbox.Number{Number: n})
			in[i] = row(i+2, n, batch.Alias, "a")
		}
		cl, err := client.New("http://127.0.0.1", srv.Config().AuthID, srv.Config().AuthToken, client.Options{Transport: direct{srv}})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := batch.Run(context.Background(), batch.Job{Client: cl, Pace: pace.Config{Rate: 1000, Adaptive: true}, Input: in, Step: batch.Update{},
			Sink: func(batch.Result) error { return nil }})
		if err != nil || sum.OK != 300 {
			t.Fatalf("Run: %v, %d ok; want 300", err, sum.OK)
		}
		// The bucket starts full: 300 rows at 100/s take 2 s on the clock.
		if share := float64(sum.Stats.RateLimited) / float64(sum.Stats.Requests); share > 0.1 || time.Since(start) > 3*time.Second {
			t.Errorf("%d of %d requests answered 429 in %v, want under 10%% and the server's pace", sum.Stats.RateLimited, sum.Stats.Requests, time.Since(start))
		}
	})
}
