package main

// End-to-end tests of --verify: read back by the page, the listing after
// the updates is a filter, a read of the number the proof; a stop between an
// update and its read-back leaves the row applied but unverified.

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// verifyFront stands before a sandbox of verifyNumbers numbers, all on
// e2eAppStart. Once the first update came, it answers the updates of
// noop's numbers "changed" without applying them (noop[n] times; -1 always),
// and serves the listing with faults: the page at failOffset answers 500,
// and with shift the page at 20 starts one number late (the number 20 is
// missed) and the page at 40 one early (the numbers 39 and 40 are shown
// twice, and 59, after it, missed). block, when set, holds the listing after
// the updates (with holdUpdates, the answers of the updates, applied) until
// closed.
type verifyFront struct {
	fx          *e2eFixture
	r           *e2eRunner // its environment points at the front
	failOffset  int
	shift       bool
	block       chan struct{}
	holdUpdates bool

	mu      sync.Mutex
	noop    map[string]int
	posts   map[string]int // updates answered, by number
	reads   map[string]int // reads of one number once the updates started
	lists   int            // listing pages once the updates started
	waiting int            // requests block holds
}

const verifyNumbers = 100

// newVerifyFront returns the front, and its runner with every number of the
// account moved to e2eAppA in numbers.csv.
func newVerifyFront(t *testing.T, noop map[string]int) *verifyFront {
	f := &verifyFront{failOffset: -1, noop: maps.Clone(noop), posts: map[string]int{}, reads: map[string]int{}}
	f.fx, f.r, _, _ = e2eMoveAll(t, sandbox.Config{}, 0, verifyNumbers, e2eAppA, f.handle)
	return f
}

func (f *verifyFront) hold() {
	f.mu.Lock()
	f.waiting++
	f.mu.Unlock()
	<-f.block
}

func (f *verifyFront) handle(w http.ResponseWriter, q *http.Request) bool {
	parts := strings.Split(strings.Trim(q.URL.Path, "/"), "/") // v1 Account {id} Number [{number}]
	isNumber := len(parts) == 5 && parts[3] == "Number"
	f.mu.Lock()
	updating := len(f.posts) > 0
	switch {
	case isNumber && q.Method == http.MethodPost:
		n := parts[4]
		f.posts[n]++
		if left := f.noop[n]; left != 0 {
			f.noop[n] = left - 1
			f.mu.Unlock()
			e2eAnswer(w, http.StatusAccepted, "application/json", `{"message":"changed","api_id":"00000000-0000-0000-0000-000000000000"}`)
			return true
		}
		if f.block != nil && f.holdUpdates {
			f.mu.Unlock()
			rec := httptest.NewRecorder()
			f.fx.ServeHTTP(rec, q) // applied now, answered once released
			f.hold()
			e2eAnswer(w, rec.Code, "application/json", rec.Body.String())
			return true
		}
	case isNumber && updating:
		f.reads[parts[4]]++
	case len(parts) == 4 && parts[3] == "Number" && updating:
		f.lists++
		f.mu.Unlock()
		if f.block != nil && !f.holdUpdates {
			f.hold()
		}
		off, _ := strconv.Atoi(q.URL.Query().Get("offset"))
		switch {
		case off == f.failOffset:
			http.Error(w, `{"error":"server error"}`, http.StatusInternalServerError)
			return true
		case f.shift && off == 20:
			off = 21
		case f.shift && off == 40:
			off = 39
		}
		v := q.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		q.URL.RawQuery = v.Encode()
		return false
	}
	f.mu.Unlock()
	return false
}

// verifyArgs is a run of numbers.csv with --verify, its summary at summary.
func verifyArgs(summary string, extra ...string) []string {
	return append([]string{"run", "--input", "numbers.csv", "--report", "report.csv", "--verify", "--backoff-base", "1ms", "--rate", "0", "--progress", "never", "--summary", summary}, extra...)
}

