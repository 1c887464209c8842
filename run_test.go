package main

// Tests of a run: the report, the exit code and the output compared with what
// the sandbox received and the state it ends with. Every run is checked for a
// leaked token, a stack trace and a JSON log line that is not JSON (see
// e2eProc.check).

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// e2eWantRow is one input data row and what the run must make of it.
type e2eWantRow struct {
	line   string            // the CSV line, newline included
	number string            // the report's number cell
	status string            // ok, failed or invalid
	sent   map[string]string // for ok and failed rows: the targets as JSON fields (plus the current app_id when the row sets none)
	cells  [4]string         // for ok and failed rows: the report's target cells
	http   int               // for failed rows: the status the server answered
	errHas string            // a substring of the report's error cell
	// preflight marks a row that the file check passes but the pre-flight
	// check of its app_id or subaccount makes invalid: a dry run, which
	// checks nothing on the account, shows it as sent.
	preflight bool
}

// e2eSendRow is a row that is sent: number is the normalised number, written
// how the file spells it, cells the target cells ("" leaves a field alone,
// "(clear)" empties it).
func e2eSendRow(number, written string, cells [4]string) e2eWantRow {
	sent := map[string]string{}
	for i, c := range cells {
		if f := [4]string{"app_id", "subaccount", "alias", "compliance_application_id"}[i]; c == "(clear)" {
			sent[f] = ""
		} else if c != "" {
			sent[f] = c
		}
	}
	return e2eWantRow{line: e2eCSVLine(append([]string{written}, cells[:]...)...), number: number, status: "ok", sent: sent, cells: cells}
}

// e2eOtherRow is a row sent and refused by the server (http > 0), or one
// that names an application or subaccount the account does not have:
// invalid, never sent.
func e2eOtherRow(number string, cells [4]string, http int, errHas string) e2eWantRow {
	w := e2eSendRow(number, number, cells)
	w.status, w.http, w.errHas, w.preflight = "failed", http, errHas, http == 0
	if http == 0 {
		w.status = "invalid"
	}
	return w
}

// e2eInvalidRow is a row that must never be sent.
func e2eInvalidRow(line, number, errHas string) e2eWantRow {
	return e2eWantRow{line: line, number: number, status: "invalid", errHas: errHas}
}

// e2eRegularRows returns n rows over the numbers 12025550100 and up, written
// in several ways, with a mix of targets.
func e2eRegularRows(n int) []e2eWantRow {
	var rows []e2eWantRow
	for i := range n {
		number := fmt.Sprintf("120255501%02d", i)
		written := []string{number, fmt.Sprintf("+1 (202) 555-01%02d", i), fmt.Sprintf("+1 202.555.01%02d", i)}[i%3]
		cells := [][4]string{{e2eAppA, "", "", ""}, {"", e2eSubA, "", ""}, {"", "", fmt.Sprintf("Desk %d", i), ""}, {"(clear)", "", "", ""},
			{e2eAppB, "", "(clear)", ""}, {e2eAppB, e2eSubB, fmt.Sprintf(`Team "Night", %d`, i), ""}, {"", "", "", fmt.Sprintf("CA-%d", i)}}[i%7]
		rows = append(rows, e2eSendRow(number, written, cells))
	}
	return rows
}

// e2eMixedRows is 42 regular rows with, among them, rows the server refuses
// and rows that are invalid.
func e2eMixedRows() []e2eWantRow {
	formula := e2eSendRow("12025550152", "12025550152", [4]string{"", "", "=SUM(A1:A2)", ""})
	formula.cells[2] = "'=SUM(A1:A2)" // neutralised in the report, sent as it is
	special := []e2eWantRow{
		e2eOtherRow("12025550999", [4]string{e2eAppA, "", "", ""}, 404, "not found"), // not on the account
		e2eOtherRow("12025550150", [4]string{e2eAppUnknown, "", "", ""}, 0, `app_id "99999999999999999" is not an application of this account`),
		e2eOtherRow("12025550148", [4]string{"", e2eSubUnknown, "Lost", ""}, 0, `subaccount "SAXXXXXXXXXXXXXXXXXX" is not a subaccount of this account`),
		e2eOtherRow("12025550151", [4]string{"", "", "", "CA-151"}, 400, "compliance status is pending or rejected"),
		e2eInvalidRow(e2eCSVLine("12345", e2eAppA, "", "", ""), "12345", "fewer than 7 digits"),
		e2eInvalidRow(e2eCSVLine("+1 202 555 0100", e2eAppB, "", "second", ""), "12025550100", "duplicate of row 2"),
		formula,
		e2eInvalidRow(e2eCSVLine("1202555O154", e2eAppA, "", "", ""), "1202555O154", "not a digit"),
		e2eInvalidRow(e2eCSVLine("0044 20 7946 0155", e2eAppA, "", "", ""), "0044 20 7946 0155", "starts with 0"),
		e2eInvalidRow(e2eCSVLine("12025550156", "", "", "", ""), "12025550156", "nothing to change"),
		e2eSendRow("12025550153", "12025550153", [4]string{"(clear)", e2eSubA, "Moved", ""}),
		e2eInvalidRow("12025550157,"+e2eAppA+",,x,,extra\n", "12025550157", "has 6 cells, the header has 5"),
		e2eInvalidRow("12025550158,"+e2eAppA+"\n", "12025550158", "has 2 cells, the header has 5"),
		e2eInvalidRow(e2eCSVLine("12025550159", "", "(clear)", "", ""), "12025550159", "subaccount cannot be cleared"),
		e2eInvalidRow(e2eCSVLine("12025550149", e2eAppA, "", "", "(clear)"), "12025550149", "compliance_application_id cannot be cleared"),
	}
	var rows []e2eWantRow
	for i, r := range e2eRegularRows(42) {
		if rows = append(rows, r); i%3 == 2 && len(special) > 0 {
			rows, special = append(rows, special[0]), special[1:]
		}
	}
	return append(rows, special...)
}

