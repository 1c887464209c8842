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

// Listing is export's job: every number of the account that matches
// Filter, read by the page through a pacer.
type Listing struct {
	Client *client.Client
	Pace   pace.Config
	Filter client.ListParams                          // Limit and Offset are set by the job
	Sink   func(number string, current Targets) error // each number once, from one goroutine
	Begin  func(numbers, pages int)                   // told the count the first page gave
	Page   func()                                     // called after each page
	Log    *slog.Logger
}

// ListSummary counts what a Listing did.
type ListSummary struct {
	Numbers     int // handed to the sink
	Counted     int // the count the first page gave
	Pages       int // read, the failed ones included
	FailedPages int
	Elapsed     time.Duration
	Stats       pace.Stats
}

// step is how far each page starts after the one before: they overlap by
// one number, to see the listing shift.
const step = client.MaxPageSize - 1

var (
	ErrIncomplete = errors.New("the listing is incomplete")               // pages could not be read
	ErrChanged    = errors.New("the account changed while it was listed") // numbers may be missing, or listed though gone
)

// exported are the fields an export records: a number listed without one is read on its own.
var exported = Targets{AppID: {Set: true}, Subaccount: {Set: true}, Alias: {Set: true}}

// List hands each of the account's numbers to the sink once. Offset pages
// are no snapshot: each page starts at the last number of the one before,
// and the count is read again at the end; a seam that does not join up or
// a count that moved is ErrChanged.
func List(ctx context.Context, l Listing) (sum ListSummary, err error) {
	log := l.Log
	p := pace.New(ctx, l.Pace)
	start := time.Now()
	defer func() { sum.Stats, sum.Elapsed = p.Stats(), time.Since(start) }()
	defer p.Close()
	if err := checkAccount(ctx, p, l.Client, log); err != nil {
		return sum, err
	}
	seen := map[uint64]bool{}   // NumberKey: 8 bytes a number
	var partial []string        // read on their own at the end
	ends := map[int][2]string{} // each page's first and last number, by offset
	notNumbers := 0
	take := func(off int, objects []client.NumberInfo) error {
		if len(objects) > 0 {
			ends[off] = [2]string{objects[0].Number, objects[len(objects)-1].Number}
		}
		for _, o := range objects {
			n, bad := NormalizeNumber(o.Number)
			switch cur := currentOf(o); {
			case bad != "":
				log.Warn("the listing gave a number that is not one; left out", "number", o.Number)
				notNumbers++
			case seen[NumberKey(n)]: // the listing moved while it was read
			case unknown(cur, exported) != nil:
				seen[NumberKey(n)] = true
				partial = append(partial, n)
			default:
				seen[NumberKey(n)] = true
				sum.Numbers++
				if err := l.Sink(n, cur); err != nil {
					return err
				}
			}
		}
		return nil
	}
	offsets, err := listPages(ctx, p, l.Client, l.Filter, step, func(count int) bool {
		sum.Counted = count
		l.Begin(count, max(1, (count+step-2)/step)+1) // and the count again at the end
		return true
	}, func(off int, pg client.NumberPage, err *client.APIError) error {
		sum.Pages++
		defer l.Page()
		if err != nil {
			sum.FailedPages++
			log.Warn("a page of the listing could not be read", "offset", off, "error", err.Message)
			return nil
		}
		return take(off, pg.Objects)
	})
	incomplete := func(what string, err error) error {
		if p.Err() != nil {
			return p.Err() // the job halted: a signal, bad credentials
		}
		return fmt.Errorf("%w: %s: %w", ErrIncomplete, what, err)
	}
	if _, failed := err.(*client.APIError); sum.Pages == 0 && failed {
		return sum, incomplete("the first page could not be read", err)
	} else if err == nil && sum.FailedPages > 0 {
		err = fmt.Errorf("%w: %d of %d pages could not be read", ErrIncomplete, sum.FailedPages, sum.Pages)
	}
	if err != nil {
		return sum, err
	}
	var again client.NumberPage
	q := l.Filter
	q.Limit = client.MaxPageSize
	if err := p.Do(ctx, func(ctx context.Context) (err error) { again, err = l.Client.ListNumbers(ctx, q); return err }); err != nil {
		return sum, incomplete("the count could not be read again", err)
	}
	sum.Pages++
	l.Page()
	for _, n := range partial {
		var cur Targets
		err := p.Do(ctx, func(ctx context.Context) (err error) {
			if cur, err = readNumber(ctx, l.Client, n); err == nil {
				err = unknown(cur, exported)
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
	for _, off := range offsets {
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