// TestVerifyByPage_listingIsAFilterAReadTheProof: 100 rows on a 100-number
// account read back by the page, while the listing fails a page, shifts
// (a number missed, one shown twice) and shows numbers whose update was
// answered "changed" but not applied. Each of those is read on its own; the
// unapplied ones, and only they, are sent again and read back; the one
// never applied ends failed after --max-attempts; every other row is ok
// and its number holds its target.
func TestVerifyByPage_listingIsAFilterAReadTheProof(t *testing.T) {
	t.Parallel()
	noop := map[string]int{e2eNumber(3): 1, e2eNumber(65): 1, e2eNumber(88): 2, e2eNumber(7): -1}
	f := newVerifyFront(t, noop)
	f.failOffset, f.shift = 60, true
	res := f.r.run(verifyArgs("summary.json", "--max-attempts", "3")...)
	e2eExit(t, "run (one row failed)", res, 1)
	byRow := e2eEveryRowOnce(t, e2eReadReport(t, f.r.path("report.csv")), verifyNumbers)
	for i := range verifyNumbers {
		n, r := e2eNumber(i), byRow[i+2]
		got, _ := f.fx.srv.Number(n)
		switch {
		case i == 7:
			if r.Status != "failed" || !strings.Contains(r.Error, "app_id=\""+e2eAppStart+"\"") || f.posts[n] != 3 {
				t.Errorf("number 7, never applied: %s %q after %d updates; want failed with what it holds, after 3", r.Status, r.Error, f.posts[n])
			}
		case r.Status != "ok" || got.AppID != e2eAppA:
			t.Errorf("number %d: %s %q, holds %s; want ok, holding %s", i, r.Status, r.Error, got.AppID, e2eAppA)
		}
		// Read on its own: what the listing did not show holding its
		// target (the page that failed, the number missed, the one shown
		// twice, those not applied); nothing else.
		ownRead := i >= 59 && i < 80 || i == 20 || i == 39 || i == 40 || noop[n] != 0
		if (f.reads[n] > 0) != ownRead {
			t.Errorf("number %d read on its own %d times after the updates; want reads: %v", i, f.reads[n], ownRead)
		}
		if wantPosts := map[bool]int{true: 1 + max(noop[n], 0), false: 1}[noop[n] > 0]; i != 7 && f.posts[n] != wantPosts {
			t.Errorf("number %d updated %d times, want %d", i, f.posts[n], wantPosts)
		}
	}
	s := e2eReadSummary[summaryFile](t, f.r.path("summary.json"))
	if v := s.Verify; s.OK != 99 || s.Failed != 1 || s.Unverified != 0 || v.Chosen != "page" || v.Rows != 100 || v.Listed != 100-21-3-3 || v.Resent != 1+1+2+2 {
		t.Errorf("summary %+v; want 99 ok, 1 failed, read back by page: 100 rows, 73 listed, 6 updates sent again", s)
	}
	e2eHas(t, "stderr", res.stderr, "Read-back: by page after the updates: 100 rows")
}

