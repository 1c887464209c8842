package main

// Tests of the files: what a report, an undo file or a summary says must be
// true, an applied update must never go unrecorded, no file the user did not
// name as an output may be touched, and every file opens in the tools people
// use next.

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// a report or undo file written against another account or API
// host is refused, before any request, and left as it was. On its own
// origin, a resume whose input holds some of the report's rows counts only
// the input's rows, never below zero, and sends only those not done.
func TestResume_refusesAnotherOrigin(t *testing.T) {
	t.Parallel()
	fx, r, _, nums := e2eMoveAll(t, sandbox.Config{}, 1300, 6, e2eAppA)
	input := r.write("first.csv", e2eInput("number,app_id", e2eAppA, nums[:4]...))
	e2eExit(t, "first run", r.run(e2eRun(input, "report.csv", "--undo", "undo.csv", "--rate", "0")...), 0)
	report, undo := e2eRead(t, r.path("report.csv")), e2eRead(t, r.path("undo.csv"))

	// The same credentials served on another port: another API host.
	fxB, _ := e2eStartFixture(t, sandbox.Config{AuthID: fx.authID, AuthToken: fx.token}, e2eNumbers(nums...)...)
	otherAccount := r.with("PLIVO_AUTH_ID", "MA"+e2eRandString("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 18))
	otherAPI := r.with("PLIVO_API_URL", fxB.url)
	tests := []struct {
		name  string
		r     *e2eRunner
		extra []string
		file  string // the file the message names
	}{
		{"report, another account", otherAccount, []string{"--report", "report.csv", "--resume"}, "report.csv"},
		{"report, another API host", otherAPI, []string{"--report", "report.csv", "--resume"}, "report.csv"},
		{"undo file, another account, --resume", otherAccount, []string{"--report", "new.csv", "--undo", "undo.csv", "--resume"}, "undo.csv"},
		{"undo file, another API host, --force", otherAPI, []string{"--report", "new.csv", "--undo", "undo.csv", "--force"}, "undo.csv"},
		{"undo file, another API host, --resume", otherAPI, []string{"--report", "new.csv", "--undo", "undo.csv", "--resume"}, "undo.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeB := fx.requests(), fxB.requests()
			res := tt.r.run(slices.Concat([]string{"run", "--input", input, "--rate", "0"}, e2eFastRetries, tt.extra)...)
			e2eExit(t, "run", res, 2, tt.file+" was written against account "+fx.authID)
			if got := e2eRead(t, r.path("report.csv")); got != report {
				t.Errorf("the report changed:\n%s", got)
			}
			if got := e2eRead(t, r.path("undo.csv")); got != undo {
				t.Errorf("the undo file changed:\n%s", got)
			}
			if fx.requests() != before || fxB.requests() != beforeB {
				t.Errorf("a refused run sent requests")
			}
		})
	}
	since := time.Now()
	res := r.run(e2eRun(r.write("some.csv", e2eInput("number,app_id", e2eAppA, nums[2:]...)), "report.csv", "--resume", "--undo", "undo.csv", "--rate", "0", "--log-format", "json")...)
	e2eExit(t, "resume on the right origin", res, 0)
	for _, logged := range e2eJSONLogs(res.stderr) {
		if logged["msg"] == "starting run" && (logged["to_send"] != 2.0 || logged["already_ok"] != 2.0 || logged["rows"] != 4.0) {
			t.Errorf("starting run: %v, want rows 4, to_send 2, already_ok 2", logged)
		}
		for k, v := range logged {
			if f, ok := v.(float64); ok && f < 0 {
				t.Errorf("%s: %s = %v", logged["msg"], k, f)
			}
		}
	}
	if s := e2eLog(res.stderr, "run finished"); s["ok"] != 2.0 || s["already_ok"] != 2.0 || s["not_attempted"] != 0.0 {
		t.Errorf("run finished: %v, want ok 2, already_ok 2, not_attempted 0", s)
	}
	e2eSent(t, fx, since, map[string]string{nums[4]: e2eAppA, nums[5]: e2eAppA})
}

// e2eSent checks that the run sent exactly want (number -> app), once each.
func e2eSent(t *testing.T, fx *e2eFixture, since time.Time, want map[string]string) {
	t.Helper()
	got := fx.posts(t, since)
	for n, qs := range got {
		if f, _ := e2eFieldsOf(qs[0]); len(qs) != 1 || f["app_id"] != want[n] || want[n] == "" {
			t.Errorf("%s was sent %d times, app_id %q first; want %q once (none if not in the checked input)", n, len(qs), f["app_id"], want[n])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d numbers sent, want %d", len(got), len(want))
	}
}

// the input replaced while the run goes on: exactly what was checked is
// sent, once (every way a file can change: batch/input
// TestOpen_sendsWhatWasChecked). An input that can be read only once, a
// process substitution, is sent whole (standard input:
// TestRun_reportMatchesServer).
func TestInput_sendsWhatWasChecked(t *testing.T) {
	t.Parallel()
	nums, extra := e2eNumberRange(1320, 8), e2eNumberRange(1340, 4)
	want := map[string]string{}
	for _, n := range nums {
		want[n] = e2eAppA
	}
	t.Run("replaced by a rename", func(t *testing.T) {
		t.Parallel()
		fx, r := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(append(slices.Clone(nums), extra...)...)...)
		input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, nums...))
		report := r.path("report.csv")
		since := time.Now()
		p := r.start(nil, e2eRun(input, report, "--rate", "8")...)
		e2eWaitFor(t, 10*time.Second, "the first report row", func() bool { return e2eReportLines(report) >= 1 || p.exited() })
		p.alive("before the input could be changed")
		r.write("numbers.new", e2eInput("number,app_id", e2eAppB, append(slices.Clone(nums), extra...)...))
		e2eOK(t, os.Rename(r.path("numbers.new"), input))
		res := p.wait()
		e2eExit(t, "run", res, 0, fmt.Sprintf("Summary: %d rows", len(nums)))
		for _, g := range e2eReadReport(t, report) {
			if g.Status != "ok" || g.Targets[0] != e2eAppA {
				t.Errorf("report row %d: %s %s %q, want ok %s", g.Row, g.Number, g.Status, g.Targets[0], e2eAppA)
			}
		}
		e2eSent(t, fx, since, want)
	})
	t.Run("process substitution", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/bin/bash"); err != nil {
			t.Skip("no bash for <(...)")
		}
		fx, r, _, _ := e2eMoveAll(t, sandbox.Config{}, 1320, 8, e2eAppA) // nums
		res := r.startVia([]string{"/bin/bash", "-c", `exec "$@" --input <(cat numbers.csv)`, "bash"}, nil,
			slices.Concat([]string{"run", "--report", "report.csv", "--rate", "0"}, e2eFastRetries)...).wait()
		e2eExit(t, "run", res, 0)
		e2eSent(t, fx, time.Time{}, want)
	})
}

