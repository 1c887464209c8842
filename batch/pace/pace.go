// Package pace sends a run's requests: every request, whatever it is for
// (the account check, a pre-flight read, a page of the listing, an update),
// takes a permit from the run's one Pacer, and every failure goes to its one
// retry policy, judge. Run feeds many items through a bounded pool.
package pace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// Defaults for Config.
const (
	DefaultRate            = 20.0 // a third of Plivo's documented 300 requests per 5 s
	DefaultMaxAttempts     = 5
	DefaultBackoffBase     = 500 * time.Millisecond
	DefaultBackoffMax      = 20 * time.Second
	DefaultMaxThrottleWait = 10 * time.Minute
	forbiddenAbortAfter    = 10 // 403s from the start: the credentials lack the right for the whole run
)

// Config tunes a run's pacing and retries.
type Config struct {
	Rate        float64 // requests per second for the whole run; 0 = no limit
	Concurrency int     // most items in flight; 0 = AutoConcurrency(Rate)
	MaxAttempts int     // attempts at an item that fail by themselves (5xx, timeouts); 429s do not count
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxThrottleWait: nothing accepted for this long while 429s come
	// back, or a Retry-After longer than it, stops the run with ErrThrottled.
	MaxThrottleWait time.Duration
	// Adaptive lowers the rate at a 429 and probes back up toward Rate.
	Adaptive bool
	// Stop, when closed, stops the dispatch of new items, retries and
	// reads; updates in flight finish. Ending New's context cancels them.
	Stop   <-chan struct{}
	OnWait func(d time.Duration, why string) // told of every Retry-After, for the command to say so
	Trace  bool                              // hands each request its Attempt (see AttemptOf)
}

// AutoConcurrency is the pool's size for a rate: enough requests in flight
// at a latency of up to 2 s (Little's law), 8 to 256; 64 with no rate.
func AutoConcurrency(rate float64) int {
	if rate <= 0 {
		return 64
	}
	return int(min(256, max(8, math.Ceil(rate*2))))
}

func (c Config) withDefaults() Config {
	c.BackoffBase = cmp.Or(max(c.BackoffBase, 0), DefaultBackoffBase)
	c.BackoffMax = cmp.Or(max(c.BackoffMax, 0), DefaultBackoffMax)
	c.MaxThrottleWait = cmp.Or(max(c.MaxThrottleWait, 0), DefaultMaxThrottleWait)
	c.MaxAttempts = cmp.Or(max(c.MaxAttempts, 0), DefaultMaxAttempts)
	c.Concurrency = cmp.Or(max(c.Concurrency, 0), AutoConcurrency(c.Rate))
	return c
}

// Why a run stops early.
var (
	ErrAborted     = errors.New("run aborted")                             // every further request would fail
	ErrAuth        = errors.New("authentication failed")                   // wrapped in ErrAborted
	ErrInterrupted = errors.New("run interrupted")                         // told to stop
	ErrThrottled   = errors.New("run stopped: the API kept answering 429") // longer than MaxThrottleWait; resumable
)

// Stats counts what a run sent.
type Stats struct {
	Requests    int64   // requests sent, reads and retries included
	RateLimited int64   // answers that were 429
	Retries     int64   // attempts after the first, 429s included
	Accepted    float64 // the rate the server was seen to accept when it throttled; 0 if it never did
}

// Attempt is a request's place in the run, for a request log: the item's
// attempt (a read-back counts with its update) and the request's wait for
// its turn, backoff included.
type Attempt struct {
	N    int
	Wait time.Duration
}

type attemptKey struct{}

// AttemptOf returns the Attempt of the request ctx was handed to.
func AttemptOf(ctx context.Context) (Attempt, bool) {
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	if !ok {
		return Attempt{}, false
	}
	return *a, true
}

