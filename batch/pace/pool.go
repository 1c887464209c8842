package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Call makes one attempt at a row. It returns the answer, or an error; a
// *CallError tells the pool whether and when to try again, any other error
// is treated as a retryable failure. An Answer without an api_id (and not
// Skipped) is no proof of success and counts as a retryable failure.
//
// The pool has taken one rate permit for the attempt's first request. An
// attempt that makes more requests (a read before an update, a read-back
// after it) calls permit before each further one, so that every request
// counts against the rate; permit returns false when the run is stopping.
type Call func(ctx context.Context, row Row, permit func() bool) (Answer, error)

// Answer is a successful attempt's outcome.
type Answer struct {
	HTTPStatus int
	APIID      string
	// Current holds the number's settings as read from the server, when the
	// attempt read them (Set for each field read).
	Current Targets
	// Skipped, when not empty, says why the row needed no update; the row
	// ends with StatusSkipped and this reason.
	Skipped string
}

// Defaults for Config.
const (
	DefaultRate        = 20.0 // a third of Plivo's documented 300 requests per 5 s
	DefaultMaxAttempts = 5
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 20 * time.Second
	// DefaultRetryBudget is the retry quota, in the manner of the AWS SDK's
	// standard retry mode: a retry costs retryCost (timeoutCost after a
	// timeout), a success gives one back. A storm of errors therefore empties
	// it quickly, and rows then fail at once instead of piling on retries.
	DefaultRetryBudget = 500
	retryCost          = 5
	timeoutCost        = 10
	// forbiddenAbortAfter: when this many answers in a row, from the start,
	// were all 403, the credentials lack the right for the whole run.
	forbiddenAbortAfter = 10
)

// Config tunes a run.
type Config struct {
	Rate        float64 // requests per second for the whole run; 0 = no limit
	Burst       int     // tokens the limiter may bank; 0 = derived from Rate
	Concurrency int     // most calls in flight; 0 = derived from Rate (see AutoConcurrency)
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	RetryBudget int
	// Adaptive lowers the rate when the server answers 429 and probes back
	// up toward Rate, so that a Rate above the account's real limit still
	// runs close to that limit.
	Adaptive bool
	// Stop, when closed, stops the dispatch of new rows and new retries;
	// calls already in flight finish. Cancelling the ctx given to Run stops
	// them too.
	Stop <-chan struct{}
	// Jitter returns a random duration in [0, d); nil uses math/rand/v2.
	Jitter func(d time.Duration) time.Duration
}