// e2eApplied returns n with the fields of an update applied (a field it
// does not know is a mistake of the test: a nil dereference).
func e2eApplied(n sandbox.Number, fields map[string]string) sandbox.Number {
	for k, v := range fields {
		*map[string]*string{"app_id": &n.AppID, "subaccount": &n.Subaccount, "alias": &n.Alias, "compliance_application_id": &n.ComplianceApplicationID}[k] = v
	}
	return n
}

// TestRun_reportMatchesServer runs a file of good, refused and invalid
// rows, from a file or standard input, the report to a file or standard
// output, and checks the report row by row against what the sandbox
// received and the state it ends with, and the summary's counts. A dry run
// of the same file prints one request per valid row and sends nothing.
func TestRun_reportMatchesServer(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name                       string
		rows                       []e2eWantRow
		bomCRLF, stdin, toOut, dry bool
		extra                      []string
		wantCode                   int
	}{
		{name: "mixed", rows: e2eMixedRows(), wantCode: 1},
		{name: "all good with BOM and CRLF, JSON logs", rows: e2eRegularRows(21), bomCRLF: true, extra: []string{"--log-format", "json"}},
		{name: "input on stdin", rows: e2eRegularRows(10), stdin: true},
		{name: "report on stdout", rows: e2eRegularRows(10), toOut: true},
		{name: "dry run", rows: e2eMixedRows(), dry: true, extra: []string{"--dry-run"}, wantCode: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 12025550100 to 12025550159, all pending compliance but
			// 12025550151. The default-app trap is armed: an update without
			// app_id moves the number to e2eDefaultApp, so a row that does not
			// set app_id must send the number's current one.
			seed := e2eNumbers(e2eNumberRange(100, 60)...)
			seed[51].ComplianceStatus = "accepted"
			fx, r := e2eStartFixture(t, sandbox.Config{DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp}, seed...)
			var b strings.Builder
			b.WriteString("Number,App_ID,subaccount,ALIAS,compliance_application_id\n")
			for i, w := range tt.rows {
				if b.WriteString(w.line); i == 5 {
					b.WriteString("\n") // a blank line: skipped, not counted
				}
			}
			content, input, report := b.String(), "numbers.csv", "report.csv"
			if tt.bomCRLF {
				content = "\xef\xbb\xbf" + strings.ReplaceAll(content, "\n", "\r\n")
			}
			var stdin io.Reader
			if tt.stdin {
				stdin, input = strings.NewReader(content), "-"
			} else {
				r.write(input, content)
			}
			if tt.toOut {
				report = "-"
			}
			res := r.start(stdin, slices.Concat([]string{"run", "--input", input, "--report", report, "--rate", "0", "--read", "each"}, e2eFastRetries, tt.extra)...).wait()
			e2eExit(t, "run", res, tt.wantCode)
			fx.quiesce(t)
			switch {
			case tt.dry:
				e2eVerifyDryRun(t, fx, r, tt.rows, res.stdout)
				return
			case tt.toOut:
				e2eVerifyReport(t, fx, seed, tt.rows, e2eParseReport(t, "stdout (logs belong on stderr)", res.stdout, false))
				return
			}
			e2eVerifyReport(t, fx, seed, tt.rows, e2eReadReport(t, r.path("report.csv")))
			counts := map[string]float64{}
			for _, w := range tt.rows {
				counts[w.status]++
			}
			end := e2eLog(res.stderr, "run finished")
			for _, label := range []string{"ok", "failed", "invalid"} {
				if n := e2eSummaryCount(res.stderr, label); end == nil && float64(n) != counts[label] || end != nil && end[label] != counts[label] {
					t.Errorf("the summary's %s is not %v:\n%s", label, counts[label], res.stderr)
				}
			}
			if end == nil && !strings.Contains(res.stderr, "Report: "+r.path("report.csv")) {
				t.Errorf("summary does not name the report:\n%s", res.stderr)
			}
			if slices.Contains(tt.extra, "json") && (end == nil || e2eLog(res.stderr, "starting run") == nil) {
				t.Errorf("JSON logs lack the start or the end of the run:\n%s", res.stderr)
			}
		})
	}
}

