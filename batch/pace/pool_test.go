package pace

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
)

type done = Outcome[int, string]

// run feeds items 0..n-1 (those in pass passed, not sent) through call on
// a new Pacer; sink nil collects the outcomes, returned in item order.
func run(ctx context.Context, cfg Config, n int, pass []int, call Call[int, string], sink func(done) error) ([]done, Stats, error) {
	p := New(ctx, cfg)
	defer p.Close()
	var got []done
	if sink == nil {
		sink = func(d done) error { got = append(got, d); return nil }
	}
	err := Run(ctx, p, func(f Feed[int, string]) error {
		for i := range n {
			var settled *string
			if slices.Contains(pass, i) {
				settled = new("passed")
			}
			if err := f(i, settled); err != nil {
				return err
			}
		}
		return nil
	}, call, sink)
	slices.SortFunc(got, func(a, b done) int { return a.Item - b.Item })
	return got, p.Stats(), err
}

func fast() Config {
	return Config{Concurrency: 4, MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond}
}

// answers fails each call with the next of errs, then succeeds.
func answers(errs ...error) Call[int, string] {
	var n atomic.Int64
	return func(context.Context, int, func() bool) (string, error) {
		if i := int(n.Add(1)) - 1; i < len(errs) && errs[i] != nil {
			return "", errs[i]
		}
		return "ok", nil
	}
}

func apiErr(status int, kind client.Kind) *client.APIError {
	return &client.APIError{StatusCode: status, Kind: kind, Message: "HTTP: " + string(kind)}
}

func TestRun_everyItemOnceWithinTheBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, most atomic.Int64
		got, stats, err := run(context.Background(), fast(), 200, []int{5}, func(context.Context, int, func() bool) (string, error) {
			most.Store(max(most.Load(), inFlight.Add(1)))
			time.Sleep(time.Millisecond)
			inFlight.Add(-1)
			return "ok", nil
		}, nil)
		if err != nil || len(got) != 200 || stats.Requests != 199 || most.Load() > 4 {
			t.Fatalf("Run = %v, %d outcomes, %d requests, %d in flight; want 200 outcomes, 199 requests, at most 4", err, len(got), stats.Requests, most.Load())
		}
		for i, d := range got {
			if d.Item != i || d.Passed != (i == 5) || d.Err != nil || (d.Attempts == 1) == d.Passed {
				t.Errorf("outcome %d = %+v", i, d)
			}
		}
	})
}

// TestJudge_retriesWhatMaySucceed is the retry policy, kind by kind; bad credentials, a 405 or a
// fatal error stop the run.
func TestJudge_retriesWhatMaySucceed(t *testing.T) {
	boom, slow := apiErr(500, client.KindServer), apiErr(429, client.KindRateLimited)
	for _, tt := range []struct {
		errs     []error
		attempts int
		kind     client.Kind // "" for a success
		msg      string
	}{
		{[]error{boom}, 2, "", ""},
		{[]error{slow, slow, slow}, 4, "", ""}, // 429s spend no attempt
		{[]error{&client.APIError{Kind: client.KindTimeout}, &client.APIError{Kind: client.KindNetwork}}, 3, "", ""},
		{[]error{apiErr(408, client.KindHTTP4xx)}, 2, "", ""},
		{[]error{apiErr(202, client.KindBadAnswer)}, 2, "", ""},
		{[]error{apiErr(202, client.KindVerify)}, 2, "", ""},
		{[]error{errors.New("weird")}, 2, "", ""},
		{[]error{apiErr(404, client.KindNotFound)}, 1, client.KindNotFound, "HTTP: not_found"},
		{[]error{apiErr(400, client.KindHTTP4xx)}, 1, client.KindHTTP4xx, "HTTP: http_4xx"}, // unlike a 408
		{[]error{apiErr(307, client.KindRedirect)}, 1, client.KindRedirect, "HTTP: redirect"},
		{[]error{&client.APIError{Kind: client.KindBadAnswer, Message: "no alias"}}, 1, client.KindBadAnswer, "no alias"}, // a field missing from a good answer
		{[]error{&client.APIError{Kind: client.KindNoUndo, Message: "too long"}}, 1, client.KindNoUndo, "too long"},
		{[]error{context.Canceled}, 1, client.KindInterrupted, "interrupted during the call: the update may or may not have been applied"},
		{[]error{boom, boom, boom}, 3, client.KindServer, "HTTP: server (gave up after 3 attempts)"},
		{[]error{apiErr(401, client.KindAuth)}, 1, client.KindAuth, "HTTP: auth"},
		{[]error{apiErr(405, client.KindMethod)}, 1, client.KindMethod, "HTTP: method"},
		{[]error{&client.APIError{Kind: client.KindFatal, Message: "disk full"}}, 1, client.KindFatal, "disk full"},
	} {
		halt := map[client.Kind]error{client.KindAuth: ErrAuth, client.KindMethod: ErrAborted, client.KindFatal: ErrAborted}[tt.kind]
		got, _, err := run(context.Background(), fast(), 1, nil, answers(tt.errs...), nil)
		if !errors.Is(err, halt) || halt == nil && err != nil || len(got) != 1 {
			t.Fatalf("%v: Run = %v, %d outcomes", tt.errs, err, len(got))
		}
		d, kind, msg := got[0], client.Kind(""), ""
		if d.Err != nil {
			kind, msg = d.Err.Kind, d.Err.Message
		}
		if kind != tt.kind || msg != tt.msg || d.Attempts != tt.attempts {
			t.Errorf("%v: %d attempts, %q %q; want %d, %q %q", tt.errs, d.Attempts, kind, msg, tt.attempts, tt.kind, tt.msg)
		}
	}
}

