package batch

import (
	"context"
	"errors"
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
	// Distinct returns the distinct values valid rows set for f, and
	// whether there were more.
	Distinct(f Field) ([]string, bool)
}

// Job is one run of rows through a step.
type Job struct {
	Client    *client.Client
	Pace      pace.Config
	Input     Source
	Step      Step
	Completed func(Row) bool // rows an earlier run finished: AlreadyOK, not sent
	// Sink receives one Result per row, from one goroutine; its error stops
	// the run, and that result and every later one go to Unrecorded.
	Sink       func(Result) error
	Unrecorded func(Result)
	Read       ReadMode             // how the numbers' settings are learned; "" is ReadAuto
	VerifyRead ReadMode             // how a Verify step reads back; "" is ReadAuto
	Unverified func(Row) bool       // rows an earlier run sent but did not read back: a Verify step reads them back
	Begin      func(Estimate) error // told the cost before the first row; its error stops the job
	// Canary rows are sent first, spread over the distinct targets, each
	// read back; the rest only when every one is ok and AfterCanary returns nil.
	Canary      int
	AfterCanary func([]Result) error
	MaxFailures FailureBudget
	Log         *slog.Logger
}

// FailureBudget is how many failed rows a job tolerates: Count rows, or
// Percent of the rows attempted (from the 20th); zero is none.
type FailureBudget struct {
	Count   int
	Percent float64
}

func (b FailureBudget) spent(failed, attempted int) bool {
	if b.Count > 0 {
		return failed >= b.Count
	}
	return b.Percent > 0 && attempted >= 20 && float64(failed) >= b.Percent/100*float64(attempted)
}

// String says the budget as the flag takes it.
func (b FailureBudget) String() string {
	if b.Percent > 0 {
		return strconv.FormatFloat(b.Percent, 'f', -1, 64) + "%"
	}
	return strconv.Itoa(b.Count)
}

// Estimate is what a run will send, known before it starts.
type Estimate struct {
	Rows, ToSend, AlreadyOK          int
	Requests, Preflight, CanaryReads int // Requests: the most the run sends, retries aside, everything included
	Read                             ReadPlan
	Verify                           VerifyPlan
	Changes                          [NumFields][]ValueCount // per field, most common first; what the listing shows held already is not counted
}

// ValueCount is how many numbers a field changes to Value on.
type ValueCount struct {
	Value   string // "" clears the field; OtherValues stands for the rest
	Numbers int
}

// Why Run stops early.
var (
	ErrAborted         = pace.ErrAborted // every further row would fail; ErrAuth is wrapped in it
	ErrAuth            = pace.ErrAuth
	ErrInterrupted     = pace.ErrInterrupted
	ErrThrottled       = pace.ErrThrottled
	ErrTooManyFailures = errors.New("run stopped: too many rows failed")
	ErrCanary          = errors.New("canary failed")
	// ErrNoCanaryRow comes in a *NoCanaryRowError.
	ErrNoCanaryRow = fmt.Errorf("%w: it found no row to test", ErrCanary)
	ErrDeclined    = errors.New("not confirmed") // Begin's or AfterCanary's when the user said no
)

// Run checks the account and each distinct application and subaccount,
// learns the numbers' settings if the step needs them, picks the canary,
// tells Begin, sends the canary, then every other row, all through one
// pace.Pacer. The Summary is filled in whatever happens; the error says why
// the job stopped early.
func Run(ctx context.Context, job Job) (sum Summary, err error) {
	if job.Log == nil {
		job.Log = slog.New(slog.DiscardHandler)
	}
	sum = Summary{Rows: job.Input.Rows(), FailedByKind: map[string]int{}, Changes: map[string]int{}}
	j := &jobRun{Job: job, p: pace.New(ctx, job.Pace), sum: &sum}
	j.newVerifier()
	start := time.Now()
	defer func() { sum.Stats, sum.Elapsed, sum.StoppedBy = j.p.Stats(), time.Since(start), StoppedBy(err) }()
	defer j.p.Close()
	stages := []func(context.Context) error{
		func(ctx context.Context) error { return checkAccount(ctx, j.p, j.Client, j.Log) },
		j.preflight, j.learnState, j.pickCanary, j.begin, j.runCanary,
	}
	for _, stage := range stages {
		if err = stage(ctx); err != nil {
			break
		}
	}
	if err == nil {
		err = j.readBack(ctx, j.send(ctx, j.Step, func(r Row) bool { return !j.canary.rows[r.Line] }))
	}
	// A report with rows is kept by the next run: it gets every row. One
	// with none yet is taken over, so a run stopped before its first row
	// writes none.
	if err != nil && j.recordErr == nil && (len(j.settled) > 0 || job.Completed != nil) {
		j.recordRest(ctx, job, err)
	}
	return sum, err
}

