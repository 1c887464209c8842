package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// Answer is a successful attempt's outcome.
type Answer struct {
	HTTPStatus int
	APIID      string
	// Current holds the number's settings as read from the server, when the
	// attempt read them (Set for each field read).
	Current Targets
	// Skipped, when not empty, says why the row needed no update; the row
	// ends with StatusSkipped and this reason.
	Skipped string
}

// Step is what one row means: one attempt at it. The pool has taken a
// permit for the attempt's first request; permit takes one for each further
// request and returns false when the run is stopping. A failure is
// returned as a *client.APIError so that the retry policy knows what to do.
type Step interface {
	Attempt(ctx context.Context, api *API, row Row, permit func() bool) (Answer, error)
	// NeedsState reports whether an attempt at row needs the number's
	// current settings, which a listing of the account can give.
	NeedsState(row Row) bool
	// Settle finishes row without a request when the number's current
	// settings are known and say that nothing needs sending.
	Settle(row Row, current Targets) (Answer, bool)
	// Requests says how many requests an attempt at row sends at most,
	// reading the number's settings included, to say what a run will cost
	// before it starts.
	Requests(row Row) int
}

// API is what a step talks to: the client, and the settings of numbers
// that a listing of the account gave, if the job read by page.
type API struct {
	Client *client.Client
	known  *snapshot
}

// current returns a number's settings, from the listing when it gave them,
// else with a read; sent says whether a request was made.
func (a *API) current(ctx context.Context, number string) (t Targets, sent bool, err error) {
	if t, ok := a.known.get(number); ok {
		return t, false, nil
	}
	info, err := a.Client.GetNumber(ctx, number)
	if err != nil {
		return Targets{}, true, err
	}
	return CurrentOf(info), true, nil
}

// UndoRecorder keeps, before a number is changed, what restores it.
type UndoRecorder interface {
	Write(row Row, current Targets) error
}

// Update is run's step: read the number first when a feature needs it
// (undo, skip-unchanged, pinning the app), send the update, and read it
// back when verifying.
type Update struct {
	Undo          UndoRecorder // nil without --undo
	SkipUnchanged bool
	Verify        bool
	// PinApp sends the number's current app_id with rows that do not set
	// one: Plivo documents that an update without app_id assigns the
	// account's default_number_app, which an alias-only row must not do.
	PinApp bool
}

var _ Step = Update{}

// NeedsState reports whether an attempt at row needs the number's settings
// before the update.
func (u Update) NeedsState(row Row) bool {
	return u.Undo != nil || u.SkipUnchanged || u.PinApp && !row.Targets[AppID].Set
}

// Requests is 1 for the update, plus the read before it and the read-back.
func (u Update) Requests(row Row) int {
	n := 1
	if u.NeedsState(row) {
		n++
	}
	if u.Verify {
		n++
	}
	return n
}

// Settle skips a row whose number already has its targets, when asked to.
func (u Update) Settle(row Row, current Targets) (Answer, bool) {
	if u.SkipUnchanged && row.Targets.Holds(current) {
		return Answer{HTTPStatus: 200, Current: current, Skipped: "unchanged: the number already has these settings"}, true
	}
	return Answer{}, false
}

