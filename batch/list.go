package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// Listing is a job that reads every number of the account (that matches
// Filter) by the page: export's job. Its pages go through the same pacer,
// retry policy and account check as a Job's rows.
type Listing struct {
	Client *client.Client
	Pace   pace.Config
	Filter client.ListParams // Limit and Offset are set by the job
	// Sink receives each number once, with its settings, from one
	// goroutine, in the order pages complete.
	Sink func(number string, current Targets) error
	// Begin, when set, is called once the first page told how many numbers
	// match, with the pages the listing takes.
	Begin func(numbers, pages int)
	// Page, when set, is called after each page, for progress.
	Page func()
	Log  *slog.Logger
}

// ListSummary counts what a Listing did.
type ListSummary struct {
	Numbers     int // distinct numbers handed to the sink
	Counted     int // numbers the account said match, on the first page
	Pages       int // pages read, the failed ones included
	FailedPages int
	Elapsed     time.Duration
	Stats       pace.Stats
}

// step is how far each page of an export starts after the one before:
// pages overlap by one number, to see the listing shift.
const step = client.MaxPageSize - 1

// listRequests is what listing n numbers costs: pages that overlap by one
// number, and one more page for the count at the end.
func listRequests(n int) int { return max(1, (n+step-2)/step) + 1 }

// ErrIncomplete is returned by List when pages could not be read.
var ErrIncomplete = errors.New("the listing is incomplete")

// ErrChanged is returned by List, once every number was handed over, when
// the account changed while it was listed: a number bought or released
// meanwhile may be missing, or listed though it is gone.
var ErrChanged = errors.New("the account changed while it was listed")

// exported are the fields an export records: a number the listing gives
// without one of them is read on its own.
var exported = Targets{AppID: {Set: true}, Subaccount: {Set: true}, Alias: {Set: true}}

// List reads the account's numbers by the page. A page that fails after
// its retries makes the listing incomplete (ErrIncomplete); a number seen
// twice (the listing moved while it was read) is handed over once. Offset
// pages are no snapshot, so each page after the first starts at the last
// number of the one before, and the count is read again at the end: a
// page that does not join up or a count that moved means ErrChanged.
func List(ctx context.Context, l Listing) (sum ListSummary, err error) {
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := pace.New(ctx, l.Pace)
	start := time.Now()
	defer func() { sum.Stats, sum.Elapsed = p.Stats(), time.Since(start) }()
	defer p.Close()
	if err := checkAccount(ctx, p, l.Client, log); err != nil {
		return sum, err
	}
	if l.Page == nil {
		l.Page = func() {}
	}
	seen := map[uint64]struct{}{}
	var partial []string        // listed without every exported field: read on their own at the end
	ends := map[int][2]string{} // each page's first and last number, by offset
	notNumbers := 0
	take := func(off int, objects []client.NumberInfo) error {
		if len(objects) > 0 {
			ends[off] = [2]string{objects[0].Number, objects[len(objects)-1].Number}
		}
		for _, o := range objects {
			n, bad := NormalizeNumber(o.Number)
			if bad != "" {
				log.Warn("the listing gave a number that is not one; left out", "number", o.Number)
				notNumbers++
				continue
			}
			k := NumberKey(n)
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			cur := CurrentOf(o)
			if unknown(cur, exported) != nil {
				partial = append(partial, n)
				continue
			}
			sum.Numbers++
			if err := l.Sink(n, cur); err != nil {
				return err
			}
		}
		return nil
	}
	page := func(ctx context.Context, off int) (client.NumberPage, error) {
		q := l.Filter
		q.Limit, q.Offset = client.MaxPageSize, off
		return l.Client.ListNumbers(ctx, q)
	}

	var first client.NumberPage
	if err := p.Do(ctx, func(ctx context.Context) (err error) { first, err = page(ctx, 0); return err }); err != nil {
		return sum, listError(err)
	}
	sum.Pages, sum.Counted = 1, first.TotalCount
	if l.Begin != nil {
		l.Begin(first.TotalCount, listRequests(first.TotalCount))
	}
	if err := take(0, first.Objects); err != nil {
		return sum, err
	}
	l.Page()
	source := func(f pace.Feed[int, client.NumberPage]) error {
		for off := step; off+1 < first.TotalCount; off += step {
			if err := f.Send(off); err != nil {
				return err
			}
		}
		return nil
	}
	call := func(ctx context.Context, off int, _ func() bool) (client.NumberPage, error) { return page(ctx, off) }
	err = pace.Run(ctx, p, source, call, func(d pace.Outcome[int, client.NumberPage]) error {
		sum.Pages++
		l.Page()
		if d.Err != nil {
			sum.FailedPages++
			log.Warn("a page of the listing could not be read", "offset", d.Item, "error", d.Err.Message)
			return nil
		}
		return take(d.Item, d.Answer.Objects)
	})
	switch {
	case err != nil:
		return sum, err
	case sum.FailedPages > 0:
		return sum, fmt.Errorf("%w: %d of %d pages could not be read", ErrIncomplete, sum.FailedPages, sum.Pages)
	}
	incomplete := func(what string, err error) error {
		if p.Err() != nil {
			return p.Err() // the job halted: a signal, bad credentials
		}
		return fmt.Errorf("%w: %s: %w", ErrIncomplete, what, err)
	}
	var again client.NumberPage
	if err := p.Do(ctx, func(ctx context.Context) (err error) { again, err = page(ctx, 0); return err }); err != nil {
		return sum, incomplete("the count could not be read again", err)
	}
	sum.Pages++
	l.Page()
	for _, n := range partial {
		var cur Targets
		err := p.Do(ctx, func(ctx context.Context) error {
			info, err := l.Client.GetNumber(ctx, n)
			if cur = CurrentOf(info); err == nil {
				return unknown(cur, exported)
			}
			return err
		})
		if err != nil {
			return sum, incomplete("number "+n, err)
		}
		sum.Numbers++
		if err := l.Sink(n, cur); err != nil {
			return sum, err
		}
	}
	torn := 0 // pages that do not start where the one before ended
	for off := step; off+1 < first.TotalCount; off += step {
		if ends[off][0] != ends[off-step][1] {
			torn++
		}
	}
	if listed := len(seen) + notNumbers; torn > 0 || again.TotalCount != sum.Counted || listed != sum.Counted {
		return sum, fmt.Errorf("%w (%d numbers counted before, %d after, %d listed; %d of %d pages did not start where the one before ended): "+
			"a number bought or released meanwhile may be missing, or listed though gone; export again for a consistent copy",
			ErrChanged, sum.Counted, again.TotalCount, listed, torn, sum.Pages-2)
	}
	return sum, nil
}

// listError says why the first page failed.
func listError(err error) error {
	if pe, ok := err.(*client.APIError); ok {
		if pe.Kind == client.KindAuth {
			return fmt.Errorf("%w: authentication failed (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, pe.Message)
		}
		return fmt.Errorf("%w: the first page could not be read: %s", ErrIncomplete, pe.Message)
	}
	return err
}