// recordRest gives each row a stopped run left a line: an invalid row as
// invalid, any other not_attempted, which --resume sends. A row whose
// latest line in an earlier run's report is ok or unverified keeps it.
func (j *jobRun) recordRest(ctx context.Context, job Job, stop error) {
	why := "stopped before this row: " + StoppedBy(stop)
	// Ctrl-C may have cancelled ctx: this pass sends nothing, and a third signal exits.
	err := j.Input.Each(context.WithoutCancel(ctx), func(r Row) error {
		if r.Line < len(j.settled) && j.settled[r.Line] || j.done(r) || r.Invalid == "" && job.Unverified != nil && job.Unverified(r) {
			return nil
		}
		if r.Invalid == "" {
			r.Invalid = j.invalid(r)
		}
		res := Result{Row: r, Status: StatusNotAttempted, Error: why}
		if r.Invalid != "" {
			res = resultOf(pace.Outcome[Row, Answer]{Item: r, Passed: true})
		}
		if err := j.Sink(res); err != nil || res.Status == StatusNotAttempted {
			return err // not counted: the summary's not_attempted is what no status counts
		}
		j.sum.add(res)
		return nil
	})
	if err != nil {
		j.Log.Warn("the rows not attempted could not all be written to the report; --resume sends them all the same", "error", err.Error())
	}
}

// begin tells Begin what the run will cost and change.
func (j *jobRun) begin(ctx context.Context) error {
	j.p.CountAnswersFromHere()
	est, err := j.estimate(ctx)
	if err == nil {
		err = j.planVerify(ctx, &est)
	}
	if j.sum.AlreadyOK = est.AlreadyOK; err != nil || j.Begin == nil {
		return err
	}
	return j.Begin(est)
}

// jobRun is one Run's state, shared by its passes.
type jobRun struct {
	Job
	p         *pace.Pacer
	sum       *Summary
	missing   [2]map[string]bool // app_ids and subaccounts the pre-flight found missing
	checked   int                // the pre-flight's reads
	known     *snapshot
	canary    canary
	verify    *verifier // with --verify
	recordErr error     // the sink's first error
	attempted int       // rows sent, for the failure budget
	settled   []bool    // by line: the rows recorded
}

// toSend reports whether a row is valid, passed the pre-flight and is not done.
func (j *jobRun) toSend(r Row) bool {
	return r.Invalid == "" && j.invalid(r) == "" && !j.done(r)
}

// done reports whether an earlier run's report has the valid row r ok. Its line stays the row's
// even if the pre-flight now rejects its app or subaccount: the number was set.
func (j *jobRun) done(r Row) bool {
	return r.Invalid == "" && j.Completed != nil && j.Completed(r)
}

// send takes the rows pick accepts through step. A row settled without a
// request (invalid, or the listing shows nothing to send) costs no permit.
func (j *jobRun) send(ctx context.Context, step Step, pick func(Row) bool) error {
	source := func(f pace.Feed[Row, Answer]) error {
		return j.Input.Each(ctx, func(r Row) error {
			if !pick(r) || j.done(r) {
				return nil
			}
			if r.Invalid == "" {
				r.Invalid = j.invalid(r)
			}
			switch current, known := j.known.get(r.Number); {
			case r.Invalid != "":
				return f(r, &Answer{})
			case known && step.NeedsState(r):
				if ans, done := step.settle(r, current); done {
					return f(r, &ans)
				}
			}
			return f(r, nil)
		})
	}
	call := func(ctx context.Context, r Row, permit func() bool) (Answer, error) {
		return step.attempt(ctx, j, r, permit)
	}
	return pace.Run(ctx, j.p, source, call, func(d pace.Outcome[Row, Answer]) error {
		j.record(resultOf(d))
		return nil
	})
}

// record hands a result to the sink, or once it failed to Unrecorded, and
// stops the run when the failure budget is spent.
func (j *jobRun) record(r Result) {
	if keep := true; j.verify != nil {
		if r, keep = j.hold(r); !keep {
			return
		}
	}
	if j.recordErr == nil {
		if j.recordErr = j.Sink(r); j.recordErr == nil {
			j.sum.add(r)
			if l := r.Row.Line; l >= len(j.settled) {
				j.settled = append(j.settled, make([]bool, l+1-len(j.settled))...)
			}
			j.settled[r.Row.Line] = true
		} else {
			j.p.Abort(fmt.Errorf("%w: the report cannot be written: %w", ErrAborted, j.recordErr))
		}
	}
	if j.recordErr != nil {
		j.sum.Unrecorded++
		if r.Status == StatusOK || r.Status == StatusUnverified {
			j.sum.AppliedUnrecorded++
		}
		if j.Unrecorded != nil {
			j.Unrecorded(r)
		}
	}
	if r.Status == StatusInvalid || r.Attempts == 0 {
		return // not sent
	}
	j.attempted++
	// A percentage counts from the 20th row, ok or not (2 failures in 19 rows spend 5% as the 20th ends).
	if b := j.MaxFailures; (r.Status == StatusFailed || j.attempted == 20) && b.spent(j.sum.Failed, j.attempted) {
		j.p.Abort(fmt.Errorf("%w: %d of %d rows failed (--max-failures %s)", ErrTooManyFailures, j.sum.Failed, j.attempted, b))
	}
}

