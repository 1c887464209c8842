package pace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/plivo-bulk/plivo-bulk/batch/pace/ratectl"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// Pacer hands out the run's permits, one per request, at the run's rate,
// and holds its retry policy and its reason to stop. Its loop is the only
// goroutine that waits on the limiter, so that a change of the rate (after
// a 429) or a stop strands no reservation held by a blocked worker: workers
// wait on a channel instead. One Pacer serves a whole run; Close it after.
type Pacer struct {
	cfg      Config
	permits  chan struct{}
	halt     context.Context // cancelled, with the reason as its cause, when dispatch must stop for good
	abort    context.CancelCauseFunc
	loopDone chan struct{}
	parent   context.Context // New's: its end stops the run

	mu             sync.Mutex
	lim            *rate.Limiter
	ctl            *ratectl.Controller // nil unless Adaptive
	cur            float64             // the rate in force; +Inf when unlimited
	changed        chan struct{}       // closed when the rate rises or a pause begins
	pauseUntil     time.Time           // a Retry-After's pause, when not adaptive
	throttledSince time.Time           // the first 429 since the last acceptance
	throttleErr    error               // once the account kept the run waiting too long
	forbidden      int                 // 403 answers while no other answer came
	answered       bool                // an answer other than 403 came

	requests, rateLimited, retries atomic.Int64
}

// New starts the run's pacer. The first close of cfg.Stop, or the end of
// ctx, stops it: no permit is handed out after that.
func New(ctx context.Context, cfg Config) *Pacer {
	cfg = cfg.withDefaults()
	ceiling := cfg.Rate
	if ceiling <= 0 {
		ceiling = math.Inf(1)
	}
	p := &Pacer{cfg: cfg, permits: make(chan struct{}), loopDone: make(chan struct{}),
		cur: ceiling, changed: make(chan struct{}), parent: ctx}
	p.halt, p.abort = context.WithCancelCause(context.Background())
	if cfg.Adaptive {
		p.ctl = ratectl.New(ceiling, time.Now())
		p.cur = p.ctl.Rate(time.Now())
	}
	p.lim = rate.NewLimiter(limitOf(p.cur), burstOf(p.cur))
	stopCtx := context.AfterFunc(ctx, func() { p.Abort(ErrInterrupted) })
	go func() {
		defer stopCtx()
		select {
		case <-cfg.Stop: // nil when not given: never ready
			p.Abort(ErrInterrupted)
		case <-p.halt.Done():
		}
	}()
	go p.loop()
	return p
}

func limitOf(r float64) rate.Limit {
	if math.IsInf(r, 1) {
		return rate.Inf
	}
	return rate.Limit(r)
}

// burstOf is 50 ms worth of requests: a timer cannot wake the loop for
// each of 600 a second.
func burstOf(r float64) int {
	if math.IsInf(r, 1) {
		return 1
	}
	return max(1, int(math.Ceil(r/20)))
}

// errClosed is the reason of a pacer closed while it ran.
var errClosed = errors.New("pacer closed")

// Close stops the pacer's goroutines.
func (p *Pacer) Close() {
	p.Abort(errClosed)
	<-p.loopDone
}

// Abort stops the run for reason; the first reason given wins.
func (p *Pacer) Abort(reason error) { p.abort(reason) }

// Halted is closed when the run must stop dispatching: a signal, or a
// reason that every further request would fail.
func (p *Pacer) Halted() <-chan struct{} { return p.halt.Done() }

// Err returns why the pacer halted, or nil while it runs.
func (p *Pacer) Err() error { return context.Cause(p.halt) }

// halted reports whether dispatch must stop. It looks at Config.Stop and
// New's context too, so that nothing is handed out between a signal and
// its watcher.
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
	s := Stats{Requests: p.requests.Load(), RateLimited: p.rateLimited.Load(), Retries: p.retries.Load()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctl != nil {
		s.Accepted = p.ctl.Accepted()
	}
	return s
}

// Rate returns the rate now in force (+Inf when unlimited).
func (p *Pacer) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// setRate puts r in force; p.mu is held.
func (p *Pacer) setRate(now time.Time, r float64) {
	if r != p.cur {
		p.cur = r
		p.lim.SetLimitAt(now, limitOf(r))
		p.lim.SetBurstAt(now, burstOf(r))
	}
}