// TestVerify_stopBeforeTheReadBackLeavesRowsUnverified: a stop (Ctrl-C in
// process, kill -9 of the binary) while the first updates wait for their
// answers (applied by the sandbox), or while the listing after the updates
// runs, ends the run; the rows applied are unverified with their api_id in
// the report, and counted apart in the --summary file and the JSON log. A
// resume reads them back rather than sending them again, sends the rest,
// and sends again the one whose update was answered "changed" but not
// applied; the report, then one line per row, is trusted by the next resume
// as it is.
func TestVerify_stopBeforeTheReadBackLeavesRowsUnverified(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		sig      syscall.Signal
		inFlight bool   // stopped while 4 updates wait for their answers (each read back right after), not in the listing after the updates
		read     string // --verify-read
	}{{"updates in flight", syscall.SIGINT, true, "each"}, {"read-back listing", syscall.SIGINT, false, "page"}, {"read-back listing, killed", syscall.SIGKILL, false, "page"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newVerifyFront(t, map[string]int{e2eNumber(5): 1})
			f.block, f.holdUpdates = make(chan struct{}), tt.inFlight
			release := sync.OnceFunc(func() { close(f.block) })
			t.Cleanup(release) // before the front closes, which waits for the held answers
			r, held := f.r, map[bool]int{true: 4, false: 1}[tt.inFlight]
			if tt.sig == syscall.SIGKILL {
				r = r.binary()
			}
			p := r.start(nil, verifyArgs("summary.json", "--verify-read", tt.read, "--concurrency", "4", "--log-format", "json")...)
			e2eWaitFor(t, 30*time.Second, "the held requests", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.waiting >= held || p.exited() })
			p.signal(tt.sig)
			if tt.sig == syscall.SIGINT {
				e2eWaitFor(t, 10*time.Second, "the stop", func() bool {
					return slices.ContainsFunc(e2eJSONLogs(p.stderr.String()), func(m map[string]any) bool {
						msg, _ := m["msg"].(string)
						return strings.HasPrefix(msg, "interrupted: ")
					})
				})
			}
			release()
			res := p.wait()
			unverified := map[string]bool{}
			for _, row := range e2eAttempted(e2eReadReport(t, r.path("report.csv"))) {
				unverified[row.Number] = true
				if got, _ := f.fx.srv.Number(row.Number); row.Status != "unverified" || row.HTTPStatus != "202" || row.APIID == "" || (got.AppID == e2eAppA) == (row.Number == e2eNumber(5)) {
					t.Errorf("report row %d: %s %s %q (number on %s); want unverified 202 with its api_id, applied but number 5", row.Row, row.Status, row.HTTPStatus, row.APIID, got.AppID)
				}
			}
			u := map[bool]int{true: 4, false: verifyNumbers}[tt.inFlight]
			if len(unverified) != u {
				t.Fatalf("the stopped run reported %d rows, want %d", len(unverified), u)
			}
			if tt.sig == syscall.SIGINT {
				e2eExit(t, "run", res, exitInterrupted)
				end := e2eLog(res.stderr, "run finished")
				if s := e2eReadSummary[summaryFile](t, r.path("summary.json")); s.Unverified != u || s.OK != 0 || s.Failed != 0 || s.NotAttempted != verifyNumbers-u ||
					end == nil || end["unverified"] != float64(u) || end["failed"] != float64(0) {
					t.Errorf("summary file %+v, log %v; want %d rows unverified, the rest not attempted", s, end, u)
				}
			}
			// The resume: every unverified row read back, the others sent,
			// number 5 sent again once its update was found not applied.
			f.mu.Lock()
			clear(f.posts)
			f.mu.Unlock()
			e2eExit(t, "resume", f.r.run(verifyArgs("resumed.json", "--resume", "--verify-read", tt.read)...), 0)
			for i := range verifyNumbers {
				n := e2eNumber(i)
				got, _ := f.fx.srv.Number(n)
				if want := map[bool]int{true: 0, false: 1}[unverified[n]] + map[bool]int{true: 1}[i == 5]; f.posts[n] != want || got.AppID != e2eAppA {
					t.Errorf("resume: number %d updated %d times (want %d), holds %s", i, f.posts[n], want, got.AppID)
				}
			}
			// --verify-read each reads each number right after its update, though
			// the listing would cost less: no listing after the updates.
			if s := e2eReadSummary[summaryFile](t, f.r.path("resumed.json")); s.OK != verifyNumbers || s.AlreadyOK != 0 || s.Verify.Chosen != tt.read || (s.Verify.Resent == 1) != (tt.read == "page") || tt.read == "each" && f.lists != 0 {
				t.Errorf("resume summary %+v, %d listing pages after the updates; want every row ok, read back %s, by page 1 sent again (one by one, a retry, no listing)", s, f.lists, tt.read)
			}
			e2eEveryRowOnce(t, e2eReadReport(t, f.r.path("report.csv")), verifyNumbers)
			// The report, now one line per row, is trusted as it is: no ok row is sent again.
			f.mu.Lock()
			clear(f.posts)
			f.mu.Unlock()
			res = f.r.run(verifyArgs("again.json", "--resume", "--verify-read", tt.read)...)
			if s := e2eReadSummary[summaryFile](t, f.r.path("again.json")); res.code != 0 || len(f.posts) != 0 || s.AlreadyOK != verifyNumbers {
				t.Errorf("second resume: exit %d, %d numbers updated, summary %+v; want every row already ok, none sent:\n%s", res.code, len(f.posts), s, res.stderr)
			}
			e2eEveryRowOnce(t, e2eReadReport(t, f.r.path("report.csv")), verifyNumbers)
		})
	}
}
