package batch

import (
	"context"
	"log/slog"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// ReadPlan is how a job learned the current settings of its numbers, and
// what that cost: what the summary and the start of a run say.
type ReadPlan struct {
	Asked  ReadMode // --read
	Chosen ReadMode // what auto chose, or what was asked
	Rows   int      // rows whose number's settings were needed
	// AccountNumbers is the account's count of numbers, as the first page
	// of its listing gave it (0 when it was not listed).
	AccountNumbers int
	Pages          int // listing requests, the first included
	Found          int // needed numbers the listing gave; the rest are read one by one
}

// Requests is what learning the settings costs: the pages, plus one read
// for each needed number the listing did not give.
func (r ReadPlan) Requests() int { return r.Pages + r.Rows - r.Found }

// pageCount is the requests a listing of n numbers takes.
func pageCount(n int) int { return (n + client.MaxPageSize - 1) / client.MaxPageSize }

// learnState learns the settings of the rows' numbers (keys, one per row
// that needs them) as mode says. It returns a snapshot of what a listing
// gave. A page that cannot be read costs nothing but time: its numbers are
// read one by one.
func learnState(ctx context.Context, p *pace.Pacer, cl *client.Client, mode ReadMode, keys []uint64, log *slog.Logger) (*snapshot, ReadPlan, error) {
	plan := ReadPlan{Asked: mode, Chosen: ReadEach, Rows: len(keys)}
	snap := newSnapshot(keys) // empty when reading one by one: the canary's reads go in it
	switch {
	case len(keys) == 0:
		plan.Chosen = readNone
		return snap, plan, nil
	case mode == ReadEach:
		return snap, plan, nil
	}
	var first client.NumberPage
	err := p.Do(ctx, func(ctx context.Context) error {
		var err error
		first, err = cl.ListNumbers(ctx, client.ListParams{Limit: client.MaxPageSize})
		return err
	})
	plan.Pages = 1
	if err != nil {
		if p.Err() != nil {
			return nil, plan, p.Err()
		}
		log.Warn("could not list the account's numbers; reading each number on its own", "error", err.Error())
		return snap, plan, nil
	}
	snap.add(first.Objects)
	plan.AccountNumbers = first.TotalCount
	pages := pageCount(first.TotalCount)
	if mode == ReadAuto && pages >= len(keys) {
		// Listing costs more than reading the rows' numbers: keep what the
		// first page gave and read the rest one by one.
		plan.Found = snap.found()
		return snap, plan, nil
	}
	plan.Chosen = ReadPage
	var offsets []int
	for off := client.MaxPageSize; off < first.TotalCount; off += client.MaxPageSize {
		offsets = append(offsets, off)
	}
	failed := 0
	source := func(f pace.Feed[int, client.NumberPage]) error {
		for _, off := range offsets {
			if err := f.Send(off); err != nil {
				return err
			}
		}
		return nil
	}
	call := func(ctx context.Context, off int, _ func() bool) (client.NumberPage, error) {
		return cl.ListNumbers(ctx, client.ListParams{Limit: client.MaxPageSize, Offset: off})
	}
	err = pace.Run(ctx, p, source, call, func(d pace.Outcome[int, client.NumberPage]) error {
		plan.Pages++
		if d.Err != nil {
			failed++
			return nil
		}
		snap.add(d.Answer.Objects)
		return nil
	})
	plan.Found = snap.found()
	if err != nil {
		return nil, plan, err
	}
	if failed > 0 {
		log.Warn("some pages of the listing could not be read; their numbers are read one by one", "pages", failed)
	}
	return snap, plan, nil
}