// loop hands out permits until the pacer halts.
func (p *Pacer) loop() {
	defer close(p.loopDone)
	for !p.halted() {
		p.mu.Lock()
		now, changed, pause := time.Now(), p.changed, p.pauseUntil
		if p.ctl != nil {
			pause = p.ctl.PauseUntil()
		}
		var r *rate.Reservation
		wait := pause.Sub(now)
		if wait <= 0 {
			if p.ctl != nil {
				p.setRate(now, p.ctl.Rate(now))
			}
			r = p.lim.ReserveN(now, 1)
			wait = r.DelayFrom(now)
		}
		p.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-changed: // a rise takes effect now, not after a wait reserved at the low rate
			case <-p.halt.Done():
			}
			if t.Stop() || r == nil { // cut short, or a pause that may have grown meanwhile
				if r != nil {
					r.Cancel()
				}
				continue
			}
		}
		select {
		case p.permits <- struct{}{}:
		case <-changed: // a pause began: this permit predates it
		case <-p.halt.Done():
		}
	}
}

// change wakes the loop to the rate or pause now in force; p.mu is held.
func (p *Pacer) change() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire waits for a permit for a request asked for at asked, counts the
// request, and notes its wait in a (if not nil) with attempt added to its
// number; it returns false once the run halts.
func (p *Pacer) acquire(a *Attempt, asked time.Time, attempt int) bool {
	select {
	case <-p.permits:
	case <-p.halt.Done():
		return false
	}
	if p.halted() {
		return false
	}
	p.requests.Add(1)
	if a != nil {
		a.N, a.Wait = a.N+attempt, time.Since(asked)
	}
	return true
}

// sleep waits d, or less if the run halts or ctx ends; it reports whether
// it slept the whole time.
func (p *Pacer) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return !p.halted()
	case <-p.halt.Done():
	case <-ctx.Done():
	}
	return false
}

// onAnswer records an answer that was not a 429, to a request sent at
// sent, and reports whether the all-403 rule stops the run.
func (p *Pacer) onAnswer(sent time.Time, forbidden bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.throttledSince = time.Time{}
	if p.ctl != nil {
		now := time.Now()
		p.ctl.OnAccepted(now, sent)
		if r := p.ctl.Rate(now); r > p.cur {
			p.setRate(now, r)
			p.change()
		}
	}
	if !forbidden {
		p.answered = true
		return false
	}
	p.forbidden++
	return !p.answered && p.forbidden >= forbiddenAbortAfter
}

// onThrottle records a 429 to a request sent at sent. It stops the run
// when the account has kept it waiting too long: nothing accepted for
// MaxThrottleWait since the first 429, or one Retry-After longer than that.
func (p *Pacer) onThrottle(sent time.Time, retryAfter time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now, most := time.Now(), p.cfg.MaxThrottleWait
	if p.throttledSince.IsZero() {
		p.throttledSince = now
	}
	if p.throttleErr == nil && retryAfter > most {
		p.throttleErr = fmt.Errorf("the server asked to wait %v (Retry-After), longer than --max-throttle-wait %v; the rest of the input is resumable", retryAfter, most)
	} else if waited := now.Sub(p.throttledSince); p.throttleErr == nil && waited >= most {
		p.throttleErr = fmt.Errorf("the server answered only 429 for %v (--max-throttle-wait %v); the rest of the input is resumable", waited.Round(time.Second), most)
	}
	if p.throttleErr != nil {
		err := fmt.Errorf("%w: %w", ErrThrottled, p.throttleErr)
		p.Abort(err)
		return err
	}
	if p.ctl != nil {
		p.ctl.OnThrottled(now, sent, retryAfter)
		p.setRate(now, p.ctl.Rate(now))
	} else if until := now.Add(retryAfter); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	if retryAfter > 0 {
		p.change()
	}
	return nil
}

// Do sends one request, fn, paced and retried like every other. It is for
// the reads around the rows (the account check, the pre-flight, a page of
// a listing), so the first stop also cancels the attempt in flight. It
// returns nil, the final *client.APIError, or, when the run halted, why.
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

// haltErr is the error for work cut short by a halt.
func (p *Pacer) haltErr() error {
	if err := p.Err(); err != nil {
		return err
	}
	return ErrInterrupted
}

// traced returns ctx carrying a new Attempt, and that Attempt, when the
// run traces its requests; else ctx and nil.
func (p *Pacer) traced(ctx context.Context) (context.Context, *Attempt) {
	if !p.cfg.Trace {
		return ctx, nil
	}
	a := &Attempt{}
	return context.WithValue(ctx, attemptKey{}, a), a
}
