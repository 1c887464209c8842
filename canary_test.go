package main

// Tests of --canary and --max-failures off a terminal (cron, CI: no question
// is asked), against fronts that refuse a file's targets, claim updates they
// do not apply (e2eApplyNothing), or fail half of the requests.

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eHoldApp puts numbers on app already.
func e2eHoldApp(fx *e2eFixture, app string, numbers ...string) {
	for _, s := range e2eNumbers(numbers...) {
		s.AppID = app
		fx.srv.AddNumber(s)
	}
}

// TestCanary_testsOnlyRowsThatChange: the canary passes over the rows whose
// numbers hold their targets already and tests the next 5, which the front
// answers "changed" but does not change: it fails after at most
// --max-attempts updates of each, the report and the summary say why, and
// nothing else is sent, whether it learns the numbers' settings by reading
// them one by one or by the listing, with --skip-unchanged too. When every
// number holds its targets, it says it has nothing to test and neither
// passes nor fails: the run goes on and changes nothing. When its few reads
// (--canary plus 10) end before it has seen every row, it cannot say so: the
// run stops, sending nothing.
func TestCanary_testsOnlyRowsThatChange(t *testing.T) {
	t.Parallel()
	const canary, noRow = 5, "canary: no row needs a change"
	tests := []struct {
		n, held          int
		extra            []string
		code             int
		want             string // in stderr; "" for the failed canary's
		wantOK, wantSkip int
	}{
		{30, 8, nil, 1, "", 0, 0},
		{30, 8, []string{"--skip-unchanged"}, 1, "", 0, 0},
		{30, 8, []string{"--skip-unchanged", "--read", "each"}, 1, "", 0, 0},
		{30, 8, []string{"--read", "page"}, 1, "", 0, 0},
		{12, 12, nil, 0, noRow, 12, 0},
		{30, 30, []string{"--skip-unchanged"}, 0, noRow, 0, 30},
		{30, 30, nil, 1, "30 rows were not attempted: run again with --read page, which lets the canary see every row\n" +
			"plivo-bulk: canary failed: it found no row to test: no row it could see needs a change, but it could not see 15 rows, left unread once its 15 reads were spent; nothing was sent", 0, 0},
		{30, 30, []string{"--read", "page"}, 0, noRow, 30, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d held %v", tt.held, tt.n, tt.extra), func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, tt.n, e2eAppA)
			e2eHoldApp(fx, e2eAppA, numbers[:tt.held]...)
			front, dropped := e2eApplyNothing(t, fx)
			res := r.with("PLIVO_API_URL", front).run(slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--canary", "5", "--summary", "summary.json",
				"--rate", "0", "--max-attempts", "2"}, e2eFastRetries, tt.extra)...)
			sum, sent := e2eReadSummary[summaryFile](t, r.path("summary.json")), dropped()
			e2eExit(t, "run", res, tt.code)
			if tt.want != "" {
				if !strings.Contains(res.stderr, tt.want) || strings.Contains(res.stderr, "canary passed") || strings.Contains(res.stderr, "--resume") {
					t.Errorf("stderr lacks %q, or says the canary passed, or advises --resume:\n%s", tt.want, res.stderr)
				}
				if sum.OK != tt.wantOK || sum.Skipped != tt.wantSkip || len(sent) != tt.wantOK {
					t.Errorf("ok %d, skipped %d, %d numbers sent an update; want %d, %d, %d", sum.OK, sum.Skipped, len(sent), tt.wantOK, tt.wantSkip, tt.wantOK)
				}
				return
			}
			e2eHas(t, "stderr", res.stderr, fmt.Sprintf("canary failed: 5 of 5 canary rows are not in their target state: row %d (%s)", tt.held+2, numbers[tt.held]))
			if want := numbers[tt.held : tt.held+canary]; !slices.Equal(slices.Sorted(maps.Keys(sent)), want) {
				t.Errorf("updates sent for %v, want the canary's %v", sent, want)
			}
			for num, c := range sent {
				if c > 2 {
					t.Errorf("%s sent %d updates, want at most --max-attempts 2", num, c)
				}
			}
			rows := e2eAttempted(e2eReadReport(t, r.path("report.csv")))
			for _, row := range rows {
				if row.Status != "failed" || !strings.Contains(row.Error, "app_id") {
					t.Errorf("report row %d: %s %q, want failed, naming the field the server does not hold", row.Row, row.Status, row.Error)
				}
			}
			if len(rows) != canary || sum.StoppedBy != "canary" || sum.Failed != canary || sum.NotAttempted != tt.n-canary || sum.FailedByKind["verify_mismatch"] != canary {
				t.Errorf("%d report rows; summary stopped_by %q failed %d not_attempted %d failed_by_kind %v; want %d, canary, %d, %d, verify_mismatch %d",
					len(rows), sum.StoppedBy, sum.Failed, sum.NotAttempted, sum.FailedByKind, canary, canary, tt.n-canary, canary)
			}
		})
	}
}

