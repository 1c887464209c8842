package batch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
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
// on their own looking for rows that change something, when the run would
// not read them (the listing did not give them, the step needs no read).
const CanarySpareReads = 10

// What the canary learned of a candidate row.
const (
	holds   = iota // its number holds its targets already
	changes        // it changes its number: a canary row
	unread         // not read: the spare reads are spent
	failed         // the read failed (a 5xx, a timeout)
	keyless        // the answer lacks a key the row sets
)

// canaryPick is the canary's rows, chosen before the run is confirmed.
type canaryPick struct {
	rows   map[int]bool     // by line
	reads  int              // numbers read on their own to choose them
	spare  int              // of them, reads the run would not have made
	rowsBy [keyless + 1]int // candidate rows by what was learned of them
	key    string           // a key a keyless answer lacked
	// fetched is what prefetch read of numbers the listing did not give.
	fetched map[string]fetched
}

type fetched struct {
	current Targets
	err     error
}

// pickCanary chooses up to n rows to send first, spread over the file's
// distinct targets: the first row of each distinct set of targets, in file
// order, then, if that is fewer than n, the next rows. A row whose number
// holds its targets already is passed over: its update would prove nothing.
// learn says what is known of a row's number (holds, changes...).
func (j *jobRun) pickCanary(ctx context.Context, n int, learn func(Row, *canaryPick) (int, error)) (canaryPick, error) {
	pick := canaryPick{rows: map[int]bool{}, fetched: map[string]fetched{}}
	seen, looked := map[string]bool{}, map[int]bool{}
	consider := func(r Row, first bool) error {
		if len(pick.rows) == n || !j.toSend(r) || looked[r.Line] || first && seen[targetsKey(r.Targets)] {
			return nil
		}
		v, err := learn(r, &pick)
		if v == changes {
			pick.rows[r.Line], seen[targetsKey(r.Targets)] = true, true
		}
		looked[r.Line] = v != unread
		pick.rowsBy[v]++
		return err
	}
	// The rows the canary will look at are read a window at a time: at
	// most n+CanarySpareReads are read past the last one it needed.
	var window []Row
	flush := func(first bool) (err error) {
		if len(pick.rows) < n {
			err = j.prefetch(ctx, slices.DeleteFunc(slices.Clone(window), func(r Row) bool {
				return looked[r.Line] || first && seen[targetsKey(r.Targets)]
			}), &pick)
		}
		for _, r := range window {
			err = cmp.Or(err, consider(r, first))
		}
		window = window[:0]
		return err
	}
	pass := func(first bool) error {
		return cmp.Or(j.job.Input.Each(ctx, func(r Row) error {
			if window = append(window, r); len(window) < n+CanarySpareReads {
				return nil
			}
			return flush(first)
		}), flush(first))
	}
	err := pass(true)
	if err == nil && len(pick.rows) < n {
		pick.rowsBy[unread] = 0
		err = pass(false)
	}
	return pick, err
}

// prefetch reads, through the pool, the numbers of rows the run reads
// anyway (the step reads them before the update) that nothing gave yet, and
// keeps them for the run, which does not read them again: so the canary
// reads on until it has its rows, and not one round trip at a time.
func (j *jobRun) prefetch(ctx context.Context, rows []Row, pick *canaryPick) error {
	var todo []string
	for _, r := range rows {
		if _, done := pick.fetched[r.Number]; j.toSend(r) && j.job.Step.NeedsState(r) && !done {
			if _, ok := j.api.known.get(r.Number); !ok {
				todo = append(todo, r.Number)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	pick.reads += len(todo)
	source := func(f pace.Feed[string, client.NumberInfo]) error {
		for _, n := range todo {
			if err := f.Send(n); err != nil {
				return err
			}
		}
		return nil
	}
	call := func(ctx context.Context, n string, _ func() bool) (client.NumberInfo, error) {
		return j.api.Client.GetNumber(ctx, n)
	}
	return pace.Run(ctx, j.p, source, call, func(d pace.Outcome[string, client.NumberInfo]) error {
		f := fetched{current: CurrentOf(d.Answer)}
		if d.Err != nil {
			f.err = d.Err
		}
		pick.fetched[d.Item] = f
		j.api.known.add([]client.NumberInfo{d.Answer}) // kept for the run; one without every key is read again
		return nil
	})
}

// learnRow says whether row changes its number, from what the run knows,
// what prefetch read, or a read of the number: those are extra cost, at
// most spare of them. A number the API refuses to read (4xx: not
// on the account) counts as changing: its update will be refused too, and
// the canary names it. One it did not answer for (5xx, a timeout), or whose
// answer lacks a field the row sets, is not known: an update "changed" and
// a read-back holding the targets would prove nothing.
func (j *jobRun) learnRow(ctx context.Context, spare int) func(Row, *canaryPick) (int, error) {
	return func(r Row, pick *canaryPick) (int, error) {
		current, ok := j.api.known.get(r.Number)
		f, done := pick.fetched[r.Number]
		if !ok && !done { // a read the run would not make: prefetch made the others
			if pick.spare == spare {
				return unread, nil
			}
			pick.reads++
			pick.spare++
			f.err = j.p.Do(ctx, func(ctx context.Context) error {
				info, err := j.api.Client.GetNumber(ctx, r.Number)
				f.current = CurrentOf(info)
				return err
			})
		}
		if !ok {
			current = f.current
			if pe, ok := client.AsAPIError(f.err); f.err != nil && (j.p.Err() != nil || !ok || pe.StatusCode/100 != 4) {
				return failed, j.p.Err()
			} else if f.err != nil {
				return changes, nil
			}
		}
		// A field the answer lacked is unknown: only a known one that
		// differs proves that the update changes the number.
		d := r.Targets.Differs(current)
		switch {
		case slices.ContainsFunc(d, func(f Field) bool { return current[f].Set }):
			return changes, nil
		case len(d) > 0:
			pick.key = client.SettingKeys[d[0]]
			return keyless, nil
		}
		return holds, nil
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
// the run goes on, since it changes nothing. When some rows are not known,
// the run stops: they may change numbers unchecked.
func (j *jobRun) canaryFound(log *slog.Logger) error {
	c := j.canary
	switch {
	case len(c.rows) > 0:
		log.Info("canary chosen: rows that change their number", "rows", len(c.rows), "reads", c.reads)
	case c.rowsBy[unread]+c.rowsBy[failed]+c.rowsBy[keyless] > 0:
		return &NoCanaryRowError{Unread: c.rowsBy[unread], Failed: c.rowsBy[failed], Keyless: c.rowsBy[keyless],
			Spare: c.spare, Key: c.key, ByPage: j.sum.Read.Chosen == ReadPage}
	case j.sum.Read.Rows+c.reads > 0:
		log.Warn("canary: no row needs a change, every number holds its targets already: nothing to test, the canary neither passes nor fails; the run goes on and changes nothing")
	}
	return nil
}

// NoCanaryRowError is ErrNoCanaryRow with why: no row the canary could see
// needs a change, but some it could not see, for each of these causes.
type NoCanaryRowError struct {
	Unread  int    // rows left unread, its Spare reads spent
	Failed  int    // rows whose read failed
	Keyless int    // rows whose read lacked a key the row sets
	Spare   int    // reads the run would not have made
	Key     string // a key a Keyless read lacked
	ByPage  bool   // the run listed the account
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
