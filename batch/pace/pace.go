// Package pace sends a run's requests: every request of a run, whatever it
// is for (the account check, a pre-flight read, a page of the listing, an
// update), takes a permit from the run's one Pacer and is retried by its one
// retry policy. Run feeds many items through a worker pool on top of it.
//
// The package knows neither HTTP nor rows: a request's failure is told to it
// as an *Error, and Run is generic over what it carries.
package pace

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"time"
)

// Defaults for Config.
const (
	DefaultRate        = 20.0 // a third of Plivo's documented 300 requests per 5 s
	DefaultMaxAttempts = 5
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 20 * time.Second
	// DefaultMaxThrottleWait is how long the run waits for the account
	// when the server accepts nothing but answers 429, or asks with a
	// Retry-After, before it stops.
	DefaultMaxThrottleWait = 10 * time.Minute
	// forbiddenAbortAfter: when this many answers in a row, from the start,
	// were all 403, the credentials lack the right for the whole run.
	forbiddenAbortAfter = 10
)

// Config tunes a run's pacing and retries.
type Config struct {
	Rate        float64 // requests per second for the whole run; 0 = no limit
	Burst       int     // tokens the limiter may bank; 0 = derived from Rate
	Concurrency int     // most calls in flight; 0 = derived from Rate (see AutoConcurrency)
	// MaxAttempts bounds the attempts at an item that fail by themselves
	// (5xx, timeouts, dropped connections); 429s do not count.
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxThrottleWait bounds the wait for the account: nothing accepted
	// for this long while 429s come back, or a Retry-After longer than it,
	// stops the run with ErrThrottled.
	MaxThrottleWait time.Duration
	// Adaptive lowers the rate when the server answers 429 and probes back
	// up toward Rate, so that a Rate above the account's real limit still
	// runs close to that limit.
	Adaptive bool
	// Stop, when closed, stops the dispatch of new items, new retries and
	// single requests; updates already in flight finish. Cancelling the
	// context given to New cancels them too.
	Stop <-chan struct{}
	// Jitter returns a random duration in [0, d); nil uses math/rand/v2.
	Jitter func(d time.Duration) time.Duration
	// OnWait, when set, is told of every wait the run starts because the
	// server asked for one (a Retry-After), so that the command can say so.
	OnWait func(d time.Duration, why string)
	// Trace hands each request its Attempt in its context (see
	// AttemptOf), for a request log; off, it costs nothing.
	Trace bool
}

// AutoConcurrency is the pool's size when Config.Concurrency is 0: enough
// requests in flight for the rate at a latency of up to 2 s (Little's law:
// rate x latency), at least 8 and at most 256. Plivo answers in well under
// a second, so the rate, not the pool, binds; a run told no rate gets 64.
func AutoConcurrency(rate float64) int {
	if rate <= 0 {
		return 64
	}
	return int(min(256, max(8, math.Ceil(rate*2))))
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
	if c.MaxThrottleWait <= 0 {
		c.MaxThrottleWait = DefaultMaxThrottleWait
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

// Error is a failed request, as the retry policy needs to know it.
type Error struct {
	HTTPStatus int // 0 when no answer came
	APIID      string
	Kind       string // a stable class, such as "not_found" or "timeout"
	Message    string
	RetryAfter time.Duration
	Retryable  bool
}

func (e *Error) Error() string { return e.Message }

// The kinds of Error that change what the policy does.
const (
	KindAuth        = "auth"         // stops the run: every request would fail
	KindForbidden   = "forbidden"    // stops the run when every answer so far was one
	KindMethod      = "method"       // stops the run: a bug
	KindFatal       = "fatal"        // stops the run (say, the undo file cannot be written)
	KindRateLimited = "rate_limited" // waits for the account; never uses up attempts
	KindTimeout     = "timeout"
	KindCancelled   = "cancelled"
	KindInterrupted = "interrupted" // the run stopped before or during the item
	KindThrottled   = "throttled"   // the account accepted nothing for too long
	KindError       = "error"       // a failure with no class of its own
)

// ErrAborted is returned when the run was stopped because every further
// request would fail (bad credentials, a 405, nothing but 403s, an output
// that cannot be written).
var ErrAborted = errors.New("run aborted")

// ErrAuth is wrapped in ErrAborted when the API refused the credentials:
// running again cannot help until they are fixed.
var ErrAuth = errors.New("authentication failed")

// ErrInterrupted is returned when the run was told to stop (Config.Stop or
// the context) before everything was done.
var ErrInterrupted = errors.New("run interrupted")

// ErrThrottled is returned when the server kept the run waiting longer than
// Config.MaxThrottleWait; what was not done can be resumed later.
var ErrThrottled = errors.New("run stopped: the API kept answering 429")

// Stats counts what a run sent.
type Stats struct {
	Requests    int64   // requests sent, reads and retries included
	RateLimited int64   // answers that were 429
	Retries     int64   // attempts after the first, 429s included
	Accepted    float64 // the rate the server was seen to accept when it throttled; 0 if it never did
}

// Attempt is a request's place in the run, for a request log: the item's
// attempt number (from 1; a read-back counts with its update) and how long
// the request waited for its turn: the rate, and before a retry the backoff
// or the Retry-After too.
type Attempt struct {
	N    int
	Wait time.Duration
}

type attemptKey struct{}

// traced returns ctx carrying a new Attempt, and that Attempt, for an
// item's or a Do's requests when the run traces them; else ctx and nil.
func (p *Pacer) traced(ctx context.Context) (context.Context, *Attempt) {
	if !p.cfg.Trace {
		return ctx, nil
	}
	a := &Attempt{}
	return context.WithValue(ctx, attemptKey{}, a), a
}

// begin counts an attempt that waited wait for its turn; waited notes the
// wait of a further request of the same attempt. Both ignore a nil Attempt.
func (a *Attempt) begin(wait time.Duration) {
	if a != nil {
		a.N, a.Wait = a.N+1, wait
	}
}

func (a *Attempt) waited(wait time.Duration) {
	if a != nil {
		a.Wait = wait
	}
}

// AttemptOf returns the Attempt of the request that ctx was handed to, and
// false for a context that did not come from a Pacer.
func AttemptOf(ctx context.Context) (Attempt, bool) {
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	if !ok {
		return Attempt{}, false
	}
	return *a, true
}

// asError turns whatever a call returned into an *Error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Kind: KindCancelled, Message: err.Error()}
	}
	return &Error{Kind: KindError, Message: err.Error(), Retryable: true}
}
