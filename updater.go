package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// updater makes one attempt at a row for `run`: read the number first when
// a feature needs it (undo, skip-unchanged, pinning the app), send the
// update, and read it back when verifying. Every request takes a rate
// permit.
type updater struct {
	cl            *client.Client
	undo          *report.UndoWriter // nil without --undo
	skipUnchanged bool
	verify        bool
	// pinApp sends the number's current app_id with rows that do not set
	// one: Plivo documents that an update without app_id assigns the
	// account's default_number_app, which an alias-only row must not do.
	pinApp bool
}

var errStopping = &batch.CallError{Kind: batch.KindInterrupted, Message: "stopped before the update was sent"}

func (u *updater) needsRead(r batch.Row) bool {
	return u.undo != nil || u.skipUnchanged || u.pinApp && !r.Targets[batch.AppID].Set
}

func (u *updater) call(ctx context.Context, row batch.Row, permit func() bool) (batch.Answer, error) {
	targets := row.Targets
	var current batch.Targets
	firstPermitUsed := false
	if u.needsRead(row) {
		info, err := u.cl.GetNumber(ctx, row.Number)
		if err != nil {
			return batch.Answer{}, readError("read before the update", err)
		}
		firstPermitUsed = true
		current = currentOf(info)
		if u.skipUnchanged && len(targets.Differs(current)) == 0 {
			return batch.Answer{HTTPStatus: 200, Current: current, Skipped: "unchanged: the number already has these settings"}, nil
		}
		if u.undo != nil {
			if err := u.undo.Write(row, current); err != nil {
				return batch.Answer{}, &batch.CallError{Kind: batch.KindFatal, Message: err.Error()}
			}
		}
		if u.pinApp && !targets[batch.AppID].Set {
			targets[batch.AppID] = batch.Setting{Value: current[batch.AppID].Value, Set: true}
		}
	}
	if firstPermitUsed && !permit() {
		return batch.Answer{}, errStopping
	}
	ch, err := u.cl.UpdateNumber(ctx, row.Number, targets.Params())
	if err != nil {
		return batch.Answer{}, toCallError(err)
	}
	ans := batch.Answer{HTTPStatus: ch.HTTPStatus, APIID: ch.APIID, Current: current}
	if !u.verify {
		return ans, nil
	}
	if !permit() {
		return batch.Answer{}, &batch.CallError{Kind: batch.KindInterrupted, Message: "stopped before the update could be read back"}
	}
	info, err := u.cl.GetNumber(ctx, row.Number)
	if err != nil {
		return batch.Answer{}, readError("read back after the update", err)
	}
	after := currentOf(info)
	if diff := targets.Differs(after); len(diff) > 0 {
		return batch.Answer{}, &batch.CallError{
			HTTPStatus: ch.HTTPStatus, APIID: ch.APIID, Kind: batch.KindVerify, Retryable: true,
			Message: "answered " + fmt.Sprint(ch.HTTPStatus) + " \"" + ch.Message + "\" but the server holds " + describeFields(after, diff),
		}
	}
	return ans, nil
}

// readError adapts a failed read, saying which read it was.
func readError(what string, err error) error {
	e := toCallError(err)
	if ce, ok := e.(*batch.CallError); ok {
		ce.Message = what + ": " + ce.Message
	}
	return e
}

// currentOf turns a number's settings as read into Targets, with plain ids.
func currentOf(info client.NumberInfo) batch.Targets {
	var t batch.Targets
	t[batch.AppID] = batch.Setting{Value: info.AppID(), Set: true}
	t[batch.Subaccount] = batch.Setting{Value: info.SubaccountID(), Set: true}
	t[batch.Alias] = batch.Setting{Value: info.Alias, Set: true}
	t[batch.ComplianceApplicationID] = batch.Setting{Value: info.ComplianceApplicationID, Set: true}
	return t
}

// describeFields lists the fields' values as read, e.g. `app_id="123" alias=""`.
func describeFields(t batch.Targets, fields []batch.Field) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s=%q", f, t[f].Value)
	}
	return strings.Join(parts, " ")
}
