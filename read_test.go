package main

// Tests of how a job learns the numbers' current settings (--read
// page|each|auto), with every request the sandbox answered recorded.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eReadOnAccount is the number of numbers the differential test's account
// starts with: 4 pages of the listing.
const e2eReadOnAccount = 70

// e2eReadNotOnAccount is a number the inputs name that the account does not
// have: the listing never gives it, so it is read on its own (and answered
// 404) whichever way the job reads.
const e2eReadNotOnAccount = "12025569999"

// e2eReadSeed is the differential test's account: a mix of states, with
// aliases that a CSV file, the input reader and a spreadsheet each mangle if
// they are not escaped.
func e2eReadSeed() []sandbox.Number {
	ns := make([]sandbox.Number, e2eReadOnAccount)
	for i := range ns {
		ns[i] = sandbox.Number{Number: e2eNumber(i), AppID: map[bool]string{false: e2eAppStart}[i%5 == 0], ComplianceStatus: "pending",
			Subaccount: map[int]string{1: e2eSubA}[i%5],
			Alias:      []string{"no app", "Team A", fmt.Sprintf(`Desk %d, "North"`, i), `=HYPERLINK("x")`, fmt.Sprintf("  spaced %d ", i)}[i%5]}
	}
	return ns
}

// e2eReadInput is the migration's input: 60 of the account's numbers with a
// mix of targets (a sixth of them already in their target state), one number
// the account does not have, and one invalid row.
func e2eReadInput(seed []sandbox.Number) string {
	b := "number,app_id,subaccount,alias\n"
	orClear := func(v string) string {
		if v == "" {
			return batch.ClearMarker
		}
		return report.EscapeCell(v)
	}
	for i, n := range seed[:60] {
		cells := [][3]string{{e2eAppA, "", ""},
			{"", "", fmt.Sprintf(`Desk %d, "Night"`, i)}, // alias only: the number keeps its app
			{"", e2eSubB, batch.ClearMarker},
			{orClear(n.AppID), "", orClear(n.Alias)}, // already in its target state
			{batch.ClearMarker, "", report.EscapeCell("=SUM(1,2)")},
			{"", "", report.EscapeCell(fmt.Sprintf(" lead and trail %d ", i))}, // alias only
		}[i%6]
		b += e2eCSVLine(n.Number, cells[0], cells[1], cells[2])
	}
	b += e2eCSVLine(e2eReadNotOnAccount, e2eAppA, "", "")
	b += e2eCSVLine("12345", e2eAppA, "", "")
	return b
}

// e2eReadCounts is what one command sent, by kind of request.
type e2eReadCounts struct {
	Lists   int            // GET of the number listing
	Reads   map[string]int // GET of one number, by number
	ReadN   int            // GET of one number
	Updates int            // POST to a number
	Other   int            // the account, applications, subaccounts
}

func (c e2eReadCounts) total() int { return c.Lists + c.ReadN + c.Updates + c.Other }

// e2eCount sorts requests by kind.
func e2eCount(qs []e2eRequest) e2eReadCounts {
	c := e2eReadCounts{Reads: map[string]int{}}
	for _, q := range qs {
		switch {
		case q.Method == http.MethodPost:
			c.Updates++
		case q.Number != "":
			c.Reads[q.Number]++
			c.ReadN++
		case strings.HasSuffix(q.Path, "/Number/"):
			c.Lists++
		default:
			c.Other++
		}
	}
	return c
}

// e2eReadStep runs argv and returns what it sent: the
// requests the sandbox answered while it ran.
func e2eReadStep(t *testing.T, fx *e2eFixture, r *e2eRunner, wantCode int, argv ...string) (e2eResult, e2eReadCounts) {
	t.Helper()
	fx.quiesce(t)
	before := len(fx.all())
	res := r.run(slices.Concat(argv, e2eFastRetries, []string{"--rate", "0"})...)
	e2eExit(t, fmt.Sprint(argv), res, wantCode)
	fx.quiesce(t)
	return res, e2eCount(fx.all()[before:])
}

