package batch

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// Answer is a successful attempt's outcome.
type Answer struct {
	HTTPStatus int
	APIID      string
	Current    Targets // the number's settings, when the attempt read them
	Skipped    string  // why the row needed no update (StatusSkipped)
}

// Step is what one row means: Update (run) or Read (plan).
type Step interface {
	NeedsState(row Row) bool                        // whether an attempt needs the number's settings
	Requests(row Row) int                           // the most an attempt sends, its read included
	settle(row Row, current Targets) (Answer, bool) // finishes row without a request when its known settings say so
	// attempt makes one attempt at row. The pool took a permit for its
	// first request; permit takes one for each further one, false when the
	// run is stopping. A failure is a *client.APIError, for the retry policy.
	attempt(ctx context.Context, j *jobRun, row Row, permit func() bool) (Answer, error)
}

// UndoRecorder keeps, before a number is changed, what restores it.
type UndoRecorder interface {
	Write(row Row, current Targets) error
}

// Update is run's step: read the number when a feature needs it, send the
// update, and read it back when verifying.
type Update struct {
	Undo          UndoRecorder // nil without --undo
	SkipUnchanged bool
	Verify        bool
	PinApp        bool // send the number's app_id with rows that set none, or Plivo assigns the default app
}

// NeedsState reports whether an attempt reads the number before the update.
func (u Update) NeedsState(row Row) bool {
	return u.Undo != nil || u.SkipUnchanged || u.PinApp && !row.Targets[AppID].Set
}

// Requests is the update, the read before it and the read-back.
func (u Update) Requests(row Row) int {
	return 1 + b2i(u.NeedsState(row)) + b2i(u.Verify)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (u Update) settle(row Row, current Targets) (Answer, bool) {
	if u.SkipUnchanged && row.Targets.Holds(current) {
		return Answer{HTTPStatus: 200, Current: current, Skipped: "unchanged: the number already has these settings"}, true
	}
	return Answer{}, false
}

func (u Update) attempt(ctx context.Context, j *jobRun, row Row, permit func() bool) (Answer, error) {
	targets, pin := row.Targets, u.PinApp && !row.Targets[AppID].Set
	var current Targets
	if u.NeedsState(row) {
		var known bool
		if current, known = j.known.get(row.Number); !known {
			var err error
			if current, err = readNumber(ctx, j.Client, row.Number); err != nil {
				return Answer{}, prefixed("read before the update", err)
			}
		}
		var need Targets // the fields whose current value decides what is sent or recorded
		if u.Undo != nil || u.SkipUnchanged {
			need = row.Targets
		}
		need[AppID].Set = need[AppID].Set || pin
		if err := unknown(current, need); err != nil {
			return Answer{Current: current}, err
		}
		if ans, done := u.settle(row, current); done {
			return ans, nil
		}
		if u.Undo != nil {
			if err := u.Undo.Write(row, current); errors.Is(err, ErrCellTooLong) { // a change it cannot record could not be undone
				return Answer{Current: current}, &client.APIError{Kind: client.KindNoUndo, Message: "not sent: the undo file cannot record the value to restore: " + err.Error()}
			} else if err != nil {
				return Answer{}, &client.APIError{Kind: client.KindFatal, Message: "the undo file cannot be written: " + err.Error()}
			}
		}
		if pin {
			targets[AppID] = current[AppID]
		}
		if !known && !permit() {
			return Answer{Current: current}, &client.APIError{Kind: client.KindInterrupted, Message: "stopped before the update was sent"}
		}
	}
	ch, err := j.Client.UpdateNumber(ctx, row.Number, targets.Params())
	if err != nil {
		return Answer{Current: current}, err // a 2xx without an api_id too: no proof that the update was applied
	}
	ans := Answer{HTTPStatus: ch.HTTPStatus, APIID: ch.APIID, Current: current}
	if !u.Verify {
		return ans, nil
	}
	if !permit() {
		return ans, &client.APIError{StatusCode: ch.HTTPStatus, APIID: ch.APIID, Kind: client.KindInterrupted,
			Message: "stopped before the update could be read back"}
	}
	after, err := readNumber(ctx, j.Client, row.Number)
	if err != nil {
		return ans, prefixed("read back after the update", err)
	}
	if diff := targets.Differs(after); len(diff) > 0 {
		return ans, &client.APIError{StatusCode: ch.HTTPStatus, APIID: ch.APIID, Kind: client.KindVerify,
			Message: fmt.Sprintf("answered %d %q but the server holds %s", ch.HTTPStatus, ch.Message, describeFields(after, diff))}
	}
	return ans, nil
}

// describeFields lists the fields' values as read, e.g. `app_id="123" alias=""`.
func describeFields(t Targets, fields []Field) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s=%q", f, t[f].Value)
		if !t[f].Set {
			parts[i] = fmt.Sprintf("no `%s`", client.SettingKeys[f])
		}
	}
	return strings.Join(parts, " ")
}

// Read is plan's step: read the number, change nothing.
type Read struct{}

func (Read) NeedsState(Row) bool { return true } // the settings are all plan wants
func (Read) Requests(Row) int    { return 1 }