// Attempt makes one attempt at updating row.
func (u Update) Attempt(ctx context.Context, api *API, row Row, permit func() bool) (Answer, error) {
	cl := api.Client
	targets := row.Targets
	var current Targets
	if u.NeedsState(row) {
		var sent bool
		var err error
		current, sent, err = api.current(ctx, row.Number)
		if err != nil {
			return Answer{}, readError("read before the update", err)
		}
		var need Targets // the fields whose current value decides what is sent or recorded
		if u.Undo != nil || u.SkipUnchanged {
			need = row.Targets
		}
		need[AppID].Set = need[AppID].Set || u.PinApp && !targets[AppID].Set
		if err := unknown(current, need); err != nil {
			return Answer{Current: current}, err
		}
		if ans, done := u.Settle(row, current); done {
			return ans, nil
		}
		if u.Undo != nil {
			if err := u.Undo.Write(row, current); errors.Is(err, ErrCellTooLong) {
				// A change the undo file cannot record could not be undone.
				return Answer{Current: current}, &client.APIError{Kind: client.KindNoUndo, Message: "not sent: the undo file cannot record the value to restore: " + err.Error()}
			} else if err != nil {
				return Answer{}, &client.APIError{Kind: client.KindFatal, Message: "the undo file cannot be written: " + err.Error()}
			}
		}
		if u.PinApp && !targets[AppID].Set {
			targets[AppID] = Setting{Value: current[AppID].Value, Set: true}
		}
		if sent && !permit() {
			return Answer{Current: current}, &client.APIError{Kind: client.KindInterrupted, Message: "stopped before the update was sent"}
		}
	}
	ch, err := cl.UpdateNumber(ctx, row.Number, targets.Params())
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
	info, err := cl.GetNumber(ctx, row.Number)
	if err != nil {
		return ans, readError("read back after the update", err)
	}
	after := CurrentOf(info)
	if diff := targets.Differs(after); len(diff) > 0 {
		return ans, &client.APIError{
			StatusCode: ch.HTTPStatus, APIID: ch.APIID, Kind: client.KindVerify,
			Message: fmt.Sprintf("answered %d %q but the server holds %s", ch.HTTPStatus, ch.Message, describeFields(after, diff)),
		}
	}
	return ans, nil
}

// Read is plan's step: read the number, change nothing.
type Read struct{}

var _ Step = Read{}

// Requests is the one read.
func (Read) Requests(Row) int { return 1 }

// NeedsState is true: the number's settings are all plan wants.
func (Read) NeedsState(Row) bool { return true }

// Settle answers with the settings a listing gave.
func (Read) Settle(_ Row, current Targets) (Answer, bool) {
	return Answer{HTTPStatus: 200, Current: current}, true
}

// Attempt reads row's number.
func (Read) Attempt(ctx context.Context, api *API, row Row, _ func() bool) (Answer, error) {
	info, err := api.Client.GetNumber(ctx, row.Number)
	if err != nil {
		return Answer{}, err
	}
	current := CurrentOf(info)
	return Answer{HTTPStatus: 200, APIID: info.APIID, Current: current}, unknown(current, row.Targets)
}

// unknown fails a row when the read did not give a field in need: a key
// missing from the answer is not "none", and no guess is sent or recorded.
// A listing's object that lacks a key is not used (the number is read on
// its own), so in a run or a plan this judges a read of the number itself.
func unknown(current, need Targets) error {
	for f, s := range need {
		if s.Set && !current[f].Set {
			return &client.APIError{Kind: client.KindBadAnswer, Message: fmt.Sprintf(
				"the API's answer has no `%s`: the number's %s is unknown, and no guess of it is sent or recorded", client.SettingKeys[f], Field(f))}
		}
	}
	return nil
}

// readError says which read failed.
func readError(what string, err error) error {
	if e, ok := client.AsAPIError(err); ok {
		e.Message = what + ": " + e.Message
	}
	return err
}

// CurrentOf turns a number's settings as read into Targets, with plain ids.
// A field whose key the answer lacked is not Set: it is unknown.
func CurrentOf(info client.NumberInfo) Targets {
	var t Targets
	t[AppID] = Setting{Value: info.AppID(), Set: true}
	t[Subaccount] = Setting{Value: info.SubaccountID(), Set: true}
	t[Alias] = Setting{Value: info.Alias, Set: true}
	t[ComplianceApplicationID] = Setting{Value: info.ComplianceApplicationID, Set: true}
	for _, k := range info.Missing {
		t[slices.Index(client.SettingKeys, k)] = Setting{} // SettingKeys are in Field order
	}
	return t
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
