package pace

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// item stands for what a run carries (a row, a page).
type item struct {
	Line    int
	Number  string
	Invalid bool
}

type answer struct {
	HTTPStatus int
	APIID      string
}

type done = Outcome[item, answer]

func makeItems(n int) []item {
	items := make([]item, n)
	for i := range items {
		items[i] = item{Line: i + 2, Number: fmt.Sprintf("1202555%04d", i)}
	}
	return items
}

// source feeds a slice, passing the invalid items.
func source(items []item) func(Feed[item, answer]) error {
	return func(f Feed[item, answer]) error {
		for _, it := range items {
			var err error
			if it.Invalid {
				err = f.Pass(it, answer{})
			} else {
				err = f.Send(it)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// fastConfig retries at once and does not limit the rate.
func fastConfig() Config {
	return Config{Rate: 0, Concurrency: 4, MaxAttempts: 3, BackoffBase: time.Microsecond, BackoffMax: time.Microsecond}
}

// collect runs the pool on a new Pacer and returns the outcomes sorted by line.
func collect(t *testing.T, ctx context.Context, cfg Config, items []item, call Call[item, answer]) ([]done, Stats, error) {
	t.Helper()
	p := New(ctx, cfg)
	defer p.Close()
	var mu sync.Mutex
	var got []done
	err := Run(ctx, p, source(items), call, func(d done) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return nil
	})
	sort.Slice(got, func(i, j int) bool { return got[i].Item.Line < got[j].Item.Line })
	return got, p.Stats(), err
}

func okCall(ctx context.Context, it item, _ func() bool) (answer, error) {
	return answer{HTTPStatus: 202, APIID: "id-" + it.Number}, nil
}

// kindOf is the kind an outcome ends with: "" for a success.
func kindOf(d done) string {
	if d.Err == nil {
		return ""
	}
	return d.Err.Kind
}

func TestRun_everyRowOnce(t *testing.T) {
	rows := makeItems(200)
	rows[5].Invalid = true
	var calls sync.Map
	call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
		if _, dup := calls.LoadOrStore(r.Number, true); dup {
			t.Errorf("row %d sent twice", r.Line)
		}
		return okCall(ctx, r, nil)
	}
	got, stats, err := collect(t, context.Background(), fastConfig(), rows, call)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(got) != len(rows) {
		t.Fatalf("got %d results, want %d", len(got), len(rows))
	}
	for i, r := range got {
		if r.Item.Line != rows[i].Line || r.Passed != (i == 5) || r.Err != nil {
			t.Errorf("result %d = line %d passed %v err %v, want line %d passed %v", i, r.Item.Line, r.Passed, r.Err, rows[i].Line, i == 5)
		}
		if i != 5 && (r.Answer.APIID != "id-"+r.Item.Number || r.Attempts != 1 || r.Answer.HTTPStatus != 202) {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if stats.Requests != 199 {
		t.Errorf("Requests = %d, want 199", stats.Requests)
	}
}

func TestRun_concurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, most atomic.Int64
		call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			return okCall(ctx, r, nil)
		}
		cfg := fastConfig()
		cfg.Concurrency = 3
		if _, _, err := collect(t, context.Background(), cfg, makeItems(60), call); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if m := most.Load(); m > 3 || m < 1 {
			t.Errorf("most calls in flight = %d, want 1..3", m)
		}
	})
}

func TestRun_retries(t *testing.T) {
	tests := []struct {
		name         string
		errs         []error // answers before success; nil = success
		wantOK       bool
		wantAttempts int
		wantKind     string
	}{
		{"5xx then ok", []error{&Error{HTTPStatus: 503, Kind: "server", Retryable: true}}, true, 2, ""},
		{"429 then ok", []error{&Error{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true}}, true, 2, ""},
		{"timeout twice then ok", []error{&Error{Kind: KindTimeout, Retryable: true}, &Error{Kind: KindTimeout, Retryable: true}}, true, 3, ""},
		{"404 not retried", []error{&Error{HTTPStatus: 404, Kind: "not_found", Message: "not found"}}, false, 1, "not_found"},
		{"400 not retried", []error{&Error{HTTPStatus: 400, Kind: "http_4xx", Message: "bad app"}}, false, 1, "http_4xx"},
		{"gives up after max attempts", []error{
			&Error{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
			&Error{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
			&Error{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
		}, false, 3, "server"},
		{"plain error retried", []error{errors.New("weird")}, true, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
				i := int(n.Add(1)) - 1
				if i < len(tt.errs) {
					return answer{}, tt.errs[i]
				}
				return okCall(ctx, r, nil)
			}
			got, _, err := collect(t, context.Background(), fastConfig(), makeItems(1), call)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			r := got[0]
			if (r.Err == nil) != tt.wantOK || r.Attempts != tt.wantAttempts || kindOf(r) != tt.wantKind {
				t.Errorf("ok, Attempts, Kind = %v, %d, %q; want %v, %d, %q (%+v)", r.Err == nil, r.Attempts, kindOf(r), tt.wantOK, tt.wantAttempts, tt.wantKind, r)
			}
		})
	}
}

func TestRun_authAborts(t *testing.T) {
	var calls atomic.Int64
	call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
		calls.Add(1)
		return answer{}, &Error{HTTPStatus: 401, Kind: KindAuth, Message: "invalid credentials"}
	}
	cfg := fastConfig()
	got, _, err := collect(t, context.Background(), cfg, makeItems(500), call)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("Run = %v, want ErrAborted", err)
	}
	if c := calls.Load(); c > int64(cfg.Concurrency) {
		t.Errorf("%d calls after a 401, want at most %d (those in flight)", c, cfg.Concurrency)
	}
	if int64(len(got)) != calls.Load() {
		t.Errorf("%d results for %d calls", len(got), calls.Load())
	}
	for _, r := range got {
		if r.Err == nil {
			t.Errorf("row %d marked ok", r.Item.Line)
		}
	}
}