// e2eComparable returns a file's text with the sandbox's port taken out
// (the two sandboxes differ only there) and its data rows sorted (rows complete, and pages arrive, out of order);
// for a report, the cells that differ from run to run (api_id, a fresh id
// per answer) or with the way of reading (attempts: a row the listing
// settles makes none) are blanked.
func e2eComparable(t *testing.T, path string, report bool) string {
	t.Helper()
	data := regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(e2eRead(t, path), "127.0.0.1:PORT")
	header, rows := e2eCSV(t, path, data, false)
	var lines []string
	for _, m := range rows {
		if report {
			m["api_id"], m["attempts"] = "", ""
		}
		var cells []string
		for _, h := range header {
			cells = append(cells, m[h])
		}
		lines = append(lines, e2eCSVLine(cells...))
	}
	slices.Sort(lines)
	return e2eCSVLine(header...) + strings.Join(lines, "")
}

// e2eReadOutcome is what one way of reading left: the files the commands
// wrote (made comparable), the sandbox's final state, and the requests each
// command sent.
type e2eReadOutcome struct {
	files  map[string]string
	state  []sandbox.Number
	counts map[string]e2eReadCounts
	sums   map[string]summaryFile
}

// e2eReadWorkflow runs plan and run --undo --skip-unchanged on a fresh
// sandbox seeded with seed, reading the numbers' settings as mode says.
func e2eReadWorkflow(t *testing.T, mode string, cfg sandbox.Config, seed []sandbox.Number) e2eReadOutcome {
	t.Helper()
	fx, r := e2eStartFixture(t, cfg, seed...)
	input := r.write("input.csv", e2eReadInput(seed))
	out := e2eReadOutcome{files: map[string]string{}, counts: map[string]e2eReadCounts{}, sums: map[string]summaryFile{}}
	read := []string{"--read", mode}
	step := func(name string, code int, argv ...string) {
		t.Helper()
		argv = append(argv, "--summary", r.path(name+".json"))
		_, out.counts[name] = e2eReadStep(t, fx, r, code, argv...)
		out.sums[name] = e2eReadSummary[summaryFile](t, r.path(name+".json"))
	}

	step("plan", 1, append([]string{"plan", "--input", input, "--output", r.path("plan.csv")}, read...)...)
	step("run", 1, append([]string{"run", "--input", input, "--report", r.path("report.csv"),
		"--undo", r.path("undo.csv"), "--skip-unchanged"}, read...)...)
	for _, f := range []string{"plan.csv", "undo.csv", "report.csv"} {
		out.files[f] = e2eComparable(t, r.path(f), f == "report.csv")
	}
	out.state = fx.srv.Numbers()
	return out
}