// e2eVerifyDryRun checks a dry run's output: one request a valid row, with
// its fields, and a note where the number's app is read first; no report,
// no request.
func e2eVerifyDryRun(t *testing.T, fx *e2eFixture, r *e2eRunner, rows []e2eWantRow, stdout string) {
	t.Helper()
	postRE := regexp.MustCompile(`^row (\d+): POST /v1/Account/([^/]+)/Number/(\d+)/ (\{.*?\})( \(\+ the number's current app_id, read first\))?$`)
	printed := map[int]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if strings.Contains(line, ": invalid: ") {
			continue
		}
		m := postRE.FindStringSubmatch(line)
		var w e2eWantRow
		var body map[string]*string
		row := 0
		if m != nil {
			row, _ = strconv.Atoi(m[1])
			if row >= 2 && row-2 < len(rows) {
				w = rows[row-2]
			}
			_ = json.Unmarshal([]byte(m[4]), &body)
		}
		fields, nulls := e2eFieldsOf(e2eRequest{Fields: body})
		_, setsApp := w.sent["app_id"]
		if m == nil || printed[row] || m[2] != fx.authID || w.status == "" || w.status == "invalid" && !w.preflight ||
			m[3] != w.number || !maps.Equal(fields, w.sent) || len(nulls) > 0 || (m[5] == "") != setsApp {
			t.Errorf("output line %q: want one line a valid row, with account %s, number %q and fields %v", line, fx.authID, w.number, w.sent)
		}
		printed[row] = true
	}
	for i, w := range rows {
		if (w.status != "invalid" || w.preflight) && !printed[i+2] {
			t.Errorf("row %d (%s) is valid but not printed", i+2, w.number)
		}
	}
	if _, err := os.Stat(r.path("report.csv")); err == nil {
		t.Errorf("a dry run created the report")
	}
	if n := fx.requests(); n != 0 { // run returned: any request was answered
		t.Errorf("a dry run sent %d requests", n)
	}
}

// e2eVerifyReport checks a complete run's report against the wanted rows and
// what the sandbox received: one report row per input row; every ok row
// carries the api_id of the server's 202 and sent exactly its targets
// ((clear) as "", never null), plus the number's current app_id when the row
// sets none (read first with a GET); refused rows carry the server's
// status, api_id and message; invalid rows were never sent; the account,
// each application and each subaccount were read once; and the sandbox's
// final state holds the targets of the ok rows and nothing else.
func e2eVerifyReport(t *testing.T, fx *e2eFixture, seed []sandbox.Number, want []e2eWantRow, got []e2eReportRow) {
	t.Helper()
	byRow := e2eEveryRowOnce(t, got, len(want))
	initial := map[string]sandbox.Number{}
	for _, n := range seed {
		initial[n.Number] = n
	}
	// The reads before the run: the account, then each distinct
	// application and subaccount of the rows that pass the file check, once.
	preflight := map[string]bool{}
	for _, w := range want {
		if w.status != "invalid" || w.preflight {
			preflight["a"+w.sent["app_id"]], preflight["s"+w.sent["subaccount"]] = true, true
		}
	}
	delete(preflight, "a")
	delete(preflight, "s")
	byNumber, others := map[string][]e2eRequest{}, 0
	for _, q := range fx.all() {
		if q.Number != "" {
			byNumber[q.Number] = append(byNumber[q.Number], q)
		} else if others++; q.Method != "GET" {
			t.Errorf("unexpected request %s %s", q.Method, q.Path)
		}
	}
	if others != 1+len(preflight) {
		t.Errorf("%d requests not on a number, want 1 for the account and 1 for each of %v", others, preflight)
	}

	final := maps.Clone(initial)
	for i, w := range want {
		row := i + 2
		g := byRow[row]
		switch {
		case g.Status != w.status || g.Number != w.number:
			t.Errorf("row %d: number %q status %q (error %q), want number %q status %q", row, g.Number, g.Status, g.Error, w.number, w.status)
			continue
		case !strings.Contains(g.Error, w.errHas) || w.status == "ok" && g.Error != "":
			t.Errorf("row %d: error %q, want it to contain %q", row, g.Error, w.errHas)
		}
		if w.status == "invalid" {
			if g.Attempts != 0 || g.HTTPStatus != "" || g.APIID != "" {
				t.Errorf("row %d (invalid): attempts %d http_status %q api_id %q, want 0, empty, empty", row, g.Attempts, g.HTTPStatus, g.APIID)
			}
			continue
		}
		if g.Targets != w.cells {
			t.Errorf("row %d: target cells %q, want %q", row, g.Targets, w.cells)
		}
		// A row without app_id reads the number first and sends its
		// current app_id along.
		sent, reads := maps.Clone(w.sent), 0
		if _, setsApp := sent["app_id"]; !setsApp {
			sent["app_id"], reads = initial[w.number].AppID, 1
		}
		qs := byNumber[w.number]
		delete(byNumber, w.number)
		if len(qs) != 1+reads || g.Attempts != 1 || qs[reads].Method != "POST" || reads == 1 && qs[0].Method != "GET" {
			t.Errorf("row %d (%s): attempts %d; the server received %s; want 1 attempt, %d GET then a POST", row, w.number, g.Attempts, e2eDescribe(qs), reads)
			continue
		}
		post := qs[reads]
		if fields, nulls := e2eFieldsOf(post); len(nulls) > 0 || !maps.Equal(fields, sent) {
			t.Errorf("row %d (%s): the server received %v (body %s; Plivo ignores null), want %v", row, w.number, fields, post.Body, sent)
		}
		wantStatus := max(w.http, 202)
		if g.APIID == "" || g.APIID != post.APIID || post.Status != wantStatus || g.HTTPStatus != strconv.Itoa(wantStatus) {
			t.Errorf("row %d (%s): api_id %q http_status %q, the server answered %d with api_id %q; want %d", row, w.number, g.APIID, g.HTTPStatus, post.Status, post.APIID, wantStatus)
		}
		if w.status == "ok" {
			final[w.number] = e2eApplied(initial[w.number], sent)
		}
	}
	for n, qs := range byNumber {
		t.Errorf("%s got %s, but no valid row asks for it (an invalid row was sent?)", n, e2eDescribe(qs))
	}
	for n, want := range final {
		if got, _ := fx.srv.Number(n); got != want {
			t.Errorf("sandbox state of %s = %+v, want %+v", n, got, want)
		}
	}
}

