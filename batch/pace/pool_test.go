package pace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
)

type item struct {
	line    int
	invalid bool
}

type done = Outcome[item, string]

// run feeds n items (those in invalid passed, not sent) through call on a
// new Pacer, and returns the outcomes by line.
func run(t *testing.T, ctx context.Context, cfg Config, n int, invalid []int, call Call[item, string]) ([]done, Stats, error) {
	t.Helper()
	p := New(ctx, cfg)
	defer p.Close()
	var got []done
	err := Run(ctx, p, func(f Feed[item, string]) error {
		for i := range n {
			send := func() error { return f.Send(item{line: i}) }
			if slices.Contains(invalid, i) {
				send = func() error { return f.Pass(item{i, true}, "passed") }
			}
			if err := send(); err != nil {
				return err
			}
		}
		return nil
	}, call, func(d done) error { got = append(got, d); return nil })
	slices.SortFunc(got, func(a, b done) int { return a.Item.line - b.Item.line })
	return got, p.Stats(), err
}

func fast() Config {
	return Config{Concurrency: 4, MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
}

func ok(context.Context, item, func() bool) (string, error) { return "ok", nil }

// answers fails each call with the next of errs, then succeeds.
func answers(errs ...error) Call[item, string] {
	var n atomic.Int64
	return func(context.Context, item, func() bool) (string, error) {
		if i := int(n.Add(1)) - 1; i < len(errs) {
			return "", errs[i]
		}
		return "ok", nil
	}
}

func apiErr(status int, kind client.Kind) *client.APIError {
	return &client.APIError{StatusCode: status, Kind: kind, Message: fmt.Sprintf("HTTP %d: %s", status, kind)}
}

func TestRun_everyItemOnceWithinTheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, most atomic.Int64
		call := func(ctx context.Context, it item, _ func() bool) (string, error) {
			most.Store(max(most.Load(), inFlight.Add(1)))
			time.Sleep(time.Millisecond)
			inFlight.Add(-1)
			return ok(ctx, it, nil)
		}
		got, stats, err := run(t, context.Background(), fast(), 200, []int{5}, call)
		if err != nil || len(got) != 200 || stats.Requests != 199 || most.Load() > 4 {
			t.Fatalf("Run = %v, %d outcomes, %d requests, %d in flight; want 200 outcomes, 199 requests, at most 4", err, len(got), stats.Requests, most.Load())
		}
		for i, d := range got {
			if want := !d.Passed; d.Item.line != i || d.Passed != (i == 5) || d.Err != nil || (d.Attempts == 1) != want {
				t.Errorf("outcome %d = %+v", i, d)
			}
		}
	})
}

// TestJudge_retriesWhatMaySucceed is the retry policy, kind by kind.
func TestJudge_retriesWhatMaySucceed(t *testing.T) {
	boom := apiErr(500, client.KindServer)
	for _, tt := range []struct {
		name     string
		errs     []error
		attempts int
		kind     client.Kind // "" for a success
		msg      string
	}{
		{"5xx", []error{boom}, 2, "", ""},
		{"429 spends no attempt", []error{apiErr(429, client.KindRateLimited), apiErr(429, client.KindRateLimited), apiErr(429, client.KindRateLimited)}, 4, "", ""},
		{"timeout, network", []error{&client.APIError{Kind: client.KindTimeout}, &client.APIError{Kind: client.KindNetwork}}, 3, "", ""},
		{"408", []error{apiErr(408, client.KindHTTP4xx)}, 2, "", ""},
		{"a 2xx that proves nothing", []error{apiErr(202, client.KindBadAnswer)}, 2, "", ""},
		{"a read-back that differs", []error{apiErr(202, client.KindVerify)}, 2, "", ""},
		{"a plain error", []error{errors.New("weird")}, 2, "", ""},
		{"404", []error{apiErr(404, client.KindNotFound)}, 1, client.KindNotFound, "HTTP 404: not_found"},
		{"400", []error{apiErr(400, client.KindHTTP4xx)}, 1, client.KindHTTP4xx, "HTTP 400: http_4xx"},
		{"3xx", []error{apiErr(307, client.KindRedirect)}, 1, client.KindRedirect, "HTTP 307: redirect"},
		{"a field missing from an answer", []error{&client.APIError{Kind: client.KindBadAnswer, Message: "no alias"}}, 1, client.KindBadAnswer, "no alias"},
		{"cannot undo", []error{&client.APIError{Kind: client.KindNoUndo, Message: "too long"}}, 1, client.KindNoUndo, "too long"},
		{"cancelled", []error{context.Canceled}, 1, client.KindInterrupted, "interrupted during the call: the update may or may not have been applied"},
		{"gives up", []error{boom, boom, boom}, 3, client.KindServer, "HTTP 500: server (gave up after 3 attempts)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := run(t, context.Background(), fast(), 1, nil, answers(tt.errs...))
			if err != nil || len(got) != 1 {
				t.Fatalf("Run = %v, %d outcomes", err, len(got))
			}
			d, kind, msg := got[0], client.Kind(""), ""
			if d.Err != nil {
				kind, msg = d.Err.Kind, d.Err.Message
			}
			if kind != tt.kind || msg != tt.msg || d.Attempts != tt.attempts {
				t.Errorf("%d attempts, %q %q; want %d, %q %q", d.Attempts, kind, msg, tt.attempts, tt.kind, tt.msg)
			}
		})
	}
}

