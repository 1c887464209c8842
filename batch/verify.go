package batch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// VerifyPlan is how a --verify run reads its updated numbers back, and what
// that costs: before the run (Estimate) what it expects, after it (Summary)
// what it did. The canary's read-backs are the canary's, not counted here.
type VerifyPlan struct {
	Asked  ReadMode // --verify-read
	Chosen ReadMode // page: list the account after the updates; each: read each number right after its update
	Rows   int      // rows read back
	Pages  int      // listing requests
	Listed int      // rows the listing showed holding their targets: verified without a read of their own
	Reads  int      // reads of one number
	Resent int      // updates sent again because a read confirmed a mismatch
}

// Requests is what reading back costs, the updates sent again included.
func (v VerifyPlan) Requests() int { return v.Pages + v.Reads + v.Resent }

// verifier reads back, once the updates are sent, the rows a --verify run
// updated, when listing the account costs fewer requests than reading each:
// the listing is a filter, a read of the number the proof. It also reads
// back the rows an earlier run sent but did not verify (resumed), whatever
// the way. Until read back, a row is reported unverified: a run that stops
// first leaves that line, and --resume reads the row back.
type verifier struct {
	plan                  *VerifyPlan
	done                  func(Row) bool // Job.Completed as given: resumed unverified rows are read back, not done
	holding               bool           // the update pass: its applied rows wait for the read-back
	reading               bool           // the read-back pass
	pin                   bool           // Update.PinApp: a row without app_id was sent with the number's app
	budget                int32          // --max-attempts: the updates a row may get in all
	rows                  []held         // by number (byNumber) once the updates are done
	pins                  []string       // the apps pinned, interned; pins[0] is none
	pinOf                 map[string]uint32
	odd                   map[int32]string // api_ids that are no UUID, by line
	listed, reads, resent atomic.Int64
}

// held is a row to read back, in 48 bytes: a million of them fit next to
// the rest of the run. What its number must hold is kept as a hash (as the
// report's resume keeps the rows done): the listing's settings are compared
// with it, and a number is read on its own unless they match.
type held struct {
	key    uint64   // NumberKey
	want   uint64   // settingsHash of what the number must hold
	api    [16]byte // the update's api_id, a UUID packed
	line   int32
	sent   int32  // updates sent; atomic once the read-back starts
	pin    uint32 // the app_id sent with a row that sets none, in verifier.pins; 0 for none
	status int16  // the update's HTTP status; 0 for a row an earlier run sent
	fields uint8  // bit f: the number must hold field f
	listed uint8  // what the listing showed
}

// What the listing showed of a held row's number.
const (
	shownHolds = 1 + iota // once, holding its targets
	shownOther            // otherwise, or more than once
)

// newVerifier sets a --verify run up: a row an earlier run left unverified
// is taken out of the update pass, as if completed, to be read back.
func (j *jobRun) newVerifier() {
	if u, ok := j.Step.(Update); !ok || !u.Verify {
		return
	}
	v := &verifier{done: j.Completed, plan: &j.sum.Verify, pins: []string{""}, pinOf: map[string]uint32{}, odd: map[int32]string{}}
	j.verify = v
	if un := j.Unverified; un != nil {
		j.Completed = func(r Row) bool { return un(r) || v.done != nil && v.done(r) }
	}
}