func (Read) settle(_ Row, current Targets) (Answer, bool) {
	return Answer{HTTPStatus: 200, Current: current}, true
}

func (Read) attempt(ctx context.Context, j *jobRun, row Row, _ func() bool) (Answer, error) {
	info, err := j.Client.GetNumber(ctx, row.Number)
	if err != nil {
		return Answer{}, err
	}
	current := currentOf(info)
	return Answer{HTTPStatus: 200, APIID: info.APIID, Current: current}, unknown(current, row.Targets)
}

// unknown fails a row whose read lacked a field in need: no guess is sent or recorded.
func unknown(current, need Targets) error {
	for f, s := range need {
		if s.Set && !current[f].Set {
			return &client.APIError{Kind: client.KindBadAnswer, Message: fmt.Sprintf(
				"the API's answer has no `%s`: the number's %s is unknown, and no guess of it is sent or recorded", client.SettingKeys[f], Field(f))}
		}
	}
	return nil
}

// prefixed says which read failed.
func prefixed(what string, err error) error {
	if e, ok := errors.AsType[*client.APIError](err); ok {
		e.Message = what + ": " + e.Message
	}
	return err
}

// OtherValues stands, in Estimate.Changes, for the values past the first
// maxCountedValues of a field: a million aliases would not fit in memory.
const OtherValues = "(other values)"

const maxCountedValues = 10000

// estimate counts the rows to send and done already, the requests (a row
// the listing settles costs none) and per field the values changed to.
func (j *jobRun) estimate(ctx context.Context) (Estimate, error) {
	est := Estimate{Rows: j.Input.Rows(), Read: j.sum.Read, Preflight: j.checked, CanaryReads: j.canary.reads}
	counts, others := [NumFields]map[string]int{{}, {}, {}, {}}, [NumFields]int{}
	err := j.Input.Each(ctx, func(r Row) error {
		switch {
		case j.done(r):
			est.AlreadyOK++
			j.verify.count(j, r, true)
			return nil
		case r.Invalid != "" || j.invalid(r) != "":
			return nil
		}
		est.ToSend++
		current, known := Targets{}, false
		if j.Step.NeedsState(r) {
			current, known = j.known.get(r.Number)
		}
		if _, settled := j.Step.settle(r, current); known && settled {
			return nil
		}
		j.verify.count(j, r, false)
		est.Requests += j.Step.Requests(r)
		if known {
			est.Requests-- // the listing gave the read
		}
		for f, t := range r.Targets {
			if !t.Set || known && current[f].Value == t.Value {
				continue
			}
			if _, ok := counts[f][t.Value]; ok || len(counts[f]) < maxCountedValues {
				counts[f][t.Value]++
			} else {
				others[f]++
			}
		}
		return nil
	})
	// What is sent before Begin counts too, so that a run never sends more than it announced.
	est.Requests += 1 + j.checked + est.Read.Pages + j.canary.reads
	if u, ok := j.Step.(Update); ok && !u.Verify {
		est.Requests += len(j.canary.rows)
	}
	for f, m := range counts {
		for v, n := range m {
			est.Changes[f] = append(est.Changes[f], ValueCount{Value: v, Numbers: n})
		}
		slices.SortFunc(est.Changes[f], func(a, b ValueCount) int {
			return cmp.Or(cmp.Compare(b.Numbers, a.Numbers), cmp.Compare(a.Value, b.Value))
		})
		if others[f] > 0 {
			est.Changes[f] = append(est.Changes[f], ValueCount{Value: OtherValues, Numbers: others[f]})
		}
	}
	return est, err
}

// DryCost is what a dry run counted: rows valid and invalid, the most they
// cost in requests (the checks before the run aside), the reads among them.
type DryCost struct{ Valid, Invalid, Requests, Reads int }

// DryRun writes to w, for each row, the update it would send or why it is
// invalid, and counts what step would cost with canary rows. It sends nothing.
func DryRun(ctx context.Context, in Source, step Update, canary int, authID string, w io.Writer) (DryCost, error) {
	var c DryCost
	err := in.Each(ctx, func(r Row) error {
		if r.Invalid != "" {
			c.Invalid++
			_, err := fmt.Fprintf(w, "row %d: invalid: %s (number %q)\n", r.Line, r.Invalid, r.Number)
			return err
		}
		c.Valid++
		c.Requests += step.Requests(r)
		if step.NeedsState(r) {
			c.Reads++
		}
		body, _ := json.Marshal(r.Targets.Params())
		note := ""
		if step.PinApp && !r.Targets[AppID].Set {
			note = " (+ the number's current app_id, read first)"
		}
		_, err := fmt.Fprintf(w, "row %d: POST /v1/Account/%s/Number/%s/ %s%s\n", r.Line, authID, r.Number, body, note)
		return err
	})
	if canary > 0 { // the reads that find rows that change something, and the read-backs
		c.Requests += min(canary+CanarySpareReads, c.Valid-c.Reads) // the rows read anyway are read once
		if !step.Verify {
			c.Requests += min(canary, c.Valid)
		}
	}
	return c, err
}
