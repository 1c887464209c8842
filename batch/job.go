package batch

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
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
	// Completed, when set, says which rows an earlier run finished (a resumed
	// run): they are counted as AlreadyOK and not sent.
	Completed func(Row) bool
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
	// with what the send will cost and change, just before the first row
	// is sent. An error stops the job there (a declined confirmation).
	Begin func(Estimate) error
	// Canary, when more than 0, sends that many rows first, spread over the
	// file's distinct targets, each read back after its update; the rest
	// is sent only when every canary row is ok and holds its targets.
	Canary int
	// AfterCanary, when set, is told the canary's results once they all
	// passed; an error stops the job there.
	AfterCanary func([]Result) error
	// MaxFailures stops the dispatch once that many rows have failed.
	MaxFailures FailureBudget
	Log         *slog.Logger
}

// FailureBudget is how many failed rows a job tolerates: Count rows, or
// Percent of the rows attempted (counted once 20 rows were); zero is none.
type FailureBudget struct {
	Count   int
	Percent float64
}

// minRowsForPercent is how many rows a percentage budget waits for.
const minRowsForPercent = 20

// spent reports whether failed rows out of attempted use up the budget.
func (b FailureBudget) spent(failed, attempted int) bool {
	switch {
	case b.Count > 0:
		return failed >= b.Count
	case b.Percent > 0:
		return attempted >= minRowsForPercent && float64(failed) >= b.Percent/100*float64(attempted)
	}
	return false
}

// Estimate is what a run will send, known before it starts.
type Estimate struct {
	Rows      int // data rows in the input
	ToSend    int // rows that will be attempted
	AlreadyOK int // rows a resumed run will not send again
	// Requests is what the run costs at most, one attempt each, retries
	// aside: the account check, the pre-flight reads, the listing, the
	// canary's reads, and the reads and updates a step makes.
	Requests int
	// Preflight is the reads, counted in Requests, the pre-flight made.
	Preflight int
	// CanaryReads is the reads, counted in Requests, the canary made
	// already to find rows that change their number.
	CanaryReads int
	Read        ReadPlan
	// Changes counts, per field, the numbers that change to each value,
	// the most common first. Where the settings are known (read by page),
	// a row that sets a field to what the number holds is not counted.
	Changes [NumFields][]ValueCount
}

// ValueCount is how many numbers a field changes to Value on.
type ValueCount struct {
	Value   string // "" clears the field; OtherValues stands for the rest
	Numbers int
}

// Run is the engine's one entry point. It checks the account (one read
// that proves the credentials), checks each distinct application and
// subaccount once, learns the numbers' settings if the step needs them,
// then takes every row of the input through the step: paced, retried, and
// handed to the sink. Every request of the run goes through one
// pace.Pacer.
//
// The Summary is filled in whatever happens. The error is nil when every
// row was taken to its end; ErrInterrupted, ErrAborted, ErrThrottled,
// ErrTooManyFailures, ErrCanary (wrapped, with the reason) or Begin's or
// AfterCanary's error when the job stopped early.
func Run(ctx context.Context, job Job) (sum Summary, err error) {
	sum = newSummary(job.Input.Rows())
	log := job.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := pace.New(ctx, job.Pace)
	start := time.Now()
	defer func() {
		sum.Stats, sum.Elapsed = p.Stats(), time.Since(start)
		sum.StoppedBy = stoppedBy(err)
	}()
	defer p.Close()

	if err := checkAccount(ctx, p, job.Client, log); err != nil {
		return sum, err
	}
	invalid, checked, err := preflight(ctx, p, job.Client, job.Input, log)
	if err != nil {
		return sum, err
	}
	j := &jobRun{job: job, p: p, invalid: invalid, checked: checked, api: &API{Client: job.Client}, sum: &sum}
	keys, err := j.neededNumbers(ctx)
	if err != nil {
		return sum, err
	}
	mode := job.Read
	if mode == "" {
		mode = ReadAuto
	}
	j.api.known, sum.Read, err = learnState(ctx, p, job.Client, mode, keys, log)
	if err != nil {
		return sum, err
	}
	if job.Canary > 0 {
		if j.canary, err = j.pickCanary(ctx, job.Canary, j.learnRow(ctx, job.Canary+CanarySpareReads)); err != nil {
			return sum, err
		}
		if err := j.canaryFound(log); err != nil {
			return sum, err
		}
	}
	est, err := j.estimate(ctx)
	if err != nil {
		return sum, err
	}
	sum.AlreadyOK = est.AlreadyOK
	if job.Begin != nil {
		if err := job.Begin(est); err != nil {
			return sum, err
		}
	}
	if len(j.canary.rows) > 0 {
		if err := j.runCanary(ctx, j.canary.rows); err != nil {
			return sum, err
		}
	}
	return sum, j.send(ctx, job.Step, func(r Row) bool { return !j.canary.rows[r.Line] })
}