// TestRun_stopsWhenEveryRequestWouldFail: bad credentials, a 405, a fatal
// error or nothing but 403s from the start stop the run; a 403 after a
// success is the row's own problem.
func TestRun_stopsWhenEveryRequestWouldFail(t *testing.T) {
	for _, tt := range []struct {
		err  *client.APIError
		most int
		want error
	}{
		{apiErr(401, client.KindAuth), 4, ErrAuth},
		{apiErr(405, client.KindMethod), 4, ErrAborted},
		{&client.APIError{Kind: client.KindFatal, Message: "disk full"}, 4, ErrAborted},
		{apiErr(403, client.KindForbidden), forbiddenAbortAfter + 4, ErrAborted},
	} {
		got, _, err := run(t, context.Background(), fast(), 500, nil, answers(slices.Repeat([]error{tt.err}, 1000)...))
		if !errors.Is(err, tt.want) || len(got) > tt.most || len(got) == 0 || got[0].Err.Kind != tt.err.Kind {
			t.Errorf("%s: Run = %v after %d outcomes, want %v after at most %d", tt.err.Kind, err, len(got), tt.want, tt.most)
		}
	}
	cfg := fast()
	cfg.Concurrency = 1
	if got, _, err := run(t, context.Background(), cfg, 50, nil, answers(append([]error{nil}, slices.Repeat([]error{apiErr(403, client.KindForbidden)}, 49)...)...)); err != nil || len(got) != 50 {
		t.Errorf("403s after a success: Run = %v with %d outcomes, want nil with 50", err, len(got))
	}
}

func TestRun_stopLetsCallsInFlightFinish(t *testing.T) {
	stop, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int64
	cfg := fast()
	cfg.Stop = stop
	got, _, err := run(t, context.Background(), cfg, 100, nil, func(ctx context.Context, it item, _ func() bool) (string, error) {
		if calls.Add(1) == 3 {
			close(stop)
			close(release)
		}
		<-release
		return ok(ctx, it, nil)
	})
	if !errors.Is(err, ErrInterrupted) || int64(len(got)) != calls.Load() || len(got) > cfg.Concurrency+1 {
		t.Fatalf("Run = %v, %d outcomes of %d calls; want ErrInterrupted, one per call, few", err, len(got), calls.Load())
	}
	for _, d := range got {
		if d.Err != nil {
			t.Errorf("item %d: %v; a call in flight should finish", d.Item.line, d.Err)
		}
	}
}

func TestRun_cancelInterruptsCallsInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	got, _, err := run(t, ctx, fast(), 100, nil, func(ctx context.Context, _ item, _ func() bool) (string, error) {
		once.Do(cancel)
		<-ctx.Done()
		return "", &client.APIError{Kind: client.KindCancelled}
	})
	if !errors.Is(err, ErrInterrupted) || len(got) == 0 || len(got) > 4 {
		t.Fatalf("Run = %v with %d outcomes, want ErrInterrupted with the calls in flight", err, len(got))
	}
	for _, d := range got {
		if d.Err == nil || d.Err.Kind != client.KindInterrupted {
			t.Errorf("item %d = %v, want interrupted", d.Item.line, d.Err)
		}
	}
}

func TestRun_sinkErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	p := New(context.Background(), fast())
	defer p.Close()
	n := 0
	err := Run(context.Background(), p, func(f Feed[item, string]) error {
		for i := range 1000 {
			if err := f.Send(item{line: i}); err != nil {
				return err
			}
		}
		return nil
	}, ok, func(done) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 5 {
		t.Errorf("Run = %v after %d outcomes, want %v after 5", err, n, boom)
	}
}