// e2eCheckUnrecorded checks what a run that could not write its report
// said: exit 3, every row it could not record on stderr as a JSON line,
// once, counted in the summary with the applied ones, and the resume hint.
// It returns the JSON rows' statuses by number.
func e2eCheckUnrecorded(t *testing.T, res e2eResult, hint string) map[string]string {
	t.Helper()
	e2eExit(t, "run", res, 3)
	kept, applied := map[string]string{}, 0
	for _, v := range e2eJSONLogs(res.stderr) {
		num, _ := v["number"].(string)
		if _, dup := kept[num]; dup && v["row"] != nil {
			t.Errorf("%s is on stderr twice", num)
		} else if v["row"] != nil {
			if kept[num], _ = v["status"].(string); kept[num] == "ok" {
				applied++
			}
		}
	}
	if len(kept) == 0 {
		t.Fatalf("no row was kept on stderr: the test wrote nothing past the limit\n%v", res)
	}
	e2eHas(t, "stderr", res.stderr, fmt.Sprintf("not recorded   %d (%d applied, not recorded", len(kept), applied), hint)
	return kept
}

// under a file size limit (ulimit -f, as a full disk), the report
// cannot be written: no applied row is lost, the run exits 3 with the
// resume hint, and the resumed run sends nothing the report has as ok.
func TestReport_writeFails(t *testing.T) {
	t.Parallel()
	fx, r, input, nums := e2eMoveAll(t, sandbox.Config{}, 1400, 100, e2eAppA) // 3 KB: its private copy fits the limit
	report := r.path("report.csv")
	// dash counts ulimit -f in 512-byte blocks: 4 KiB, some 45 report rows.
	res := r.startVia([]string{"sh", "-c", `ulimit -f 8 && exec "$@"`, "sh"}, nil, e2eRun(input, report, "--rate", "0")...).wait()
	kept := e2eCheckUnrecorded(t, res, "--resume")
	fx.quiesce(t)

	rows := e2eParseReport(t, "report", e2eRead(t, report), true)
	okBefore := map[string]bool{}
	for _, g := range rows {
		if _, dup := kept[g.Number]; dup {
			t.Errorf("%s is both in the report and on stderr", g.Number)
		}
		if g.Status == "ok" {
			okBefore[g.Number] = true
		}
	}
	// Every update the server applied is recorded somewhere.
	for num, qs := range fx.posts(t, time.Time{}) {
		if len(e2eClean2xx(qs)) > 0 && !okBefore[num] && kept[num] != "ok" {
			t.Errorf("%s was applied but is neither in the report nor on stderr as ok", num)
		}
	}
	if na := max(0, e2eSummaryCount(res.stderr, "not attempted")); na != len(nums)-len(rows)-len(kept) {
		t.Errorf("not attempted %d; the report has %d rows and stderr %d of %d", na, len(rows), len(kept), len(nums))
	}

	since := time.Now()
	res2 := r.run(e2eRun(input, report, "--resume", "--rate", "0")...)
	e2eExit(t, "resume without the limit", res2, 0)
	for num, qs := range fx.posts(t, since) {
		if okBefore[num] {
			t.Errorf("%s was ok in the report, but the resume sent it again %s", num, e2eDescribe(qs))
		}
		if len(qs) != 1 {
			t.Errorf("the resume sent %s %d times", num, len(qs))
		}
	}
	for _, n := range nums {
		if got, _ := fx.srv.Number(n); got.AppID != e2eAppA {
			t.Errorf("%s ends on app %s, want %s", n, got.AppID, e2eAppA)
		}
	}
}

