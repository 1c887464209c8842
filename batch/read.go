package batch

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// ReadMode says how a job learns the current settings of its numbers.
type ReadMode string

// The read modes.
const (
	ReadAuto ReadMode = "auto" // the listing's first page tells the account's size: the cheaper of page and each
	ReadPage ReadMode = "page" // list the whole account, 20 numbers a request
	ReadEach ReadMode = "each" // read each number on its own
	readNone ReadMode = "none" // what a ReadPlan says when no row needed the settings
)

// Set parses a ReadMode, for a flag.
func (m *ReadMode) Set(s string) error {
	switch ReadMode(s) {
	case ReadAuto, ReadPage, ReadEach:
		*m = ReadMode(s)
		return nil
	}
	return errors.New("want auto, page or each")
}

func (m ReadMode) String() string { return string(m) }

// ReadPlan is how a job learned the current settings of its numbers, and
// what that cost.
type ReadPlan struct {
	Asked          ReadMode // --read
	Chosen         ReadMode // what auto chose, or what was asked
	Rows           int      // rows whose number's settings were needed
	AccountNumbers int      // the account's count, from the listing's first page; 0 when not listed
	Pages          int      // listing requests, the first included
	Found          int      // needed numbers the listing gave; the rest are read one by one
}

// Requests is the pages, plus a read for each needed number the listing did not give.
func (r ReadPlan) Requests() int { return r.Pages + r.Rows - r.Found }

// learnState learns, as Read says, the settings of the numbers the rows
// need into j.known; a page that cannot be read leaves its numbers to read one by one.
func (j *jobRun) learnState(ctx context.Context) error {
	var keys []uint64 // one per row that needs its number's settings
	err := j.Input.Each(ctx, func(r Row) error {
		// --read page lists for the canary too: it never runs out of reads.
		if j.toSend(r) && (j.Step.NeedsState(r) || j.Canary > 0 && j.Read == ReadPage) {
			keys = append(keys, NumberKey(r.Number))
		}
		return nil
	})
	plan := &j.sum.Read
	*plan = ReadPlan{Asked: cmp.Or(j.Read, ReadAuto), Chosen: ReadEach, Rows: len(keys)}
	j.known = newSnapshot(keys) // reading one by one, the canary's reads go in it
	if len(keys) == 0 {
		plan.Chosen = readNone
	}
	if err != nil || len(keys) == 0 || plan.Asked == ReadEach {
		return err
	}
	plan.Pages, err = j.list(ctx, j.known.add, func(n int) bool {
		plan.AccountNumbers = n
		if plan.Asked == ReadAuto && pageCount(n) >= len(keys) {
			return false // listing costs more than reading the rows' numbers
		}
		plan.Chosen = ReadPage
		return true
	})
	plan.Found = j.known.found
	return err
}

func pageCount(n int) int { return (n + client.MaxPageSize - 1) / client.MaxPageSize }

// list hands each page of the listing to take, from one goroutine: the
// first, then the rest if more(count) says so. A page that cannot be read
// is left out, its numbers the caller's to read one by one. It returns the
// pages read, the failed ones included; err is the run's when it halted.
func (j *jobRun) list(ctx context.Context, take func([]client.NumberInfo), more func(count int) bool) (pages int, err error) {
	failed := 0
	_, err = listPages(ctx, j.p, j.Client, client.ListParams{}, client.MaxPageSize, more, func(_ int, pg client.NumberPage, err *client.APIError) error {
		if pages++; err != nil {
			failed++
		} else {
			take(pg.Objects)
		}
		return nil
	})
	switch {
	case pages == 0 && j.p.Err() != nil:
		return 1, j.p.Err()
	case pages == 0:
		j.Log.Warn("could not list the account's numbers; reading each number on its own", "error", err.Error())
		return 1, nil
	case err == nil && failed > 0:
		j.Log.Warn("some pages of the listing could not be read; their numbers are read one by one", "pages", failed)
	}
	return pages, err
}

