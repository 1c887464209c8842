package main

// End-to-end tests of --verify reading back by the page: the listing after
// the updates is a filter, a read of the number the proof.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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
// twice, and 59, after it, missed).
// block, when set, holds the first listing after the updates until closed,
// after telling listing.
type verifyFront struct {
	srv        *sandbox.Server
	authID     string
	failOffset int
	shift      bool
	listing    chan struct{}
	block      chan struct{}

	mu    sync.Mutex
	noop  map[string]int
	posts map[string]int // updates answered, by number
	reads map[string]int // reads of one number once the updates started
	lists int            // listing pages once the updates started
	url   string
}

const verifyNumbers = 100

func verifyNumber(i int) string { return fmt.Sprintf("1202557%04d", i) }

func newVerifyFront(t *testing.T, noop map[string]int) *verifyFront {
	cfg := sandbox.Config{AuthID: "MAVERIFYTESTACCOUNT1", AuthToken: "verifyTestToken1234567890"}
	f := &verifyFront{srv: sandbox.New(cfg), authID: cfg.AuthID, failOffset: -1, noop: maps.Clone(noop), posts: map[string]int{}, reads: map[string]int{}}
	f.srv.AddApplication(e2eAppStart, "Old IVR")
	f.srv.AddApplication(e2eAppA, "Support line")
	for i := range verifyNumbers {
		f.srv.AddNumber(sandbox.Number{Number: verifyNumber(i), AppID: e2eAppStart, Alias: "old", ComplianceStatus: "accepted"})
	}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

func (f *verifyFront) ServeHTTP(w http.ResponseWriter, q *http.Request) {
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
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"message":"changed","api_id":"00000000-0000-0000-0000-000000000000"}`)
			return
		}
	case isNumber && updating:
		f.reads[parts[4]]++
	case len(parts) == 4 && parts[3] == "Number" && updating:
		f.lists++
		block := f.block
		if block != nil && f.listing != nil {
			close(f.listing)
			f.listing = nil
		} else {
			block = nil
		}
		f.mu.Unlock()
		if block != nil {
			<-block
		}
		off, _ := strconv.Atoi(q.URL.Query().Get("offset"))
		switch {
		case off == f.failOffset:
			http.Error(w, `{"error":"server error"}`, http.StatusInternalServerError)
			return
		case f.shift && off == 20:
			off = 21
		case f.shift && off == 40:
			off = 39
		}
		v := q.URL.Query()
		v.Set("offset", strconv.Itoa(off))
		q.URL.RawQuery = v.Encode()
		f.srv.ServeHTTP(w, q)
		return
	}
	f.mu.Unlock()
	f.srv.ServeHTTP(w, q)
}

func (f *verifyFront) env() func(string) string {
	return envOf(map[string]string{"PLIVO_API_URL": f.url, "PLIVO_AUTH_ID": f.authID, "PLIVO_AUTH_TOKEN": "verifyTestToken1234567890"})
}

// verifyInput writes every number of the account with app_id e2eAppA.
func verifyInput(t *testing.T, dir string) string {
	var b strings.Builder
	b.WriteString("number,app_id\n")
	for i := range verifyNumbers {
		fmt.Fprintf(&b, "%s,%s\n", verifyNumber(i), e2eAppA)
	}
	path := filepath.Join(dir, "numbers.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// verifyLatest reads a report's latest line per number, as resume does.
func verifyLatest(t *testing.T, path string) map[string]e2eReportRow {
	t.Helper()
	latest := map[string]e2eReportRow{}
	for _, r := range e2eReadReport(t, path) {
		latest[r.Number] = r
	}
	return latest
}

// verifyOneLinePerRow reads a report as encoding/csv does: its header, then
// exactly one line per input row, as a count of statuses needs.
func verifyOneLinePerRow(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 || recs[0][0] != "row" {
		t.Fatalf("report %s: %v, want a CSV with its header first", path, err)
	}
	rows := map[string]bool{}
	for _, rec := range recs[1:] {
		rows[rec[0]] = true
	}
	if len(recs)-1 != verifyNumbers || len(rows) != verifyNumbers {
		t.Errorf("report holds %d lines for %d rows, want one line for each of the %d input rows", len(recs)-1, len(rows), verifyNumbers)
	}
}

type verifySummary struct {
	OK, Failed, Unverified int
	AlreadyOK              int `json:"already_ok"`
	NotAttempted           int `json:"not_attempted"`
	Verify                 struct {
		Chosen                             string
		Rows, Pages, Listed, Reads, Resent int
	}
}

func readVerifySummary(t *testing.T, path string) verifySummary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s verifySummary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
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
	noop := map[string]int{verifyNumber(3): 1, verifyNumber(65): 1, verifyNumber(88): 2, verifyNumber(7): -1}
	f := newVerifyFront(t, noop)
	f.failOffset, f.shift = 60, true
	dir := t.TempDir()
	report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
	code, _, stderr := runWith(t, f.env(), nil, "run", "--input", verifyInput(t, dir), "--report", report, "--verify",
		"--max-attempts", "3", "--backoff-base", "1ms", "--rate", "0", "--progress", "never", "--summary", summary)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one row failed):\n%s", code, stderr)
	}
	verifyOneLinePerRow(t, report)
	latest := verifyLatest(t, report)
	for i := range verifyNumbers {
		n := verifyNumber(i)
		r := latest[n]
		got, _ := f.srv.Number(n)
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
	s := readVerifySummary(t, summary)
	if v := s.Verify; s.OK != 99 || s.Failed != 1 || s.Unverified != 0 || v.Chosen != "page" || v.Rows != 100 || v.Listed != 100-21-3-3 || v.Resent != 1+1+2+2 {
		t.Errorf("summary %+v; want 99 ok, 1 failed, read back by page: 100 rows, 73 listed, 6 updates sent again", s)
	}
	if !strings.Contains(stderr, "Read-back: by page after the updates: 100 rows") {
		t.Errorf("the printed summary does not say how it read back:\n%s", stderr)
	}
}

// TestVerifyByPage_stopDuringTheReadBackLeavesRowsUnverified: Ctrl-C while
// the listing after the updates runs ends the run (130); every row is
// applied and unverified, and a resume reads them back, sending again only
// the one whose update was answered "changed" but not applied.
func TestVerifyByPage_stopDuringTheReadBackLeavesRowsUnverified(t *testing.T) {
	t.Parallel()
	f := newVerifyFront(t, map[string]int{verifyNumber(5): 1})
	listing := make(chan struct{})
	f.listing, f.block = listing, make(chan struct{})
	dir := t.TempDir()
	input, report, summary := verifyInput(t, dir), filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
	args := []string{"run", "--input", input, "--report", report, "--verify", "--rate", "0", "--progress", "never", "--summary", summary}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		var out bytes.Buffer
		e2eForks.runStarts()
		defer e2eForks.runEnds()
		done <- run(t.Context(), stop, args, f.env(), nil, &out, &out)
	}()
	select {
	case <-listing:
	case err := <-done:
		t.Fatalf("the run ended (%v) before its read-back", err)
	}
	close(stop)
	close(f.block)
	if err := <-done; codeOf(err) != exitInterrupted {
		t.Fatalf("exit %d (%v), want %d", codeOf(err), err, exitInterrupted)
	}
	for n, r := range verifyLatest(t, report) {
		if r.Status != "unverified" || r.APIID == "" {
			t.Errorf("number %s: %s %q, want unverified with its api_id", n, r.Status, r.APIID)
		}
	}
	if s := readVerifySummary(t, summary); s.Unverified != verifyNumbers || s.OK != 0 || s.NotAttempted != 0 {
		t.Errorf("summary %+v, want every row unverified", s)
	}
	verifyResume(t, f, report, input)

	// The report, now one line per row, is trusted as it is: no ok row is sent again.
	f.mu.Lock()
	clear(f.posts)
	f.mu.Unlock()
	code, _, stderr := runWith(t, f.env(), nil, "run", "--input", input, "--report", report, "--verify", "--resume",
		"--rate", "0", "--progress", "never", "--summary", summary)
	if s := readVerifySummary(t, summary); code != 0 || len(f.posts) != 0 || s.AlreadyOK != verifyNumbers {
		t.Errorf("second resume: exit %d, %d numbers updated, summary %+v; want every row already ok, none sent:\n%s", code, len(f.posts), s, stderr)
	}
	verifyOneLinePerRow(t, report)
}

// verifyResume resumes a run stopped before its read-back: every row is
// read back, the one not applied (number 5) sent again, no other.
func verifyResume(t *testing.T, f *verifyFront, report, input string) {
	t.Helper()
	summary := filepath.Join(filepath.Dir(report), "resumed.json")
	f.mu.Lock()
	f.failOffset, f.shift = -1, false
	for n := range f.posts {
		f.posts[n] = 0
	}
	f.mu.Unlock()
	code, _, stderr := runWith(t, f.env(), nil, "run", "--input", input, "--report", report, "--verify", "--resume",
		"--rate", "0", "--progress", "never", "--summary", summary)
	if code != 0 {
		t.Fatalf("resume: exit %d:\n%s", code, stderr)
	}
	for i := range verifyNumbers {
		n := verifyNumber(i)
		got, _ := f.srv.Number(n)
		if want := map[bool]int{true: 1, false: 0}[i == 5]; f.posts[n] != want || got.AppID != e2eAppA {
			t.Errorf("resume: number %d updated %d times (want %d), holds %s", i, f.posts[n], want, got.AppID)
		}
	}
	if s := readVerifySummary(t, summary); s.OK != verifyNumbers || s.AlreadyOK != 0 || s.Verify.Chosen != "page" || s.Verify.Resent != 1 {
		t.Errorf("resume summary %+v, want every row ok, read back by page, 1 sent again", s)
	}
	verifyOneLinePerRow(t, report)
}

// TestVerifyByPage_killBeforeTheReadBackIsResumedByReading: kill -9 of the
// real binary after its updates, while it lists the account to read them
// back. The report holds every row as unverified (the updates were sent),
// and a resume reads them back rather than sending them again.
func TestVerifyByPage_killBeforeTheReadBackIsResumedByReading(t *testing.T) {
	t.Parallel()
	f := newVerifyFront(t, map[string]int{verifyNumber(5): 1})
	listing := make(chan struct{})
	f.listing, f.block = listing, make(chan struct{})
	defer close(f.block)
	dir := t.TempDir()
	input, report := verifyInput(t, dir), filepath.Join(dir, "report.csv")
	cmd := exec.Command(e2eBinary(t), "run", "--input", input, "--report", report, "--verify", "--rate", "0", "--progress", "never")
	cmd.Env = append(os.Environ(), "PLIVO_API_URL="+f.url, "PLIVO_AUTH_ID="+f.authID, "PLIVO_AUTH_TOKEN=verifyTestToken1234567890")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-listing:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("no read-back listing after the updates")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	latest := verifyLatest(t, report)
	if len(latest) != verifyNumbers {
		t.Fatalf("report of the killed run has %d numbers, want %d", len(latest), verifyNumbers)
	}
	for n, r := range latest {
		if r.Status != "unverified" {
			t.Errorf("number %s: %s, want unverified", n, r.Status)
		}
	}
	verifyResume(t, f, report, input)
}

// TestVerifyRead_eachReadsRightAfterTheUpdate: --verify-read each forces a
// read of every number right after its update, even where the listing
// would cost less; a number whose update was not applied is sent again.
func TestVerifyRead_eachReadsRightAfterTheUpdate(t *testing.T) {
	t.Parallel()
	f := newVerifyFront(t, map[string]int{verifyNumber(3): 1})
	dir := t.TempDir()
	report, summary := filepath.Join(dir, "report.csv"), filepath.Join(dir, "summary.json")
	code, _, stderr := runWith(t, f.env(), nil, "run", "--input", verifyInput(t, dir), "--report", report, "--verify", "--verify-read", "each",
		"--backoff-base", "1ms", "--rate", "0", "--progress", "never", "--summary", summary)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for i := range verifyNumbers {
		n := verifyNumber(i)
		if got, _ := f.srv.Number(n); f.reads[n] != f.posts[n] || got.AppID != e2eAppA {
			t.Errorf("number %d: read %d times after %d updates, holds %s; want one read an update, holding %s", i, f.reads[n], f.posts[n], got.AppID, e2eAppA)
		}
	}
	if s := readVerifySummary(t, summary); f.lists != 0 || s.OK != verifyNumbers || s.Verify.Chosen != "each" || s.Verify.Rows != verifyNumbers {
		t.Errorf("%d listing pages after the updates; summary %+v; want none, every row ok, read back one by one", f.lists, s)
	}
}