// --report - into `head -2`: the closed pipe is a report write
// failure like a full disk, not a silent death. The server holds the
// updates until head has exited and its pipe is closed: a row written
// before that would be in the pipe, read by no one, and rightly not on
// stderr.
func TestReport_intoClosedPipe(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fx, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 1500, 30, e2eAppA, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			<-release
		}
		return false
	})
	letGo := sync.OnceFunc(func() { close(release) })
	t.Cleanup(letGo) // before the proxy's Close, which waits for its handlers
	// head reads the header; the group then closes
	// its copy of the pipe and says so. sh reports the binary's exit code.
	script := `{ "$@"; echo $? > code.txt; } | { head -1 > first.txt; exec <&-; : > closed; }`
	p := r.startVia([]string{"sh", "-c", script, "sh"}, nil, e2eRun(input, "-", "--rate", "30")...)
	e2eWaitFor(t, 10*time.Second, "head to exit", func() bool { _, err := os.Stat(r.path("closed")); return err == nil || p.exited() })
	letGo()
	res := p.wait()
	e2eExit(t, "sh", res, 0)
	code := strings.TrimSpace(e2eRead(t, r.path("code.txt")))
	res.code = -2
	fmt.Sscan(code, &res.code)
	kept := e2eCheckUnrecorded(t, res, "--skip-unchanged")
	stopAdvice(t, res.stderr, "could not be written to the report: they are on stderr as JSON lines; standard output cannot be resumed: run the file again with --skip-unchanged")
	if first := e2eRead(t, r.path("first.txt")); !strings.HasPrefix(first, "row,number,status,") {
		t.Errorf("head got %q, want the header", first)
	}
	for num, qs := range fx.posts(t, time.Time{}) {
		if len(e2eClean2xx(qs)) > 0 && kept[num] != "ok" {
			t.Errorf("%s was applied but is not on stderr as ok", num)
		}
	}
}

