package batch

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
)

// VerifyPlan is how a --verify run reads its updated numbers back and what
// that costs: expected in the Estimate, done in the Summary. The canary's
// read-backs are not counted here.
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

// verifier reads back by the page, once the updates are sent, the rows a
// --verify run updated (the listing a filter, a read the proof), and the
// rows an earlier run left unverified, whatever the way. Until read back a
// row is reported unverified, so that --resume reads it back.
type verifier struct {
	plan          *VerifyPlan
	done          func(Row) bool // Job.Completed as given: resumed unverified rows are read back, not done
	reading       bool           // the read-back pass; by the page, the update pass holds its applied rows for it
	pin           bool           // Update.PinApp
	budget        int32          // --max-attempts: the updates a row may get in all
	updates       int            // rows the estimate found to update
	rows          []held         // by line
	keys          []uint64       // NumberKey of the rows held
	odd           map[int]string // api_ids that are no UUID, by line
	reads, resent atomic.Int64
}

// held is a row to read back, in 40 bytes a line so that a million fit.
type held struct {
	api    [16]byte // the update's api_id, a UUID packed
	pin    string   // the app_id sent with a row that sets none, if pinned
	sent   int32    // updates sent, 0 for a row not held; atomic once the read-back starts
	status int16    // the update's HTTP status; 0 for a row an earlier run sent
	pinned bool
	listed bool // shown by the listing holding its targets
}

// newVerifier sets a --verify run up: a row an earlier run left unverified
// is taken out of the update pass, as if completed, to be read back.
func (j *jobRun) newVerifier() {
	u, ok := j.Step.(Update)
	if !ok || !u.Verify {
		return
	}
	v := &verifier{done: j.Completed, plan: &j.sum.Verify, pin: u.PinApp, budget: int32(cmp.Or(j.Pace.MaxAttempts, pace.DefaultMaxAttempts)), odd: map[int]string{}}
	j.verify = v
	if un := j.Unverified; un != nil {
		j.Completed = func(r Row) bool { return un(r) || v.done != nil && v.done(r) }
	}
}

// put holds row r to read back.
func (v *verifier) put(r Row, h held) {
	if r.Line >= len(v.rows) {
		v.rows = slices.Grow(v.rows, r.Line+1-len(v.rows))[:r.Line+1]
	}
	v.rows[r.Line] = h
	v.keys = append(v.keys, NumberKey(r.Number))
}

// count is told, by the estimate, each valid row not settled by the
// listing: a resumed one (completed) left unverified is held to read back,
// one to send counts as an update to read back.
func (v *verifier) count(j *jobRun, r Row, completed bool) {
	switch {
	case v == nil || j.canary.rows[r.Line] || v.done != nil && v.done(r):
	case completed:
		v.put(r, held{sent: 1})
	default:
		v.updates++
	}
}

// planVerify chooses how a --verify run reads back, counts it in est, and
// sets the job up for it.
func (j *jobRun) planVerify(ctx context.Context, est *Estimate) error {
	v := j.verify
	if v == nil {
		return nil
	}
	u := j.Step.(Update)
	plan := VerifyPlan{Asked: cmp.Or(j.VerifyRead, ReadAuto), Chosen: ReadEach}
	updates, resumed := v.updates, len(v.keys) // as the estimate counted them
	n := j.sum.Read.AccountNumbers
	if plan.Asked == ReadAuto && n == 0 && updates+resumed > client.MaxPageSize { // the account's size decides; a page tells it
		pages, err := j.list(ctx, func([]client.NumberInfo) {}, func(count int) bool { n = count; return false })
		if err != nil {
			return err
		}
		est.Requests += pages
		j.sum.Verify.Pages += pages
	}
	pages := max(1, pageCount(n))
	if plan.Asked == ReadPage || plan.Asked == ReadAuto && n > 0 && pages < updates+resumed {
		plan.Chosen = ReadPage
		v.rows, v.keys = slices.Grow(v.rows, max(0, j.Input.Rows()+2-len(v.rows))), slices.Grow(v.keys, updates) // a million rows: no copy left behind
		u.Verify = false                                                                                         // read back after the updates instead
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
	return nil
}

// hold turns a result on its way to the report, and says whether to record
// it: in the update pass an applied row becomes unverified until read back;
// in the read-back a row that was stopped keeps its unverified line.
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
			// The report's attempts are the updates sent, resends included, not the reads; the row
			// was counted for the failure budget in the update pass, and record counts it again.
			r.ReadBack, r.Attempts = true, int(h.sent)
			j.attempted--
		}
	case v.plan.Chosen == ReadPage && r.Status == StatusOK:
		h := held{sent: int32(r.Attempts), status: int16(r.HTTPStatus)}
		if v.pin && !r.Row.Targets[AppID].Set {
			h.pin, h.pinned = r.Current[AppID].Value, true
		}
		if b, ok := packUUID(r.APIID); ok {
			h.api = b
		} else {
			v.odd[r.Row.Line] = r.APIID
		}
		v.put(r.Row, h)
		r.Status = StatusUnverified
		r.Error = fmt.Sprintf("applied (answered %d), not verified yet: read back once every update is sent", r.HTTPStatus)
	case r.Status == StatusOK && r.Attempts > 0 || r.Kind == client.KindVerify: // read back right after its update
		v.plan.Rows++
		v.plan.Reads++
	}
	return r, true
}

