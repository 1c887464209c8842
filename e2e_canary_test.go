package main

// End-to-end tests of --canary and --max-failures off a terminal (cron, CI:
// no question is asked): the binary against a sandbox served from the test
// process that refuses a file's targets, claims updates it does not apply,
// or fails half of its requests. (The questions on a terminal are in
// e2e_confirm_test.go.)

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eReadSummary reads the file that --summary wrote.
func e2eReadSummary(t *testing.T, path string) summaryFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	var s summaryFile
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, data)
	}
	return s
}

// e2eCanaryNumbers returns n numbers from 12025570000 up.
func e2eCanaryNumbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("1202557%04d", i)
	}
	return out
}

// e2eInput writes an input with header and one line per number, its cells
// after the number given by cells.
func e2eInput(r *e2eRunner, name, header string, numbers []string, cells string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, n := range numbers {
		b.WriteString(n + "," + cells + "\n")
	}
	return r.write(name, b.String())
}

// TestE2E_Canary_stopsOnRefusedTargets runs a file whose compliance change
// the sandbox refuses on every number (their compliance is accepted, not
// pending): the canary stops it after its rows, says why, and a --resume
// meets the same refusal until the file is fixed, then finishes it.
func TestE2E_Canary_stopsOnRefusedTargets(t *testing.T) {
	t.Parallel()
	const n, canary = 40, 5
	numbers := e2eCanaryNumbers(n)
	seed := e2eNumbers(numbers...)
	for i := range seed {
		seed[i].ComplianceStatus = "accepted"
	}
	fx := e2eStartFixture(t, sandbox.Config{}, seed...)
	r := e2eNewRunner(t, fx)
	wrong := e2eInput(r, "wrong.csv", "number,app_id,compliance_application_id", numbers, e2eAppA+",CA0123456789")
	args := func(input string, more ...string) []string {
		return e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--canary", fmt.Sprint(canary), "--summary", "summary.json", "--rate", "0"}, e2eFastRetries, more)
	}

	for _, attempt := range []string{"first run", "resumed, file unchanged"} {
		since := time.Now()
		var res e2eResult
		if attempt == "first run" {
			res = r.run(args(wrong)...)
		} else {
			res = r.run(args(wrong, "--resume")...)
		}
		if res.code != 1 {
			t.Fatalf("%s: exit code %d, want 1\n%v", attempt, res.code, res)
		}
		for _, want := range []string{
			"plivo-bulk: canary failed: 5 of 5 canary rows are not in their target state: row 2 (" + numbers[0] + "): HTTP 400: compliance_application_id can be changed only while",
			"and 2 more; nothing else was sent",
			fmt.Sprintf("%d rows were not attempted: run again with --resume to finish", n-canary),
		} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", attempt, want, res.stderr)
			}
		}
		fx.quiesce(t)
		posts := fx.rec.postsByNumber(since)
		if len(posts) != canary {
			t.Errorf("%s: %d numbers updated, want the %d of the canary", attempt, len(posts), canary)
		}
		for _, num := range numbers[:canary] {
			if qs := posts[num]; len(qs) != 1 || qs[0].Status != http.StatusBadRequest {
				t.Errorf("%s: %s: %s, want one update answered 400", attempt, num, e2eDescribe(qs))
			}
		}
		if sum := e2eReadSummary(t, r.path("summary.json")); sum.StoppedBy != "canary" || sum.Failed != canary || sum.NotAttempted != n-canary || sum.ExitCode != 1 {
			t.Errorf("%s: summary stopped_by %q failed %d not_attempted %d exit_code %d; want canary, %d, %d, 1", attempt, sum.StoppedBy, sum.Failed, sum.NotAttempted, sum.ExitCode, canary, n-canary)
		}
	}
	// The report says why, row by row.
	rows := e2eReadReport(t, r.path("report.csv"))
	if len(rows) != 2*canary {
		t.Errorf("report has %d rows, want %d (the canary, twice)", len(rows), 2*canary)
	}
	for _, row := range rows {
		if row.Status != "failed" || row.HTTPStatus != "400" || !strings.Contains(row.Error, "compliance status is pending or rejected") {
			t.Errorf("report row %d: %s %s %q, want failed 400 with the sandbox's reason", row.Row, row.Status, row.HTTPStatus, row.Error)
		}
	}
	for _, s := range seed {
		if got, _ := fx.srv.Number(s.Number); got != s {
			t.Errorf("%s changed to %+v", s.Number, got)
		}
	}

	// Fixed (the compliance column was not meant to be there), the file
	// resumes: the canary passes and the rest follows.
	fixed := e2eInput(r, "fixed.csv", "number,app_id", numbers, e2eAppA)
	since := time.Now()
	res := r.run(args(fixed, "--resume")...)
	if res.code != 0 {
		t.Fatalf("resumed with the fixed file: exit code %d, want 0\n%v", res.code, res)
	}
	fx.quiesce(t)
	if posts := fx.rec.postsByNumber(since); len(posts) != n {
		t.Errorf("resumed with the fixed file: %d numbers updated, want %d", len(posts), n)
	}
	for _, num := range numbers {
		if got, _ := fx.srv.Number(num); got.AppID != e2eAppA {
			t.Errorf("%s: app %q, want %q", num, got.AppID, e2eAppA)
		}
	}
}

