package batch

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rowsOf is a row source over a slice.
func rowsOf(rows []Row) func(context.Context, func(Row) error) error {
	return func(ctx context.Context, fn func(Row) error) error {
		for _, r := range rows {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func makeRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Line: i + 2, Number: fmt.Sprintf("1202555%04d", i), Targets: Targets{AppID: {Value: "app", Set: true}}}
	}
	return rows
}

// fastConfig retries at once and does not limit the rate.
func fastConfig() Config {
	return Config{Rate: 0, Concurrency: 4, MaxAttempts: 3, BackoffBase: time.Microsecond, BackoffMax: time.Microsecond}
}

// collect runs the pool and returns the results sorted by line.
func collect(t *testing.T, ctx context.Context, cfg Config, rows []Row, call Call) ([]Result, Stats, error) {
	t.Helper()
	var mu sync.Mutex
	var got []Result
	stats, err := Run(ctx, cfg, rowsOf(rows), call, func(r Result) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
		return nil
	})
	sort.Slice(got, func(i, j int) bool { return got[i].Row.Line < got[j].Row.Line })
	return got, stats, err
}

func okCall(ctx context.Context, r Row, _ func() bool) (Answer, error) {
	return Answer{HTTPStatus: 202, APIID: "id-" + r.Number}, nil
}

func TestRun_everyRowOnce(t *testing.T) {
	rows := makeRows(200)
	rows[5].Invalid = "bad"
	var calls sync.Map
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
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
		want := StatusOK
		if i == 5 {
			want = StatusInvalid
		}
		if r.Row.Line != rows[i].Line || r.Status != want {
			t.Errorf("result %d = line %d %s, want line %d %s", i, r.Row.Line, r.Status, rows[i].Line, want)
		}
		if want == StatusOK && (r.APIID != "id-"+r.Row.Number || r.Attempts != 1 || r.HTTPStatus != 202) {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if stats.Requests != 199 {
		t.Errorf("Requests = %d, want 199", stats.Requests)
	}
}

func TestRun_concurrencyBound(t *testing.T) {
	var inFlight, most atomic.Int64
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
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
	if _, stats, err := collect(t, context.Background(), cfg, makeRows(60), call); err != nil || stats.Workers > 3 {
		t.Fatalf("Run: %v, workers %d", err, stats.Workers)
	}
	if m := most.Load(); m > 3 || m < 1 {
		t.Errorf("most calls in flight = %d, want 1..3", m)
	}
}

func TestRun_retries(t *testing.T) {
	tests := []struct {
		name         string
		errs         []error // answers before success; nil = success
		wantStatus   Status
		wantAttempts int
		wantKind     string
	}{
		{"5xx then ok", []error{&CallError{HTTPStatus: 503, Kind: "server", Retryable: true}}, StatusOK, 2, ""},
		{"429 then ok", []error{&CallError{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true}}, StatusOK, 2, ""},
		{"timeout twice then ok", []error{&CallError{Kind: KindTimeout, Retryable: true}, &CallError{Kind: KindTimeout, Retryable: true}}, StatusOK, 3, ""},
		{"404 not retried", []error{&CallError{HTTPStatus: 404, Kind: "not_found", Message: "not found"}}, StatusFailed, 1, "not_found"},
		{"400 not retried", []error{&CallError{HTTPStatus: 400, Kind: "http_4xx", Message: "bad app"}}, StatusFailed, 1, "http_4xx"},
		{"gives up after max attempts", []error{
			&CallError{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
			&CallError{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
			&CallError{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"},
		}, StatusFailed, 3, "server"},
		{"plain error retried", []error{errors.New("weird")}, StatusOK, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
				i := int(n.Add(1)) - 1
				if i < len(tt.errs) {
					return Answer{}, tt.errs[i]
				}
				return okCall(ctx, r, nil)
			}
			got, _, err := collect(t, context.Background(), fastConfig(), makeRows(1), call)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			r := got[0]
			if r.Status != tt.wantStatus || r.Attempts != tt.wantAttempts || r.Kind != tt.wantKind {
				t.Errorf("Status, Attempts, Kind = %s, %d, %q; want %s, %d, %q (%+v)", r.Status, r.Attempts, r.Kind, tt.wantStatus, tt.wantAttempts, tt.wantKind, r)
			}
		})
	}
}

func TestRun_authAborts(t *testing.T) {
	var calls atomic.Int64
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		calls.Add(1)
		return Answer{}, &CallError{HTTPStatus: 401, Kind: KindAuth, Message: "invalid credentials"}
	}
	cfg := fastConfig()
	got, _, err := collect(t, context.Background(), cfg, makeRows(500), call)
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
		if r.Status == StatusOK {
			t.Errorf("row %d marked ok", r.Row.Line)
		}
	}
}