// TestCanary_numberItCouldNotReadIsNoEvidence: every number holds its
// targets already and the front applies no update. Until a number was sent
// an update, its read answers 503, or lacks the `alias` key, or a page of
// the listing past the first answers 503. The canary could not learn what
// every candidate held: an update "changed" and a read-back holding the
// targets prove nothing then, so the canary must not pass, nothing past it
// is sent, and the stop names the cause and the advice that fits it.
func TestCanary_numberItCouldNotReadIsNoEvidence(t *testing.T) {
	t.Parallel()
	answer503 := func(w http.ResponseWriter, _ *http.Request, _ *e2eFixture) {
		e2eAnswer(w, http.StatusServiceUnavailable, "application/json", `{"error":"service unavailable"}`)
	}
	for _, tc := range []struct {
		name   string
		n      int
		extra  []string
		fail   func(q *http.Request) bool // whether the front answers q with unread
		unread func(w http.ResponseWriter, q *http.Request, fx *e2eFixture)
		want   string
		advice string // "" for none
	}{
		{"read answers 503", 12, nil, func(q *http.Request) bool { return path.Base(q.URL.Path) != "Number" }, answer503,
			"no row it could see needs a change, but it could not see 12 rows whose read failed; nothing was sent",
			"12 rows were not attempted: run again once the API answers the reads that failed"},
		{"read answers 503, read anyway", 12, []string{"--skip-unchanged", "--read", "each"}, func(q *http.Request) bool { return path.Base(q.URL.Path) != "Number" }, answer503,
			"no row it could see needs a change, but it could not see 12 rows whose read failed; nothing was sent",
			"12 rows were not attempted: run again once the API answers the reads that failed"},
		{"read lacks alias", 12, nil, func(q *http.Request) bool { return path.Base(q.URL.Path) != "Number" },
			func(w http.ResponseWriter, q *http.Request, fx *e2eFixture) {
				e2eStripKeys(t, fx, "", nil, []string{"alias"})(w, q)
			},
			"but it could not see 12 rows whose read had no `alias` (what they hold is unknown until the API's answers carry it)",
			""},
		{"listing's pages answer 503", 40, []string{"--read", "page"}, func(q *http.Request) bool { return q.URL.Query().Get("offset") > "0" }, answer503,
			"but it could not see 5 rows the listing did not give, left unread once its 15 reads were spent",
			"40 rows were not attempted: run again: the listing may then give every number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx, r, _, numbers := e2eMoveAll(t, sandbox.Config{}, 0, tc.n, e2eAppA)
			e2eHoldApp(fx, e2eAppA, numbers...)
			frontURL, dropped := e2eApplyNothing(t, fx, func(w http.ResponseWriter, q *http.Request, posted map[string]int) bool {
				num := path.Base(q.URL.Path)
				if (num == "Number" || slices.Contains(numbers, num)) && posted[num] == 0 && tc.fail(q) {
					tc.unread(w, q, fx)
					return true
				}
				return false
			})
			r = r.with("PLIVO_API_URL", frontURL)
			input := r.write("numbers.csv", e2eInput("number,app_id,alias", e2eAppA+",old", numbers...))
			res := r.run(slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--canary", "5", "--summary", "summary.json",
				"--rate", "0", "--max-attempts", "1"}, e2eFastRetries, tc.extra)...)
			sent := len(dropped())
			if res.code != 1 || strings.Contains(res.stderr, "canary passed") || sent != 0 {
				t.Fatalf("exit code %d, %d numbers sent an update; want 1, a canary that neither passes nor sends\n%v", res.code, sent, res)
			}
			e2eHas(t, "stderr", res.stderr, "canary failed: it found no row to test: ", tc.want)
			if tc.advice == "" {
				tc.advice = fmt.Sprintf("%d rows were not attempted\n", tc.n)
			}
			if !strings.Contains(res.stderr, tc.advice) || strings.Contains(res.stderr, "again with --read page") || strings.Contains(res.stderr, "--resume") {
				t.Errorf("stderr lacks the advice %q, or advises --read page or --resume:\n%s", tc.advice, res.stderr)
			}
		})
	}
}

