package pace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/pace/ratectl"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// Pacer hands out a run's permits, one per request, and holds its retry policy and its reason to stop.
// A permit is due one interval after the last, or at the end of a Retry-After's pause; the waiter
// reserves nothing but looks again when it wakes, so a change (a 429, a Retry-After, the end of
// throttling) takes effect at once. Close it after.
type Pacer struct {
	cfg    Config
	parent context.Context // New's: its end stops the run
	halt   context.Context // cancelled, the reason its cause, when dispatch must stop for good
	abort  context.CancelCauseFunc
	turn   chan struct{} // held by the one goroutine waiting for the rate

	mu             sync.Mutex
	ctl            *ratectl.Controller
	cur            float64       // the rate in force; +Inf when unlimited
	last           time.Time     // when the last permit was due
	changed        chan struct{} // closed when the rate rises
	throttledSince time.Time     // the first 429 since the last acceptance
	forbidden      int           // 403 answers while no other answer came
	answered       bool          // an answer other than 403 came

	requests, rateLimited, retries atomic.Int64
}

// New starts the run's pacer; the first close of cfg.Stop, or the end of ctx, stops it.
func New(ctx context.Context, cfg Config) *Pacer {
	cfg = cfg.withDefaults()
	p := &Pacer{cfg: cfg, parent: ctx, ctl: ratectl.New(cfg.Rate, time.Now(), cfg.Adaptive), changed: make(chan struct{}), turn: make(chan struct{}, 1)}
	p.halt, p.abort = context.WithCancelCause(context.Background())
	go func() {
		select {
		case <-cfg.Stop: // nil when not given: never ready
		case <-ctx.Done():
		case <-p.halt.Done():
		}
		p.Abort(ErrInterrupted)
	}()
	return p
}

// Close stops the pacer's goroutine.
func (p *Pacer) Close() { p.Abort(errors.New("pacer closed")) }

// Abort stops the run for reason; the first reason given wins.
func (p *Pacer) Abort(reason error) { p.abort(reason) }

// Halted is closed when the run stops dispatching.
func (p *Pacer) Halted() <-chan struct{} { return p.halt.Done() }

// Err returns why the pacer halted, or nil while it runs.
func (p *Pacer) Err() error { return context.Cause(p.halt) }

func (p *Pacer) haltErr() error { return cmp.Or(p.Err(), ErrInterrupted) }

// halted reports whether dispatch must stop, looking at the signals too: nothing is handed out
// between a signal and its watcher.
func (p *Pacer) halted() bool {
	select {
	case <-p.cfg.Stop:
		p.Abort(ErrInterrupted)
	case <-p.parent.Done():
		p.Abort(ErrInterrupted)
	default:
	}
	return p.halt.Err() != nil
}

// Stats returns what the run has sent so far.
func (p *Pacer) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Requests: p.requests.Load(), RateLimited: p.rateLimited.Load(), Retries: p.retries.Load(), Accepted: p.ctl.Accepted()}
}

// acquire waits wait (a backoff), then for a permit, and counts it, in a too (attempt is 1 for a new
// attempt); false once the run halts or ctx ends. One waiter at a time waits for the rate,
// the others for their turn: a permit wakes one goroutine, not all. Up to 50 ms worth of permits (at
// least one) bank up, so a late timer costs no throughput.
func (p *Pacer) acquire(ctx context.Context, wait time.Duration, a *Attempt, attempt int) bool {
	asked, t := time.Now(), time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.halt.Done():
		return false
	case <-ctx.Done():
		return false
	}
	select {
	case p.turn <- struct{}{}:
		defer func() { <-p.turn }()
	case <-p.halt.Done():
		return false
	case <-ctx.Done():
		return false
	}
	for {
		p.mu.Lock()
		now, changed := time.Now(), p.changed
		p.cur = p.ctl.Rate(now)
		interval := time.Duration(float64(time.Second) / p.cur)
		due := later(p.last.Add(interval), p.ctl.PauseUntil())
		ready, halted := !due.After(now), p.halted()
		if ready && !halted {
			p.last = later(due, now.Add(-max(0, 50*time.Millisecond-interval)))
		}
		p.mu.Unlock()
		if halted || ctx.Err() != nil {
			return false
		} else if ready {
			break
		}
		t.Reset(due.Sub(now))
		select {
		case <-t.C:
		case <-changed: // a rise takes effect now, not after a wait at the low rate
		case <-p.halt.Done():
		case <-ctx.Done():
		}
	}
	p.requests.Add(1)
	a.N, a.Wait = a.N+attempt, time.Since(asked)
	return true
}

// change wakes the waiters to a higher rate; p.mu is held.
func (p *Pacer) change() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// onAnswer records an answer other than 429 to a request sent at sent; true when the all-403 rule stops the run.
func (p *Pacer) onAnswer(sent time.Time, forbidden bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttledSince = time.Time{}
	now := time.Now()
	p.ctl.OnAccepted(now, sent)
	if r := p.ctl.Rate(now); r > p.cur {
		p.cur = r
		p.change()
	}
	if !forbidden {
		p.answered = true
		return false
	}
	p.forbidden++
	return !p.answered && p.forbidden >= forbiddenAbortAfter
}

// CountAnswersFromHere starts the all-403 rule afresh: the reads before the first row (the account,
// the pre-flight, the listing) may be allowed to credentials that may change no number.
func (p *Pacer) CountAnswersFromHere() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forbidden, p.answered = 0, false
}

// onThrottle records a 429 to a request sent at sent, and stops the run when nothing was accepted for
// MaxThrottleWait since the first 429, or one Retry-After is longer than that.
func (p *Pacer) onThrottle(sent time.Time, retryAfter time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now, most := time.Now(), p.cfg.MaxThrottleWait
	if p.throttledSince.IsZero() {
		p.throttledSince = now
	}
	var err error
	if waited := now.Sub(p.throttledSince); retryAfter > most {
		err = fmt.Errorf("%w: the server asked to wait %v (Retry-After), longer than --max-throttle-wait %v; the rest of the input is resumable", ErrThrottled, retryAfter, most)
	} else if waited >= most {
		err = fmt.Errorf("%w: the server answered only 429 for %v (--max-throttle-wait %v); the rest of the input is resumable", ErrThrottled, waited.Round(time.Second), most)
	}
	if err != nil {
		p.Abort(err)
		return err
	}
	p.ctl.OnThrottled(now, sent, retryAfter)
	return nil
}

// Do sends one request, fn, paced and retried like every other. It is for the reads around the rows,
// so a stop cancels the attempt in flight too. It returns nil, the final *client.APIError, or why the run halted.
func (p *Pacer) Do(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.halt, cancel)()
	o, ok := attempts(p, ctx, func(ctx context.Context, _ struct{}, _ func() bool) (struct{}, error) {
		err := fn(ctx)
		if err != nil && p.halted() {
			err = &client.APIError{Kind: client.KindInterrupted, Message: err.Error()}
		}
		return struct{}{}, err
	}, struct{}{})
	switch {
	case !ok || o.Err != nil && o.Err.Kind == client.KindInterrupted:
		return p.haltErr()
	case o.Err != nil:
		return o.Err
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