// a resumed run with more columns than the interrupted one: the
// undo file keeps, per field, the value from before any change; it lists
// each number once, and running it restores every number exactly, exit 0.
func TestUndo_widenedOnResume(t *testing.T) {
	t.Parallel()
	fx, r, _, nums := e2eMoveAll(t, sandbox.Config{Latency: 20 * time.Millisecond}, 1600, 40, e2eAppA)
	report := r.path("report.csv")
	narrow := r.write("narrow.csv", e2eInput("number,app_id", e2eAppA, nums...))
	p := r.start(nil, e2eRun(narrow, report, "--undo", "undo.csv", "--rate", "40")...)
	e2eWaitFor(t, 10*time.Second, "5 report rows", func() bool { return e2eReportLines(report) >= 5 || p.exited() })
	p.signal(syscall.SIGINT)
	e2eExit(t, "interrupted run", p.wait(), 130)

	wide := r.write("wide.csv", e2eInput("number,app_id,alias", e2eAppA+",new alias", nums...))
	e2eExit(t, "widened resume", r.run(e2eRun(wide, report, "--undo", "undo.csv", "--resume", "--rate", "0")...), 0)

	seen := map[string]bool{}
	for _, u := range readCSV(t, r.path("undo.csv")) {
		if seen[u["number"]] {
			t.Errorf("the undo file lists %s twice", u["number"])
		}
		seen[u["number"]] = true
	}
	e2eExit(t, "running the undo file", r.run(e2eRun(r.path("undo.csv"), "undo-report.csv", "--rate", "0")...), 0)
	e2eUntouched(t, fx, "after the undo", e2eNumbers(nums...)...)
}

// a run that stops before it sends anything (an undo file in use; a 401
// at the account check: TestSecrets) leaves no report that blocks the next
// run.
func TestReport_headerOnlyTakenOver(t *testing.T) {
	t.Parallel()
	_, r, input, _ := e2eMoveAll(t, sandbox.Config{Latency: 300 * time.Millisecond}, 1920, 4, e2eAppA)
	// A run holds undo.csv; a second run on it stops before sending.
	holder := r.start(nil, e2eRun(input, "holder.csv", "--undo", "undo.csv", "--rate", "2")...)
	e2eWaitFor(t, 10*time.Second, "the first run's undo file", func() bool { return e2eRead(t, r.path("undo.csv")) != "" || holder.exited() })
	e2eExit(t, "run on an undo file in use", r.run(e2eRun(input, "second.csv", "--undo", "undo.csv", "--rate", "0")...), 2)
	holder.signal(syscall.SIGINT)
	holder.wait()
	e2eExit(t, "the next run on second.csv", r.run(e2eRun(input, "second.csv", "--rate", "0")...), 0)
}

// TestLogs_jsonOnly: with --log-format json, every line on stderr is a JSON
// object (e2eProc.check), main's own lines too, when the run's report
// cannot be written (two signals: TestRun_secondSignalStopsAtOnce).
func TestLogs_jsonOnly(t *testing.T) {
	t.Parallel()
	_, r, input, _ := e2eMoveAll(t, sandbox.Config{Latency: 20 * time.Millisecond}, 1940, 40, e2eAppA)
	argv := e2eRun(input, "report.csv", "--rate", "0", "--log-format", "json")
	e2eExit(t, "run", r.startVia([]string{"sh", "-c", `ulimit -f 4 && exec "$@"`, "sh"}, nil, argv...).wait(), 3)
}

