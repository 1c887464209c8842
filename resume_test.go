package main

// Tests of what --resume trusts in a report. (Exact targets, and a report
// saved again with a BOM or CRLF: report.TestOpen_resume, TestOpen_resumeOrigin.)

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

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
