package pace

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Call makes one attempt at an item. The pool has taken one permit for the
// attempt's first request; an attempt that makes more requests (a read
// before an update, a read-back after it) calls permit before each further
// one, so that every request counts against the rate. permit returns false
// when the run is stopping.
type Call[T, A any] func(ctx context.Context, item T, permit func() bool) (A, error)

// Outcome is what became of one item: its answer, or its final error.
type Outcome[T, A any] struct {
	Item     T
	Answer   A
	Err      *Error // nil for a success
	Attempts int
	Latency  time.Duration // of the last attempt
	Passed   bool          // handed to the sink without a call (Feed.Pass)
}

// Feed is how a source hands its items to Run, from one goroutine.
type Feed[T, A any] struct {
	send func(T) error
	pass func(T, A) error
}

// Send queues an item for a call. It blocks while every worker is busy, and
// fails once the run halts.
func (f Feed[T, A]) Send(item T) error { return f.send(item) }

// Pass hands an item to the sink without a call, with its answer: an item
// the source has settled itself (an invalid row, a row whose answer is
// known already) still reaches the sink, in turn, and costs no permit.
func (f Feed[T, A]) Pass(item T, ans A) error { return f.pass(item, ans) }

var errHalted = errors.New("halted")

// Run feeds every item that source sends through call, each attempt paced
// by p and retried by its policy, and hands one Outcome per item to sink. sink
// is called from a single goroutine, in completion order.
//
// Run returns when source is exhausted and every item sent is done, or the
// run halts. It returns a sink or source error as it is, p's reason when it
// halted (ErrInterrupted, or ErrAborted or ErrThrottled wrapped with the
// reason), and nil otherwise. Items that were never attempted get no Outcome.
func Run[T, A any](ctx context.Context, p *Pacer, source func(Feed[T, A]) error, call Call[T, A], sink func(Outcome[T, A]) error) error {
	r := &runner[T, A]{
		p:       p,
		call:    call,
		jobs:    make(chan T),
		results: make(chan Outcome[T, A], p.cfg.Concurrency),
		noMore:  make(chan struct{}),
	}
	r.g, r.gctx = errgroup.WithContext(ctx)
	spawn := r.spawn
	p.spawn.Store(&spawn)
	defer p.spawn.Store(nil)
	// The pacer may already hold a permit that it offered before Run
	// could grow the pool: one worker from the start takes it.
	r.spawn()

	// The consumer owns sink: it is the only goroutine that calls it.
	sinkErr := make(chan error, 1)
	go func() {
		var err error
		for d := range r.results {
			if err == nil {
				if err = sink(d); err != nil {
					p.abort(err)
				}
			}
		}
		sinkErr <- err
	}()

	srcErr := source(Feed[T, A]{
		send: func(item T) error {
			if p.halted() {
				return errHalted
			}
			select {
			case r.jobs <- item:
				return nil
			case <-p.halt:
				return errHalted
			}
		},
		pass: func(item T, ans A) error {
			if p.halted() {
				return errHalted
			}
			r.results <- Outcome[T, A]{Item: item, Answer: ans, Passed: true}
			return nil
		},
	})
	r.spawnMu.Lock()
	close(r.jobs)
	close(r.noMore) // no worker may start after this: Wait must not race Go
	r.spawnMu.Unlock()
	if errors.Is(srcErr, errHalted) || ctx.Err() != nil && errors.Is(srcErr, ctx.Err()) {
		srcErr = nil // the reason is recorded already
	}
	if srcErr != nil {
		p.abort(srcErr)
	}
	_ = r.g.Wait() // workers never return errors: a failed item is data
	close(r.results)
	if err := <-sinkErr; err != nil {
		return err
	}
	if srcErr != nil {
		return srcErr
	}
	if p.halted() {
		return p.haltErr()
	}
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	return nil
}

type runner[T, A any] struct {
	p       *Pacer
	call    Call[T, A]
	jobs    chan T
	results chan Outcome[T, A]
	g       *errgroup.Group
	gctx    context.Context

	spawnMu sync.Mutex
	workers int
	noMore  chan struct{} // closed when the source is done
}

// spawn starts one more worker if the ceiling allows. The pacer calls it
// when it holds a permit and no worker is free to take it.
func (r *runner[T, A]) spawn() bool {
	r.spawnMu.Lock()
	defer r.spawnMu.Unlock()
	select {
	case <-r.noMore:
		return false
	default:
	}
	if r.workers >= r.p.cfg.Concurrency {
		return false
	}
	r.workers++
	if n := int64(r.workers); n > r.p.workers.Load() {
		r.p.workers.Store(n)
	}
	r.g.Go(r.work)
	return true
}

// work is one worker: it takes a permit, then an item, and makes attempts
// until the item is done. Every attempt, retries included, costs a permit.
func (r *runner[T, A]) work() error {
	for {
		if !r.p.acquireOrDone(r.noMore) {
			return nil
		}
		item, ok := <-r.jobs
		if !ok || r.p.halted() {
			return nil // an item taken after a stop is never attempted
		}
		r.results <- r.do(item)
	}
}

// do takes an item to its Outcome. The first attempt's permit was taken by
// the caller.
func (r *runner[T, A]) do(item T) Outcome[T, A] {
	p := r.p
	d := Outcome[T, A]{Item: item}
	var t tries
	var sent time.Time
	permit := func() bool {
		if !p.acquire() {
			return false
		}
		p.requests.Add(1)
		sent = time.Now()
		return true
	}
	for {
		d.Attempts++
		p.requests.Add(1)
		start := time.Now()
		sent = start
		ans, err := r.call(r.gctx, item, permit)
		d.Latency = time.Since(start)
		retry, wait, final := p.judge(&t, sent, err)
		if !retry {
			d.Answer, d.Err = ans, final
			return d
		}
		if !p.sleep(r.gctx, wait) || !p.acquire() {
			// The answer stays: an update applied before its read-back
			// failed is told apart from one never applied.
			e := asError(err)
			d.Answer, d.Err = ans, &Error{HTTPStatus: e.HTTPStatus, APIID: e.APIID, Kind: KindInterrupted,
				Message: e.Message + " (not retried: the run was stopped)"}
			return d
		}
		p.retries.Add(1)
	}
}
