package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// CanarySpareReads is how many reads, past its rows, the canary may make that the run would not.
const CanarySpareReads = 10

// What the canary learned of a candidate row.
const (
	holds   = iota // its number holds its targets already: its update would prove nothing
	changes        // a canary row
	unread         // the spare reads are spent
	failed         // the read failed (a 5xx, a timeout)
	keyless        // the answer lacks a key the row sets
)

// canary is the canary's rows, chosen before the run is confirmed.
type canary struct {
	rows    map[int]bool     // by line
	reads   int              // numbers read to choose them
	spare   int              // of them, reads the run would not have made
	rowsBy  [keyless + 1]int // candidate rows by what was learned of them
	key     string           // a key a keyless answer lacked
	fetched map[string]fetched
}

type fetched struct {
	current Targets
	err     error
}

var errEnough = errors.New("enough canary rows")

// pickCanary chooses j.Canary rows that change their number: the first of
// each distinct set of targets in file order, then the next rows.
func (j *jobRun) pickCanary(ctx context.Context) error {
	if j.Canary <= 0 {
		return nil
	}
	c := &j.canary
	c.rows, c.fetched = map[int]bool{}, map[string]fetched{}
	seen, looked := map[Targets]bool{}, map[int]bool{}
	skip := func(r Row, first bool) bool { return !j.toSend(r) || looked[r.Line] || first && seen[r.Targets] }
	// The reads the run makes anyway go out a window at a time through the
	// pool: a canary on a file mostly done reads on, not one round trip at a time.
	var window []Row
	flush := func(first bool) error {
		var todo []string
		for _, r := range window {
			if _, ok := j.known.get(r.Number); !ok && !skip(r, first) && j.Step.NeedsState(r) {
				todo = append(todo, r.Number)
			}
		}
		if err := j.prefetch(ctx, todo); err != nil {
			return err
		}
		for _, r := range window {
			if skip(r, first) {
				continue
			}
			v, err := j.learn(ctx, r)
			if v == changes {
				c.rows[r.Line], seen[r.Targets] = true, true
			}
			looked[r.Line] = v != unread
			c.rowsBy[v]++
			if err != nil || len(c.rows) == j.Canary {
				return cmp.Or(err, errEnough)
			}
		}
		window = window[:0]
		return nil
	}
	for _, first := range []bool{true, false} {
		c.rowsBy[unread] = 0 // the second pass looks at them again
		err := j.Input.Each(ctx, func(r Row) error {
			if window = append(window, r); len(window) < j.Canary+CanarySpareReads {
				return nil
			}
			return flush(first)
		})
		if err == nil {
			err = flush(first)
		}
		if errors.Is(err, errEnough) {
			break
		} else if err != nil {
			return err
		}
	}
	switch { // when no row changes its number the canary has nothing to test, and the run changes nothing
	case len(c.rows) > 0:
		j.Log.Info("canary chosen: rows that change their number", "rows", len(c.rows), "reads", c.reads)
	case c.rowsBy[unread]+c.rowsBy[failed]+c.rowsBy[keyless] > 0: // rows it could not see may change numbers unchecked
		return &NoCanaryRowError{Unread: c.rowsBy[unread], Failed: c.rowsBy[failed], Keyless: c.rowsBy[keyless],
			Spare: c.spare, Key: c.key, ByPage: j.sum.Read.Chosen == ReadPage}
	case j.sum.Read.Rows+c.reads > 0:
		j.Log.Warn("canary: no row needs a change, every number holds its targets already: nothing to test, the canary neither passes nor fails; the run goes on and changes nothing")
	}
	return nil
}

// prefetch reads numbers through the pool and keeps them for the run.
func (j *jobRun) prefetch(ctx context.Context, numbers []string) error {
	numbers = slices.DeleteFunc(numbers, func(n string) bool { _, done := j.canary.fetched[n]; return done })
	j.canary.reads += len(numbers)
	return each(ctx, j.p, numbers, j.Client.GetNumber, func(d pace.Outcome[string, client.NumberInfo]) error {
		f := fetched{current: currentOf(d.Answer)}
		if d.Err != nil {
			f.err = d.Err
		}
		j.canary.fetched[d.Item] = f
		j.known.add([]client.NumberInfo{d.Answer}) // one without every key is read again
		return nil
	})
}

