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

// ErrIncomplete is returned by List when pages could not be read.
var ErrIncomplete = errors.New("the listing is incomplete")

// List reads the account's numbers by the page. A page that fails after
// its retries makes the listing incomplete (ErrIncomplete); a number seen
// twice (the listing moved while it was read) is handed over once.
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
	seen := map[uint64]struct{}{}
	take := func(objects []client.NumberInfo) error {
		for _, o := range objects {
			n, bad := NormalizeNumber(o.Number)
			if bad != "" {
				log.Warn("the listing gave a number that is not one; left out", "number", o.Number)
				continue
			}
			k := NumberKey(n)
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			sum.Numbers++
			if err := l.Sink(n, CurrentOf(o)); err != nil {
				return err
			}
		}
		return nil
	}
	page := func(ctx context.Context, off int) (client.NumberPage, error) {
		q := l.Filter
		q.Limit, q.Offset = client.MaxPageSize, off
		pg, err := l.Client.ListNumbers(ctx, q)
		if err != nil {
			return pg, ToPaceError(err)
		}
		return pg, nil
	}

	var first client.NumberPage
	if err := p.Do(ctx, func(ctx context.Context) (err error) { first, err = page(ctx, 0); return err }); err != nil {
		return sum, listError(err)
	}
	sum.Pages, sum.Counted = 1, first.TotalCount
	if l.Begin != nil {
		l.Begin(first.TotalCount, pageCount(first.TotalCount))
	}
	if err := take(first.Objects); err != nil {
		return sum, err
	}
	if l.Page != nil {
		l.Page()
	}
	source := func(f pace.Feed[int, client.NumberPage]) error {
		for off := client.MaxPageSize; off < first.TotalCount; off += client.MaxPageSize {
			if err := f.Send(off); err != nil {
				return err
			}
		}
		return nil
	}
	call := func(ctx context.Context, off int, _ func() bool) (client.NumberPage, error) { return page(ctx, off) }
	err = pace.Run(ctx, p, source, call, func(d pace.Outcome[int, client.NumberPage]) error {
		sum.Pages++
		if l.Page != nil {
			l.Page()
		}
		if d.Err != nil {
			sum.FailedPages++
			log.Warn("a page of the listing could not be read", "offset", d.Item, "error", d.Err.Message)
			return nil
		}
		return take(d.Answer.Objects)
	})
	switch {
	case err != nil:
		return sum, err
	case sum.FailedPages > 0:
		return sum, fmt.Errorf("%w: %d of %d pages could not be read", ErrIncomplete, sum.FailedPages, sum.Pages)
	case sum.Numbers < sum.Counted:
		log.Warn("the account changed while it was listed: fewer numbers were listed than it counted; list it again for a complete copy",
			"counted", sum.Counted, "listed", sum.Numbers)
	}
	return sum, nil
}

// listError says why the first page failed.
func listError(err error) error {
	if pe, ok := err.(*pace.Error); ok {
		if pe.Kind == pace.KindAuth {
			return fmt.Errorf("%w: authentication failed (%s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN", ErrAborted, pe.Message)
		}
		return fmt.Errorf("%w: the first page could not be read: %s", ErrIncomplete, pe.Message)
	}
	return err
}