// planVerify chooses how a --verify run reads back, counts it in est, and
// sets the job up for it. Before it, Run took the rows that an earlier run
// left unverified out of the update pass (as if completed).
func (j *jobRun) planVerify(ctx context.Context, est *Estimate) error {
	v := j.verify
	if v == nil {
		return nil
	}
	u := j.Step.(Update)
	plan := VerifyPlan{Asked: cmp.Or(j.VerifyRead, ReadAuto), Chosen: ReadEach}
	updates, resumed := 0, 0
	err := j.Input.Each(ctx, func(r Row) error {
		switch {
		case r.Invalid != "" || j.invalid(r) != "" || j.canary.rows[r.Line] || v.done != nil && v.done(r):
		case !j.toSend(r):
			resumed++
			h := held{key: NumberKey(r.Number), line: int32(r.Line), sent: 1}
			h.want, h.fields = settingsHash(r.Targets)
			v.rows = append(v.rows, h)
		default:
			if cur, ok := j.known.get(r.Number); ok && u.NeedsState(r) {
				if _, settled := u.settle(r, cur); settled {
					return nil
				}
			}
			updates++
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := j.sum.Read.AccountNumbers
	if plan.Asked == ReadAuto && n == 0 && updates+resumed > client.MaxPageSize {
		// The account's size decides; one page tells it.
		_ = j.p.Do(ctx, func(ctx context.Context) error {
			pg, err := j.Client.ListNumbers(ctx, client.ListParams{Limit: 1})
			if err != nil {
				return err
			}
			n = pg.TotalCount
			return nil
		})
		if j.p.Err() != nil {
			return j.p.Err()
		}
		est.Requests++
		j.sum.Verify.Pages++
	}
	pages := max(1, pageCount(n))
	if plan.Asked == ReadPage || plan.Asked == ReadAuto && n > 0 && pages < updates+resumed {
		plan.Chosen = ReadPage
		v.holding, v.rows = true, slices.Grow(v.rows, updates)
		u.Verify = false // read back after the updates instead
		j.Step = u
		est.Requests += pages - updates
	} else {
		est.Requests += resumed
	}
	est.AlreadyOK -= resumed
	est.ToSend += resumed // to read back
	j.sum.Unverified += resumed
	plan.Rows, plan.Pages = updates+resumed, j.sum.Verify.Pages // the count read, if it was
	if plan.Chosen == ReadPage {
		plan.Pages += pages
	} else {
		plan.Reads = plan.Rows
	}
	est.Verify = plan
	j.sum.Verify.Asked, j.sum.Verify.Chosen = plan.Asked, plan.Chosen
	v.pin = u.PinApp
	v.budget = int32(cmp.Or(j.Pace.MaxAttempts, pace.DefaultMaxAttempts))
	return nil
}

// hold turns a result on its way to the report: in the update pass, an
// applied row becomes unverified until read back; in the read-back, a row
// that was stopped stays unverified (its last line says so) and no line is
// written. It says whether to record r.
func (j *jobRun) hold(r Result) (Result, bool) {
	v := j.verify
	switch {
	case j.canary.rows[r.Row.Line]:
	case v.reading:
		if r.Kind == client.KindInterrupted {
			return r, false
		}
		j.sum.Unverified--
		if h := v.find(r.Row); h != nil && h.status != 0 { // this run's, not a resumed row
			r.ReadBack = true
			if r.Attempts > 0 {
				j.attempted-- // counted in the update pass already
			}
		}
	case v.holding && r.Status == StatusOK:
		t := r.Row.Targets
		h := held{key: NumberKey(r.Row.Number), line: int32(r.Row.Line), sent: int32(r.Attempts), status: int16(r.HTTPStatus)}
		if v.pin && !t[AppID].Set {
			t[AppID] = r.Current[AppID]
			if h.pin = v.pinOf[t[AppID].Value]; h.pin == 0 {
				h.pin = uint32(len(v.pins))
				v.pins, v.pinOf[t[AppID].Value] = append(v.pins, t[AppID].Value), h.pin
			}
		}
		h.want, h.fields = settingsHash(t)
		if b, ok := packUUID(r.APIID); ok {
			h.api = b
		} else {
			v.odd[h.line] = r.APIID
		}
		v.rows = append(v.rows, h)
		r.Status = StatusUnverified
		r.Error = fmt.Sprintf("applied (answered %d), not verified yet: read back once every update is sent", r.HTTPStatus)
	case r.Status == StatusOK && r.Attempts > 0 || r.Kind == client.KindVerify: // read back right after its update
		v.plan.Rows++
		v.plan.Reads++
	}
	return r, true
}

// readBack reads back the rows held, once the updates are done (err nil):
// by the page when so chosen, then each row the listing did not show
// holding its targets on its own.
func (j *jobRun) readBack(ctx context.Context, err error) error {
	v := j.verify
	if v == nil || err != nil || len(v.rows) == 0 {
		return err
	}
	defer func() {
		v.plan.Listed, v.plan.Reads, v.plan.Resent = int(v.listed.Load()), v.plan.Reads+int(v.reads.Load()), int(v.resent.Load())
	}()
	page := v.holding
	v.holding, v.reading = false, true
	slices.SortFunc(v.rows, byNumber)
	v.plan.Rows += len(v.rows)
	if page {
		pages, err := j.list(ctx, v.take, func(int) bool { return true })
		v.plan.Pages += pages
		if err != nil {
			return err
		}
		// A row the listing showed holding its targets is verified: ok, and
		// no request of its own.
		err = j.Input.Each(ctx, func(r Row) error {
			if h := v.find(r); h != nil && h.listed == shownHolds {
				v.listed.Add(1)
				j.record(Result{Row: r, Status: StatusOK, HTTPStatus: cmp.Or(int(h.status), 200), APIID: v.apiID(h)})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	j.Log.Info("reading back the updated numbers", "rows", len(v.rows), "way", string(v.plan.Chosen), "pages", v.plan.Pages, "listed", v.listed.Load())
	j.Completed = v.done
	return j.send(ctx, readBackStep{v}, func(r Row) bool { h := v.find(r); return h != nil && h.listed != shownHolds })
}

// take marks what a page of the listing shows of the held rows' numbers.
func (v *verifier) take(objects []client.NumberInfo) {
	for _, o := range objects {
		n, bad := NormalizeNumber(o.Number)
		if bad != "" {
			continue
		}
		k, current := NumberKey(n), currentOf(o)
		for i := v.search(k, 0); i < len(v.rows) && v.rows[i].key == k; i++ {
			if h := &v.rows[i]; h.listed == 0 && h.holds(current) {
				h.listed = shownHolds
			} else {
				h.listed = shownOther // shown twice: the listing moved, trust neither
			}
		}
	}
}

// find returns the held row r, or nil.
func (v *verifier) find(r Row) *held {
	k, line := NumberKey(r.Number), int32(r.Line)
	if i := v.search(k, line); i < len(v.rows) && v.rows[i].key == k && v.rows[i].line == line {
		return &v.rows[i]
	}
	return nil
}

// search returns where the row of number k and line is, or would be, in
// v.rows. It reads only those two fields of each row: the workers of the
// read-back add to sent meanwhile.
func (v *verifier) search(k uint64, line int32) int {
	return sort.Search(len(v.rows), func(i int) bool { h := &v.rows[i]; return h.key > k || h.key == k && h.line >= line })
}

// apiID is the api_id of h's update, "" for a row an earlier run sent.
func (v *verifier) apiID(h *held) string {
	if id, ok := v.odd[h.line]; ok || h.status == 0 {
		return id
	}
	return unpackUUID(h.api)
}

// targets is what the number of row r must hold: its targets, and the app
// pinned when it was sent.
func (v *verifier) targets(r Row, h *held) Targets {
	t := r.Targets
	if h.pin != 0 {
		t[AppID] = Setting{Value: v.pins[h.pin], Set: true}
	}
	return t
}