// learn says whether row changes its number, from the listing, prefetch or
// a spare read. A number the API refuses to read (4xx) counts as changing:
// its update will be refused too. One it did not answer for, or whose
// answer lacks a field the row sets, is unknown: its read-back proves nothing.
func (j *jobRun) learn(ctx context.Context, r Row) (int, error) {
	c := &j.canary
	current, ok := j.known.get(r.Number)
	if !ok {
		f, done := c.fetched[r.Number]
		if !done {
			if c.spare == j.Canary+CanarySpareReads {
				return unread, nil
			}
			c.reads++
			c.spare++
			f.err = j.p.Do(ctx, func(ctx context.Context) (err error) {
				f.current, err = readNumber(ctx, j.Client, r.Number)
				return err
			})
		}
		if pe, ok := errors.AsType[*client.APIError](f.err); f.err != nil && (j.p.Err() != nil || !ok || pe.StatusCode/100 != 4) {
			return failed, j.p.Err()
		} else if f.err != nil {
			return changes, nil
		}
		current = f.current
	}
	d := r.Targets.Differs(current)
	switch {
	case slices.ContainsFunc(d, func(f Field) bool { return current[f].Set }):
		return changes, nil
	case len(d) > 0:
		c.key = client.SettingKeys[d[0]]
		return keyless, nil
	}
	return holds, nil
}

// runCanary sends the canary rows, each read back: having not held their
// targets before, the read-back proves the update changed the number.
func (j *jobRun) runCanary(ctx context.Context) error {
	if len(j.canary.rows) == 0 {
		return nil
	}
	step := j.Step
	if u, ok := step.(Update); ok {
		u.Verify = true
		step = u
	}
	var results []Result
	sink := j.Sink
	j.Sink = func(r Result) error { results = append(results, r); return sink(r) }
	err := j.send(ctx, step, func(r Row) bool { return j.canary.rows[r.Line] })
	if j.Sink = sink; err != nil {
		return err
	}
	slices.SortFunc(results, func(a, b Result) int { return cmp.Compare(a.Row.Line, b.Row.Line) })
	var bad []string
	for _, r := range results {
		if r.Status != StatusOK {
			bad = append(bad, fmt.Sprintf("row %d (%s): %s", r.Row.Line, r.Row.Number, cmp.Or(r.Error, string(r.Status))))
		}
	}
	if n := len(bad); n > 0 {
		more := ""
		if n > 3 {
			bad, more = bad[:3], fmt.Sprintf(" and %d more", n-3)
		}
		return fmt.Errorf("%w: %d of %d canary rows are not in their target state: %s%s; nothing else was sent",
			ErrCanary, n, len(results), strings.Join(bad, "; "), more)
	}
	if j.AfterCanary != nil {
		return j.AfterCanary(results)
	}
	return nil
}

// NoCanaryRowError is ErrNoCanaryRow with why: the canary could not see some rows.
type NoCanaryRowError struct {
	Unread, Failed, Keyless int    // rows left unread (Spare reads spent), whose read failed, or lacked Key
	Spare                   int    // reads the run would not have made
	Key                     string // a key a Keyless read lacked
	ByPage                  bool   // the run listed the account
}

func (e *NoCanaryRowError) Error() string {
	var why []string
	if e.Unread > 0 {
		listing := map[bool]string{true: " the listing did not give"}[e.ByPage]
		why = append(why, fmt.Sprintf("%d rows%s, left unread once its %d reads were spent", e.Unread, listing, e.Spare))
	}
	if e.Failed > 0 {
		why = append(why, fmt.Sprintf("%d rows whose read failed", e.Failed))
	}
	if e.Keyless > 0 {
		why = append(why, fmt.Sprintf("%d rows whose read had no `%s` (what they hold is unknown until the API's answers carry it)", e.Keyless, e.Key))
	}
	return fmt.Sprintf("%v: no row it could see needs a change, but it could not see %s; nothing was sent", ErrNoCanaryRow, strings.Join(why, ", "))
}

func (e *NoCanaryRowError) Unwrap() error { return ErrNoCanaryRow }