// TestCanary_nightlyRunOnAFileMostlyDone: a cron job's `run --skip-unchanged
// --canary 3 --read each` on a file whose first rows hold their targets. The
// run reads every number anyway, so the canary reads on until it has its
// rows or has read them all, and the run reuses those reads: exit 0, every
// number read once before its update (the canary's rows once more, after),
// and the requests sent are the ones the start of the run announced.
func TestCanary_nightlyRunOnAFileMostlyDone(t *testing.T) {
	t.Parallel()
	const n, canary = 30, 3
	for _, held := range []int{n - 5, n} {
		t.Run(fmt.Sprintf("%d of %d done", held, n), func(t *testing.T) {
			t.Parallel()
			fx, r, input, numbers := e2eMoveAll(t, sandbox.Config{}, 0, n, e2eAppA)
			e2eHoldApp(fx, e2eAppA, numbers[:held]...)
			res := r.run("run", "--input", input, "--report", "report.csv", "--summary", "summary.json", "--log-format", "json",
				"--read", "each", "--skip-unchanged", "--canary", fmt.Sprint(canary), "--rate", "0")
			fx.quiesce(t)
			sum := e2eReadSummary[summaryFile](t, r.path("summary.json"))
			if res.code != 0 || sum.Skipped != held || sum.OK != n-held {
				t.Fatalf("exit code %d, %d skipped, %d ok; want 0, %d, %d\n%v", res.code, sum.Skipped, sum.OK, held, n-held, res)
			}
			at, _ := e2eLog(res.stderr, "starting run")["requests_at_most"].(float64)
			announced := int(at)
			sent := fx.all()
			if announced != len(sent) || int(sum.Requests) != len(sent) {
				t.Errorf("%d requests sent, %d counted; the start announced %d", len(sent), sum.Requests, announced)
			}
			reads := map[string]int{}
			for _, q := range sent {
				if q.Method == "GET" && q.Number != "" {
					reads[q.Number]++
				}
			}
			for i, num := range numbers {
				want := 1
				if i >= held && i < held+canary {
					want = 2 // the canary reads its rows back
				}
				if reads[num] != want {
					t.Errorf("%s read %d times, want %d", num, reads[num], want)
				}
			}
		})
	}
}

// TestRun_sendsAtMostTheRequestsAnnounced: the "at most" of the start
// line counts every request of the run, the account check and the
// pre-flight reads included, whatever reads the run makes: a canary, an
// undo file, rows without app_id (read to pin it), distinct apps. With
// --read page the canary lists the whole account, however few the rows: the
// dry run's cost says so, not a bound the run then exceeds.
func TestRun_sendsAtMostTheRequestsAnnounced(t *testing.T) {
	t.Parallel()
	numbers := e2eNumberRange(0, 12)
	input := "number,app_id,alias\n"
	for i, n := range numbers {
		app := []string{e2eAppA, e2eAppB, ""}[i%3]
		input += n + "," + app + ",new\n"
	}
	for _, read := range []string{"each", "page"} {
		fx, r := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(numbers...)...)
		res := r.run("run", "--input", r.write("numbers.csv", input), "--report", "r.csv", "--undo", "undo.csv",
			"--canary", "2", "--read", read, "--log-format", "json", "--rate", "0", "--concurrency", "2")
		atMost, _ := e2eLog(res.stderr, "starting run")["requests_at_most"].(float64)
		sent, _ := e2eLog(res.stderr, "run finished")["requests"].(float64)
		if fx.quiesce(t); res.code != 0 || atMost == 0 || sent != float64(len(fx.all())) {
			t.Fatalf("--read %s: exit %d, %v requests counted, %d received; want 0 and the same:\n%s", read, res.code, sent, len(fx.all()), res.stderr)
		}
		if sent > atMost {
			t.Errorf("--read %s: %v requests sent, but the start line said at most %v", read, sent, atMost)
		}
		// Every row with its app_id: no read but the canary's.
		if res := r.run("run", "--dry-run", "--input", r.write("apps.csv", e2eInput("number,app_id", e2eAppA, numbers...)), "--canary", "2", "--read", read); read == "page" {
			e2eHas(t, "dry run", res.stderr, "plus, for the canary (--read page), listing the account")
		}
	}
}