// listPages reads the listing's first page, then, if more(count) says so,
// the page at every step after it through the pool, handing each to take
// from one goroutine (err: why that page could not be read). It returns the
// offsets past the first; a first page that cannot be read is its error.
func listPages(ctx context.Context, p *pace.Pacer, cl *client.Client, q client.ListParams, step int,
	more func(count int) bool, take func(off int, pg client.NumberPage, err *client.APIError) error) ([]int, error) {
	page := func(ctx context.Context, off int) (client.NumberPage, error) {
		q := q
		q.Limit, q.Offset = client.MaxPageSize, off
		return cl.ListNumbers(ctx, q)
	}
	var first client.NumberPage
	if err := p.Do(ctx, func(ctx context.Context) (err error) { first, err = page(ctx, 0); return err }); err != nil {
		return nil, err
	}
	rest := more(first.TotalCount)
	if err := take(0, first, nil); err != nil || !rest {
		return nil, err
	}
	var offsets []int // pages overlapping by one number (step < MaxPageSize) end a number early
	for off := step; off+client.MaxPageSize-step < first.TotalCount; off += step {
		offsets = append(offsets, off)
	}
	return offsets, each(ctx, p, offsets, page, func(d pace.Outcome[int, client.NumberPage]) error { return take(d.Item, d.Answer, d.Err) })
}

func readNumber(ctx context.Context, cl *client.Client, number string) (Targets, error) {
	info, err := cl.GetNumber(ctx, number)
	if err != nil {
		return Targets{}, err
	}
	return currentOf(info), nil
}

// currentOf turns a number's settings as read into Targets; a key the answer lacked is not Set.
func currentOf(info client.NumberInfo) Targets {
	t := Targets{{info.AppID(), true}, {info.SubaccountID(), true}, {info.Alias, true}, {info.ComplianceApplicationID, true}}
	for _, k := range info.Missing {
		t[slices.Index(client.SettingKeys, k)] = Setting{} // SettingKeys are in Field order
	}
	return t
}

// snapshot holds the input's numbers' settings as the listing gave them,
// packed: a map of a million numbers' Targets is over the memory target.
type snapshot struct {
	keys    []uint64 // NumberKey of the numbers wanted, sorted
	vals    []known  // by index of keys
	ids     []string // the app, subaccount and compliance ids; 0 is ""
	idOf    map[string]uint32
	aliases []byte
	found   int  // wanted numbers the listing gave
	strict  bool // the read-back's rule: trust no number shown twice or without every key
}

const doubted = math.MaxUint32 // known.n of a number a strict snapshot does not trust

// known is a number's settings: ids index snapshot.ids, the alias is
// aliases[alias:alias+n-1]; n is 0 when the listing did not give it.
type known struct{ app, sub, compliance, alias, n uint32 }

func newSnapshot(keys []uint64) *snapshot {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return &snapshot{keys: keys, vals: make([]known, len(keys)), ids: []string{""}, idOf: map[string]uint32{"": 0}}
}

func (s *snapshot) intern(id string) uint32 {
	i, ok := s.idOf[id]
	if !ok {
		i = uint32(len(s.ids))
		s.ids, s.idOf[id] = append(s.ids, id), i
	}
	return i
}

// add keeps what a listing says of the wanted numbers with every setting.
func (s *snapshot) add(objects []client.NumberInfo) {
	for _, o := range objects {
		n, bad := NormalizeNumber(o.Number)
		i, ok := slices.BinarySearch(s.keys, NumberKey(n))
		if ok && s.strict && (s.vals[i].n != 0 || len(o.Missing) > 0) {
			s.vals[i].n = doubted
		}
		if bad != "" || !ok || len(o.Missing) > 0 || s.vals[i].n == doubted || len(s.aliases)+len(o.Alias) >= math.MaxUint32 {
			continue
		}
		if s.vals[i].n == 0 {
			s.found++
		}
		at := uint32(len(s.aliases))
		s.aliases = append(s.aliases, o.Alias...)
		s.vals[i] = known{s.intern(o.AppID()), s.intern(o.SubaccountID()), s.intern(o.ComplianceApplicationID), at, uint32(len(o.Alias)) + 1}
	}
}

// get returns a number's settings, if the listing gave them. The workers
// only read the snapshot: it is written before the run.
func (s *snapshot) get(number string) (Targets, bool) {
	i, ok := slices.BinarySearch(s.keys, NumberKey(number))
	if !ok || s.vals[i].n == 0 || s.vals[i].n == doubted {
		return Targets{}, false
	}
	k := s.vals[i]
	return Targets{{s.ids[k.app], true}, {s.ids[k.sub], true}, {string(s.aliases[k.alias : k.alias+k.n-1]), true}, {s.ids[k.compliance], true}}, true
}