// TestRead_pageMatchesEach is the differential test of --read: the same
// commands on two identical sandboxes, one reading the numbers' settings by
// the page, the other one number at a time, must write the same plan,
// report (but api_id and attempts) and undo file, and leave the
// same state; the page one with ceil(M/20) list requests and no read of a
// number the listing gave, the each one with one read a row that needs it.
func TestRead_pageMatchesEach(t *testing.T) {
	t.Parallel()
	seed := e2eReadSeed()
	cfg := sandbox.Config{
		AuthID:              "MA" + e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 18),
		AuthToken:           "e2eSecret" + e2eRandString("abcdefghijklmnopqrstuvwxyz0123456789", 31),
		DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp,
	}
	page := e2eReadWorkflow(t, "page", cfg, seed)
	each := e2eReadWorkflow(t, "each", cfg, seed)

	for _, f := range slices.Sorted(maps.Keys(page.files)) {
		if each.files[f] != page.files[f] {
			t.Errorf("%s differs between --read each and --read page:\n--- each:\n%s\n--- page:\n%s", f, each.files[f], page.files[f])
		}
	}
	if !slices.Equal(each.state, page.state) {
		t.Errorf("the final state differs:\n each %+v\n page %+v", each.state, page.state)
	}

	// The outcome is right, not only the same: every valid row on the
	// account reached its target, the rows already there were skipped, and
	// the alias-only rows kept their app.
	for i, was := range seed[:60] {
		want := was
		switch i % 6 {
		case 0:
			want.AppID = e2eAppA
		case 1:
			want.Alias = fmt.Sprintf(`Desk %d, "Night"`, i)
		case 2:
			want.Subaccount, want.Alias = e2eSubB, ""
		case 4:
			want.AppID, want.Alias = "", "=SUM(1,2)"
		case 5:
			want.Alias = fmt.Sprintf(" lead and trail %d ", i)
		}
		if n := page.state[i]; n != want {
			t.Errorf("%s = %+v, want %+v", was.Number, n, want)
		}
	}
	if s := page.sums["run"]; s.Skipped != 10 || s.OK != 50 || s.Failed != 1 {
		t.Errorf("run: ok %d skipped %d failed %d, want 50, 10, 1", s.OK, s.Skipped, s.Failed)
	}

	// What each way cost. M numbers take ceil(M/20) pages; the number the
	// account does not have is read on its own either way.
	pages := (e2eReadOnAccount + 19) / 20
	onlyMissing := map[string]int{e2eReadNotOnAccount: 1}
	for _, tc := range []struct {
		step     string
		rowsRead int // valid rows whose number's settings the step needs, read one by one with --read each
		updates  int // POSTs, either way
	}{
		{"plan", 61, 0},
		{"run", 61, 50},
	} {
		p, e := page.counts[tc.step], each.counts[tc.step]
		if p.Lists != pages || !maps.Equal(p.Reads, onlyMissing) {
			t.Errorf("%s --read page: %d list requests and reads %v, want %d and only %v", tc.step, p.Lists, p.Reads, pages, onlyMissing)
		}
		if e.Lists != 0 || e.ReadN != tc.rowsRead || len(e.Reads) != tc.rowsRead {
			t.Errorf("%s --read each: %d list requests and %d reads of %d numbers, want 0 and one read of each of %d", tc.step, e.Lists, e.ReadN, len(e.Reads), tc.rowsRead)
		}
		if p.Updates != tc.updates || e.Updates != tc.updates {
			t.Errorf("%s: %d updates by page, %d one by one, want %d", tc.step, p.Updates, e.Updates, tc.updates)
		}
		ps, es := page.sums[tc.step], each.sums[tc.step]
		if ps.Read.Chosen != "page" || ps.Read.Pages != pages || ps.Read.Found != tc.rowsRead-1 || ps.Read.Requests != pages+1 {
			t.Errorf("%s --read page: summary read %+v, want chosen page, %d pages, %d found, %d requests", tc.step, ps.Read, pages, tc.rowsRead-1, pages+1)
		}
		if es.Read.Chosen != "each" || es.Read.Pages != 0 || es.Read.Requests != tc.rowsRead {
			t.Errorf("%s --read each: summary read %+v, want chosen each, 0 pages, %d requests", tc.step, es.Read, tc.rowsRead)
		}
		if int(ps.Requests) != p.total() || int(es.Requests) != e.total() {
			t.Errorf("%s: the summary says %d and %d requests, the sandbox answered %d and %d", tc.step, ps.Requests, es.Requests, p.total(), e.total())
		}
	}
}

// The moving account: 100 numbers, 1202557xxxx for xxxx < 100, on
// e2eAppStart with the alias "old". Before the page at offset 20, the first
// three are released: everything moves up three places, and the numbers 20
// to 22, which the page at 20 would have given, are never listed. Before the
// page at offset 60, three numbers that sort before all others are added
// (e2eMovingAdded among them): everything moves down three places, and the
// numbers 60 to 62, given by the page at 40, come again.
const e2eMovingAdded = "12025569990"

func e2eMovingNumber(i int) string { return fmt.Sprintf("1202557%04d", i) }

// e2eStartMoving starts the moving account: before the first list request
// at an offset in at, its change is made, once.
func e2eStartMoving(t *testing.T) *e2eFixture {
	t.Helper()
	fx, _ := e2eStartFixture(t, sandbox.Config{})
	for i := range 100 {
		fx.srv.AddNumber(e2eNumbers(e2eMovingNumber(i))[0])
	}
	var mu sync.Mutex
	at := map[string]func(){
		"20": func() {
			for i := range 3 {
				fx.srv.RemoveNumber(e2eMovingNumber(i))
			}
		},
		"60": func() {
			for _, n := range e2eNumbers(e2eMovingAdded, "12025569991", "12025569992") {
				fx.srv.AddNumber(n)
			}
		},
	}
	fx.url = e2eProxy(t, fx, func(_ http.ResponseWriter, q *http.Request) bool {
		if q.Method == http.MethodGet && strings.HasSuffix(q.URL.Path, "/Number/") {
			mu.Lock()
			change := at[q.URL.Query().Get("offset")]
			delete(at, q.URL.Query().Get("offset"))
			mu.Unlock()
			if change != nil {
				change()
			}
		}
		return false
	})
	return fx
}

