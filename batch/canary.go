package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
)

// verifying is a step that can read each row back after its update, as a
// canary does.
type verifying interface {
	verifying() Step
}

func (u Update) verifying() Step {
	u.Verify = true
	return u
}

// CanarySpareReads is how many numbers, past its n rows, the canary reads
// on their own looking for rows that change something, when the listing
// did not give their settings.
const CanarySpareReads = 10

// canaryPick is the canary's rows, chosen before the run is confirmed.
type canaryPick struct {
	rows  map[int]bool // by line
	reads int          // numbers read on their own to choose them
	// unread counts the rows to send the canary looked at no further, its
	// reads spent: without them, no row needed a change.
	unread int
}

// pickCanary chooses up to n rows to send first, spread over the file's
// distinct targets: the first row of each distinct set of targets, in file
// order, then, if that is fewer than n, the next rows. A row whose number
// holds its targets already is passed over: its update would prove nothing.
// changes says whether a row changes its number; spent, that it could not
// tell (the canary's reads are spent).
func (j *jobRun) pickCanary(ctx context.Context, n int, changes func(Row) (ok, spent bool, err error)) (canaryPick, error) {
	pick := canaryPick{rows: map[int]bool{}}
	seen, looked := map[string]bool{}, map[int]bool{}
	consider := func(r Row, first bool) error {
		if len(pick.rows) == n || !j.toSend(r) || looked[r.Line] || first && seen[targetsKey(r.Targets)] {
			return nil
		}
		ok, spent, err := changes(r)
		switch {
		case spent:
			pick.unread++
			return err
		case ok:
			pick.rows[r.Line], seen[targetsKey(r.Targets)] = true, true
		}
		looked[r.Line] = true
		return err
	}
	err := j.job.Input.Each(ctx, func(r Row) error { return consider(r, true) })
	if err == nil && len(pick.rows) < n {
		pick.unread = 0
		err = j.job.Input.Each(ctx, func(r Row) error { return consider(r, false) })
	}
	return pick, err
}

// changesNumber says whether row changes its number, from the listing or
// a read of the number, at most reads of them. A number the API refuses to
// read (4xx: not on the account) counts as changing: its update will be
// refused too, and the canary names it. One it did not answer for (5xx, a
// timeout), or whose answer lacks a field the row sets, is not known: an
// update "changed" and a read-back holding the targets would prove nothing,
// so it is left, as when the reads are spent.
func (j *jobRun) changesNumber(ctx context.Context, reads int, done *int) func(Row) (bool, bool, error) {
	return func(r Row) (bool, bool, error) {
		current, ok := j.api.known.get(r.Number)
		if !ok {
			if *done == reads {
				return false, true, nil
			}
			*done++
			err := j.p.Do(ctx, func(ctx context.Context) error {
				info, err := j.api.Client.GetNumber(ctx, r.Number)
				current = CurrentOf(info)
				return ToPaceError(err)
			})
			var pe *pace.Error
			if err != nil && (j.p.Err() != nil || !errors.As(err, &pe) || pe.HTTPStatus/100 != 4) {
				return false, true, j.p.Err()
			} else if err != nil {
				return true, false, nil
			}
		}
		// A field the answer lacked is unknown: only a known one that
		// differs proves that the update changes the number.
		d := r.Targets.Differs(current)
		known := slices.ContainsFunc(d, func(f Field) bool { return current[f].Set })
		return known, len(d) > 0 && !known, nil
	}
}

func targetsKey(t Targets) string {
	var b strings.Builder
	for _, s := range t {
		if s.Set {
			b.WriteString(s.Cell())
		}
		b.WriteByte(0)
	}
	return b.String()
}

// runCanary sends the canary rows, each read back after its update, and
// says whether the rest may follow: every canary row sent, answered and
// holding its targets. A canary row did not hold them before, so the
// read-back proves the update changed the number.
func (j *jobRun) runCanary(ctx context.Context, picked map[int]bool) error {
	step := j.job.Step
	if v, ok := step.(verifying); ok {
		step = v.verifying()
	}
	var results []Result
	sink := j.job.Sink
	j.job.Sink = func(r Result) error {
		results = append(results, r)
		return sink(r)
	}
	err := j.send(ctx, step, func(r Row) bool { return picked[r.Line] })
	j.job.Sink = sink
	if err != nil {
		return err
	}
	// Rows end in any order: the file's makes the reason and the rows
	// shown the same from one run to the next.
	slices.SortFunc(results, func(a, b Result) int { return cmp.Compare(a.Row.Line, b.Row.Line) })
	var bad []string
	for _, r := range results {
		if r.Status != StatusOK {
			bad = append(bad, fmt.Sprintf("row %d (%s): %s", r.Row.Line, r.Row.Number, cmp.Or(r.Error, string(r.Status))))
		}
	}
	if len(bad) > 0 {
		n := len(bad)
		more := ""
		if len(bad) > 3 {
			more = fmt.Sprintf(" and %d more", len(bad)-3)
			bad = bad[:3]
		}
		return fmt.Errorf("%w: %d of %d canary rows are not in their target state: %s%s; nothing else was sent",
			ErrCanary, n, len(results), strings.Join(bad, "; "), more)
	}
	if j.job.AfterCanary != nil {
		return j.job.AfterCanary(results)
	}
	return nil
}

// canaryFound says what the canary found to test. When no row needs a
// change, the canary has nothing to test: it neither passes nor fails, and
// the run goes on, since it changes nothing. When its reads ran out before
// it found a row that changes something, the run stops: the rows it did not
// read may change numbers unchecked.
func (j *jobRun) canaryFound(log *slog.Logger) error {
	c := j.canary
	switch {
	case len(c.rows) > 0:
		log.Info("canary chosen: rows that change their number", "rows", len(c.rows), "reads", c.reads)
	case c.unread > 0:
		return fmt.Errorf("%w: none of the %d numbers it read needs a change it could see, and %d rows were left unread or their read did not tell; nothing was sent",
			ErrNoCanaryRow, c.reads, c.unread)
	case j.sum.Read.Rows+c.reads > 0:
		log.Warn("canary: no row needs a change, every number holds its targets already: nothing to test, the canary neither passes nor fails; the run goes on and changes nothing")
	}
	return nil
}
