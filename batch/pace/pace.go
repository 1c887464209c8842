// Package pace sends a run's requests: every request of a run, whatever it
// is for (the account check, a pre-flight read, a page of the listing, an
// update), takes a permit from the run's one Pacer, and every failure goes
// to its one retry policy, judge. Run feeds many items through a bounded
// pool on top of it.
package pace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// Defaults for Config.
const (
	DefaultRate        = 20.0 // a third of Plivo's documented 300 requests per 5 s
	DefaultMaxAttempts = 5
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = 20 * time.Second
	// DefaultMaxThrottleWait is how long the run waits for an account that
	// answers nothing but 429, or asks so with a Retry-After, before it stops.
	DefaultMaxThrottleWait = 10 * time.Minute
	// forbiddenAbortAfter: when this many answers in a row, from the start,
	// were all 403, the credentials lack the right for the whole run.
	forbiddenAbortAfter = 10
)

// Config tunes a run's pacing and retries.
type Config struct {
	Rate        float64 // requests per second for the whole run; 0 = no limit
	Concurrency int     // most items in flight; 0 = AutoConcurrency(Rate)
	// MaxAttempts bounds the attempts at an item that fail by themselves
	// (5xx, timeouts, dropped connections); 429s do not count.
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxThrottleWait: nothing accepted for this long while 429s come
	// back, or a Retry-After longer than it, stops the run with ErrThrottled.
	MaxThrottleWait time.Duration
	// Adaptive lowers the rate when the server answers 429 and probes back
	// up toward Rate, so that a Rate above the account's real limit still
	// runs close to that limit.
	Adaptive bool
	// Stop, when closed, stops the dispatch of new items, retries and
	// reads; updates in flight finish. Cancelling New's context cancels
	// them too.
	Stop <-chan struct{}
	// Jitter returns a random duration in [0, d); nil uses math/rand/v2.
	Jitter func(d time.Duration) time.Duration
	// OnWait is told of every wait the server asks for (a Retry-After),
	// so that the command can say so.
	OnWait func(d time.Duration, why string)
	// Trace hands each request its Attempt in its context (see AttemptOf).
	Trace bool
}

// AutoConcurrency is the pool's size for a rate: enough requests in flight
// at a latency of up to 2 s (Little's law), at least 8 and at most 256; 64
// with no rate.
func AutoConcurrency(rate float64) int {
	if rate <= 0 {
		return 64
	}
	return int(min(256, max(8, math.Ceil(rate*2))))
}

func (c Config) withDefaults() Config {
	or := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	or(&c.BackoffBase, DefaultBackoffBase)
	or(&c.BackoffMax, DefaultBackoffMax)
	or(&c.MaxThrottleWait, DefaultMaxThrottleWait)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Concurrency <= 0 {
		c.Concurrency = AutoConcurrency(c.Rate)
	}
	if c.Jitter == nil {
		c.Jitter = func(d time.Duration) time.Duration { return rand.N(max(d, 1)) }
	}
	return c
}

var (
	// ErrAborted: the run stopped because every further request would fail
	// (bad credentials, a 405, nothing but 403s, an output that cannot be
	// written).
	ErrAborted = errors.New("run aborted")
	// ErrAuth is wrapped in ErrAborted when the API refused the credentials.
	ErrAuth = errors.New("authentication failed")
	// ErrInterrupted: the run was told to stop before everything was done.
	ErrInterrupted = errors.New("run interrupted")
	// ErrThrottled: the server kept the run waiting longer than
	// Config.MaxThrottleWait; what was not done can be resumed.
	ErrThrottled = errors.New("run stopped: the API kept answering 429")
)

// Stats counts what a run sent.
type Stats struct {
	Requests    int64   // requests sent, reads and retries included
	RateLimited int64   // answers that were 429
	Retries     int64   // attempts after the first, 429s included
	Accepted    float64 // the rate the server was seen to accept when it throttled; 0 if it never did
}

// Attempt is a request's place in the run, for a request log: the item's
// attempt (from 1; a read-back counts with its update) and how long the
// request waited for its turn (the rate, and the backoff or Retry-After
// before a retry).
type Attempt struct {
	N    int
	Wait time.Duration
}

type attemptKey struct{}

// AttemptOf returns the Attempt of the request ctx was handed to, if a
// tracing Pacer handed it.
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

// judge is the run's one retry policy. Given an attempt's outcome it says
// whether to try again and after how long, or the item's final error (nil
// for a success). sent is when the attempt's last request went out, which
// tells a 429 that predates the last slow-down from one that does not.
func (p *Pacer) judge(failures *int, sent time.Time, err error) (retry bool, wait time.Duration, final *client.APIError) {
	if err == nil {
		p.onAnswer(sent, false)
		return false, 0, nil
	}
	e := asError(err)
	switch e.Kind {
	case client.KindCancelled:
		return false, 0, &client.APIError{Kind: client.KindInterrupted, StatusCode: e.StatusCode,
			Message: "interrupted during the call: the update may or may not have been applied"}
	case client.KindInterrupted:
		return false, 0, e
	case client.KindFatal:
		p.Abort(fmt.Errorf("%w: %s", ErrAborted, e.Message))
		return false, 0, e
	case client.KindAuth:
		p.Abort(fmt.Errorf("%w: %w (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, ErrAuth, e.Message))
		return false, 0, e
	case client.KindMethod:
		p.Abort(fmt.Errorf("%w: the API answered %s, which is a bug in plivo-bulk; please report it", ErrAborted, e.Message))
		return false, 0, e
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
		p.Abort(fmt.Errorf("%w: the first %d answers were all 403 Forbidden (%s): these credentials may not change these numbers", ErrAborted, forbiddenAbortAfter, e.Message))
		return false, 0, e
	}
	// Another attempt may succeed after a 5xx, a 408, no answer, a read
	// that does not show what the update said, or a 2xx that proves
	// nothing: an update sets values, so repeating one that may have been
	// applied is safe. A field missing from a good answer (a bad_answer
	// with no status) is how the API answers, not a glitch.
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
	// Capped exponential backoff with full jitter, never less than what
	// the server asked for.
	ceil := p.cfg.BackoffBase << min(*failures-1, 20)
	if ceil > p.cfg.BackoffMax || ceil <= 0 {
		ceil = p.cfg.BackoffMax
	}
	return true, max(p.cfg.Jitter(ceil), e.RetryAfter), nil
}
