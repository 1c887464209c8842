package report_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/report"
)

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

// readInput reads path with input.Open and Each, as `run --input` does,
// and returns its rows.
func readInput(t *testing.T, path string) []batch.Row {
	t.Helper()
	in, err := input.Open(context.Background(), path, nil)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("input.Open: %v\n%q", err, data)
	}
	defer func() { _ = in.Close() }()
	var rows []batch.Row
	if err := in.Each(context.Background(), func(r batch.Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("Each: %v", err)
	}
	if len(rows) != in.Rows() {
		t.Errorf("Each yielded %d rows, Rows() = %d", len(rows), in.Rows())
	}
	return rows
}

func origin(t *testing.T) report.Origin {
	t.Helper()
	o, err := report.NewOrigin("MAROUNDTRIP000000001", "https://api.plivo.com")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// diffRows describes how got differs from want, row by row; "" if not at
// all. (batch.Row is comparable; go-cmp is not a dependency of the module.)
func diffRows(want, got []batch.Row) string {
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "missing: %#v\n", want[i])
		case i >= len(want):
			fmt.Fprintf(&b, "extra:   %#v\n", got[i])
		case got[i] != want[i]:
			fmt.Fprintf(&b, "got:  %#v\nwant: %#v\n", got[i], want[i])
		}
	}
	return b.String()
}

// TestUndo_readBack writes an undo file with report.OpenUndo and
// UndoWriter.Write for hostile values and reads it back with the input
// reader: each row's targets are exactly the values written, at the rows
// a spreadsheet shows (the origin line is row 1, the header row 2).
func TestUndo_readBack(t *testing.T) {
	t.Parallel()
	values := []string{
		" leading", "trailing ", " both ", "  ", "\u00a0nbsp\u2003",
		"(clear)", " (clear) ", "'(clear)", "(CLEAR)",
		"two\nlines", "crlf\r\nend", "\n", "tab\tinside", "\ttab first", "tab last\t",
		"=1+2", "+1", "-1", "@SUM(A1)", "'", "''", "'quoted", "'\\x41", `back\slash`, `\`, `\n`,
		"=HYPERLINK(\"http://x\",\"y\")", "a,b \"c\"", "\"", "日本語", "🙂",
		"caf\xe9", "\xff\xfe", "\xe6\x97", "a\x00b", "\x7f", "bell\a", "\u2028sep",
		"# plivo-bulk undo: account=MA api=x", "number,alias", "plain",
	}
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := report.OpenUndo(path, report.New, origin(t))
	if err != nil {
		t.Fatal(err)
	}
	var want []batch.Row
	for i, v := range values {
		number := fmt.Sprintf("1202555%04d", i)
		row := batch.Row{Number: number, Targets: batch.Targets{batch.Alias: set("new"), batch.ComplianceApplicationID: set("new")}}
		current := batch.Targets{batch.Alias: set(v), batch.ComplianceApplicationID: set(v)}
		if err := u.Write(row, current); err != nil {
			t.Fatalf("Write(%q): %v", v, err)
		}
		want = append(want, batch.Row{Line: 3 + i, Number: number, Targets: current})
	}
	// An app and an alias that were empty come back as (clear); ids as they are.
	i := len(values)
	n := fmt.Sprintf("1202555%04d", i)
	all := batch.Targets{set("1"), set("SANEW000000000000001"), set("new"), {}}
	if err := u.Write(batch.Row{Number: n, Targets: all}, batch.Targets{{}, set("SA0123456789ABCDEFGH"), {}, {}}); err != nil {
		t.Fatal(err)
	}
	want = append(want, batch.Row{Line: 3 + i, Number: n, Targets: batch.Targets{{Set: true}, set("SA0123456789ABCDEFGH"), {Set: true}, {}}})
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}

	got := readInput(t, path)
	if diff := diffRows(want, got); diff != "" {
		data, _ := os.ReadFile(path)
		t.Errorf("read back:\n%s\nfile:\n%s", diff, data)
	}
	data, _ := os.ReadFile(path)
	if lines := bytes.Count(data, []byte{'\n'}); lines != 2+len(want) {
		t.Errorf("%d lines for %d rows: a record spans lines", lines, len(want))
	}
}

// TestUndo_readBackUnmerged: a run killed before it closed its undo file
// leaves a number's fields on more than one row (a resume with more
// columns adds them); the input reader merges them, so the undo run
// restores every field, the first value of each winning, and lists no row
// as a duplicate.
func TestUndo_readBackUnmerged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "undo.csv")
	u, err := report.OpenUndo(path, report.New, origin(t))
	if err != nil {
		t.Fatal(err)
	}
	write := func(u *report.UndoWriter, number string, row, current batch.Targets) {
		t.Helper()
		if err := u.Write(batch.Row{Number: number, Targets: row}, current); err != nil {
			t.Fatal(err)
		}
	}
	write(u, "12025550101", batch.Targets{batch.Alias: set("new")}, batch.Targets{batch.Alias: set(" old "), batch.AppID: set("100")})
	write(u, "12025550102", batch.Targets{batch.Alias: set("new")}, batch.Targets{batch.Alias: set("(clear)")})
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	u, err = report.OpenUndo(path, report.Resume, origin(t))
	if err != nil {
		t.Fatal(err)
	}
	wide := batch.Targets{batch.AppID: set("101"), batch.Alias: set("new")}
	write(u, "12025550101", wide, batch.Targets{batch.Alias: set("new"), batch.AppID: set("100")})
	write(u, "12025550103", wide, batch.Targets{batch.Alias: set("=x"), batch.AppID: set("300")})
	write(u, "12025550102", wide, batch.Targets{batch.Alias: set("new")}) // app was empty: (clear)
	// Each Write returns once its row is on disk: a copy now is what a
	// crash leaves.
	crashed := filepath.Join(dir, "crashed.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crashed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), "12025550101") != 2 {
		t.Fatalf("the unclosed file should list 12025550101 twice:\n%s", data)
	}

	want := []batch.Row{
		{Line: 3, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("100"), batch.Alias: set(" old ")}},
		{Line: 4, Number: "12025550102", Targets: batch.Targets{batch.AppID: {Set: true}, batch.Alias: set("(clear)")}},
	}
	crashedWant := append(want, batch.Row{Line: 6, Number: "12025550103", Targets: batch.Targets{batch.AppID: set("300"), batch.Alias: set("=x")}})
	closedWant := append(want[:2:2], batch.Row{Line: 5, Number: "12025550103", Targets: batch.Targets{batch.AppID: set("300"), batch.Alias: set("=x")}})
	for _, tt := range []struct {
		name, path string
		want       []batch.Row
	}{{"crashed", crashed, crashedWant}, {"closed", path, closedWant}} {
		if diff := diffRows(tt.want, readInput(t, tt.path)); diff != "" {
			data, _ := os.ReadFile(tt.path)
			t.Errorf("%s: read back:\n%s\nfile:\n%s", tt.name, diff, data)
		}
	}
}