func TestRun_forbiddenEverywhereAborts(t *testing.T) {
	call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
		return answer{}, &Error{HTTPStatus: 403, Kind: KindForbidden, Message: "forbidden"}
	}
	got, _, err := collect(t, context.Background(), fastConfig(), makeItems(500), call)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("Run = %v, want ErrAborted", err)
	}
	if len(got) >= 500 || len(got) < forbiddenAbortAfter {
		t.Errorf("%d results, want the run stopped after about %d", len(got), forbiddenAbortAfter)
	}

	// One success first: 403s are then the rows' own problem.
	var n atomic.Int64
	call = func(ctx context.Context, r item, _ func() bool) (answer, error) {
		if n.Add(1) == 1 {
			return okCall(ctx, r, nil)
		}
		return answer{}, &Error{HTTPStatus: 403, Kind: KindForbidden, Message: "forbidden"}
	}
	cfg := fastConfig()
	cfg.Concurrency = 1
	got, _, err = collect(t, context.Background(), cfg, makeItems(50), call)
	if err != nil || len(got) != 50 {
		t.Errorf("Run = %v with %d results, want nil with 50", err, len(got))
	}
}

func TestRun_stop(t *testing.T) {
	stop := make(chan struct{})
	var calls atomic.Int64
	release := make(chan struct{})
	call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
		if calls.Add(1) == 3 {
			close(stop)
			close(release)
		}
		<-release // calls in flight finish after the stop
		return okCall(ctx, r, nil)
	}
	cfg := fastConfig()
	cfg.Stop = stop
	got, _, err := collect(t, context.Background(), cfg, makeItems(100), call)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if int64(len(got)) != calls.Load() || len(got) > cfg.Concurrency+1 {
		t.Errorf("%d results, %d calls; want one result per call, few calls", len(got), calls.Load())
	}
	for _, r := range got {
		if r.Err != nil {
			t.Errorf("row %d: %v; calls in flight should finish", r.Item.Line, r.Err)
		}
	}
}

func TestRun_cancelInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 100)
	call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
		started <- struct{}{}
		<-ctx.Done()
		return answer{}, &Error{Kind: KindCancelled, Message: "cancelled"}
	}
	go func() { <-started; cancel() }()
	got, _, err := collect(t, ctx, fastConfig(), makeItems(100), call)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if len(got) == 0 || len(got) > 4 {
		t.Fatalf("%d results, want the calls in flight (1..4)", len(got))
	}
	for _, r := range got {
		if kindOf(r) != KindInterrupted {
			t.Errorf("row %d = %q, want interrupted", r.Item.Line, kindOf(r))
		}
	}
}

func TestRun_retryAfterPausesPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const pause = 3 * time.Second
		var mu sync.Mutex
		var throttledAt time.Time
		var early int
		call := func(ctx context.Context, r item, _ func() bool) (answer, error) {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if throttledAt.IsZero() {
				throttledAt = now
				return answer{}, &Error{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true, RetryAfter: pause}
			}
			// The pacer pauses the run for the Retry-After less a second of
			// rounding (none here), and the item itself waits it out.
			if now.Sub(throttledAt) < pause {
				early++
			}
			return okCall(ctx, r, nil)
		}
		cfg := fastConfig()
		cfg.Rate = 200
		cfg.Concurrency = 1
		got, _, err := collect(t, context.Background(), cfg, makeItems(5), call)
		if err != nil || len(got) != 5 {
			t.Fatalf("Run = %v, %d results", err, len(got))
		}
		if early > 0 {
			t.Errorf("%d calls during the Retry-After pause, want none", early)
		}
	})
}

func TestRun_sinkErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	n := 0
	p := New(context.Background(), fastConfig())
	defer p.Close()
	err := Run(context.Background(), p, source(makeItems(1000)), okCall, func(done) error {
		n++
		if n == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("Run = %v, want %v", err, boom)
	}
}