// jobRun is one Run's state, shared by its passes.
type jobRun struct {
	job     Job
	p       *pace.Pacer
	invalid func(Row) string
	checked int // the pre-flight's reads
	api     *API
	sum     *Summary
	canary  canaryPick

	recordErr error // the sink's first error; later results go to Unrecorded
	attempted int   // rows sent, for the failure budget
}

// toSend reports whether a valid row is to be sent: not found wanting by
// the pre-flight, not done by an earlier run.
func (j *jobRun) toSend(r Row) bool {
	return r.Invalid == "" && j.invalid(r) == "" && (j.job.Completed == nil || !j.job.Completed(r))
}

// send takes the input's rows that pick accepts through step.
func (j *jobRun) send(ctx context.Context, step Step, pick func(Row) bool) error {
	job := j.job
	source := func(f pace.Feed[Row, Answer]) error {
		return job.Input.Each(ctx, func(r Row) error {
			if !pick(r) {
				return nil
			}
			if r.Invalid == "" {
				r.Invalid = j.invalid(r)
			}
			switch {
			case r.Invalid != "":
				return f.Pass(r, Answer{})
			case job.Completed != nil && job.Completed(r):
				return nil
			}
			if step.NeedsState(r) {
				if current, ok := j.api.known.get(r.Number); ok {
					if ans, done := step.Settle(r, current); done {
						return f.Pass(r, ans)
					}
				}
			}
			return f.Send(r)
		})
	}
	call := func(ctx context.Context, r Row, permit func() bool) (Answer, error) {
		return step.Attempt(ctx, j.api, r, permit)
	}
	return pace.Run(ctx, j.p, source, call, func(d pace.Outcome[Row, Answer]) error {
		j.record(resultOf(d))
		return nil
	})
}

// record hands a result to the sink and counts it; once the sink has
// failed, to Unrecorded. It stops the dispatch when the failure budget is
// spent.
func (j *jobRun) record(r Result) {
	sum := j.sum
	if j.recordErr == nil {
		if j.recordErr = j.job.Sink(r); j.recordErr == nil {
			sum.add(r)
		} else {
			j.p.Abort(fmt.Errorf("%w: the report cannot be written: %w", ErrAborted, j.recordErr))
		}
	}
	if j.recordErr != nil {
		sum.Unrecorded++
		if r.Status == StatusOK || r.Status == StatusUnverified {
			sum.AppliedUnrecorded++
		}
		if j.job.Unrecorded != nil {
			j.job.Unrecorded(r)
		}
	}
	if r.Status == StatusInvalid || r.Attempts == 0 {
		return // not sent: an invalid row, or one the listing settled
	}
	j.attempted++
	// The share of failures grows only with a failed row, but a percentage
	// starts to count at the 20th row, ok or not: 2 failures in the first
	// 19 rows spend a 5% budget as the 20th ends.
	if b := j.job.MaxFailures; (r.Status == StatusFailed || j.attempted == minRowsForPercent) && b.spent(sum.Failed, j.attempted) {
		j.p.Abort(fmt.Errorf("%w: %d of %d rows failed (--max-failures %s)", ErrTooManyFailures, sum.Failed, j.attempted, b))
	}
}

// String says the budget as the flag takes it.
func (b FailureBudget) String() string {
	if b.Percent > 0 {
		return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(b.Count)
}

// resultOf turns the pool's outcome for a row into the row's Result.
func resultOf(d pace.Outcome[Row, Answer]) Result {
	r := Result{Row: d.Item, Attempts: d.Attempts, Current: d.Answer.Current}
	switch {
	case d.Passed && d.Item.Invalid != "":
		r.Status, r.Kind, r.Error = StatusInvalid, client.KindInvalid, d.Item.Invalid
	case d.Err == nil && d.Answer.Skipped != "":
		r.Status, r.HTTPStatus, r.Error = StatusSkipped, d.Answer.HTTPStatus, d.Answer.Skipped
	case d.Err == nil:
		r.Status, r.HTTPStatus, r.APIID = StatusOK, d.Answer.HTTPStatus, d.Answer.APIID
	case d.Err.Kind == client.KindInterrupted && d.Answer.APIID != "":
		r.Status, r.HTTPStatus, r.APIID, r.Kind = StatusUnverified, d.Answer.HTTPStatus, d.Answer.APIID, d.Err.Kind
		r.Error = fmt.Sprintf("applied (answered %d), not verified: the run was stopped before a read-back showed its targets", d.Answer.HTTPStatus)
	default:
		r.Status, r.HTTPStatus, r.APIID, r.Kind, r.Error = StatusFailed, d.Err.StatusCode, d.Err.APIID, d.Err.Kind, d.Err.Message
	}
	return r
}