// readBack reads back the rows held once the updates are done (err nil):
// by the page when so chosen, then on its own each row the listing did not
// show holding its targets.
func (j *jobRun) readBack(ctx context.Context, err error) error {
	v := j.verify
	if v == nil || err != nil || len(v.keys) == 0 {
		return err
	}
	defer func() {
		v.plan.Reads, v.plan.Resent = v.plan.Reads+int(v.reads.Load()), int(v.resent.Load())
	}()
	v.reading = true
	v.plan.Rows += len(v.keys)
	if v.plan.Chosen == ReadPage {
		// The run's snapshot is done with: this one holds what the listing shows of the rows held,
		// trusting no number it shows twice or without every key.
		j.known = newSnapshot(v.keys)
		j.known.strict = true
		pages, err := j.list(ctx, j.known.add, func(int) bool { return true })
		if v.plan.Pages += pages; err != nil {
			return err
		}
		err = j.Input.Each(ctx, func(r Row) error { // shown holding its targets: ok, no request of its own
			if h := v.find(r); h != nil {
				if current, ok := j.known.get(r.Number); ok && v.targets(r, h).Holds(current) {
					h.listed = true
					v.plan.Listed++
					j.record(Result{Row: r, Status: StatusOK, HTTPStatus: cmp.Or(int(h.status), 200), APIID: v.apiID(r, h)})
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	j.Log.Info("reading back the updated numbers", "rows", len(v.keys), "way", string(v.plan.Chosen), "pages", v.plan.Pages, "listed", v.plan.Listed)
	j.Completed = v.done
	return j.send(ctx, readBackStep{v}, func(r Row) bool { h := v.find(r); return h != nil && !h.listed })
}

// find returns the held row r, or nil.
func (v *verifier) find(r Row) *held {
	if r.Line < len(v.rows) && v.rows[r.Line].sent > 0 {
		return &v.rows[r.Line]
	}
	return nil
}

// targets is what r's number must hold: the row's targets and the app pinned.
func (v *verifier) targets(r Row, h *held) Targets {
	t := r.Targets
	if h.pinned {
		t[AppID] = Setting{Value: h.pin, Set: true}
	}
	return t
}

// apiID is the api_id of h's update, "" for a row an earlier run sent.
func (v *verifier) apiID(r Row, h *held) string {
	if id, ok := v.odd[r.Line]; ok || h.status == 0 {
		return id
	}
	return unpackUUID(h.api)
}

// readBackStep reads on its own a row the listing did not show holding its
// targets; only a mismatch that read confirms is sent again (while
// --max-attempts allows) and read back again.
type readBackStep struct{ v *verifier }

func (readBackStep) NeedsState(Row) bool                { return false }
func (readBackStep) Requests(Row) int                   { return 1 }
func (readBackStep) settle(Row, Targets) (Answer, bool) { return Answer{}, false }

func (s readBackStep) attempt(ctx context.Context, j *jobRun, r Row, permit func() bool) (Answer, error) {
	h := s.v.find(r)
	t := s.v.targets(r, h)
	ans := Answer{HTTPStatus: cmp.Or(int(h.status), 200), APIID: s.v.apiID(r, h)}
	read := func() (bool, error) {
		s.v.reads.Add(1)
		info, err := j.Client.GetNumber(ctx, r.Number)
		if err != nil {
			return false, prefixed("read back after the update", err)
		}
		ans.Current, ans.APIID = currentOf(info), cmp.Or(ans.APIID, info.APIID)
		return t.Holds(ans.Current), unknown(ans.Current, t) // a key missing is no mismatch to act on
	}
	stopped := &client.APIError{Kind: client.KindInterrupted, Message: "stopped before the read-back"}
	if ok, err := read(); err != nil || ok {
		return ans, err
	}
	if atomic.LoadInt32(&h.sent) < s.v.budget { // past the budget, a read that sends nothing counts nothing
		atomic.AddInt32(&h.sent, 1)
		if !permit() {
			return ans, stopped
		}
		ch, err := j.Client.UpdateNumber(ctx, r.Number, t.Params())
		if err != nil {
			return ans, err
		}
		s.v.resent.Add(1)
		ans.HTTPStatus, ans.APIID = ch.HTTPStatus, ch.APIID
		if !permit() {
			return ans, stopped
		}
		if ok, err := read(); err != nil || ok {
			return ans, err
		}
	}
	return ans, &client.APIError{StatusCode: ans.HTTPStatus, APIID: ans.APIID, Kind: client.KindVerify, // the next attempt reads first
		Message: "read back after the update: the server holds " + describeFields(ans.Current, t.Differs(ans.Current))}
}

// packUUID packs an api_id that is a UUID in lower case into 16 bytes.
func packUUID(s string) (b [16]byte, ok bool) {
	if len(s) != 36 {
		return b, false
	}
	_, err := hex.Decode(b[:], []byte(s[:8]+s[9:13]+s[14:18]+s[19:23]+s[24:]))
	return b, err == nil && unpackUUID(b) == s
}

func unpackUUID(b [16]byte) string {
	x := hex.EncodeToString(b[:])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
