package pace

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Pacer hands out the run's permits, one per request, at the run's rate,
// and holds the run's retry policy and its reason to stop. Its loop is the
// only goroutine that waits on the rate.Limiter, so a change of the limit
// (after a 429) or a stop never strands a reservation held by a blocked
// worker: workers wait on a channel instead.
//
// One Pacer serves a whole run: the checks before it (Do), its rows (Run)
// and anything after. Close it when the run is over.
type Pacer struct {
	cfg     Config
	ctl     *control
	permits chan struct{}

	halt     chan struct{} // closed when dispatch must stop, for good
	haltOnce sync.Once
	closed   chan struct{}
	loopDone chan struct{}

	mu          sync.Mutex
	reason      error // why halt was closed; guarded by mu
	forbidden   int   // 403 answers while no other answer came; guarded by mu
	otherAnswer bool  // an answer other than 403 came; guarded by mu

	requests, rateLimited, retries atomic.Int64
}

// New starts the run's pacer. The first close of cfg.Stop, or the end of
// ctx, stops it: no permit is handed out after that.
func New(ctx context.Context, cfg Config) *Pacer {
	cfg = cfg.withDefaults()
	p := &Pacer{
		cfg:      cfg,
		ctl:      newControl(cfg.Rate, cfg.Burst, cfg.Adaptive, cfg.MaxThrottleWait),
		permits:  make(chan struct{}),
		halt:     make(chan struct{}),
		closed:   make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go func() {
		select {
		case <-cfg.Stop: // nil when not given: never ready
			p.abort(ErrInterrupted)
		case <-ctx.Done():
			p.abort(ErrInterrupted)
		case <-p.halt:
		case <-p.closed:
		}
	}()
	go p.loop(ctx)
	return p
}

// Close stops the pacer's goroutines.
func (p *Pacer) Close() {
	select {
	case <-p.closed:
	default:
		close(p.closed)
	}
	<-p.loopDone
}

// Halted is closed when the run must stop dispatching: a signal, or a
// reason that every further request would fail.
func (p *Pacer) Halted() <-chan struct{} { return p.halt }

// Err returns why the pacer halted, or nil while it runs.
func (p *Pacer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// Abort stops the run for reason; the first reason given wins.
func (p *Pacer) Abort(reason error) { p.abort(reason) }

func (p *Pacer) abort(reason error) {
	p.mu.Lock()
	if p.reason == nil {
		p.reason = reason
	}
	p.mu.Unlock()
	p.haltOnce.Do(func() { close(p.halt) })
}

// halted reports whether dispatch must stop. It looks at Config.Stop too,
// so that nothing is handed out between a signal and the watcher noticing.
func (p *Pacer) halted() bool {
	select {
	case <-p.halt:
		return true
	case <-p.cfg.Stop:
		p.abort(ErrInterrupted)
		return true
	default:
		return false
	}
}

// Stats returns what the run has sent so far.
func (p *Pacer) Stats() Stats {
	return Stats{
		Requests: p.requests.Load(), RateLimited: p.rateLimited.Load(),
		Retries: p.retries.Load(), Accepted: p.ctl.accepted(),
	}
}

// Rate returns the rate now in force (+Inf when unlimited).
func (p *Pacer) Rate() float64 { return p.ctl.Rate() }

// loop hands out permits until the pacer halts or closes.
func (p *Pacer) loop(ctx context.Context) {
	defer close(p.loopDone)
	// The rate limiter's wait ends with ctx only: a stop or Close must end
	// it too (at a low rate it lasts seconds).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.halt:
		case <-p.closed:
		case <-ctx.Done():
		}
		cancel()
	}()
	for {
		if d := p.ctl.pause(); d > 0 {
			if !p.wait(ctx, d) {
				return
			}
			continue // the pause may have been extended meanwhile
		}
		raised := p.ctl.adjust(time.Now())
		if r := p.ctl.lim.Reserve(); r.Delay() > 0 {
			// A rise of the rate (a throttling episode's end) must take
			// effect now, not after a wait reserved at the low rate.
			t := time.NewTimer(r.Delay())
			select {
			case <-t.C:
			case <-raised:
				t.Stop()
				r.Cancel()
				continue
			case <-ctx.Done():
				t.Stop()
				r.Cancel()
				return
			}
		}
		if p.halted() { // never hand a permit out after a stop
			return
		}
		select {
		case p.permits <- struct{}{}:
		case <-p.halt:
			return
		case <-p.closed:
			return
		case <-ctx.Done():
			return
		}
	}
}

// wait sleeps d unless the pacer halts, closes or ctx ends first.
func (p *Pacer) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.halt:
	case <-p.closed:
	case <-ctx.Done():
	}
	return false
}

// acquire waits for a permit; it returns false once the run halts.
func (p *Pacer) acquire() bool {
	select {
	case <-p.permits:
		return !p.halted()
	case <-p.halt:
		return false
	}
}