// TestFiles_headerIsLineOne runs every command that writes a CSV and reads
// each file with encoding/csv, as Python's csv.DictReader, pandas, sqlite's
// .import and a spreadsheet read it: line 1 is the header, every row has
// its cells (export with a --prefix, which it takes). (The undo file, so
// written, still refuses another account: TestUndoFile_keptAndRunOnlyOnItsOrigin.)
func TestFiles_headerIsLineOne(t *testing.T) {
	r := e2eNewRunner(t, nil)
	r.write("in.csv", "number,alias\n12025550101,=new\n12025550102,b\n12025550199,c\n")
	for _, args := range [][]string{
		{"run", "--sandbox", "--input", "in.csv", "--report", "report.csv", "--undo", "undo.csv", "--rate", "0"},
		{"plan", "--sandbox", "--input", "in.csv", "--output", "plan.csv", "--rate", "0"},
		{"export", "--sandbox", "--output", "export.csv", "--rate", "0", "--prefix", "1202555"},
	} {
		e2eExit(t, args[0], r.run(args...), 0)
	}
	want := map[string][]string{
		"report.csv": report.Columns,
		"undo.csv":   append(batch.Columns(), report.OriginColumns...),
		"plan.csv":   report.PlanColumns,
		"export.csv": report.ExportColumns,
	}
	for name, header := range want {
		got, rows := e2eCSV(t, name, e2eRead(t, r.path(name)), false) // every record has the header's cells
		if len(rows) < 1 || !slices.Equal(got, header) {
			t.Errorf("%s: line 1 is %q, want the header %q", name, got, header)
		}
	}
	if py, err := exec.LookPath("python3"); err == nil {
		script := "import csv,sys\nr=list(csv.DictReader(open(sys.argv[1])))\nprint(sorted(x['status'] for x in r))"
		out, err := exec.Command(py, "-c", script, r.path("report.csv")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "['ok', 'ok', 'ok']" {
			t.Errorf("python3 csv.DictReader: %s %v, want the three statuses", out, err)
		}
	}
}

// TestFiles_olderUndoFileRollsBack: an undo file of an older version, its
// origin on a first line, is still read: refused for another account, and
// rolled back with --allow-other-origin, its rows counted from line 3.
func TestFiles_olderUndoFileRollsBack(t *testing.T) {
	r := e2eNewRunner(t, nil)
	r.write("undo.csv", "# plivo-bulk undo: account=MAOLDERVERSION000001 api=https://api.plivo.com cells=escaped\n"+
		"number,app_id,subaccount,alias,compliance_application_id\n12025550101,,,'=old,\n12025550102,,,(clear),\n")
	args := []string{"run", "--sandbox", "--input", "undo.csv", "--report", "-", "--rate", "0"}
	res := r.run(args...)
	e2eExit(t, "an older undo file of another account", res, 2, "written against account MAOLDERVERSION000001")
	res = r.run(append(args, "--allow-other-origin")...)
	got := map[int]string{}
	for _, g := range e2eParseReport(t, "the rollback's report on stdout", res.stdout, false) {
		got[g.Row] = g.Status + " " + g.Targets[2]
	}
	if res.code != 0 || got[3] != "ok '=old" || got[4] != "ok (clear)" || len(got) != 2 {
		t.Errorf("rolled back: exit %d, report %v\n%s", res.code, got, res.stderr)
	}
}

// Tests of what --resume trusts in a report. (Exact targets, and a report
// saved again with a BOM or CRLF: report.TestOpen_resume, TestOpen_resumeOrigin.)

// TestResume_olderReportResendsUncertainRows: a report of an older version
// (its origin line lacks cells=escaped) turned line breaks into spaces and
// wrote a literal (clear) as the marker; an ok row whose target cells may
// stand for another value is sent again, any other ok row is not.
func TestResume_olderReportResendsUncertainRows(t *testing.T) {
	t.Parallel()
	fx, r, _, nums := e2eMoveAll(t, sandbox.Config{}, 1810, 4, e2eAppA)
	aliases := []string{"plain", "two words", "(clear)", "'=1"}
	in := "number,app_id,alias\n"
	for i, a := range aliases {
		in += e2eCSVLine(nums[i], e2eAppA, a)
	}
	input := r.write("numbers.csv", in)
	e2eExit(t, "run 1", r.run(e2eRun(input, "report.csv", "--rate", "0")...), 0)
	// Rewrite the report as an older version wrote it: the origin on a first line.
	origin := readCSV(t, r.path("report.csv"))[0]
	old := "# plivo-bulk report: account=" + origin["account"] + " api=" + origin["api"] + "\n" + strings.Join(e2eReportColumns[:11], ",") + "\n"
	for i, n := range nums {
		old += e2eCSVLine("2", n, "ok", "202", "x", "1", "", e2eAppA, "", aliases[i], "")
	}
	r.write("report.csv", old)

	since := time.Now()
	e2eExit(t, "resume", r.run(e2eRun(input, "report.csv", "--resume", "--rate", "0")...), 0)
	sent := fx.posts(t, since)
	if sent[nums[0]] != nil {
		t.Errorf("%s: alias %q is exact in any report, yet it was sent again", nums[0], aliases[0])
	}
	for i, n := range nums[1:] {
		if sent[n] == nil {
			t.Errorf("%s: the older report's cell %q may stand for another value, yet the row was taken as ok", n, aliases[1+i])
		}
	}
}

// TestResume_keepsOkRowWhoseAppIsGone: a row run 1 set stays done when the
// resumed run's pre-flight no longer finds its app: the report keeps its ok
// line (compacting must not replace it with an invalid one), nothing is sent.
func TestResume_keepsOkRowWhoseAppIsGone(t *testing.T) {
	t.Parallel()
	var gone atomic.Bool
	fx, r, input, nums := e2eMoveAll(t, sandbox.Config{}, 1850, 2, e2eAppB, func(w http.ResponseWriter, q *http.Request) bool {
		if gone.Load() && strings.Contains(q.URL.Path, "/Application/"+e2eAppB) {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return true
		}
		return false
	})
	e2eExit(t, "run 1", r.run(e2eRun(input, "report.csv", "--rate", "0")...), 0)
	gone.Store(true)
	since := time.Now()
	r.run(e2eRun(input, "report.csv", "--resume", "--rate", "0")...)
	if sent := fx.posts(t, since); len(sent) != 0 {
		t.Errorf("the resume sent %d numbers that run 1 set", len(sent))
	}
	for _, row := range e2eEveryRowOnce(t, e2eReadReport(t, r.path("report.csv")), len(nums)) {
		if row.Status != "ok" {
			t.Errorf("%s: report says %s (%s), but run 1 set it: want its ok line kept", row.Number, row.Status, row.Error)
		}
	}
}

// Tests of the undo file's promises: it is never emptied or replaced, it runs
// back only on the account and API it was written against, and what it (or an
// export) records can be read back.

// TestUndoFile_keptAndRunOnlyOnItsOrigin: an undo file named as the report,
// as plan's or export's --output, or as the --summary is refused (exit 2),
// with --force too, and left as it was; --force never empties it either: a
// run with --force adds to it, one line a number. Run as the input against
// another account or API host it is refused before any request (exit 2),
// unless --allow-other-origin says so; on its own origin it restores the
// values from before both runs.
func TestUndoFile_keptAndRunOnlyOnItsOrigin(t *testing.T) {
	t.Parallel()
	fx, r, input, nums := e2eMoveAll(t, sandbox.Config{}, 1830, 2, e2eAppA)
	e2eExit(t, "run", r.run(e2eRun(input, "report.csv", "--undo", "undo.csv", "--rate", "0")...), 0)
	undo := e2eRead(t, r.path("undo.csv"))
	for name, argv := range map[string][]string{
		"run --force":    e2eRun(input, "undo.csv", "--force"),
		"run":            e2eRun(input, "undo.csv"),
		"run --resume":   e2eRun(input, "undo.csv", "--resume"),
		"plan --force":   slices.Concat([]string{"plan", "--input", input, "--output", "undo.csv", "--force"}, e2eFastRetries),
		"export --force": slices.Concat([]string{"export", "--output", "undo.csv", "--force"}, e2eFastRetries),
		"run --summary":  e2eRun(input, "other.csv", "--summary", "undo.csv"),
	} {
		e2eExit(t, name, r.run(argv...), 2, "undo.csv holds a plivo-bulk undo file")
		if got := e2eRead(t, r.path("undo.csv")); got != undo {
			t.Fatalf("%s: the undo file changed:\n%s", name, got)
		}
	}
	second := r.write("second.csv", "number,alias\n"+nums[0]+",x\n"+nums[1]+",y\n")
	e2eExit(t, "second run", r.run(e2eRun(second, "report.csv", "--undo", "undo.csv", "--force", "--rate", "0")...), 0)
	if rows := readCSV(t, r.path("undo.csv")); len(rows) != len(nums) {
		t.Errorf("the undo file has %d rows, want one a number:\n%q", len(rows), rows)
	}

	fxB, _ := e2eStartFixture(t, sandbox.Config{AuthID: fx.authID, AuthToken: fx.token}, e2eNumbers(nums...)...)
	fxC, _ := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums...)...)
	for name, other := range map[string]*e2eFixture{"another API host": fxB, "another account": fxC} {
		rr := e2eNewRunner(t, other)
		undo := rr.write("undo.csv", e2eRead(t, r.path("undo.csv")))
		res := rr.run(e2eRun(undo, "rollback.csv", "--rate", "0")...)
		e2eExit(t, name, res, 2)
		e2eHas(t, name, res.stderr, "was written against account "+fx.authID, "--allow-other-origin")
		if n := other.requests(); n != 0 { // run returned: any request was answered
			t.Errorf("%s: a refused run sent %d requests", name, n)
		}
		e2eExit(t, name+", allowed", rr.run(e2eRun(undo, "allowed.csv", "--rate", "0", "--allow-other-origin")...), 0)
		if got, _ := other.srv.Number(nums[0]); got.AppID != e2eAppStart {
			t.Errorf("%s, allowed: app %s, want %s restored", name, got.AppID, e2eAppStart)
		}
	}
	e2eExit(t, "rollback", r.run(e2eRun(r.path("undo.csv"), "rollback.csv", "--rate", "0")...), 0)
	e2eUntouched(t, fx, "after the rollback", e2eNumbers(nums...)...)
}