// TestCanary_stopsOnRefusedTargets runs a file whose compliance change
// the sandbox refuses on every number (their compliance is accepted, not
// pending): the canary stops it after its rows, says why, and a --resume
// meets the same refusal until the file is fixed, then finishes it.
func TestCanary_stopsOnRefusedTargets(t *testing.T) {
	t.Parallel()
	const n, canary = 40, 5
	numbers := e2eNumberRange(0, n)
	seed := e2eNumbers(numbers...)
	for i := range seed {
		seed[i].ComplianceStatus = "accepted"
	}
	fx, r := e2eStartFixture(t, sandbox.Config{}, seed...)
	wrong := r.write("wrong.csv", e2eInput("number,app_id,compliance_application_id", e2eAppA+",CA0123456789", numbers...))
	args := func(input string, more ...string) []string {
		return slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--canary", fmt.Sprint(canary), "--summary", "summary.json", "--rate", "0"}, e2eFastRetries, more)
	}

	for i, attempt := range []string{"first run", "resumed, file unchanged"} {
		since := time.Now()
		res := r.run(args(wrong, []string{"--resume"}[:i]...)...) // the second with --resume
		e2eExit(t, attempt, res, 1,
			"plivo-bulk: canary failed: 5 of 5 canary rows are not in their target state: row 2 ("+numbers[0]+"): HTTP 400: compliance_application_id can be changed only while",
			"and 2 more; nothing else was sent",
			fmt.Sprintf("%d rows were not attempted: run again with --resume to finish", n-canary))
		posts := fx.posts(t, since)
		if len(posts) != canary {
			t.Errorf("%s: %d numbers updated, want the %d of the canary", attempt, len(posts), canary)
		}
		for _, num := range numbers[:canary] {
			if qs := posts[num]; len(qs) != 1 || qs[0].Status != http.StatusBadRequest {
				t.Errorf("%s: %s: %s, want one update answered 400", attempt, num, e2eDescribe(qs))
			}
		}
		if sum := e2eReadSummary[summaryFile](t, r.path("summary.json")); sum.StoppedBy != "canary" || sum.Failed != canary || sum.NotAttempted != n-canary || sum.ExitCode != 1 {
			t.Errorf("%s: summary stopped_by %q failed %d not_attempted %d exit_code %d; want canary, %d, %d, 1", attempt, sum.StoppedBy, sum.Failed, sum.NotAttempted, sum.ExitCode, canary, n-canary)
		}
	}
	// The report says why, row by row.
	rows := e2eAttempted(e2eReadReport(t, r.path("report.csv")))
	if len(rows) != canary {
		t.Errorf("report has %d rows, want %d (the canary's, the resumed run's lines in place of the first's)", len(rows), canary)
	}
	for _, row := range rows {
		if row.Status != "failed" || row.HTTPStatus != "400" || !strings.Contains(row.Error, "compliance status is pending or rejected") {
			t.Errorf("report row %d: %s %s %q, want failed 400 with the sandbox's reason", row.Row, row.Status, row.HTTPStatus, row.Error)
		}
	}
	e2eUntouched(t, fx, "after the canary", seed...)

	// Fixed (the compliance column was not meant to be there), the file
	// resumes: the canary passes and the rest follows.
	fixed := r.write("fixed.csv", e2eInput("number,app_id", e2eAppA, numbers...))
	since := time.Now()
	e2eExit(t, "resumed with the fixed file", r.run(args(fixed, "--resume")...), 0)
	if posts := fx.posts(t, since); len(posts) != n {
		t.Errorf("resumed with the fixed file: %d numbers updated, want %d", len(posts), n)
	}
	for _, num := range numbers {
		if got, _ := fx.srv.Number(num); got.AppID != e2eAppA {
			t.Errorf("%s: app %q, want %q", num, got.AppID, e2eAppA)
		}
	}
}