// AutoConcurrency is the pool's ceiling when Config.Concurrency is 0. The
// pool itself grows only while the rate limiter hands out permits that no
// idle worker can take, so the workers in use follow Little's law (rate x
// observed latency); the ceiling allows a latency of up to 5 s at the full
// rate before the pool rather than the rate binds.
func AutoConcurrency(rate float64) int {
	if rate <= 0 {
		return 64
	}
	return int(min(1000, max(8, math.Ceil(rate*5))))
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Concurrency <= 0 {
		c.Concurrency = AutoConcurrency(c.Rate)
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.RetryBudget == 0 {
		c.RetryBudget = DefaultRetryBudget
	}
	if c.Burst <= 0 {
		c.Burst = max(1, int(math.Ceil(c.Rate/20))) // 50 ms worth of requests
	}
	if c.Jitter == nil {
		c.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	return c
}

// Stats counts what a run did.
type Stats struct {
	Requests    int64 // attempts sent
	RateLimited int64 // answers that were 429
	Retries     int64
	Workers     int64 // most workers the pool used
}

// Run sends every valid row from rows through call, paced and retried, and
// hands one Result per row to sink. Invalid rows go to sink without a call.
// sink is called from a single goroutine, in completion order.
//
// Run returns ErrAborted (wrapped, with the reason) when it stopped because
// every further row would fail, ErrInterrupted when cfg.Stop or ctx ended it
// early, a sink or source error as it is, and nil otherwise. Rows that were
// never attempted get no Result.
func Run(ctx context.Context, cfg Config, rows func(ctx context.Context, fn func(Row) error) error, call Call, sink func(Result) error) (Stats, error) {
	cfg = cfg.withDefaults()
	p := &pool{
		cfg:     cfg,
		call:    call,
		jobs:    make(chan Row),
		results: make(chan Result, cfg.Concurrency),
		halt:    make(chan struct{}),
		noMore:  make(chan struct{}),
		pacer:   newPacer(cfg.Rate, cfg.Burst, cfg.Adaptive),
		budget:  int64(cfg.RetryBudget),
	}
	p.pacer.spawn = p.spawn

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The consumer owns sink: it is the only goroutine that calls it.
	sinkErr := make(chan error, 1)
	go func() {
		var err error
		for r := range p.results {
			if err == nil {
				if err = sink(r); err != nil {
					p.abort(err)
				}
			}
		}
		sinkErr <- err
	}()

	// A stop, or the end of ctx, halts dispatch; the end of ctx also
	// cancels the calls in flight, since they run under it.
	go func() {
		select {
		case <-cfg.Stop: // nil when not given: never ready
			p.abort(ErrInterrupted)
		case <-ctx.Done():
			p.abort(ErrInterrupted)
		case <-p.halt:
		}
	}()

	p.g, p.gctx = errgroup.WithContext(ctx)
	pacerDone := make(chan struct{})
	go func() {
		defer close(pacerDone)
		p.pacer.run(ctx, p.halt)
	}()

	// The reader: one goroutine walks the input and feeds the workers.
	srcErr := rows(ctx, func(r Row) error {
		if r.Invalid != "" {
			p.results <- Result{Row: r, Status: StatusInvalid, Kind: KindInvalid, Error: r.Invalid}
			return nil
		}
		if p.halted() {
			return errHalted
		}
		select {
		case p.jobs <- r:
			return nil
		case <-p.halt:
			return errHalted
		}
	})
	p.spawnMu.Lock()
	close(p.jobs)
	close(p.noMore) // no worker may start after this: Wait must not race Go
	p.spawnMu.Unlock()
	if errors.Is(srcErr, errHalted) || ctx.Err() != nil && errors.Is(srcErr, ctx.Err()) {
		srcErr = nil // the reason is recorded already
	}
	if srcErr != nil {
		p.abort(srcErr)
	}
	_ = p.g.Wait() // workers never return errors: a failed row is data
	p.stopOnce.Do(func() { close(p.halt) })
	<-pacerDone
	close(p.results)
	if err := <-sinkErr; err != nil {
		return p.stats(), err
	}
	if srcErr != nil {
		return p.stats(), srcErr
	}
	if err := p.haltReason(); err != nil {
		return p.stats(), err
	}
	if ctx.Err() != nil {
		return p.stats(), ErrInterrupted
	}
	return p.stats(), nil
}

var errHalted = errors.New("halted")

type pool struct {
	cfg     Config
	call    Call
	jobs    chan Row
	results chan Result
	pacer   *pacer
	g       *errgroup.Group
	gctx    context.Context

	workers atomic.Int64
	spawnMu sync.Mutex
	noMore  chan struct{} // closed when the reader is done

	halt     chan struct{} // closed when dispatch must stop
	stopOnce sync.Once
	mu       sync.Mutex
	reason   error

	budget      int64 // retry quota left; guarded by mu
	forbidden   int   // 403 answers while no other answer came; guarded by mu
	otherAnswer bool  // an answer other than 403 came; guarded by mu

	requests, rateLimited, retries atomic.Int64
}

func (p *pool) stats() Stats {
	return Stats{Requests: p.requests.Load(), RateLimited: p.rateLimited.Load(), Retries: p.retries.Load(), Workers: p.workers.Load()}
}

// abort stops dispatch; the first reason given wins.
func (p *pool) abort(reason error) {
	p.mu.Lock()
	if p.reason == nil {
		p.reason = reason
	}
	p.mu.Unlock()
	p.stopOnce.Do(func() { close(p.halt) })
}

func (p *pool) haltReason() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

func (p *pool) halted() bool {
	select {
	case <-p.halt:
		return true
	default:
		return false
	}
}

// spawn starts one more worker if the ceiling allows. The pacer calls it
// when it holds a permit and no worker is free to take it.
func (p *pool) spawn() bool {
	p.spawnMu.Lock()
	defer p.spawnMu.Unlock()
	select {
	case <-p.noMore:
		return false
	default:
	}
	for {
		n := p.workers.Load()
		if n >= int64(p.cfg.Concurrency) {
			return false
		}
		if p.workers.CompareAndSwap(n, n+1) {
			break
		}
	}
	p.g.Go(p.work)
	return true
}

// work is one worker: it takes a permit from the pacer, then a row, and
// makes attempts until the row is done. Every attempt, retries included,
// costs one permit, so the rate holds for the whole run.
func (p *pool) work() error {
	for {
		if !p.pacer.acquireOrDone(p.halt, p.noMore) {
			return nil
		}
		row, ok := <-p.jobs
		if !ok || p.halted() {
			return nil // a row taken after a stop is never attempted
		}
		p.results <- p.do(row)
	}
}

// do takes a row to its final Result. The first attempt's permit was taken
// by the caller.
func (p *pool) do(row Row) Result {
	res := Result{Row: row}
	for {
		res.Attempts++
		p.requests.Add(1)
		start := time.Now()
		ans, err := p.call(p.gctx, row, p.permit)
		res.Latency = time.Since(start)
		if err == nil && (ans.APIID != "" || ans.Skipped != "") {
			p.pacer.onAnswer()
			p.noteAnswer(false)
			p.refund(res.Attempts > 1)
			res.Status, res.APIID, res.HTTPStatus, res.Kind, res.Error = StatusOK, ans.APIID, ans.HTTPStatus, "", ""
			res.Current = ans.Current
			if ans.Skipped != "" {
				res.Status, res.Error = StatusSkipped, ans.Skipped
			}
			return res
		}
		ce := asCallError(err)
		res.Status, res.HTTPStatus, res.APIID, res.Kind, res.Error = StatusFailed, ce.HTTPStatus, ce.APIID, ce.Kind, ce.Message

		switch ce.Kind {
		case KindCancelled:
			res.Kind = KindInterrupted
			res.Error = "interrupted during the call: the update may or may not have been applied"
			return res
		case KindInterrupted:
			return res
		case KindFatal:
			p.abort(fmt.Errorf("%w: %s", ErrAborted, ce.Message))
			return res
		case KindAuth:
			p.abort(fmt.Errorf("%w: authentication failed (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, ce.Message))
			return res
		case KindMethod:
			p.abort(fmt.Errorf("%w: the API answered %s to an update, which is a bug in plivo-bulk; please report it", ErrAborted, ce.Message))
			return res
		}
		if ce.Kind == KindRateLimited {
			p.rateLimited.Add(1)
			p.pacer.onThrottle(start, ce.RetryAfter)
		} else if ce.HTTPStatus != 0 {
			p.pacer.onAnswer()
		}
		if ce.HTTPStatus != 0 && ce.Kind != KindRateLimited {
			if p.noteAnswer(ce.Kind == KindForbidden) {
				p.abort(fmt.Errorf("%w: the first %d answers were all 403 Forbidden (%s): these credentials may not change these numbers", ErrAborted, forbiddenAbortAfter, ce.Message))
				return res
			}
		}
		if !ce.Retryable {
			return res
		}
		if res.Attempts >= p.cfg.MaxAttempts {
			res.Error = fmt.Sprintf("%s (gave up after %d attempts)", ce.Message, res.Attempts)
			return res
		}
		if ce.Kind != KindRateLimited && !p.spend(ce.Kind == KindTimeout) {
			res.Kind = KindBudget
			res.Error = ce.Message + " (not retried: the run's retry budget is spent, too many errors)"
			return res
		}
		if !p.sleep(p.backoff(res.Attempts, ce.RetryAfter)) || !p.pacer.acquire(p.halt) {
			res.Kind = KindInterrupted
			res.Error = ce.Message + " (not retried: the run was stopped)"
			return res
		}
		p.retries.Add(1)
	}
}

// permit waits for one more rate permit, for an attempt's further
// requests; it counts them as requests too.
func (p *pool) permit() bool {
	if !p.pacer.acquire(p.halt) {
		return false
	}
	p.requests.Add(1)
	return true
}

// noteAnswer records an HTTP answer for the all-403 rule and reports whether
// the run should stop because of it.
func (p *pool) noteAnswer(forbidden bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !forbidden {
		p.otherAnswer = true
		return false
	}
	p.forbidden++
	return !p.otherAnswer && p.forbidden >= forbiddenAbortAfter
}

// spend takes a retry's cost from the budget, or reports that it is spent.
func (p *pool) spend(timeout bool) bool {
	cost := int64(retryCost)
	if timeout {
		cost = timeoutCost
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.RetryBudget < 0 { // negative: unlimited
		return true
	}
	if p.budget < cost {
		return false
	}
	p.budget -= cost
	return true
}

// refund gives back to the budget after a success: a retry's cost when the
// retry worked, else one token.
func (p *pool) refund(retried bool) {
	give := int64(1)
	if retried {
		give = retryCost
	}
	p.mu.Lock()
	p.budget = min(int64(p.cfg.RetryBudget), p.budget+give)
	p.mu.Unlock()
}

// backoff is capped exponential backoff with full jitter, but never less
// than what the server asked for.
func (p *pool) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceil := p.cfg.BackoffBase << min(attempt-1, 20)
	if ceil > p.cfg.BackoffMax || ceil <= 0 {
		ceil = p.cfg.BackoffMax
	}
	return max(p.cfg.Jitter(ceil), retryAfter)
}

// sleep waits d, or less if the run is stopped; it reports whether it slept
// the whole time.
func (p *pool) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.halt:
		return false
	case <-p.gctx.Done():
		return false
	}
}

func asCallError(err error) *CallError {
	var ce *CallError
	if errors.As(err, &ce) {
		return ce
	}
	if err == nil {
		return &CallError{Kind: "bad_answer", Message: "the answer has no api_id", Retryable: true}
	}
	if errors.Is(err, context.Canceled) {
		return &CallError{Kind: KindCancelled, Message: err.Error()}
	}
	return &CallError{Kind: "error", Message: err.Error(), Retryable: true}
}
