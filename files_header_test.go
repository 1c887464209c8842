package main

import (
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// TestFiles_headerIsLineOne runs every command that writes a CSV and reads
// each file with encoding/csv, as Python's csv.DictReader, pandas, sqlite's
// .import and a spreadsheet read it: line 1 is the header, every row has
// its cells. (The undo file, so written, still refuses another account:
// TestUndoInput_refusesAnotherOrigin.)
func TestFiles_headerIsLineOne(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(p("in.csv"), []byte("number,alias\n12025550101,=new\n12025550102,b\n12025550199,c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := envOf(nil)
	for _, args := range [][]string{
		{"run", "--sandbox", "--input", p("in.csv"), "--report", p("report.csv"), "--undo", p("undo.csv"), "--rate", "0"},
		{"plan", "--sandbox", "--input", p("in.csv"), "--output", p("plan.csv"), "--rate", "0"},
		{"export", "--sandbox", "--output", p("export.csv"), "--rate", "0"},
	} {
		if code, _, stderr := runWith(t, env, nil, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	want := map[string][]string{
		"report.csv": report.Columns,
		"undo.csv":   append(batch.Columns(), report.OriginColumns...),
		"plan.csv":   report.PlanColumns,
		"export.csv": report.ExportColumns,
	}
	for name, header := range want {
		f, err := os.Open(p(name))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll() // every record has the header's cells
		_ = f.Close()
		if err != nil || len(recs) < 2 || !slices.Equal(recs[0], header) {
			t.Errorf("%s: line 1 is %q (%v), want the header %q", name, recs, err, header)
		}
	}
	if py, err := exec.LookPath("python3"); err == nil {
		script := "import csv,sys\nr=list(csv.DictReader(open(sys.argv[1])))\nprint(sorted(x['status'] for x in r))"
		out, err := exec.Command(py, "-c", script, p("report.csv")).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "['ok', 'ok', 'ok']" {
			t.Errorf("python3 csv.DictReader: %s %v, want the three statuses", out, err)
		}
	}
}

// TestFiles_olderUndoFileRollsBack: an undo file of an older version, its
// origin on a first line, is still read: refused for another account, and
// rolled back with --allow-other-origin, its rows counted from line 3.
func TestFiles_olderUndoFileRollsBack(t *testing.T) {
	undo := filepath.Join(t.TempDir(), "undo.csv")
	body := "# plivo-bulk undo: account=MAOLDERVERSION000001 api=https://api.plivo.com cells=escaped\n" +
		"number,app_id,subaccount,alias,compliance_application_id\n12025550101,,,'=old,\n12025550102,,,(clear),\n"
	if err := os.WriteFile(undo, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--sandbox", "--input", undo, "--report", "-", "--rate", "0"}
	if code, _, stderr := runWith(t, envOf(nil), nil, args...); code != 2 || !strings.Contains(stderr, "written against account MAOLDERVERSION000001") {
		t.Errorf("an older undo file of another account: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runWith(t, envOf(nil), nil, append(args, "--allow-other-origin")...)
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	got := map[string]string{}
	for _, rec := range recs[min(1, len(recs)):] {
		got[rec[0]] = rec[2] + " " + rec[9] // row: status alias
	}
	if code != 0 || err != nil || got["3"] != "ok '=old" || got["4"] != "ok (clear)" || len(got) != 2 {
		t.Errorf("rolled back: exit %d, report %q (%v)\n%s", code, recs, err, stderr)
	}
}
