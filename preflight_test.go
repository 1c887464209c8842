package main

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

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
	var ns []string
	var in strings.Builder
	in.WriteString("number,app_id\n")
	for i := range n {
		ns = append(ns, fmt.Sprintf("1202560%04d", i))
		in.WriteString(e2eCSVLine(ns[i], app(i)))
	}
	fx := e2eStartFixture(t, sandbox.Config{}, e2eNumbers(ns...)...)
	for i := range n {
		if known(i) {
			fx.srv.AddApplication(app(i), fmt.Sprintf("App %d", i))
		}
	}
	r := e2eNewRunner(t, fx)
	inputPath := r.write("input.csv", in.String())

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