// asError is err as the retry policy reads it.
func asError(err error) *client.APIError {
	if e, ok := client.AsAPIError(err); ok {
		return e
	}
	e := &client.APIError{Kind: client.KindError, Message: err.Error(), Err: err}
	if errors.Is(err, context.Canceled) {
		e.Kind = client.KindCancelled
	}
	return e
}

// judge is the run's one retry policy: given an attempt's outcome, whether
// to try again and after how long, or the item's final error (nil for a
// success). sent is when the attempt's last request went out, which tells a
// 429 that predates the last slow-down from one that does not.
func (p *Pacer) judge(failures *int, sent time.Time, err error) (retry bool, wait time.Duration, final *client.APIError) {
	if err == nil {
		p.onAnswer(sent, false)
		return false, 0, nil
	}
	e := asError(err)
	stop := func(why error) (bool, time.Duration, *client.APIError) { // every further request would fail
		p.Abort(why)
		return false, 0, e
	}
	switch e.Kind {
	case client.KindCancelled:
		return false, 0, &client.APIError{Kind: client.KindInterrupted, StatusCode: e.StatusCode,
			Message: "interrupted during the call: the update may or may not have been applied"}
	case client.KindInterrupted:
		return false, 0, e
	case client.KindFatal:
		return stop(fmt.Errorf("%w: %s", ErrAborted, e.Message))
	case client.KindAuth:
		return stop(fmt.Errorf("%w: %w (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, ErrAuth, e.Message))
	case client.KindMethod:
		return stop(fmt.Errorf("%w: the API answered %s, which is a bug in plivo-bulk; please report it", ErrAborted, e.Message))
	case client.KindRateLimited:
		p.rateLimited.Add(1)
		if err := p.onThrottle(sent, e.RetryAfter); err != nil {
			return false, 0, &client.APIError{StatusCode: e.StatusCode, Kind: client.KindThrottled, Message: err.Error(), Err: err}
		}
		if e.RetryAfter > time.Second && p.cfg.OnWait != nil {
			p.cfg.OnWait(e.RetryAfter, "the API answered 429 with Retry-After")
		}
		// The pacer's rate and pause do the waiting for the run; the item
		// itself waits out what the server asked of it, attempts unspent.
		return true, e.RetryAfter, nil
	}
	if e.StatusCode != 0 && p.onAnswer(sent, e.Kind == client.KindForbidden) {
		return stop(fmt.Errorf("%w: the first %d answers were all 403 Forbidden (%s): these credentials may not change these numbers", ErrAborted, forbiddenAbortAfter, e.Message))
	}
	// Another attempt may succeed after a 5xx, a 408, no answer, a read-back
	// that differs or a 2xx that proves nothing; an update sets values, so
	// repeating it is safe. A field missing from a good answer (a bad_answer
	// without status) is how the API answers, not a glitch.
	switch {
	case e.Kind == client.KindServer, e.Kind == client.KindTimeout, e.Kind == client.KindNetwork, e.Kind == client.KindVerify,
		e.Kind == client.KindError, e.Kind == client.KindBadAnswer && e.StatusCode != 0, e.StatusCode == 408:
	default:
		return false, 0, e
	}
	if *failures++; *failures >= p.cfg.MaxAttempts {
		gaveUp := *e
		gaveUp.Message = fmt.Sprintf("%s (gave up after %d attempts)", e.Message, *failures)
		return false, 0, &gaveUp
	}
	// Capped exponential backoff, full jitter, never less than asked for.
	ceil := p.cfg.BackoffBase << min(*failures-1, 20)
	if ceil > p.cfg.BackoffMax || ceil <= 0 { // <= 0: shifted past int64
		ceil = p.cfg.BackoffMax
	}
	return true, max(rand.N(ceil), e.RetryAfter), nil
}

// Call makes one attempt at an item, its first request's permit taken; it
// calls permit before each further request (a read before an update, a
// read-back), which returns false once the run stops.
type Call[T, A any] func(ctx context.Context, item T, permit func() bool) (A, error)

// Outcome is what became of one item: its answer, or its final error.
type Outcome[T, A any] struct {
	Item     T
	Answer   A
	Err      *client.APIError // nil for a success
	Attempts int
	Passed   bool // handed to the sink without a call (Feed.Pass)
}

// Feed is how a source hands its items to Run, from one goroutine. Send
// queues an item for a call, blocking while every worker is busy; Pass
// hands the sink an item the source settled itself (an invalid row, one
// whose answer is known), in turn and at no cost. Both fail once the run
// halts.
type Feed[T, A any] struct {
	Send func(item T) error
	Pass func(item T, ans A) error
}

var errHalted = errors.New("halted")

// Run feeds every item that source sends through call, paced and retried by
// p, and hands one Outcome per item attempted to sink, whose calls never
// overlap, in completion order. The pool is a bounded errgroup of p's
// Concurrency goroutines: Send blocks while all are busy, and a sink error
// cancels its context. Run returns a sink or source error as it is, else
// p's reason to halt (ErrInterrupted, or ErrAborted or ErrThrottled
// wrapped), else nil.
func Run[T, A any](ctx context.Context, p *Pacer, source func(Feed[T, A]) error, call Call[T, A], sink func(Outcome[T, A]) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Concurrency)
	var mu sync.Mutex
	var sinkErr error
	give := func(o Outcome[T, A]) error {
		mu.Lock()
		defer mu.Unlock()
		if sinkErr == nil {
			if sinkErr = sink(o); sinkErr != nil {
				p.Abort(sinkErr)
				return sinkErr
			}
		}
		return nil
	}
	srcErr := source(Feed[T, A]{
		Send: func(item T) error {
			if p.halted() {
				return errHalted
			}
			g.Go(func() error {
				if o, ok := attempts(p, gctx, call, item); ok {
					return give(o)
				}
				return nil
			})
			return nil
		},
		Pass: func(item T, ans A) error {
			if p.halted() {
				return errHalted
			}
			return give(Outcome[T, A]{Item: item, Answer: ans, Passed: true})
		},
	})
	if errors.Is(srcErr, errHalted) || ctx.Err() != nil && errors.Is(srcErr, ctx.Err()) {
		srcErr = nil // the reason is recorded already
	}
	if srcErr != nil {
		p.Abort(srcErr)
	}
	_ = g.Wait()
	if err := cmp.Or(sinkErr, srcErr); err != nil || !p.halted() && ctx.Err() == nil {
		return err
	}
	return p.haltErr()
}

// attempts takes an item through its attempts to its Outcome; ok is false
// when the run halted before the first.
func attempts[T, A any](p *Pacer, ctx context.Context, call Call[T, A], item T) (o Outcome[T, A], ok bool) {
	o.Item = item
	ctx, a := p.traced(ctx)
	var sent time.Time
	permit := func() bool {
		if !p.acquire(ctx, 0, a, time.Now(), 0) {
			return false
		}
		sent = time.Now()
		return true
	}
	failures, wait := 0, time.Duration(0)
	for {
		asked := time.Now()
		if !p.acquire(ctx, wait, a, asked, 1) {
			if o.Attempts == 0 {
				return o, false
			}
			// The answer stays: an update applied before its read-back
			// failed is told apart from one never applied.
			e := o.Err
			o.Err = &client.APIError{StatusCode: e.StatusCode, APIID: e.APIID, Kind: client.KindInterrupted,
				Message: e.Message + " (not retried: the run was stopped)"}
			return o, true
		}
		if o.Attempts++; o.Attempts > 1 {
			p.retries.Add(1)
		}
		sent = time.Now()
		ans, err := call(ctx, item, permit)
		o.Answer = ans
		var retry bool
		if retry, wait, o.Err = p.judge(&failures, sent, err); !retry {
			return o, true
		}
		o.Err = asError(err)
	}
}