// TestRun_retriesFaults runs against servers that fail, drop, garble and
// fail-after-apply requests, reads included, throttle, or never answer, and
// checks that every row ends exactly once, that ok means a clean 2xx reached
// the client, that the attempts column counts what the server received, and
// that a row without app_id sends the number's current one (the default-app
// trap) and, with --undo, records the old values: a garbled read is never
// taken for the number's state. The waits (backoffs, the limiter, timeouts)
// run in fake time; one worker and a fixed seed make the faults the same
// every run.
func TestRun_retriesFaults(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		faults         e2eFaults
		cfg            sandbox.Config
		args           []string
		status, errHas string // every row's, when set
	}{
		{name: "faults", faults: e2eFaults{Fail: 0.3, Drop: 0.05, Garbage: 0.2, FailAfterApply: 0.1, Seed: 20261127},
			args: slices.Concat(e2eFastRetries, []string{"--undo", "undo.csv", "--rate", "0", "--max-attempts", "10", "--concurrency", "1", "--log-format", "json"})},
		// The sandbox lets a second's worth through at once, then 20/s: at
		// --rate 200 the run must meet 429s unless it takes 2 s. Default
		// backoffs: the tool's own pacing is under test.
		{name: "throttled", cfg: sandbox.Config{Rate: sandbox.Rate{Limit: 20}}, args: []string{"--rate", "200", "--progress", "never"}, status: "ok"},
		{name: "never answered", faults: e2eFaults{Stall: 1}, args: slices.Concat(e2eFastRetries, []string{"--rate", "0", "--timeout", "200ms", "--max-attempts", "2"}),
			status: "failed", errHas: "timed out"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { e2eRetries(t, tt.faults, tt.cfg, tt.args, tt.status, tt.errHas) })
		})
	}
}