// e2eApplyNothing serves fx behind a front that answers every update 202
// "changed" and drops it, and answers any other request itself when
// unread, if given, returns true (it is told the updates dropped so far).
// It returns the front's URL and a function that counts the updates it
// dropped, per number.
func e2eApplyNothing(t *testing.T, fx *e2eFixture, unread ...func(w http.ResponseWriter, q *http.Request, dropped map[string]int) bool) (string, func() map[string]int) {
	var mu sync.Mutex
	lied := map[string]int{}
	frontURL := e2eServe(t, http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case q.Method == http.MethodPost:
			_, _ = io.Copy(io.Discard, q.Body)
			lied[path.Base(q.URL.Path)]++
			e2eAnswer(w, http.StatusAccepted, "application/json", `{"message":"changed","api_id":"5a9fcb68-523d-11e1-86da-6ff39efcb949"}`)
		case len(unread) > 0 && unread[0](w, q, lied):
		default:
			fx.ServeHTTP(w, q)
		}
	}))
	return frontURL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(lied)
	}
}

// TestMaxFailures_stopsAHalfFailingRun runs against a sandbox that fails
// half of its requests, every failure final (--max-attempts 1): the budget
// stops the run early with exit 4 and the summary says so (the resume:
// TestStop_reportHoldsEveryRow).
// After the row that spends the budget, the report may hold only the rows
// in flight at the stop: up to --concurrency in calls, as many answered and
// queued for the report.
func TestMaxFailures_stopsAHalfFailingRun(t *testing.T) {
	t.Parallel()
	const n, workers = 300, 4
	tests := []struct {
		budget    string
		minFailed int
		spent     func(failed, rows int) bool
	}{
		{"5%", 1, func(failed, rows int) bool { return rows >= 20 && failed*100 >= 5*rows }},
		{"5", 5, func(failed, _ int) bool { return failed >= 5 }},
	}
	for _, tt := range tests {
		t.Run(tt.budget, func(t *testing.T) {
			t.Parallel()
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{FailRate: 0.5}, 0, n, e2eAppA)
			res := r.run(slices.Concat([]string{"run", "--input", input, "--report", "report.csv", "--summary", "summary.json",
				"--rate", "200", "--concurrency", fmt.Sprint(workers), "--max-attempts", "1", "--max-failures", tt.budget}, e2eFastRetries)...)
			e2eExit(t, "run", res, 4, "plivo-bulk: run stopped: too many rows failed: ", "(--max-failures "+tt.budget+")")
			fx.quiesce(t)
			rows := e2eAttempted(e2eReadReport(t, r.path("report.csv")))
			failed, spentAt := 0, 0 // spentAt: the report's rows when the budget was spent
			for i, row := range rows {
				if row.Status == "failed" {
					failed++
				}
				if spentAt == 0 && tt.spent(failed, i+1) {
					spentAt = i + 1
				}
			}
			posted, maxRows := len(fx.posts(t, time.Time{})), spentAt+2*workers
			if spentAt == 0 || len(rows) > maxRows || posted > maxRows || failed < tt.minFailed {
				t.Errorf("stopped after %d rows (%d failed), %d numbers updated, the budget spent at row %d; want at most %d rows, at least %d failed", len(rows), failed, posted, spentAt, maxRows, tt.minFailed)
			}
			sum := e2eReadSummary[summaryFile](t, r.path("summary.json"))
			if sum.StoppedBy != "max_failures" || sum.ExitCode != 4 || sum.NotAttempted != n-len(rows) || sum.Failed != failed {
				t.Errorf("summary stopped_by %q exit_code %d not_attempted %d failed %d; want max_failures, 4, %d, %d", sum.StoppedBy, sum.ExitCode, sum.NotAttempted, sum.Failed, n-len(rows), failed)
			}
		})
	}
}
