// Package pace sends a run's requests: every request, whatever it is for, takes a permit from the run's
// one Pacer, and every failure goes to its one retry policy, judge. Run feeds items through a bounded pool.
package pace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	// MaxThrottleWait: only 429s for this long, or a longer Retry-After, stops the run with ErrThrottled.
	MaxThrottleWait time.Duration
	Adaptive        bool                              // lower the rate at a 429, probe back up toward Rate
	Stop            <-chan struct{}                   // closed: no new items, retries or reads; updates in flight finish
	OnWait          func(d time.Duration, why string) // told of every Retry-After, for the command to say so
}

// AutoConcurrency is the pool's size for a rate: 2 s worth (Little's law), 8 to 256; 64 with no rate.
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

// Attempt is a request's place in the run, for a request log: the item's attempt (a read-back counts
// with its update) and the request's wait for its turn, backoff included.
type Attempt struct {
	N    int
	Wait time.Duration
}

type attemptKey struct{}

// AttemptOf returns the Attempt of the request ctx was handed to, or nil.
func AttemptOf(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

// asError is err as the retry policy reads it.
func asError(err error) *client.APIError {
	if e, ok := errors.AsType[*client.APIError](err); ok {
		return e
	}
	e := &client.APIError{Kind: client.KindError, Message: err.Error(), Err: err}
	if errors.Is(err, context.Canceled) {
		e.Kind = client.KindCancelled
	}
	return e
}

// judge is the run's one retry policy: whether to try again and after how long, and the item's error
// (nil for a success). sent, when the last request went out, tells a 429 older than the last cut.
func (p *Pacer) judge(failures *int, sent time.Time, err error) (retry bool, wait time.Duration, e *client.APIError) {
	if err == nil {
		p.onAnswer(sent, false)
		return false, 0, nil
	}
	e = asError(err)
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
		// The pacer's rate and pause wait for the run; the item waits out its Retry-After, attempts unspent.
		return true, e.RetryAfter, e
	}
	if e.StatusCode != 0 && p.onAnswer(sent, e.Kind == client.KindForbidden) {
		return stop(fmt.Errorf("%w: the first %d answers were all 403 Forbidden (%s): these credentials may not change these numbers", ErrAborted, forbiddenAbortAfter, e.Message))
	}
	// Another attempt may succeed after a 5xx, a 408, no answer, a read-back that differs or a 2xx that
	// proves nothing; an update sets values, so repeating it is safe. A field missing from a good answer
	// (a bad_answer without status) is how the API answers, not a glitch.
	if !slices.Contains([]client.Kind{client.KindServer, client.KindTimeout, client.KindNetwork, client.KindVerify, client.KindError}, e.Kind) &&
		(e.Kind != client.KindBadAnswer || e.StatusCode == 0) && e.StatusCode != 408 {
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
	return true, max(rand.N(ceil), e.RetryAfter), e
}

// Call makes one attempt at an item, its first permit taken; it calls permit before each further
// request (a read before an update, a read-back), which returns false once the run stops.
type Call[T, A any] func(ctx context.Context, item T, permit func() bool) (A, error)

// Outcome is what became of one item: its answer, or its final error.
type Outcome[T, A any] struct {
	Item     T
	Answer   A
	Err      *client.APIError // nil for a success
	Attempts int
	Passed   bool // handed to the sink without a call: settled by the source
}

// Feed is how a source hands its items to Run, from one goroutine: with settled nil, for a call,
// blocking while every worker is busy; else to the sink with that answer (the source settled the
// item itself: an invalid row), in turn and at no cost. It fails once the run halts.
type Feed[T, A any] func(item T, settled *A) error

var errHalted = errors.New("halted")

// Run feeds every item that source sends through call, paced and retried by p, and hands one Outcome
// per item attempted to sink, one at a time, in completion order. The pool is an errgroup limited to
// p's Concurrency, whose context a sink error cancels. Run returns a sink or source error as it is,
// else p's reason to halt (ErrInterrupted, or ErrAborted or ErrThrottled wrapped), else nil.
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
			}
		}
		return sinkErr
	}
	srcErr := source(func(item T, settled *A) error {
		switch {
		case p.halted():
			return errHalted
		case settled != nil:
			return give(Outcome[T, A]{Item: item, Answer: *settled, Passed: true})
		}
		g.Go(func() error {
			if o, ok := attempts(p, gctx, call, item); ok {
				return give(o)
			}
			return nil
		})
		return nil
	})
	if errors.Is(srcErr, errHalted) || ctx.Err() != nil && errors.Is(srcErr, ctx.Err()) {
		srcErr = nil // the reason is recorded already
	} else if srcErr != nil {
		p.Abort(srcErr)
	}
	_ = g.Wait()
	if err := cmp.Or(sinkErr, srcErr); err != nil || !p.halted() && ctx.Err() == nil {
		return err
	}
	return p.haltErr()
}

// attempts takes an item through its attempts to its Outcome; ok is false when the run halted before the first.
func attempts[T, A any](p *Pacer, ctx context.Context, call Call[T, A], item T) (o Outcome[T, A], ok bool) {
	o.Item = item
	a := &Attempt{}
	ctx = context.WithValue(ctx, attemptKey{}, a)
	var sent time.Time
	permit := func() (ok bool) {
		if ok = p.acquire(ctx, 0, a, 0); ok {
			sent = time.Now()
		}
		return ok
	}
	failures, wait := 0, time.Duration(0)
	for {
		if !p.acquire(ctx, wait, a, 1) {
			if o.Attempts == 0 {
				return o, false
			}
			// The answer stays: an update applied before its read-back failed is told from one never applied.
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
	}
}
