package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// TestFiles_headerIsLineOne runs every command that writes a CSV and reads
// each file with encoding/csv, as Python's csv.DictReader, pandas, sqlite's
// .import and a spreadsheet read it: line 1 is the header, every row has
// its cells (export with a --prefix, which it takes). (The undo file, so
// written, still refuses another account: TestUndoInput_refusesAnotherOrigin.)
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
		recs, err := e2eRecords([]byte(e2eRead(t, r.path(name)))) // every record has the header's cells
		if err != nil || len(recs) < 2 || !slices.Equal(recs[0], header) {
			t.Errorf("%s: line 1 is %q (%v), want the header %q", name, recs, err, header)
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
	e2eExit(t, "an older undo file of another account", res, 2)
	e2eHas(t, "stderr", res.stderr, "written against account MAOLDERVERSION000001")
	res = r.run(append(args, "--allow-other-origin")...)
	recs, err := e2eRecords([]byte(res.stdout))
	got := map[string]string{}
	for _, rec := range recs[min(1, len(recs)):] {
		got[rec[0]] = rec[2] + " " + rec[9] // row: status alias
	}
	if res.code != 0 || err != nil || got["3"] != "ok '=old" || got["4"] != "ok (clear)" || len(got) != 2 {
		t.Errorf("rolled back: exit %d, report %q (%v)\n%s", res.code, recs, err, res.stderr)
	}
}
