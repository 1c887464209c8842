package pace

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// Call makes one attempt at an item. The pool has taken a permit for the
// attempt's first request; an attempt that makes more (a read before an
// update, a read-back after it) calls permit before each, so that every
// request counts against the rate. permit returns false once the run stops.
type Call[T, A any] func(ctx context.Context, item T, permit func() bool) (A, error)

// Outcome is what became of one item: its answer, or its final error.
type Outcome[T, A any] struct {
	Item     T
	Answer   A
	Err      *client.APIError // nil for a success
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

// Pass hands an item the source has settled itself (an invalid row, a row
// whose answer is known already) to the sink, in turn, with its answer: it
// costs no permit.
func (f Feed[T, A]) Pass(item T, ans A) error { return f.pass(item, ans) }

var errHalted = errors.New("halted")

// Run feeds every item that source sends through call, each attempt paced
// by p and retried by its policy, and hands one Outcome per item to sink;
// sink's calls never overlap and come in completion order.
//
// The pool is a bounded errgroup of p's Concurrency goroutines, so that
// Send blocks while every one is busy; a sink error cancels its context.
// Run returns when source is exhausted and every item sent is done, or the
// run halts. It returns a sink or source error as it is, p's reason when it
// halted (ErrInterrupted, or ErrAborted or ErrThrottled wrapped with the
// reason), and nil otherwise. Items never attempted get no Outcome.
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
		send: func(item T) error {
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
		pass: func(item T, ans A) error {
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
	switch {
	case sinkErr != nil:
		return sinkErr
	case srcErr != nil:
		return srcErr
	case p.halted():
		return p.haltErr()
	case ctx.Err() != nil:
		return ErrInterrupted
	}
	return nil
}

// attempts takes an item through its attempts to its Outcome; ok is false
// when the run halted before the first.
func attempts[T, A any](p *Pacer, ctx context.Context, call Call[T, A], item T) (o Outcome[T, A], ok bool) {
	o.Item = item
	ctx, a := p.traced(ctx)
	var sent time.Time
	permit := func() bool {
		if !p.acquire(a, time.Now(), 0) {
			return false
		}
		sent = time.Now()
		return true
	}
	failures, wait := 0, time.Duration(0)
	for {
		asked := time.Now()
		if o.Attempts > 0 && !p.sleep(ctx, wait) || !p.acquire(a, asked, 1) {
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
		start := time.Now()
		sent = start
		ans, err := call(ctx, item, permit)
		o.Answer, o.Latency = ans, time.Since(start)
		var retry bool
		if retry, wait, o.Err = p.judge(&failures, sent, err); !retry {
			return o, true
		}
		o.Err = asError(err)
	}
}
