package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// DryCost is what a dry run counted: the rows that would be sent and the
// invalid ones, what the rows cost at most in requests (the checks before
// the run aside), and the reads of current settings among them.
type DryCost struct{ Valid, Invalid, Requests, Reads int }

// DryRun writes to w, for each row of in, the update it would send or why
// it is invalid, and counts what step would cost with a canary of canary
// rows. It sends nothing.
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
