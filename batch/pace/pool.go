package pace

import (
	"context"
	"errors"
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
// The pool is fixed: at most p's Concurrency items in flight, each in its
// own goroutine of a bounded errgroup, so that Send blocks while every one
// is busy. Each goroutine waits for its permit; the pacer hands them out at
// the run's rate.
//
// Run returns when source is exhausted and every item sent is done, or the
// run halts. It returns a sink or source error as it is, p's reason when it
// halted (ErrInterrupted, or ErrAborted or ErrThrottled wrapped with the
// reason), and nil otherwise. Items that were never attempted get no Outcome.
func Run[T, A any](ctx context.Context, p *Pacer, source func(Feed[T, A]) error, call Call[T, A], sink func(Outcome[T, A]) error) error {
	results := make(chan Outcome[T, A], p.cfg.Concurrency)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.Concurrency)

	// The consumer owns sink: it is the only goroutine that calls it.
	sinkErr := make(chan error, 1)
	go func() {
		var err error
		for d := range results {
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
			g.Go(func() error {
				// An item whose turn comes after a stop is never attempted.
				asked := time.Now()
				if p.acquire() {
					results <- do(p, gctx, call, item, time.Since(asked))
				}
				return nil // a failed item is data, not an error
			})
			return nil
		},
		pass: func(item T, ans A) error {
			if p.halted() {
				return errHalted
			}
			results <- Outcome[T, A]{Item: item, Answer: ans, Passed: true}
			return nil
		},
	})
	if errors.Is(srcErr, errHalted) || ctx.Err() != nil && errors.Is(srcErr, ctx.Err()) {
		srcErr = nil // the reason is recorded already
	}
	if srcErr != nil {
		p.abort(srcErr)
	}
	_ = g.Wait()
	close(results)
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

// do takes an item to its Outcome. The first attempt's permit was taken by
// the caller, after waiting waited for it.
func do[T, A any](p *Pacer, ctx context.Context, call Call[T, A], item T, waited time.Duration) Outcome[T, A] {
	d := Outcome[T, A]{Item: item}
	var t tries
	var sent time.Time
	ctx, a := p.traced(ctx)
	permit := func() bool {
		asked := time.Now()
		if !p.acquire() {
			return false
		}
		p.requests.Add(1)
		sent = time.Now()
		a.waited(sent.Sub(asked))
		return true
	}
	for {
		d.Attempts++
		a.begin(waited)
		p.requests.Add(1)
		start := time.Now()
		sent = start
		ans, err := call(ctx, item, permit)
		d.Latency = time.Since(start)
		retry, wait, final := p.judge(&t, sent, err)
		if !retry {
			d.Answer, d.Err = ans, final
			return d
		}
		asked := time.Now()
		if !p.sleep(ctx, wait) || !p.acquire() {
			// The answer stays: an update applied before its read-back
			// failed is told apart from one never applied.
			e := asError(err)
			d.Answer, d.Err = ans, &Error{HTTPStatus: e.HTTPStatus, APIID: e.APIID, Kind: KindInterrupted,
				Message: e.Message + " (not retried: the run was stopped)"}
			return d
		}
		waited = time.Since(asked)
		p.retries.Add(1)
	}
}