// TestRead_listingMoves reads the account by the page while numbers are
// released and added between pages, so that the listing misses three of
// the input's numbers (and one added after its place was passed) and gives
// three twice. run --undo --skip-unchanged must still get every row right,
// reading the missed numbers on their own (and only those); plan learns
// the same way. (Export on a moving account:
// TestExport_accountChangesWhileListed.)
func TestRead_listingMoves(t *testing.T) {
	t.Parallel()
	// The input: the numbers 10 to 64 and the one added mid-listing. A third
	// set the app, a third the alias only, a third are already in their
	// target state.
	type want struct{ app, alias string }
	wants, changes := map[string]want{}, 0
	in := "number,app_id,alias\n"
	for i := 9; i < 65; i++ {
		n, alias := e2eMovingNumber(i), fmt.Sprintf("Moved %d", i)
		if i == 9 {
			n = e2eMovingAdded
		}
		w := [3]want{{e2eAppA, "old"}, {e2eAppStart, alias}, {e2eAppStart, "old"}}[i%3]
		in += e2eCSVLine(n, map[int]string{0: e2eAppA, 2: e2eAppStart}[i%3], map[int]string{1: alias, 2: "old"}[i%3])
		if wants[n] = w; i%3 != 2 {
			changes++
		}
	}
	missed := map[string]int{e2eMovingAdded: 1, e2eMovingNumber(20): 1, e2eMovingNumber(21): 1, e2eMovingNumber(22): 1}
	fx := e2eStartMoving(t)
	r := e2eNewRunner(t, fx)
	// One worker: pages in order, so the changes land where planned.
	_, c := e2eReadStep(t, fx, r, 0, "run", "--input", r.write("input.csv", in), "--report", r.path("report.csv"),
		"--undo", r.path("undo.csv"), "--skip-unchanged", "--read", "page", "--concurrency", "1")
	if c.Lists != 5 || !maps.Equal(c.Reads, missed) || c.Updates != changes {
		t.Errorf("%d list requests, reads %v, %d updates; want 5, one read of each number the listing missed: %v, %d", c.Lists, c.Reads, c.Updates, missed, changes)
	}
	for n, w := range wants {
		if got, ok := fx.srv.Number(n); !ok || got.AppID != w.app || got.Alias != w.alias {
			t.Errorf("%s = %+v, want app %s alias %q", n, got, w.app, w.alias)
		}
	}
	for _, row := range e2eReadReport(t, r.path("report.csv")) {
		if w := wants[row.Number]; row.Status != map[bool]string{true: "skipped", false: "ok"}[w == want{e2eAppStart, "old"}] {
			t.Errorf("report row %d (%s): %s %s, want skipped only when it holds its targets", row.Row, row.Number, row.Status, row.Error)
		}
	}
	// The undo file holds, for every number changed, the value before.
	undo := readCSV(t, r.path("undo.csv"))
	for _, row := range undo {
		if w := wants[row["number"]]; w.app == e2eAppA && (row["app_id"] != e2eAppStart || row["alias"] != "") ||
			w.app != e2eAppA && (row["alias"] != "old" || row["app_id"] != "" || w.alias == "old") {
			t.Errorf("undo row %v, want the old app_id alone for a number moved, the old alias alone for one renamed", row)
		}
	}
	if len(undo) != changes {
		t.Errorf("undo file has %d rows, want %d", len(undo), changes)
	}
}

// TestRead_autoPicksTheCheaper checks that --read auto (the default)
// pays the cheaper way: on an account of 1,000 numbers, 10 rows are read
// one by one after the one page that told the count, not in 50 pages; on an
// account of 60 numbers, 50 rows are read in its 3 pages. (plan and run
// choose alike: TestRead_pageMatchesEach.)
func TestRead_autoPicksTheCheaper(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		m, rows, step int // the account's numbers; the rows, one every step numbers
		chosen        string
		pages, reads  int
	}{{1000, 10, 100, "each", 1, 10}, {60, 50, 1, "page", 3, 0}} {
		t.Run(tt.chosen, func(t *testing.T) {
			t.Parallel()
			ns := e2eNumberRange(0, tt.m)
			fx, r := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(ns...)...)
			b := "number,alias\n"
			for i := range tt.rows { // none on the first page when they are few
				b += e2eCSVLine(ns[i*tt.step+tt.step/2], fmt.Sprintf("Desk %d", i))
			}
			_, c := e2eReadStep(t, fx, r, 0, "plan", "--input", r.write("input.csv", b), "--output", r.path("plan.csv"), "--summary", r.path("plan.json"))
			s := e2eReadSummary[summaryFile](t, r.path("plan.json"))
			if s.Read.Chosen != tt.chosen || s.Read.AccountNumbers != tt.m || s.Read.Pages != tt.pages || s.Read.Requests != tt.pages+tt.reads ||
				c.Lists != tt.pages || c.ReadN != tt.reads || int(s.Requests) != c.total() {
				t.Errorf("summary read %+v, %d requests; sent %d pages, %d reads, %d requests; want %s, %d numbers, %d pages, %d reads, the requests sent",
					s.Read, s.Requests, c.Lists, c.ReadN, c.total(), tt.chosen, tt.m, tt.pages, tt.reads)
			}
		})
	}
}

