package batch

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
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
	holding       bool           // the update pass: its applied rows wait for the read-back
	reading       bool           // the read-back pass
	pin           bool           // Update.PinApp
	budget        int32          // --max-attempts: the updates a row may get in all
	updates       int            // rows the estimate found to update
	rows          []held         // sorted byNumber once the updates are done
	pins          []string       // the apps pinned, interned; pins[0] is none
	pinOf         map[string]uint32
	odd           map[int32]string // api_ids that are no UUID, by line
	reads, resent atomic.Int64
}

// held is a row to read back in 48 bytes, so that a million fit: what its
// number must hold is kept as a hash, compared with what the listing shows.
type held struct {
	key    uint64   // NumberKey
	want   uint64   // settingsHash of what the number must hold
	api    [16]byte // the update's api_id, a UUID packed
	line   int32
	sent   int32  // updates sent; atomic once the read-back starts
	pin    uint32 // the app_id sent with a row that sets none, in verifier.pins; 0 for none
	status int16  // the update's HTTP status; 0 for a row an earlier run sent
	fields uint8  // bit f: the number must hold field f
	listed uint8  // shownHolds, shownOther or 0
}

const (
	shownHolds = 1 + iota // listed once, holding its targets
	shownOther            // otherwise, or more than once
)

// newVerifier sets a --verify run up: a row an earlier run left unverified
// is taken out of the update pass, as if completed, to be read back.
func (j *jobRun) newVerifier() {
	u, ok := j.Step.(Update)
	if !ok || !u.Verify {
		return
	}
	v := &verifier{done: j.Completed, plan: &j.sum.Verify, pin: u.PinApp, budget: int32(cmp.Or(j.Pace.MaxAttempts, pace.DefaultMaxAttempts)),
		pins: []string{""}, pinOf: map[string]uint32{}, odd: map[int32]string{}}
	j.verify = v
	if un := j.Unverified; un != nil {
		j.Completed = func(r Row) bool { return un(r) || v.done != nil && v.done(r) }
	}
}

// count is told, by the estimate, each valid row not settled by the
// listing: a resumed one (completed) left unverified is held to read back,
// one to send counts as an update to read back.
func (v *verifier) count(j *jobRun, r Row, completed bool) {
	switch {
	case v == nil || j.canary.rows[r.Line] || v.done != nil && v.done(r):
	case completed:
		h := held{key: NumberKey(r.Number), line: int32(r.Line), sent: 1}
		h.want, h.fields = settingsHash(r.Targets)
		v.rows = append(v.rows, h)
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
	updates, resumed := v.updates, len(v.rows) // as the estimate counted them
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

// readBack reads back the rows held once the updates are done (err nil):
// by the page when so chosen, then on its own each row the listing did not
// show holding its targets.
func (j *jobRun) readBack(ctx context.Context, err error) error {
	v := j.verify
	if v == nil || err != nil || len(v.rows) == 0 {
		return err
	}
	defer func() {
		v.plan.Reads, v.plan.Resent = v.plan.Reads+int(v.reads.Load()), int(v.resent.Load())
	}()
	page := v.holding
	v.holding, v.reading = false, true
	slices.SortFunc(v.rows, func(a, b held) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.line, b.line)) })
	v.plan.Rows += len(v.rows)
	if page {
		pages, err := j.list(ctx, v.take, func(int) bool { return true })
		if v.plan.Pages += pages; err != nil {
			return err
		}
		err = j.Input.Each(ctx, func(r Row) error { // shown holding its targets: ok, no request of its own
			if h := v.find(r); h != nil && h.listed == shownHolds {
				v.plan.Listed++
				j.record(Result{Row: r, Status: StatusOK, HTTPStatus: cmp.Or(int(h.status), 200), APIID: v.apiID(h)})
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	j.Log.Info("reading back the updated numbers", "rows", len(v.rows), "way", string(v.plan.Chosen), "pages", v.plan.Pages, "listed", v.plan.Listed)
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

// search finds the row of number k and line in v.rows. It reads only
// those fields: the read-back's workers add to sent meanwhile.
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

// readBackStep reads on its own a row the listing did not show holding its
// targets; only a mismatch that read confirms is sent again (while
// --max-attempts allows) and read back again.
type readBackStep struct{ v *verifier }

func (readBackStep) NeedsState(Row) bool                { return false }
func (readBackStep) Requests(Row) int                   { return 1 }
func (readBackStep) settle(Row, Targets) (Answer, bool) { return Answer{}, false }

func (s readBackStep) attempt(ctx context.Context, j *jobRun, r Row, permit func() bool) (Answer, error) {
	h := s.v.find(r)
	t := r.Targets
	if h.pin != 0 {
		t[AppID] = Setting{Value: s.v.pins[h.pin], Set: true}
	}
	ans := Answer{HTTPStatus: cmp.Or(int(h.status), 200), APIID: s.v.apiID(h)}
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
	if atomic.AddInt32(&h.sent, 1) <= s.v.budget {
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

// settingsHash hashes (FNV-1a, 64 bits) the set fields of t, and says which.
func settingsHash(t Targets) (sum uint64, fields uint8) {
	sum = 14695981039346656037
	for f, s := range t {
		if s.Set {
			fields |= 1 << f
			for i := 0; i < len(s.Value); i++ {
				sum = (sum ^ uint64(s.Value[i])) * 1099511628211
			}
			sum = (sum ^ uint64(0x100+f)) * 1099511628211 // ends the value: no byte is 0x100
		}
	}
	return sum, fields
}

// holds reports whether a listed number's settings are what h wants; a key
// the listing lacked is not.
func (h *held) holds(current Targets) bool {
	var t Targets
	for f := range t {
		if h.fields&(1<<f) != 0 {
			if !current[f].Set {
				return false
			}
			t[f] = current[f]
		}
	}
	sum, _ := settingsHash(t)
	return sum == h.want
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
