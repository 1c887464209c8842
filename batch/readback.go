package batch

import (
	"cmp"
	"context"
	"encoding/hex"
	"sync/atomic"

	"github.com/plivo-bulk/plivo-bulk/client"
)

// readBackStep is the read-back's step for a row the listing did not show
// holding its targets: it is read on its own, and only when that read
// confirms the mismatch is it sent again (while --max-attempts allows) and
// read back again.
type readBackStep struct{ v *verifier }

func (readBackStep) NeedsState(Row) bool                { return false }
func (readBackStep) Requests(Row) int                   { return 1 }
func (readBackStep) settle(Row, Targets) (Answer, bool) { return Answer{}, false }

func (s readBackStep) attempt(ctx context.Context, j *jobRun, r Row, permit func() bool) (Answer, error) {
	h := s.v.find(r)
	t := s.v.targets(r, h)
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
	mismatch := func() error { // retried while --max-attempts allows: the next attempt reads first
		return &client.APIError{StatusCode: ans.HTTPStatus, APIID: ans.APIID, Kind: client.KindVerify,
			Message: "read back after the update: the server holds " + describeFields(ans.Current, t.Differs(ans.Current))}
	}
	if ok, err := read(); err != nil || ok {
		return ans, err
	}
	if atomic.AddInt32(&h.sent, 1) > s.v.budget {
		return ans, mismatch()
	}
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
	return ans, mismatch()
}

func byNumber(a, b held) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.line, b.line)) }

// settingsHash hashes (FNV-1a, 64 bits) the set fields of t, and says which.
func settingsHash(t Targets) (sum uint64, fields uint8) {
	sum = 14695981039346656037
	for f, s := range t {
		if !s.Set {
			continue
		}
		fields |= 1 << f
		for i := 0; i < len(s.Value); i++ {
			sum = (sum ^ uint64(s.Value[i])) * 1099511628211
		}
		sum = (sum ^ uint64(0x100+f)) * 1099511628211 // ends the value: no byte is 0x100
	}
	return sum, fields
}

// holds reports whether a listed number's settings are what h wants.
func (h *held) holds(current Targets) bool {
	var t Targets
	for f := range t {
		if h.fields&(1<<f) != 0 {
			if !current[f].Set {
				return false // a key the listing lacked: the number is read on its own
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