// e2eApplyNothing serves fx behind a front that answers every update 202
// "changed" and drops it. It returns the front's URL and a function that
// counts the updates it dropped, per number.
func e2eApplyNothing(t *testing.T, fx *e2eFixture) (string, func() map[string]int) {
	var mu sync.Mutex
	lied := map[string]int{}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if q.Method == http.MethodPost {
			_, _ = io.Copy(io.Discard, q.Body)
			mu.Lock()
			lied[path.Base(q.URL.Path)]++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"message":"changed","api_id":"5a9fcb68-523d-11e1-86da-6ff39efcb949"}`)
			return
		}
		fx.ServeHTTP(w, q)
	}))
	t.Cleanup(front.Close)
	return front.URL, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(lied)
	}
}

// TestE2E_Canary_catchesUpdatesNotApplied puts in front of the sandbox a
// server that answers every update "changed" and drops it: --canary 20
// stops the run after the canary, with no one at a terminal to ask.
func TestE2E_Canary_catchesUpdatesNotApplied(t *testing.T) {
	t.Parallel()
	const n, canary, maxAttempts = 200, 20, 2
	numbers := e2eCanaryNumbers(n)
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(numbers...)...)
	front, lied := e2eApplyNothing(t, fx)
	r := e2eNewRunner(t, fx).with("PLIVO_API_URL", front)
	input := e2eInput(r, "numbers.csv", "number,app_id", numbers, e2eAppA)
	res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--canary", fmt.Sprint(canary),
		"--summary", "summary.json", "--rate", "0", "--max-attempts", fmt.Sprint(maxAttempts)}, e2eFastRetries)...)
	if res.code != 1 {
		t.Fatalf("exit code %d, want 1\n%v", res.code, res)
	}
	if want := fmt.Sprintf("plivo-bulk: canary failed: %d of %d canary rows are not in their target state", canary, canary); !strings.Contains(res.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
	}
	updated, updates := 0, 0
	for _, c := range lied() {
		updated, updates = updated+1, updates+c
	}
	if updated != canary || updates > canary*maxAttempts {
		t.Errorf("%d updates to %d numbers, want at most %d to the %d of the canary", updates, updated, canary*maxAttempts, canary)
	}
	rows := e2eReadReport(t, r.path("report.csv"))
	if len(rows) != canary {
		t.Fatalf("report has %d rows, want %d", len(rows), canary)
	}
	for _, row := range rows {
		if row.Status != "failed" || !strings.Contains(row.Error, "app_id") {
			t.Errorf("report row %d: %s %q, want failed, naming the field the server does not hold", row.Row, row.Status, row.Error)
		}
	}
	if sum := e2eReadSummary(t, r.path("summary.json")); sum.StoppedBy != "canary" || sum.NotAttempted != n-canary || sum.FailedByKind["verify_mismatch"] != canary {
		t.Errorf("summary stopped_by %q not_attempted %d failed_by_kind %v; want canary, %d, verify_mismatch %d", sum.StoppedBy, sum.NotAttempted, sum.FailedByKind, n-canary, canary)
	}
	for _, num := range numbers {
		if got, _ := fx.srv.Number(num); got.AppID != e2eAppStart {
			t.Fatalf("%s moved to %q", num, got.AppID)
		}
	}
	t.Logf("proof: %d rows, --canary %d: stopped after %d updates to %d numbers, %d not attempted, in %v",
		n, canary, updates, updated, n-canary, res.elapsed.Round(time.Millisecond))
}

// TestE2E_MaxFailures_stopsAHalfFailingRun runs against a sandbox that fails
// half of its requests, every failure final (--max-attempts 1): the budget
// stops the run early with exit 4, the summary says so, and a --resume
// (with retries) finishes it without sending any finished row again.
// After the row that spends the budget, the report may hold only the rows
// in flight at the stop: up to --concurrency in calls, as many answered and
// queued for the report.
func TestE2E_MaxFailures_stopsAHalfFailingRun(t *testing.T) {
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
			numbers := e2eCanaryNumbers(n)
			fx := e2eStartFixture(t, sandbox.Config{FailRate: 0.5}, e2eNumbers(numbers...)...)
			r := e2eNewRunner(t, fx)
			input := e2eInput(r, "numbers.csv", "number,app_id", numbers, e2eAppA)
			res := r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--summary", "summary.json",
				"--rate", "200", "--concurrency", fmt.Sprint(workers), "--max-attempts", "1", "--max-failures", tt.budget}, e2eFastRetries)...)
			if res.code != 4 {
				t.Fatalf("exit code %d, want 4\n%v", res.code, res)
			}
			if want := "plivo-bulk: run stopped: too many rows failed: "; !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, "(--max-failures "+tt.budget+")") {
				t.Errorf("stderr lacks %q ... (--max-failures %s):\n%s", want, tt.budget, res.stderr)
			}
			fx.quiesce(t)
			rows := e2eReadReport(t, r.path("report.csv"))
			failed, spentAt := 0, 0 // spentAt: the report's rows when the budget was spent
			okFirst := map[string]bool{}
			for i, row := range rows {
				switch row.Status {
				case "failed":
					failed++
				case "ok":
					okFirst[row.Number] = true
				}
				if spentAt == 0 && tt.spent(failed, i+1) {
					spentAt = i + 1
				}
			}
			posted, maxRows := len(fx.rec.postsByNumber(time.Time{})), spentAt+2*workers
			if spentAt == 0 || len(rows) > maxRows || posted > maxRows || failed < tt.minFailed {
				t.Errorf("stopped after %d rows (%d failed), %d numbers updated, the budget spent at row %d; want at most %d rows, at least %d failed", len(rows), failed, posted, spentAt, maxRows, tt.minFailed)
			}
			sum := e2eReadSummary(t, r.path("summary.json"))
			if sum.StoppedBy != "max_failures" || sum.ExitCode != 4 || sum.NotAttempted != n-len(rows) || sum.Failed != failed {
				t.Errorf("summary stopped_by %q exit_code %d not_attempted %d failed %d; want max_failures, 4, %d, %d", sum.StoppedBy, sum.ExitCode, sum.NotAttempted, sum.Failed, n-len(rows), failed)
			}
			t.Logf("--max-failures %s against a 50%% failing sandbox: stopped after %d rows (%d failed, %d ok), %d numbers updated",
				tt.budget, len(rows), failed, len(okFirst), posted)

			// The rest is resumable. With retries, the same sandbox lets
			// every row through in the end.
			since := time.Now()
			res = r.run(e2eArgs([]string{"run", "--input", input, "--report", "report.csv", "--resume",
				"--rate", "0", "--max-attempts", "30"}, e2eFastRetries)...)
			if res.code != 0 {
				t.Fatalf("resume: exit code %d, want 0\n%v", res.code, res)
			}
			fx.quiesce(t)
			again := fx.rec.postsByNumber(since)
			for num := range okFirst {
				if len(again[num]) > 0 {
					t.Errorf("%s was ok before the resume and was sent again", num)
				}
			}
			for _, num := range numbers {
				if got, _ := fx.srv.Number(num); got.AppID != e2eAppA {
					t.Errorf("after the resume %s is on %q, want %q", num, got.AppID, e2eAppA)
				}
			}
		})
	}
}