// TestRun_stopsWhenEveryRequestWouldFail: nothing but 403s from the start stop the run; a 403 after a
// success is the row's own problem.
func TestRun_stopsWhenEveryRequestWouldFail(t *testing.T) {
	got, _, err := run(context.Background(), fast(), 500, nil, answers(slices.Repeat([]error{apiErr(403, client.KindForbidden)}, 1000)...), nil)
	if !errors.Is(err, ErrAborted) || len(got) > forbiddenAbortAfter+4 || len(got) == 0 || got[0].Err.Kind != client.KindForbidden {
		t.Errorf("403s: Run = %v after %d outcomes, want %v after at most %d", err, len(got), ErrAborted, forbiddenAbortAfter+4)
	}
	cfg := fast()
	cfg.Concurrency = 1
	if got, _, err := run(context.Background(), cfg, 50, nil, answers(append([]error{nil}, slices.Repeat([]error{apiErr(403, client.KindForbidden)}, 49)...)...), nil); err != nil || len(got) != 50 {
		t.Errorf("403s after a success: Run = %v with %d outcomes, want nil with 50", err, len(got))
	}
}

// TestRun_stops: a stop lets the calls in flight finish; cancelling the
// context interrupts them; a sink error stops the run and is returned.
func TestRun_stops(t *testing.T) {
	stop, calls := make(chan struct{}), atomic.Int64{}
	cfg := fast()
	cfg.Stop = stop
	got, _, err := run(context.Background(), cfg, 100, nil, func(ctx context.Context, _ int, _ func() bool) (string, error) {
		if calls.Add(1) == 3 {
			close(stop)
		}
		<-stop
		return "ok", nil
	}, nil)
	if !errors.Is(err, ErrInterrupted) || int64(len(got)) != calls.Load() || len(got) > 5 || slices.ContainsFunc(got, func(d done) bool { return d.Err != nil }) {
		t.Errorf("stop: Run = %v, outcomes %v of %d calls; want ErrInterrupted, every call in flight ok", err, got, calls.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	got, _, err = run(ctx, fast(), 100, nil, func(ctx context.Context, _ int, _ func() bool) (string, error) {
		once.Do(cancel)
		<-ctx.Done()
		return "", &client.APIError{Kind: client.KindCancelled}
	}, nil)
	if !errors.Is(err, ErrInterrupted) || len(got) == 0 || len(got) > 4 || slices.ContainsFunc(got, func(d done) bool { return d.Err.Kind != client.KindInterrupted }) {
		t.Errorf("cancel: Run = %v, outcomes %v; want ErrInterrupted, the calls in flight interrupted", err, got)
	}

	boom, n := errors.New("disk full"), 0
	_, _, err = run(context.Background(), fast(), 1000, nil, answers(), func(done) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 5 {
		t.Errorf("sink error: Run = %v after %d outcomes, want %v after 5", err, n, boom)
	}
}

// TestPacer_waits: every wait on time (the rate, a Retry-After, the
// account's throttling) ends when it should, and no sooner.
func TestPacer_waits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // a stop ends the wait for the next permit
		stop := make(chan struct{})
		p := New(context.Background(), Config{Rate: 0.05, Stop: stop}) // the next permit in 20 s
		defer p.Close()
		_ = do(p)
		time.AfterFunc(time.Second, func() { close(stop) })
		start := time.Now()
		if err := do(p); err != ErrInterrupted || time.Since(start) != time.Second {
			t.Errorf("Do = %v after %v, want ErrInterrupted at the stop, 1 s in", err, time.Since(start))
		}
	})
	synctest.Test(t, func(t *testing.T) { // a stop ends a retry's backoff too
		stop := make(chan struct{})
		cfg := fast()
		cfg.Stop = stop
		time.AfterFunc(time.Second, func() { close(stop) })
		start := time.Now()
		got, _, err := run(context.Background(), cfg, 1, nil, answers(&client.APIError{StatusCode: 503, Kind: client.KindServer, RetryAfter: time.Minute}), nil)
		if time.Since(start) != time.Second || len(got) != 1 || got[0].Err == nil {
			t.Errorf("Run = %v, %+v after %v, want the item failed at the stop, 1 s into a backoff of 1 min", err, got, time.Since(start))
		}
	})
	synctest.Test(t, func(t *testing.T) { // a rise ends a wait at the low rate
		p := New(context.Background(), Config{Rate: 50, Adaptive: true})
		defer p.Close()
		ninth, release, n := make(chan struct{}), make(chan struct{}), 0
		go p.Do(context.Background(), func(context.Context) error {
			if n++; n <= 8 {
				return apiErr(429, client.KindRateLimited) // down to 0.5/s
			}
			close(ninth)
			<-release // then accepted: room again
			return nil
		})
		<-ninth
		time.AfterFunc(100*time.Millisecond, func() { close(release) })
		start := time.Now()
		if _ = do(p); time.Since(start) > 200*time.Millisecond {
			t.Errorf("a permit waited %v at 0.5/s, want it once the rate rose, 100 ms in", time.Since(start))
		}
	})
	for _, adaptive := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			p := New(context.Background(), Config{Rate: 200, Adaptive: adaptive})
			defer p.Close()
			start := time.Now()
			go func() {
				_ = do(p, &client.APIError{StatusCode: 429, Kind: client.KindRateLimited, RetryAfter: 3 * time.Second})
			}()
			synctest.Wait()
			if _ = do(p); time.Since(start) < 2*time.Second { // a second less when adaptive: Retry-After is rounded up
				t.Errorf("adaptive %v: a request went out %v into a Retry-After of 3 s", adaptive, time.Since(start))
			}
		})
	}
	for retryAfter, want := range map[time.Duration]string{
		0:         "the server answered only 429 for 1m",
		time.Hour: "the server asked to wait 1h0m0s (Retry-After), longer than --max-throttle-wait 1m0s",
	} {
		synctest.Test(t, func(t *testing.T) {
			p := New(context.Background(), Config{Rate: 10, Adaptive: true, MaxThrottleWait: time.Minute})
			defer p.Close()
			err := do(p, slices.Repeat([]error{&client.APIError{StatusCode: 429, Kind: client.KindRateLimited, RetryAfter: retryAfter}}, 1000)...)
			if !errors.Is(err, ErrThrottled) || !errors.Is(p.Err(), ErrThrottled) || !strings.Contains(err.Error(), want) {
				t.Errorf("Do = %v, want ErrThrottled: %s", err, want)
			}
		})
	}
}

// do sends one request with p.Do, answered with errs in turn.
func do(p *Pacer, errs ...error) error {
	call := answers(errs...)
	return p.Do(context.Background(), func(ctx context.Context) error { _, err := call(ctx, 0, nil); return err })
}

// TestPacer_DoSaysWhy: a refused credential comes back as the answer's
// error, and a read cut short by a stop as the stop's reason.
func TestPacer_DoSaysWhy(t *testing.T) {
	p := New(context.Background(), Config{})
	defer p.Close()
	if err := do(p, apiErr(401, client.KindAuth)); !errors.As(err, new(*client.APIError)) || !errors.Is(p.Err(), ErrAuth) {
		t.Errorf("Do = %v, Err = %v; want the 401, and the run aborted for it", err, p.Err())
	}
	p = New(context.Background(), Config{})
	defer p.Close()
	if err := p.Do(context.Background(), func(ctx context.Context) error {
		p.Abort(ErrInterrupted)
		<-ctx.Done()
		return ctx.Err()
	}); err != ErrInterrupted {
		t.Errorf("Do = %v after a stop, want ErrInterrupted", err)
	}
}