// resultOf turns the pool's outcome for a row into the row's Result.
func resultOf(d pace.Outcome[Row, Answer]) Result {
	r := Result{Row: d.Item, Attempts: d.Attempts, Current: d.Answer.Current, HTTPStatus: d.Answer.HTTPStatus, APIID: d.Answer.APIID}
	switch {
	case d.Passed && d.Item.Invalid != "":
		r.Status, r.Kind, r.Error = StatusInvalid, client.KindInvalid, d.Item.Invalid
	case d.Err == nil && d.Answer.Skipped != "":
		r.Status, r.Error = StatusSkipped, d.Answer.Skipped
	case d.Err == nil:
		r.Status = StatusOK
	case d.Err.Kind == client.KindInterrupted && d.Answer.APIID != "":
		r.Status, r.Kind = StatusUnverified, d.Err.Kind
		r.Error = fmt.Sprintf("applied (answered %d), not verified: the run was stopped before a read-back showed its targets", d.Answer.HTTPStatus)
	default:
		r.Status, r.HTTPStatus, r.APIID, r.Kind, r.Error = StatusFailed, d.Err.StatusCode, d.Err.APIID, d.Err.Kind, d.Err.Message
	}
	return r
}

// each sends every item through call in the pool and hands each outcome to sink.
func each[T, A any](ctx context.Context, p *pace.Pacer, items []T, call func(context.Context, T) (A, error), sink func(pace.Outcome[T, A]) error) error {
	return pace.Run(ctx, p, func(f pace.Feed[T, A]) error {
		for _, it := range items {
			if err := f(it, nil); err != nil {
				return err
			}
		}
		return nil
	}, func(ctx context.Context, it T, _ func() bool) (A, error) { return call(ctx, it) }, sink)
}

// checkAccount proves the credentials with one cheap read before any number is touched.
func checkAccount(ctx context.Context, p *pace.Pacer, cl *client.Client, log *slog.Logger) error {
	err := p.Do(ctx, cl.GetAccount)
	pe, _ := errors.AsType[*client.APIError](err)
	switch {
	case err == nil:
		return nil
	case pe != nil && pe.Kind == client.KindAuth:
		return fmt.Errorf("%w: %w (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN; nothing was sent", ErrAborted, pace.ErrAuth, pe.Message)
	case pe == nil: // the run halted: a signal, or a reason to stop
		return err
	case pe.StatusCode == 0: // no answer, retries included: every row would fail the same way
		return fmt.Errorf("%w: the API does not answer (%s); nothing was sent", ErrAborted, pe.Message)
	}
	log.Warn("could not read the account before starting; going on", "error", err.Error())
	return nil
}

// preflight reads each distinct app_id and subaccount once, so that rows
// naming a missing one are invalid instead of each drawing the same 400.
func (j *jobRun) preflight(ctx context.Context) error {
	// The first stop ends the reads in flight too: they change nothing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-j.p.Halted():
			cancel()
		case <-ctx.Done():
		}
	}()
	for i, get := range []func(context.Context, string) error{j.Client.GetApplication, j.Client.GetSubaccount} {
		field := []Field{AppID, Subaccount}[i]
		ids, more := j.Input.Distinct(field)
		if more {
			j.Log.Warn("too many distinct values to check them all before the run: the first ones in file order are checked; "+
				"rows naming another are sent unchecked, and the API's answer tells", "field", field.String(), "checked", len(ids))
		}
		j.checked += len(ids)
		j.missing[i] = map[string]bool{}
		err := each(ctx, j.p, ids, func(ctx context.Context, id string) (struct{}, error) {
			return struct{}{}, get(ctx, id)
		}, func(d pace.Outcome[string, struct{}]) error {
			switch {
			case d.Err == nil, d.Err.Kind == client.KindInterrupted: // stopped: nothing will be sent
			case d.Err.Kind == client.KindNotFound:
				j.missing[i][d.Item] = true
				j.Log.Warn(field.String()+" does not exist on the account; its rows are invalid", field.String(), d.Item)
			default:
				j.Log.Warn("could not check before the run; its rows will be sent", field.String(), d.Item, "error", d.Err.Message)
			}
			return nil
		})
		if err != nil {
			return err // the run halted: a signal, bad credentials
		}
	}
	return nil
}

// invalid says why a valid row cannot be sent on this account, or "".
func (j *jobRun) invalid(r Row) string {
	if t := r.Targets[AppID]; t.Set && j.missing[0][t.Value] {
		return fmt.Sprintf("app_id %q is not an application of this account (checked before the run)", t.Value)
	}
	if t := r.Targets[Subaccount]; t.Set && j.missing[1][t.Value] {
		return fmt.Sprintf("subaccount %q is not a subaccount of this account (checked before the run)", t.Value)
	}
	return ""
}