func TestRun_forbiddenEverywhereAborts(t *testing.T) {
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		return Answer{}, &CallError{HTTPStatus: 403, Kind: KindForbidden, Message: "forbidden"}
	}
	got, _, err := collect(t, context.Background(), fastConfig(), makeRows(500), call)
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("Run = %v, want ErrAborted", err)
	}
	if len(got) >= 500 || len(got) < forbiddenAbortAfter {
		t.Errorf("%d results, want the run stopped after about %d", len(got), forbiddenAbortAfter)
	}

	// One success first: 403s are then the rows' own problem.
	var n atomic.Int64
	call = func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		if n.Add(1) == 1 {
			return okCall(ctx, r, nil)
		}
		return Answer{}, &CallError{HTTPStatus: 403, Kind: KindForbidden, Message: "forbidden"}
	}
	cfg := fastConfig()
	cfg.Concurrency = 1
	got, _, err = collect(t, context.Background(), cfg, makeRows(50), call)
	if err != nil || len(got) != 50 {
		t.Errorf("Run = %v with %d results, want nil with 50", err, len(got))
	}
}

func TestRun_stop(t *testing.T) {
	stop := make(chan struct{})
	var calls atomic.Int64
	release := make(chan struct{})
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		if calls.Add(1) == 3 {
			close(stop)
			close(release)
		}
		<-release // calls in flight finish after the stop
		return okCall(ctx, r, nil)
	}
	cfg := fastConfig()
	cfg.Stop = stop
	got, _, err := collect(t, context.Background(), cfg, makeRows(100), call)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if int64(len(got)) != calls.Load() || len(got) > cfg.Concurrency+1 {
		t.Errorf("%d results, %d calls; want one result per call, few calls", len(got), calls.Load())
	}
	for _, r := range got {
		if r.Status != StatusOK {
			t.Errorf("row %d: %s %s; calls in flight should finish", r.Row.Line, r.Status, r.Error)
		}
	}
}

func TestRun_cancelInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 100)
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		started <- struct{}{}
		<-ctx.Done()
		return Answer{}, &CallError{Kind: KindCancelled, Message: "cancelled"}
	}
	go func() { <-started; cancel() }()
	got, _, err := collect(t, ctx, fastConfig(), makeRows(100), call)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if len(got) == 0 || len(got) > 4 {
		t.Fatalf("%d results, want the calls in flight (1..4)", len(got))
	}
	for _, r := range got {
		if r.Status != StatusFailed || r.Kind != KindInterrupted {
			t.Errorf("row %d = %s/%s, want failed/interrupted", r.Row.Line, r.Status, r.Kind)
		}
	}
}

func TestRun_retryBudget(t *testing.T) {
	var calls atomic.Int64
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		calls.Add(1)
		return Answer{}, &CallError{HTTPStatus: 500, Kind: "server", Retryable: true, Message: "boom"}
	}
	cfg := fastConfig()
	cfg.MaxAttempts = 10
	cfg.RetryBudget = 50 // ten retries
	got, stats, err := collect(t, context.Background(), cfg, makeRows(100), call)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Retries != 10 || calls.Load() != 110 {
		t.Errorf("Retries = %d, calls = %d; want 10 and 110", stats.Retries, calls.Load())
	}
	budget := 0
	for _, r := range got {
		if r.Kind == KindBudget {
			budget++
		}
	}
	if budget < 90 {
		t.Errorf("%d rows failed on the budget, want at least 90", budget)
	}
}

func TestRun_retryAfterPausesPool(t *testing.T) {
	const pause = 300 * time.Millisecond
	var mu sync.Mutex
	var throttledAt time.Time
	var early int
	call := func(ctx context.Context, r Row, _ func() bool) (Answer, error) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if throttledAt.IsZero() {
			throttledAt = now
			return Answer{}, &CallError{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true, RetryAfter: pause}
		}
		// The check allows for calls that got their permit before the 429.
		if now.Sub(throttledAt) < pause-50*time.Millisecond {
			early++
		}
		return okCall(ctx, r, nil)
	}
	cfg := fastConfig()
	cfg.Rate = 200
	cfg.Concurrency = 1
	got, _, err := collect(t, context.Background(), cfg, makeRows(5), call)
	if err != nil || len(got) != 5 {
		t.Fatalf("Run = %v, %d results", err, len(got))
	}
	if early > 0 {
		t.Errorf("%d calls during the Retry-After pause, want none", early)
	}
}

func TestRun_sinkErrorStops(t *testing.T) {
	boom := errors.New("disk full")
	n := 0
	_, err := Run(context.Background(), fastConfig(), rowsOf(makeRows(1000)), okCall, func(Result) error {
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