// TestUndo_neverWritesWhatItCannotReadBack: a number whose old value would
// make a cell longer than an input may hold (64 KiB: over it, or over it
// once escaped) is not updated, its row failing with the reason, so that
// the undo file stays readable and rolls back every change that was made.
// An export of such a number fails and writes no file.
func TestUndo_neverWritesWhatItCannotReadBack(t *testing.T) {
	t.Parallel()
	nums := e2eNumberRange(1850, 3)
	seed := e2eNumbers(nums...)
	seed[1].Alias = strings.Repeat("x", 70000)   // over the cap
	seed[2].Alias = strings.Repeat("a\n", 25000) // 50000 bytes, 75000 escaped
	fx, r := e2eStartFixture(t, sandbox.Config{}, seed...)
	e2eExit(t, "run", r.run(e2eRun(r.write("numbers.csv", e2eInput("number,app_id,alias", e2eAppA+",new", nums...)), "report.csv", "--undo", "undo.csv", "--rate", "0")...), 1)
	posted := fx.posts(t, time.Time{})
	for _, row := range e2eReadReport(t, r.path("report.csv")) {
		long := row.Number != nums[0]
		switch {
		case long && (row.Status != "failed" || !strings.Contains(row.Error, "undo file cannot record")):
			t.Errorf("%s: %s %q, want failed: the undo file cannot record its alias", row.Number, row.Status, row.Error)
		case long && len(posted[row.Number]) > 0:
			t.Errorf("%s: updated, though its change could not be undone", row.Number)
		case !long && row.Status != "ok":
			t.Errorf("%s: %s %q, want ok", row.Number, row.Status, row.Error)
		}
	}
	e2eExit(t, "rollback", r.run(e2eRun(r.path("undo.csv"), "rollback.csv", "--rate", "0")...), 0)
	if got, _ := fx.srv.Number(nums[0]); got.Alias != "old" || got.AppID != e2eAppStart {
		t.Errorf("rollback: %s holds %+v, want alias old on %s", nums[0], got, e2eAppStart)
	}

	res := r.run(slices.Concat([]string{"export", "--output", "export.csv"}, e2eFastRetries)...)
	if res.code == 0 || !strings.Contains(res.stderr, nums[1]) && !strings.Contains(res.stderr, nums[2]) {
		t.Errorf("export: want a failure naming the number\n%v", res)
	}
	if _, err := os.Stat(r.path("export.csv")); err == nil {
		t.Error("export: a file was written that could not be read back")
	}
}

// TestExport_readsBackSavedWithCRLFAtTheCellCap: an export whose last cell
// holds exactly as much as an input cell may (64 KiB), plain or quoted, is
// read back once saved again with CRLF line ends, as Python's csv module
// writes: the carriage return ends the line, it is not in the cell.
func TestExport_readsBackSavedWithCRLFAtTheCellCap(t *testing.T) {
	t.Parallel()
	nums := e2eNumberRange(1860, 2)
	seed := e2eNumbers(nums...)
	seed[0].Alias = strings.Repeat("x", report.MaxCell)
	seed[1].Alias = strings.Repeat(",", report.MaxCell) // written quoted
	_, r := e2eStartFixture(t, sandbox.Config{}, seed...)
	e2eExit(t, "export", r.run(slices.Concat([]string{"export", "--output", "export.csv"}, e2eFastRetries)...), 0)
	r.write("export.csv", strings.ReplaceAll(e2eRead(t, r.path("export.csv")), "\n", "\r\n")) // no line break in a cell here
	e2eExit(t, "plan of the export saved with CRLF", r.run(slices.Concat([]string{"plan", "--input", "export.csv", "--output", "plan.csv"}, e2eFastRetries)...), 0)
}
