package main

// Tests of the undo file's promises: it is never emptied or replaced, it runs
// back only on the account and API it was written against, and what it (or an
// export) records can be read back.

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

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
	var in strings.Builder
	in.WriteString("number,app_id,alias\n")
	for _, n := range nums {
		in.WriteString(n + "," + e2eAppA + ",new\n")
	}
	e2eExit(t, "run", r.run(e2eRun(r.write("numbers.csv", in.String()), "report.csv", "--undo", "undo.csv", "--rate", "0")...), 1)
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
