package main

import (
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestStop_reportHoldsEveryRow: a run stopped early (the failure budget,
// Ctrl-C) still writes one line per input row, the rows it never reached
// as not_attempted, and --resume then sends exactly the rows that were not
// ok: the not-attempted and the failed ones, never an ok one, and leaves
// one line per row.
func TestStop_reportHoldsEveryRow(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		flags []string
		stop  func(*testing.T, *e2eProc, string)
		code  int
	}{
		"max-failures": {flags: []string{"--max-failures", "2"}, code: 4},
		"interrupt": {code: 130, stop: func(t *testing.T, p *e2eProc, report string) {
			e2eWaitFor(t, 10*time.Second, "3 report rows", func() bool { return e2eReportLines(report) >= 3 || p.exited() })
			p.signal(syscall.SIGINT)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			numbers := e2eNumberRange(300, 20)
			missing := []string{numbers[3], numbers[4]} // not on the account: 404 until the resume
			fx := e2eStartFixture(t, sandbox.Config{Latency: 20 * time.Millisecond})
			for _, n := range e2eNumbers(numbers...) {
				if !slices.Contains(missing, n.Number) {
					fx.srv.AddNumber(n)
				}
			}
			r := e2eNewRunner(t, fx)
			input := r.write("numbers.csv", e2eInput("number,app_id", e2eAppA, numbers...)+"12ab,"+e2eAppA+"\n"+numbers[0]+","+e2eAppA+"\n")
			rows := len(numbers) + 2
			args := e2eRun(input, "report.csv", append(tc.flags, "--concurrency", "1", "--rate", "0")...)

			p := r.start(nil, args...)
			if tc.stop != nil {
				tc.stop(t, p, r.path("report.csv"))
			}
			e2eExit(t, "run", p.wait(), tc.code)
			fx.quiesce(t)
			status := map[int]string{}
			resend := map[string]bool{}
			for _, g := range e2eReadReport(t, r.path("report.csv")) {
				if _, twice := status[g.Row]; twice || g.Status == "" {
					t.Errorf("row %d: a second line, or no status: %+v", g.Row, g)
				}
				status[g.Row] = g.Status
				if g.Status == "failed" || g.Status == "not_attempted" {
					resend[g.Number] = true
				}
			}
			for row := 2; row <= rows+1; row++ {
				if status[row] == "" {
					t.Errorf("row %d is not in the report", row)
				}
			}
			if status[rows] != "invalid" || status[rows+1] != "invalid" || !slices.Contains(slices.Collect(maps.Values(status)), "not_attempted") {
				t.Fatalf("want the invalid and repeated rows invalid, and rows not attempted: %v", status)
			}

			for _, n := range e2eNumbers(missing...) {
				fx.srv.AddNumber(n)
			}
			since := time.Now()
			e2eExit(t, "resume", r.run(append(args, "--resume")...), 1) // 1: the invalid rows
			sent := fx.posts(t, since)
			for n := range resend {
				if len(sent[n]) != 1 {
					t.Errorf("%s was not ok before the resume, which sent it %d times", n, len(sent[n]))
				}
			}
			for n := range sent {
				if !resend[n] {
					t.Errorf("%s was ok before the resume, which sent it again", n)
				}
			}
			// The resumed run's lines took the place of the ones it superseded;
			// the repeated row's invalid line took none.
			lines, final := e2eReadReport(t, r.path("report.csv")), map[int]string{}
			for _, g := range lines {
				final[g.Row] = g.Status
			}
			if len(lines) != rows || len(final) != rows || final[2] != "ok" {
				t.Errorf("after the resume, %d report lines for %d rows (row 2 %q), want one line for each of the %d rows, row 2 ok", len(lines), len(final), final[2], rows)
			}
		})
	}
}

// TestStop_planHoldsEveryRow: an interrupted plan writes every row once, the
// rows it never read with change=not_read.
func TestStop_planHoldsEveryRow(t *testing.T) {
	t.Parallel()
	_, r, input, numbers := e2eMoveAll(t, sandbox.Config{Latency: 20 * time.Millisecond}, 400, 20, e2eAppA)
	p := r.start(nil, "plan", "--input", input, "--output", "plan.csv", "--read", "each", "--concurrency", "1", "--rate", "0", "--progress", "never")
	e2eWaitFor(t, 10*time.Second, "3 plan rows", func() bool { return e2eReportLines(r.path("plan.csv")) >= 3 || p.exited() })
	p.signal(syscall.SIGINT)
	e2eExit(t, "plan", p.wait(), 130)
	change := map[string]string{}
	for _, row := range readCSV(t, r.path("plan.csv")) {
		if _, twice := change[row["row"]]; twice {
			t.Errorf("row %s twice in the plan", row["row"])
		}
		change[row["row"]] = row["change"]
	}
	if len(change) != len(numbers) || !slices.Contains(slices.Collect(maps.Values(change)), "not_read") {
		t.Errorf("the plan has %d of %d rows, want all, the rows not read with change=not_read: %v", len(change), len(numbers), change)
	}
}

// e2eAttempted drops the lines of rows a stopped run never reached.
func e2eAttempted(rows []e2eReportRow) []e2eReportRow {
	return slices.DeleteFunc(rows, func(g e2eReportRow) bool { return g.Status == "not_attempted" })
}