// Do sends one request, fn, under the run's pacing and retry policy: each
// attempt waits for a permit, and fn's failure is retried as the policy
// says. It is for the reads around the rows (the account check, the
// pre-flight, a page of a listing), so the first stop also cancels the
// attempt in flight. It returns nil, the last *Error, or, when the run
// halted, why.
func (p *Pacer) Do(ctx context.Context, fn func(context.Context) error) error {
	ctx, a := p.traced(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.halt:
			cancel()
		case <-ctx.Done():
		}
	}()
	var t tries
	asked := time.Now()
	for {
		if !p.acquire() {
			return p.haltErr()
		}
		a.begin(time.Since(asked))
		p.requests.Add(1)
		sent := time.Now()
		err := fn(ctx)
		if p.halted() && err != nil {
			return p.haltErr()
		}
		retry, wait, final := p.judge(&t, sent, err)
		if !retry {
			if final == nil {
				return nil
			}
			return final
		}
		asked = time.Now()
		if !p.sleep(ctx, wait) {
			return p.haltErr()
		}
		p.retries.Add(1)
	}
}

// haltErr is the error to return for work cut short by a halt.
func (p *Pacer) haltErr() error {
	if err := p.Err(); err != nil {
		return err
	}
	return ErrInterrupted
}

// sleep waits d, or less if the run halts or ctx ends; it reports whether
// it slept the whole time.
func (p *Pacer) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return !p.halted()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.halt:
		return false
	case <-ctx.Done():
		return false
	}
}

// tries is what the policy remembers of one item's attempts.
type tries struct {
	failures int // attempts that failed by themselves (429s aside)
}

// judge is the run's one retry policy. Given an attempt's outcome it says
// whether to try again and after how long, or the item's final error (nil
// for a success). sent is when the attempt's last request went out, which
// tells a 429 that predates the last slow-down from one that does not.
func (p *Pacer) judge(t *tries, sent time.Time, err error) (retry bool, wait time.Duration, final *Error) {
	if err == nil {
		p.ctl.onAnswer(sent)
		p.noteAnswer(false)
		return false, 0, nil
	}
	e := asError(err)
	switch e.Kind {
	case KindCancelled:
		return false, 0, &Error{Kind: KindInterrupted, HTTPStatus: e.HTTPStatus,
			Message: "interrupted during the call: the update may or may not have been applied"}
	case KindInterrupted:
		return false, 0, e
	case KindFatal:
		p.abort(fmt.Errorf("%w: %s", ErrAborted, e.Message))
		return false, 0, e
	case KindAuth:
		p.abort(fmt.Errorf("%w: %w (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, ErrAuth, e.Message))
		return false, 0, e
	case KindMethod:
		p.abort(fmt.Errorf("%w: the API answered %s, which is a bug in plivo-bulk; please report it", ErrAborted, e.Message))
		return false, 0, e
	case KindRateLimited:
		return p.throttled(sent, e)
	}
	if e.HTTPStatus != 0 {
		p.ctl.onAnswer(sent)
		if p.noteAnswer(e.Kind == KindForbidden) {
			p.abort(fmt.Errorf("%w: the first %d answers were all 403 Forbidden (%s): these credentials may not change these numbers", ErrAborted, forbiddenAbortAfter, e.Message))
			return false, 0, e
		}
	}
	if !e.Retryable {
		return false, 0, e
	}
	t.failures++
	if t.failures >= p.cfg.MaxAttempts {
		return false, 0, &Error{HTTPStatus: e.HTTPStatus, APIID: e.APIID, Kind: e.Kind,
			Message: fmt.Sprintf("%s (gave up after %d attempts)", e.Message, t.failures)}
	}
	return true, p.backoff(t.failures, e.RetryAfter), nil
}

// throttled handles a 429: the whole run slows down (and pauses for a
// Retry-After); the item waits for the account without using up its
// attempts, unless the account has kept the run waiting too long.
func (p *Pacer) throttled(sent time.Time, e *Error) (bool, time.Duration, *Error) {
	p.rateLimited.Add(1)
	if err := p.ctl.onThrottle(sent, e.RetryAfter); err != nil {
		err := fmt.Errorf("%w: %w", ErrThrottled, err)
		p.abort(err)
		return false, 0, &Error{HTTPStatus: e.HTTPStatus, Kind: KindThrottled, Message: err.Error()}
	}
	if e.RetryAfter > time.Second && p.cfg.OnWait != nil {
		p.cfg.OnWait(e.RetryAfter, "the API answered 429 with Retry-After")
	}
	// The pacer's rate and pause do the waiting for the run; the item
	// itself also waits out what the server asked of it.
	return true, e.RetryAfter, nil
}

// noteAnswer records an HTTP answer for the all-403 rule and reports whether
// the run should stop because of it.
func (p *Pacer) noteAnswer(forbidden bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !forbidden {
		p.otherAnswer = true
		return false
	}
	p.forbidden++
	return !p.otherAnswer && p.forbidden >= forbiddenAbortAfter
}

// backoff is capped exponential backoff with full jitter, but never less
// than what the server asked for.
func (p *Pacer) backoff(failures int, retryAfter time.Duration) time.Duration {
	ceil := p.cfg.BackoffBase << min(failures-1, 20)
	if ceil > p.cfg.BackoffMax || ceil <= 0 {
		ceil = p.cfg.BackoffMax
	}
	return max(p.cfg.Jitter(ceil), retryAfter)
}
