package batch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// Source is the checked input: batch/input's Input is one.
type Source interface {
	Each(ctx context.Context, fn func(Row) error) error
	Rows() int
	Valid() int
	// Distinct returns the distinct values valid rows set for f.
	Distinct(f Field) ([]string, bool)
}

// Job is one run of rows through a step.
type Job struct {
	Client *client.Client
	Pace   pace.Config
	Input  Source
	Step   Step
	// Done, when set, says which rows an earlier run finished (a resumed
	// run): they are counted as AlreadyOK and not sent.
	Done func(Row) bool
	// Sink receives one Result per row, from one goroutine. An error is
	// taken to mean the result could not be recorded: the run stops, and
	// that result and every later one go to Unrecorded instead.
	Sink func(Result) error
	// Unrecorded, when set, keeps a result the sink could not take (main
	// prints it on stderr), so that no applied update goes unrecorded.
	Unrecorded func(Result)
	// Read says how the numbers' current settings are learned, when the
	// step needs them; "" is ReadAuto.
	Read ReadMode
	// Begin, when set, is called once the checks before the run passed,
	// with what the send will cost, just before the first row is sent.
	Begin func(Estimate)
	Log   *slog.Logger
}

// Estimate is what a run will send, known before it starts.
type Estimate struct {
	Rows      int // data rows in the input
	ToSend    int // rows that will be attempted
	AlreadyOK int // rows a resumed run will not send again
	// Requests is what the rows cost at most, one attempt each: the
	// reads and updates a step makes, and the listing, retries aside.
	Requests int
	Read     ReadPlan
}

// Run is the engine's one entry point. It checks the account (one read
// that proves the credentials), checks each distinct application and
// subaccount once, then takes every row of the input through the step:
// paced, retried, and handed to the sink. Every request of the run goes
// through one pace.Pacer.
//
// The Summary is filled in whatever happens. The error is nil when every
// row was taken to its end; ErrInterrupted, ErrAborted or ErrThrottled
// (wrapped, with the reason) when the run stopped early.
func Run(ctx context.Context, job Job) (sum Summary, err error) {
	sum = newSummary(job.Input.Rows())
	log := job.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := pace.New(ctx, job.Pace)
	start := time.Now()
	defer func() { sum.Stats, sum.Elapsed = p.Stats(), time.Since(start) }()
	defer p.Close()

	if err := checkAccount(ctx, p, job.Client, log); err != nil {
		return sum, err
	}
	invalid, err := preflight(ctx, p, job.Client, job.Input, log)
	if err != nil {
		return sum, err
	}
	// One pass before the send counts what it will cost and the rows a
	// resumed run has already, so that the progress bar's total is right,
	// and collects the numbers whose settings the step needs.
	est := Estimate{Rows: job.Input.Rows()}
	var keys []uint64
	err = job.Input.Each(ctx, func(r Row) error {
		switch {
		case r.Invalid != "" || invalid(r) != "":
		case job.Done != nil && job.Done(r):
			est.AlreadyOK++
		default:
			est.ToSend++
			est.Requests += job.Step.Requests(r)
			if job.Step.NeedsState(r) {
				keys = append(keys, NumberKey(r.Number))
			}
		}
		return nil
	})
	if err != nil {
		return sum, err
	}
	sum.AlreadyOK = est.AlreadyOK
	mode := job.Read
	if mode == "" {
		mode = ReadAuto
	}
	api := &API{Client: job.Client}
	api.known, est.Read, err = learnState(ctx, p, job.Client, mode, keys, log)
	sum.Read = est.Read
	if err != nil {
		return sum, err
	}
	// The listing replaced the reads of the numbers it gave.
	est.Requests += est.Read.Pages - est.Read.Found
	if job.Begin != nil {
		job.Begin(est)
	}

	source := func(f pace.Feed[Row, Answer]) error {
		return job.Input.Each(ctx, func(r Row) error {
			if r.Invalid == "" {
				r.Invalid = invalid(r)
			}
			switch {
			case r.Invalid != "":
				return f.Pass(r, Answer{})
			case job.Done != nil && job.Done(r):
				return nil
			}
			if job.Step.NeedsState(r) {
				if current, ok := api.known.get(r.Number); ok {
					if ans, done := job.Step.Settle(r, current); done {
						return f.Pass(r, ans)
					}
				}
			}
			return f.Send(r)
		})
	}
	call := func(ctx context.Context, r Row, permit func() bool) (Answer, error) {
		return job.Step.Attempt(ctx, api, r, permit)
	}
	var recordErr error // the first error of the sink; later results go to Unrecorded
	sink := func(d pace.Done[Row, Answer]) error {
		r := resultOf(d)
		if recordErr == nil {
			if recordErr = job.Sink(r); recordErr == nil {
				sum.add(r)
				return nil
			}
			p.Abort(fmt.Errorf("%w: the report cannot be written: %w", ErrAborted, recordErr))
		}
		sum.Unrecorded++
		if r.Status == StatusOK {
			sum.AppliedUnrecorded++
		}
		if job.Unrecorded != nil {
			job.Unrecorded(r)
		}
		return nil
	}
	return sum, pace.Run(ctx, p, source, call, sink)
}

// resultOf turns the pool's outcome for a row into the row's Result.
func resultOf(d pace.Done[Row, Answer]) Result {
	r := Result{Row: d.Item, Attempts: d.Attempts, Latency: d.Latency, Current: d.Answer.Current}
	switch {
	case d.Passed && d.Item.Invalid != "":
		r.Status, r.Kind, r.Error = StatusInvalid, KindInvalid, d.Item.Invalid
	case d.Err == nil && d.Answer.Skipped != "":
		r.Status, r.HTTPStatus, r.Error = StatusSkipped, d.Answer.HTTPStatus, d.Answer.Skipped
	case d.Err == nil:
		r.Status, r.HTTPStatus, r.APIID = StatusOK, d.Answer.HTTPStatus, d.Answer.APIID
	default:
		r.Status, r.HTTPStatus, r.APIID, r.Kind, r.Error = StatusFailed, d.Err.HTTPStatus, d.Err.APIID, d.Err.Kind, d.Err.Message
	}
	return r
}