func e2eRetries(t *testing.T, faults e2eFaults, cfg sandbox.Config, args []string, wantStatus, errHas string) {
	const n = 60
	var numbers []string
	b := "number,app_id,subaccount,alias\n"
	targets, readFirst := map[string]map[string]string{}, map[string]bool{}
	for i := range n {
		num := fmt.Sprintf("120255510%02d", i)
		numbers = append(numbers, num)
		switch alias := fmt.Sprintf("retry %d", i); i % 3 {
		case 0:
			b += e2eCSVLine(num, e2eAppA, "", alias)
			targets[num] = map[string]string{"app_id": e2eAppA, "alias": alias}
		case 1:
			b += e2eCSVLine(num, "(clear)", e2eSubB, "")
			targets[num] = map[string]string{"app_id": "", "subaccount": e2eSubB}
		case 2: // read first, its app sent along
			b += e2eCSVLine(num, "", "", alias)
			targets[num], readFirst[num] = map[string]string{"app_id": e2eAppStart, "alias": alias}, true
		}
	}
	cfg.DefaultAppOnMissing, cfg.DefaultApp = true, e2eDefaultApp
	fx, r := e2eStartFaulty(t, faults, cfg, e2eNumbers(numbers...)...)
	undo := slices.Contains(args, "--undo")
	res := r.run(slices.Concat([]string{"run", "--input", r.write("numbers.csv", b), "--report", "report.csv", "--read", "each"}, args)...)
	if res.code != 0 && res.code != 1 {
		t.Fatalf("exit code %d, want 0 or 1\n%v", res.code, res)
	}
	fx.quiesce(t)
	byNumber := map[string][]e2eRequest{}
	garbledReads := 0
	for _, q := range fx.all() {
		byNumber[q.Number] = append(byNumber[q.Number], q)
		if q.Method == "GET" && q.Number != "" && q.Fault == "garbage" && q.Status >= 200 && q.Status < 300 {
			garbledReads++
		}
	}
	failed, retriedOK := 0, 0
	for _, g := range e2eEveryRowOnce(t, e2eReadReport(t, r.path("report.csv")), n) {
		if wantStatus != "" && (g.Status != wantStatus || !strings.Contains(g.Error, errHas)) {
			t.Errorf("row %d (%s): %s %q, want %s %q", g.Row, g.Number, g.Status, g.Error, wantStatus, errHas)
		}
		var gets, ps []e2eRequest
		dropped := 0
		for _, q := range byNumber[g.Number] {
			if q.Method == "POST" {
				ps = append(ps, q)
			} else if gets = append(gets, q); q.Status == 0 {
				dropped++
			}
		}
		// Every attempt of a row that reads starts with the read (for --undo,
		// and for the app of a row without app_id), and only a clean read
		// lets it send. Go's http.Transport replays, by itself, a GET whose
		// reused connection closed without an answer, so a dropped read may
		// be followed by one the client never counted; a POST is never
		// replayed.
		if undo || readFirst[g.Number] {
			if g.Attempts > len(gets) || len(gets) > g.Attempts+dropped || len(ps) > len(e2eClean2xx(gets)) {
				t.Errorf("row %d (%s): attempts %d, but the server received %s", g.Row, g.Number, g.Attempts, e2eDescribe(byNumber[g.Number]))
			}
		} else if len(gets) != 0 || len(ps) != g.Attempts {
			t.Errorf("row %d (%s): attempts %d, but the server received %s", g.Row, g.Number, g.Attempts, e2eDescribe(byNumber[g.Number]))
		}
		for _, q := range ps { // the front decodes every body, whatever fault it meets
			if fields, nulls := e2eFieldsOf(q); !maps.Equal(fields, targets[g.Number]) || len(nulls) > 0 {
				t.Errorf("row %d (%s): a POST carried %s, want %v", g.Row, g.Number, q.Body, targets[g.Number])
			}
		}
		clean := e2eClean2xx(ps)
		switch g.Status {
		case "ok":
			// A row is ok only after a clean 2xx: the last request for
			// its number, and the only clean one.
			if len(clean) != 1 || g.APIID != clean[0].APIID || ps[len(ps)-1].APIID != g.APIID || g.HTTPStatus != "202" {
				t.Errorf("row %d (%s): ok with api_id %q http_status %q; the server's clean 2xx answers: %s", g.Row, g.Number, g.APIID, g.HTTPStatus, e2eDescribe(clean))
			}
			if g.Attempts > 1 {
				retriedOK++
			}
			if got, _ := fx.srv.Number(g.Number); got != e2eApplied(e2eNumbers(g.Number)[0], targets[g.Number]) {
				t.Errorf("sandbox state of %s = %+v, want its targets %v", g.Number, got, targets[g.Number])
			}
		case "failed":
			failed++
			qs := byNumber[g.Number]
			if last := qs[len(qs)-1]; len(clean) != 0 || g.HTTPStatus != strings.TrimPrefix(strconv.Itoa(last.Status), "0") {
				t.Errorf("row %d (%s): failed with http_status %q, but the server answered %s", g.Row, g.Number, g.HTTPStatus, e2eDescribe(qs))
			}
		default:
			t.Errorf("row %d (%s): status %q, want ok or failed", g.Row, g.Number, g.Status)
		}
	}
	if (failed == 0) != (res.code == 0) {
		t.Errorf("exit code %d with %d failed rows", res.code, failed)
	}
	if faults.Garbage > 0 && (retriedOK == 0 || garbledReads == 0) || cfg.Rate.Limit > 0 && fx.srv.Stats().RateLimited == 0 {
		t.Errorf("%d rows retried into success, %d garbled reads, %d answered 429: the test tests nothing", retriedOK, garbledReads, fx.srv.Stats().RateLimited)
	}
	if undo { // the undo file holds what each row changed, as it was
		for _, u := range readCSV(t, r.path("undo.csv")) {
			if u["app_id"] != e2eAppStart && (targets[u["number"]]["alias"] == "" || u["alias"] != "old") {
				t.Errorf("undo row %v, want the number's old app_id or alias", u)
			}
		}
	}
}

// TestRun_existingReport: a report left by an earlier run is refused
// unless --force (which replaces it) or --resume (which continues it); a
// file that is not a report is never overwritten by --resume.
func TestRun_existingReport(t *testing.T) {
	t.Parallel()
	const other, none = "precious,data\nline two\n", "(none)"
	for _, tt := range []struct {
		existing string
		flags    []string
		wantCode int
		want     []string // in stderr; the existing file is then left as it was
	}{
		{other, nil, 2, []string{"already exists", "--resume", "--force"}},
		{"", nil, 0, nil}, // an empty file is no report
		{other, []string{"--force"}, 0, nil},
		{none, []string{"--resume"}, 0, nil}, // resume without a report starts one
		{other, []string{"--resume"}, 2, []string{"not a plivo-bulk report"}},
		{"precious data, no newline", []string{"--resume"}, 2, []string{"not a plivo-bulk report"}},
	} {
		t.Run(fmt.Sprintf("%.9q %v", tt.existing, tt.flags), func(t *testing.T) {
			t.Parallel()
			fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 701, 2, e2eAppA)
			if tt.existing != none {
				r.write("report.csv", tt.existing)
			}
			res := r.run(e2eRun(input, "report.csv", append(tt.flags, "--rate", "0")...)...)
			e2eExit(t, "run", res, tt.wantCode, tt.want...)
			if tt.want != nil {
				if data := e2eRead(t, r.path("report.csv")); data != tt.existing || len(fx.posts(t, time.Time{})) != 0 {
					t.Errorf("the existing file was changed to %q, or updates were sent", data)
				}
			} else if rows := e2eReadReport(t, r.path("report.csv")); len(rows) != 2 || rows[0].Status != "ok" || rows[1].Status != "ok" {
				t.Errorf("report = %+v, want two ok rows", rows)
			}
		})
	}
}

