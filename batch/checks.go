package batch

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// checkAccount proves the credentials with one cheap read, so that bad
// ones stop the run before any number is touched.
func checkAccount(ctx context.Context, p *pace.Pacer, cl *client.Client, log *slog.Logger) error {
	err := p.Do(ctx, cl.GetAccount)
	pe, _ := client.AsAPIError(err)
	switch {
	case err == nil:
		return nil
	case pe != nil && pe.Kind == client.KindAuth:
		return fmt.Errorf("%w: %w (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN; nothing was sent", ErrAborted, pace.ErrAuth, pe.Message)
	case pe == nil: // the run halted: a signal, or a reason to stop
		return err
	case pe.StatusCode == 0:
		// No answer at all, retries included: every row would fail the
		// same way, so stop before sending them.
		return fmt.Errorf("%w: the API does not answer (%s); nothing was sent", ErrAborted, pe.Message)
	}
	log.Warn("could not read the account before starting; going on", "error", err.Error())
	return nil
}

// preflight checks once per distinct app_id and subaccount of the input
// that it exists, so that rows naming a missing one are reported invalid
// instead of each drawing the same 400. It returns a function that says
// why a row is invalid on that account, or "", and the reads it made: one
// per value Source.Distinct gives, all of them, paced like every request.
func preflight(ctx context.Context, p *pace.Pacer, cl *client.Client, in Source, log *slog.Logger) (func(Row) string, int, error) {
	// The first stop ends the reads in flight too, as it ends the account
	// check's: they change nothing, and the pool would wait for each.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.Halted():
			cancel()
		case <-ctx.Done():
		}
	}()
	reads := 0
	check := func(field Field, get func(context.Context, string) error) (map[string]bool, error) {
		ids, more := in.Distinct(field)
		if more {
			log.Warn("too many distinct values to check them all before the run: the first ones in file order are checked; "+
				"rows naming another are sent unchecked, and the API's answer tells", "field", field.String(), "checked", len(ids))
		}
		reads += len(ids)
		missing := map[string]bool{}
		source := func(f pace.Feed[string, struct{}]) error {
			for _, id := range ids {
				if err := f.Send(id); err != nil {
					return err
				}
			}
			return nil
		}
		call := func(ctx context.Context, id string, _ func() bool) (struct{}, error) {
			return struct{}{}, get(ctx, id)
		}
		// Many at a time, at the job's rate: a thousand reads one after the
		// other would wait a thousand round trips.
		err := pace.Run(ctx, p, source, call, func(d pace.Outcome[string, struct{}]) error {
			switch {
			case d.Err == nil, d.Err.Kind == client.KindInterrupted: // stopped: nothing will be sent
			case d.Err.Kind == client.KindNotFound:
				missing[d.Item] = true
				log.Warn(field.String()+" does not exist on the account; its rows are invalid", field.String(), d.Item)
			default:
				log.Warn("could not check before the run; its rows will be sent", field.String(), d.Item, "error", d.Err.Message)
			}
			return nil
		})
		return missing, err // err: the run halted (a signal, bad credentials)
	}
	missingApps, err := check(AppID, cl.GetApplication)
	if err != nil {
		return nil, reads, err
	}
	missingSubs, err := check(Subaccount, cl.GetSubaccount)
	if err != nil {
		return nil, reads, err
	}
	return func(r Row) string {
		if t := r.Targets[AppID]; t.Set && missingApps[t.Value] {
			return fmt.Sprintf("app_id %q is not an application of this account (checked before the run)", t.Value)
		}
		if t := r.Targets[Subaccount]; t.Set && missingSubs[t.Value] {
			return fmt.Sprintf("subaccount %q is not a subaccount of this account (checked before the run)", t.Value)
		}
		return ""
	}, reads, nil
}
