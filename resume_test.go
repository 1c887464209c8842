package main

// Tests of what --resume trusts in a report: exact targets, and a report
// saved again by another program.

import (
	"encoding/csv"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestResume_comparesExactTargets: the report records a line break, a
// literal (clear) and the clear marker exactly, and a resumed run whose
// input now asks for another of these sends the row again.
func TestResume_comparesExactTargets(t *testing.T) {
	t.Parallel()
	fx, r, _, nums := e2eMoveAll(t, sandbox.Config{}, 1800, 4, e2eAppA)
	// Each number: the alias of run 1, the alias the fixed input asks for.
	cases := [][2]string{
		{"a\nb", "a b"},              // a line break, fixed to a space
		{"'(clear)", "(clear)"},      // the text (clear), then the clear marker
		{"(clear)", "'(clear)"},      // the other way round
		{"same\nline", "same\nline"}, // unchanged: already ok
	}
	var first, fixed strings.Builder
	first.WriteString("number,app_id,alias\n")
	fixed.WriteString("number,app_id,alias\n")
	for i, c := range cases {
		first.WriteString(e2eCSVLine(nums[i], e2eAppA, c[0]))
		fixed.WriteString(e2eCSVLine(nums[i], e2eAppA, c[1]))
	}
	e2eExit(t, "run 1", r.run(e2eRun(r.write("first.csv", first.String()), "report.csv", "--rate", "0")...), 0)
	wantSent := map[string]string{nums[0]: "a\nb", nums[1]: "(clear)", nums[2]: "", nums[3]: "same\nline"}
	for _, row := range e2eReadReport(t, r.path("report.csv")) {
		alias, err := report.UnescapeCell(row.Targets[2])
		if row.Targets[2] == batch.ClearMarker {
			alias = ""
		}
		if err != nil || alias != wantSent[row.Number] {
			t.Errorf("report: %s alias cell %q, want the value sent, %q, exactly", row.Number, row.Targets[2], wantSent[row.Number])
		}
	}

	since := time.Now()
	res := r.run(e2eRun(r.write("fixed.csv", fixed.String()), "report.csv", "--resume", "--rate", "0")...)
	e2eExit(t, "resume", res, 0)
	sent := fx.posts(t, since)
	for i, n := range nums[:3] {
		if sent[n] == nil {
			t.Errorf("%s: run 1 set alias %q; the resume asks for %q but did not send it", n, cases[i][0], cases[i][1])
		}
	}
	if sent[nums[3]] != nil {
		t.Errorf("%s holds its targets already but was sent again", nums[3])
	}
	for n, want := range map[string]string{nums[0]: "a b", nums[1]: "", nums[2]: "(clear)"} {
		if got, _ := fx.srv.Number(n); got.Alias != want {
			t.Errorf("%s: alias %q, want %q", n, got.Alias, want)
		}
	}
}

// TestResume_olderReportResendsUncertainRows: a report of an older version
// (its origin line lacks cells=escaped) turned line breaks into spaces and
// wrote a literal (clear) as the marker; an ok row whose target cells may
// stand for another value is sent again, any other ok row is not.
func TestResume_olderReportResendsUncertainRows(t *testing.T) {
	t.Parallel()
	fx, r, _, nums := e2eMoveAll(t, sandbox.Config{}, 1810, 4, e2eAppA)
	aliases := []string{"plain", "two words", "(clear)", "'=1"}
	var in strings.Builder
	in.WriteString("number,app_id,alias\n")
	for i, a := range aliases {
		in.WriteString(e2eCSVLine(nums[i], e2eAppA, a))
	}
	input := r.write("numbers.csv", in.String())
	e2eExit(t, "run 1", r.run(e2eRun(input, "report.csv", "--rate", "0")...), 0)
	// Rewrite the report as an older version wrote it: the origin on a first line.
	rec, err := csv.NewReader(strings.NewReader(strings.SplitN(e2eRead(t, r.path("report.csv")), "\n", 3)[1])).Read()
	if err != nil || len(rec) != 13 {
		t.Fatalf("report row %q: %v", rec, err)
	}
	old := "# plivo-bulk report: account=" + rec[11] + " api=" + rec[12] + "\n" + strings.Join(e2eReportColumns[:11], ",") + "\n"
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

// TestResume_acceptsReportSavedWithCRLF: a report saved again with CRLF
// line ends (as Python's csv module writes), with or without a byte order
// mark (as a spreadsheet on Windows saves), resumes: its ok row is not
// sent again, its failed row is.
func TestResume_acceptsReportSavedWithCRLF(t *testing.T) {
	t.Parallel()
	for name, bom := range map[string]string{"CRLF": "", "byte order mark and CRLF": "\xef\xbb\xbf"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			nums := e2eNumberRange(1820, 2)
			fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(nums[0])...) // nums[1] is not on the account
			r := e2eNewRunner(t, fx)
			input := r.write("numbers.csv", "number,alias\n"+nums[0]+",\"line\nbreak\"\n"+nums[1]+",x\n")
			e2eExit(t, "run 1", r.run(e2eRun(input, "report.csv", "--rate", "0")...), 1)
			e2eSaveCRLF(t, r.path("report.csv"), bom)
			fx.srv.AddNumber(e2eNumbers(nums[1])[0])
			since := time.Now()
			res := r.run(e2eRun(input, "report.csv", "--resume", "--rate", "0")...)
			e2eExit(t, "resume", res, 0)
			if sent := fx.posts(t, since); sent[nums[0]] != nil || sent[nums[1]] == nil {
				t.Errorf("the resume sent %v: want only %s, the failed row\n%v", sent, nums[1], res)
			}
		})
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
	rows := e2eReadReport(t, r.path("report.csv"))
	if len(rows) != len(nums) {
		t.Fatalf("report: %d lines, want one per row (%d)", len(rows), len(nums))
	}
	for _, row := range rows {
		if row.Status != "ok" {
			t.Errorf("%s: report says %s (%s), but run 1 set it: want its ok line kept", row.Number, row.Status, row.Error)
		}
	}
}