// TestRun_sandboxSamples runs the samples against the built-in sandbox,
// as README.md's quick start does. A row's want is "number status", then
// what its error holds or (alias=...) its alias cell.
func TestRun_sandboxSamples(t *testing.T) {
	t.Parallel()
	var numbers []string
	for _, n := range strings.Fields("12025550101 12025550102 12025550103 12025550104 12025550105 12025550106 12025550107 12025550108 12025550109 12025550110 442079460101 442079460102 442079460103 442079460104 442079460105 918040000101 918040000102 918040000103 918040000104 918040000105") {
		numbers = append(numbers, n+" ok")
	}
	for _, tt := range []struct {
		file     string
		wantCode int
		rows     []string // from row 2
	}{
		{"numbers.csv", 0, numbers},
		{"numbers-all-columns.csv", 0, []string{"12025550201 ok alias=EMEA sales 1", "12025550202 ok", "12025550203 ok", "12025550204 ok",
			"12025550205 ok", "12025550206 ok", "12025550207 ok alias=(clear)", "12025550208 ok alias=Support, night shift"}},
		{"numbers-mistakes.csv", 1, []string{"12025550301 ok", "12025550302 ok", "12025550301 invalid duplicate of row 2",
			"555-030 invalid fewer than 7 digits", "1202555030x invalid not a digit", "0044 20 7946 0301 invalid starts with 0",
			"12025550304 invalid is not an application of this account", "12025550305 invalid nothing to change",
			`12025550306 ok alias='=HYPERLINK("http://example.com")`}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			// A token in the environment is not used with --sandbox, and
			// must not be printed either.
			r := e2eNewRunner(t, nil).withToken("MAXXXXXXXXXXXXXXXXXX", "tok-"+e2eRandString(e2eAlnum, 32))
			sample, _ := filepath.Abs(filepath.Join("samples", tt.file))
			e2eExit(t, "run", r.run("run", "--sandbox", "--input", sample, "--report", "report.csv", "--progress", "never", "--rate", "0"), tt.wantCode, "SANDBOX")
			for _, g := range e2eEveryRowOnce(t, e2eReadReport(t, r.path("report.csv")), len(tt.rows)) {
				want, line := tt.rows[g.Row-2], g.Number+" "+g.Status
				if want, alias, ok := strings.Cut(want, " alias="); ok {
					if line != want || g.Targets[2] != alias {
						t.Errorf("row %d: %s alias %q, want %s", g.Row, line, g.Targets[2], want)
					}
				} else if rest, ok := strings.CutPrefix(want, line); !ok || !strings.Contains(g.Error, strings.TrimSpace(rest)) {
					t.Errorf("row %d: %s %q, want %s", g.Row, line, g.Error, want)
				}
				if g.Status == "ok" && (g.APIID == "" || g.HTTPStatus != "202" || g.Attempts != 1) {
					t.Errorf("row %d: ok with api_id %q http_status %q attempts %d", g.Row, g.APIID, g.HTTPStatus, g.Attempts)
				}
			}
		})
	}
}