// e2eStripKeys is a front (see e2eProxy) that answers fx's sandbox with keys
// taken out of number ("" for every number) in its answers: from the
// listing's objects (listed) and from a read of one number (read). Plivo
// always sends them, null for none.
func e2eStripKeys(t *testing.T, fx *e2eFixture, number string, listed, read []string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, q *http.Request) bool {
		list := strings.HasSuffix(q.URL.Path, "/Number/")
		if q.Method != http.MethodGet || !strings.Contains(q.URL.Path, "/Number/") {
			return false
		}
		rec := httptest.NewRecorder()
		fx.ServeHTTP(rec, q)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != http.StatusOK {
			t.Errorf("sandbox answered %d %s", rec.Code, rec.Body)
		}
		objects, keys := []any{v}, read
		if list {
			objects, keys = v["objects"].([]any), listed
		}
		for _, o := range objects {
			for _, k := range keys {
				if o := o.(map[string]any); number == "" || o["number"] == number {
					delete(o, k)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
		return true
	}
}

// TestMissingKeys_areUnknownNotEmpty renames numbers (alias only, so
// the number's app is sent along) with --undo and --skip-unchanged against
// an API whose answers lack `application` and `alias`. A key that is
// missing is not "none": the number is read on its own, and when that read
// lacks it too, the row fails and nothing is sent or recorded for it.
func TestMissingKeys_areUnknownNotEmpty(t *testing.T) {
	t.Parallel()
	ns, in := e2eNumberRange(0, 30), "number,alias\n"
	for i, n := range ns {
		in += e2eCSVLine(n, fmt.Sprintf("Desk %d", i))
	}
	missing := []string{"application", "alias"}
	start := func(t *testing.T, listed, read []string) (*e2eFixture, *e2eRunner, string) {
		fx, _ := e2eStartFixture(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, e2eNumbers(ns...)...)
		r := e2eNewRunner(t, fx).with("PLIVO_API_URL", e2eProxy(t, fx, e2eStripKeys(t, fx, "", listed, read)))
		return fx, r, r.write("input.csv", in)
	}
	run := func(r *e2eRunner, input string) []string {
		return []string{"run", "--input", input, "--report", r.path("report.csv"), "--undo", r.path("undo.csv"), "--skip-unchanged", "--read", "page"}
	}

	t.Run("the listing lacks them: each number is read on its own", func(t *testing.T) {
		fx, r, input := start(t, missing, nil)
		_, c := e2eReadStep(t, fx, r, 0, run(r, input)...)
		if c.Lists != 2 || c.Updates != len(ns) || len(c.Reads) != len(ns) || c.ReadN != len(ns) {
			t.Errorf("%d pages, %d reads of %d numbers, %d updates; want 2 pages, one read and one update of each of the %d", c.Lists, c.ReadN, len(c.Reads), c.Updates, len(ns))
		}
		for i, n := range ns {
			if got, _ := fx.srv.Number(n); got.AppID != e2eAppStart || got.Alias != fmt.Sprintf("Desk %d", i) {
				t.Errorf("%s = app %q alias %q, want its app %s kept and alias Desk %d", n, got.AppID, got.Alias, e2eAppStart, i)
			}
		}
		if undo := readCSV(t, r.path("undo.csv")); len(undo) != len(ns) || slices.ContainsFunc(undo, func(row map[string]string) bool { return row["alias"] != "old" }) {
			t.Errorf("undo file %v, want a row a number, with alias old, as the number had", undo)
		}
	})

	t.Run("every answer lacks them: the rows fail, nothing is sent or recorded", func(t *testing.T) {
		fx, r, input := start(t, missing, missing)
		_, c := e2eReadStep(t, fx, r, 1, run(r, input)...)
		if c.Updates != 0 {
			t.Errorf("%d updates, want none", c.Updates)
		}
		for _, row := range e2eReadReport(t, r.path("report.csv")) {
			if row.Status != "failed" || !strings.Contains(row.Error, "the API's answer has no `application`") {
				t.Errorf("report row %d: %s %q, want failed: the answer has no `application`", row.Row, row.Status, row.Error)
			}
		}
		if undo := readCSV(t, r.path("undo.csv")); len(undo) != 0 {
			t.Errorf("undo file records %d rows, want none: %v", len(undo), undo)
		}
		e2eUntouched(t, fx, "after the run", e2eNumbers(ns...)...)
		// plan does not show a made-up current value either.
		e2eReadStep(t, fx, r, 1, "plan", "--input", input, "--output", r.path("plan.csv"))
		for _, row := range readCSV(t, r.path("plan.csv")) {
			if row["change"] != "error" || !strings.Contains(row["error"], "the API's answer has no `alias`") || row["alias_current"] != "" {
				t.Errorf("plan row %v, want change error: the answer has no `alias`", row)
			}
		}
	})

	t.Run("export: read on its own, else no file", func(t *testing.T) {
		fx, r, _ := start(t, missing, nil)
		_, c := e2eReadStep(t, fx, r, 0, "export", "--output", r.path("export.csv"))
		for _, row := range readCSV(t, r.path("export.csv")) {
			if row["app_id"] != e2eAppStart || row["alias"] != "old" {
				t.Errorf("export row %v, want app %s alias old, as the number has", row, e2eAppStart)
			}
		}
		if c.ReadN != len(ns) {
			t.Errorf("%d reads, want one of each of the %d numbers", c.ReadN, len(ns))
		}
		fx, r, _ = start(t, missing, missing)
		res, _ := e2eReadStep(t, fx, r, 1, "export", "--output", r.path("export.csv"))
		if _, err := os.Stat(r.path("export.csv")); !os.IsNotExist(err) || !strings.Contains(res.stderr, "the API's answer has no `application`") {
			t.Errorf("export file: %v, want none, and stderr to say why:\n%s", err, res.stderr)
		}
	})
}

// TestExport_accountChangesWhileListed changes the account between the
// first and the second page of an export: offset pages then shift, so a
// number can be missed or one already released listed, even when the
// count stays the same. Export must say so with exit code 5 and still write
// the file; on a quiet account it exits 0, having sent what it announced.
func TestExport_accountChangesWhileListed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*sandbox.Server)
		code   int
	}{
		{"quiet", func(*sandbox.Server) {}, 0},
		{"one released, one bought: the count holds", func(s *sandbox.Server) {
			s.RemoveNumber(e2eNumber(5))
			s.AddNumber(e2eNumbers(e2eNumber(9999))[0])
		}, 5},
		{"three released", func(s *sandbox.Server) {
			for i := range 3 {
				s.RemoveNumber(e2eNumber(i))
			}
		}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			lists := 0
			var fx *e2eFixture
			fx, r, _, _ := e2eMoveAll(t, sandbox.Config{}, 0, 100, e2eAppA, func(w http.ResponseWriter, q *http.Request) bool {
				if q.Method == http.MethodGet && strings.HasSuffix(q.URL.Path, "/Number/") {
					mu.Lock()
					if lists++; lists == 2 {
						tc.change(fx.srv)
					}
					mu.Unlock()
				}
				return false
			})
			res := r.run("export", "--output", "export.csv", "--summary", "summary.json", "--concurrency", "1", "--rate", "0", "--log-format", "json")
			e2eExit(t, "run", res, tc.code)
			// The count announced at the start is what is sent (no retries
			// here), the account check included.
			if start, end := e2eLog(res.stderr, "starting export"), e2eLog(res.stderr, "export finished"); tc.code == 0 && (start == nil || end == nil || start["requests"] != end["requests"]) {
				t.Errorf("announced %v requests, sent %v\n%s", start, end, res.stderr)
			}
			if changed := strings.Contains(res.stderr, "the account changed while it was listed"); changed != (tc.code == 5) {
				t.Errorf("stderr says the account changed: %v, want %v\n%s", changed, tc.code == 5, res.stderr)
			}
			if s := e2eReadSummary[summaryFile](t, r.path("summary.json")); s.ExitCode != tc.code {
				t.Errorf("summary exit_code %d, want %d", s.ExitCode, tc.code)
			}
			// The file is written either way, a header first.
			if data, err := os.ReadFile(r.path("export.csv")); err != nil || !strings.HasPrefix(string(data), "number,app_id,subaccount,alias\n") {
				t.Errorf("export file: %v %.60q", err, data)
			}
		})
	}
}