// TestRun_interruptAndResume stops a run with --undo mid-way (SIGINT,
// SIGHUP or SIGKILL followed by a torn line), then resumes it: every
// number ends ok exactly once, no number already ok is sent again, and the
// undo file, whose rows are on disk before their updates are sent, rolls
// back every number. A second run on the report while the first is alive
// is refused at once; once the first is killed, its lock is gone. (main
// takes SIGTERM as SIGHUP: TestStop_signalEndsWaits sends it to the binary.)
func TestRun_interruptAndResume(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGKILL} { // SIGHUP: a closed terminal
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			const n = 120
			graceful := sig != syscall.SIGKILL
			fx, r0 := e2eStartFixture(t, sandbox.Config{Latency: 50 * time.Millisecond, DefaultAppOnMissing: true, DefaultApp: e2eDefaultApp})
			r := r0
			if sig != syscall.SIGINT { // main's to map, or the kernel's
				r = r0.binary()
			}
			// Half the rows alias-only: read first, their app_id pinned.
			in := "number,app_id,alias\n"
			seed, targets := e2eNumbers(e2eNumberRange(2000, n)...), map[string]map[string]string{}
			for i, s := range seed {
				fx.srv.AddNumber(s)
				alias, app := fmt.Sprintf("resumed %d", i), []string{e2eAppA, ""}[i%2]
				in += e2eCSVLine(s.Number, app, alias)
				if targets[s.Number] = map[string]string{"alias": alias}; app != "" {
					targets[s.Number]["app_id"] = app
				}
			}
			input := r.write("numbers.csv", in)
			report, undo := r.path("report.csv"), r.path("undo.csv")

			p := r.start(nil, e2eRun(input, report, "--undo", undo, "--rate", "40")...) // 3 s for every row: time to stop it on a loaded machine
			e2eWaitFor(t, 20*time.Second, "20 report rows", func() bool { return e2eReportLines(report) >= 20 || p.exited() })
			if !graceful { // a second run, in-process, meets the binary's lock at once
				for _, flags := range [][]string{{"--resume"}, {"--force"}, nil} {
					before := e2eRead(t, report)
					res := r0.run(e2eRun(input, report, append(flags, "--rate", "0")...)...)
					if e2eExit(t, fmt.Sprint("second run ", flags), res, 2); !strings.Contains(res.stderr, "in use") || res.elapsed > 5*time.Second {
						t.Errorf("second run %v: took %v, stderr does not say the report is in use:\n%s", flags, res.elapsed, res.stderr)
					}
					if after := e2eRead(t, report); !strings.HasPrefix(after, before) {
						t.Errorf("second run %v changed the report in use:\nbefore %q\nafter %q", flags, before, after)
					}
				}
			}
			p.alive("before it could be interrupted")
			res := p.signalEnds(sig, 15*time.Second)
			e2eExit(t, "run", res, map[bool]int{true: 130, false: -1}[graceful])
			fx.quiesce(t)

			data := e2eRead(t, report)
			first := e2eAttempted(e2eParseReport(t, "report after "+sig.String(), data, !graceful))
			if len(first) >= n {
				t.Fatalf("report after %v: %d rows, want fewer than %d\n%s", sig, len(first), n, data)
			}
			posts1 := fx.posts(t, time.Time{})
			// A number's undo row is on disk before its update is sent.
			_, undoRows := e2eCSV(t, "undo file", e2eRead(t, undo), !graceful)
			inUndo := map[string]bool{}
			for _, u := range undoRows {
				inUndo[u["number"]] = true
			}
			for num := range posts1 {
				if !inUndo[num] {
					t.Errorf("%s was sent, but the undo file has no row for it", num)
				}
			}
			okFirst, reported := map[string]bool{}, map[string]bool{}
			for _, g := range first {
				reported[g.Number] = true
				if g.Status != "ok" {
					continue
				}
				okFirst[g.Number] = true
				if clean := e2eClean2xx(posts1[g.Number]); len(clean) != 1 || clean[0].APIID != g.APIID {
					t.Errorf("row %d (%s): ok with api_id %q, but the server's 2xx answers were %s", g.Row, g.Number, g.APIID, e2eDescribe(clean))
				}
			}
			if graceful {
				e2eHas(t, "stderr", res.stderr, "Summary:", "not attempted", "--resume")
				// Calls in flight finish and are reported.
				for num, ps := range posts1 {
					if !reported[num] {
						t.Errorf("%s was answered %s by the server but is not in the report", num, e2eDescribe(ps))
					}
				}
				if na := e2eSummaryCount(res.stderr, "not attempted"); na != n-len(first) {
					t.Errorf("summary says %d not attempted; the report has %d of %d rows", na, len(first), n)
				}
			} else { // a torn write, as a crash mid-line would leave
				r.write("report.csv", e2eRead(t, report)+"12,1202555")
			}

			since := time.Now()
			res2 := r.run(e2eRun(input, report, "--undo", undo, "--resume", "--rate", "0")...)
			e2eExit(t, "resume", res2, 0)
			if !graceful && !strings.Contains(res2.stderr, "dropped_torn_line=true") {
				t.Errorf("resume does not say it dropped the torn line:\n%s", res2.stderr)
			}
			if got := max(0, e2eSummaryCount(res2.stderr, "already ok")); got != len(okFirst) {
				t.Errorf("resume says %d already ok, want %d\n%s", got, len(okFirst), res2.stderr)
			}
			okCount := map[string]int{}
			for _, g := range e2eReadReport(t, report) {
				if g.Status == "ok" {
					okCount[g.Number]++
				}
			}
			for num, ps := range fx.posts(t, since) {
				if okFirst[num] {
					t.Errorf("%s was ok before the resume, but the resumed run sent it again: %s", num, e2eDescribe(ps))
				}
			}
			for num, want := range targets {
				if got, _ := fx.srv.Number(num); okCount[num] != 1 || got != e2eApplied(e2eNumbers(num)[0], want) {
					t.Errorf("%s: ok %d times in the report, state %+v; want once, and its targets %v", num, okCount[num], got, want)
				}
			}
			// The undo file, written across the stop, rolls back every number.
			e2eExit(t, "rollback", r.run(e2eRun(undo, "rollback.csv", "--rate", "0")...), 0)
			e2eUntouched(t, fx, "after the rollback", seed...)
		})
	}
}

// TestRun_secondSignalStopsAtOnce: while a stop waits for calls that
// never end, a second SIGINT ends the run promptly. On the binary, with
// --log-format json: main's own lines are JSON too (e2eProc.check).
func TestRun_secondSignalStopsAtOnce(t *testing.T) {
	t.Parallel()
	numbers := e2eNumberRange(800, 5)
	fx, _ := e2eStartFaulty(t, e2eFaults{Stall: 1}, sandbox.Config{}, e2eNumbers(numbers...)...)
	r := e2eNewRunner(t, fx).binary()
	input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, numbers...))
	report := r.path("report.csv")

	p := r.start(nil, e2eRun(input, report, "--rate", "0", "--timeout", "30s", "--log-format", "json")...)
	e2eWaitFor(t, 10*time.Second, "every update in flight", func() bool { return fx.requests() >= 1+int64(len(numbers)) || p.exited() })
	p.alive("before its updates were all in flight")
	p.signal(syscall.SIGINT)
	e2eWaitFor(t, 5*time.Second, "the first signal's message", func() bool { return strings.Contains(p.stderr.String(), "waiting for calls in flight") || p.exited() })
	if p.waitTimeout(300 * time.Millisecond) {
		t.Fatalf("the run ended at the first SIGINT, without waiting for the calls in flight\n%v", p.wait())
	}
	sent := time.Now()
	res := p.signalEnds(syscall.SIGINT, 5*time.Second)
	if took := time.Since(sent); took > 3*time.Second {
		t.Errorf("the run took %v to end after the second SIGINT", took)
	}
	if e2eExit(t, "run", res, 130); e2eLog(res.stderr, "stopping now (a third signal exits at once)") == nil {
		t.Errorf("no JSON record of the second signal:\n%s", res.stderr)
	}
	for _, g := range e2eReadReport(t, report) {
		if g.Status == "ok" || !strings.Contains(g.Error, "interrupted") {
			t.Errorf("row %d (%s): %s %q, want failed, interrupted", g.Row, g.Number, g.Status, g.Error)
		}
	}
}

// TestPreflight_checksEveryDistinctApp gives each row its own app_id,
// one in ten of them unknown to the account, three more than the
// pre-flight's cap. The pre-flight reads each of the first ones in file
// order once, whatever their number, so that every row naming an unknown
// app among them is invalid, not sent; it says that it left the last three
// unchecked, and the dry run and the run's start say what it costs.
func TestPreflight_checksEveryDistinctApp(t *testing.T) {
	t.Parallel()
	const n = input.MaxDistinct + 3
	app := func(i int) string { return fmt.Sprintf("3%016d", i) }
	known := func(i int) bool { return i%10 != 3 && i < input.MaxDistinct }
	ns, in := e2eNumberRange(0, n), "number,app_id\n"
	for i, num := range ns {
		in += e2eCSVLine(num, app(i))
	}
	fx, r := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(ns...)...)
	for i := range n {
		if known(i) {
			fx.srv.AddApplication(app(i), fmt.Sprintf("App %d", i))
		}
	}
	inputPath := r.write("input.csv", in)

	dry := r.run("run", "--dry-run", "--input", inputPath)
	if want := fmt.Sprintf("%d pre-flight reads (%[1]d distinct app_id, 0 subaccount)", input.MaxDistinct); dry.code != 0 || !strings.Contains(dry.stderr, want) {
		t.Errorf("dry run: exit %d, want 0 and %q in:\n%s", dry.code, want, dry.stderr)
	}

	e2eExit(t, "run", r.run("run", "--input", inputPath, "--report", "report.csv", "--rate", "0", "--max-attempts", "1"), 1, "preflight_reads=1000", "the first ones in file order are checked", "checked=1000")
	fx.quiesce(t)
	got := map[string]int{}
	for _, q := range fx.all() {
		if _, id, ok := strings.Cut(q.Path, "/Application/"); ok && q.Method == http.MethodGet {
			got[strings.TrimSuffix(id, "/")]++
		}
	}
	want := map[string]int{}
	for i := range input.MaxDistinct {
		want[app(i)] = 1
	}
	if !maps.Equal(got, want) {
		t.Errorf("the pre-flight read %d applications, want each of the first %d in file order once", len(got), len(want))
	}
	for _, row := range e2eReadReport(t, r.path("report.csv")) {
		i := row.Row - 2
		switch {
		case known(i) && row.Status != "ok":
			t.Errorf("row %d: %s %q, want ok", row.Row, row.Status, row.Error)
		case !known(i) && i < input.MaxDistinct && (row.Status != "invalid" || !strings.Contains(row.Error, "checked before the run")):
			t.Errorf("row %d: %s %q, want invalid: its app was checked before the run", row.Row, row.Status, row.Error)
		case i >= input.MaxDistinct && (row.Status != "failed" || row.HTTPStatus != "400"):
			t.Errorf("row %d: %s %s %q, want sent unchecked and failed with 400", row.Row, row.Status, row.HTTPStatus, row.Error)
		}
	}
}
