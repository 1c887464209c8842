package input

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// fuzzSeedFiles are whole input files the fuzzers start from, besides the
// files in testdata/fuzz/FuzzOpenInput: one of each shape the reader knows.
var fuzzSeedFiles = []string{
	"number,app_id\n12025550101,123\n",
	"\xef\xbb\xbfNumber, ALIAS ,app_id,subaccount\r\n+1 202 555 0101,Front desk,123,\r\n12025550101,dup,,\r\n",
	"number,alias,app_id,subaccount,compliance_application_id\n12025550101,(clear),(clear),(clear),(clear)\n",
	"number,alias\n\n12025550101,x\n\n\n12025550102,\"multi\nline\"\n",
	"number,alias\n12025550101,x,extra\n12025550102\n",
	"number,alias\n12025550101,\"open\n",
	"number,alias\n12025550101,a\"b\n",
	"number,alias\n12025550101,\"a\"b\"\n",
	"number,alias\n12025550101,caf\xe9\n",
	"number,alias\n12025550101,a\x00b\n",
	"number,app\n1,2\n",
	"number,alias,NUMBER\n1,2,3\n",
	"app_id,alias\n1,2\n",
	"number,alias\n",
	"",
	"number\n0044 20 7946 0101\n+44 20 7946 0101\n１２０２５５５１１１１\n",
	// Origin lines, and the escaped cells of an undo file.
	"# plivo-bulk undo: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com\nnumber,app_id,subaccount,alias,compliance_application_id\n12025550101,123,,'\\x20old\\n,\n12025550102,(clear),,'(clear),'=1\n12025550101,,SA0123,,'\\xFF\n",
	"\xef\xbb\xbf# plivo-bulk report: account=MA api=http://x\r\nnumber,alias\r\n'+1 202 555 0101,''x\r\n12025550101,dup\r\n",
	"# plivo-bulk undo: a\nnumber,alias\n12025550101,'\n12025550101,'\\q\n'12025550101,x\n12025550101,y\n",
	"# plivo-bulk undo: a",
	"# plivo-bulk undo: a\n",
	"\n# plivo-bulk undo: a\nnumber\n",
}

// FuzzOpenInput feeds arbitrary bytes to OpenInput and Each. Whatever the
// file holds, neither panics; a file that is refused is refused with an
// *Error naming it; a file that is accepted yields every row once, in
// order, each either valid (a normalised number and something to change)
// or invalid with a reason, and Rows and Valid agree with what Each yields.
func FuzzOpenInput(f *testing.F) {
	for _, s := range fuzzSeedFiles {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.csv"
		in, err := openString(t, name, string(data))
		if err != nil {
			checkInputError(t, err, name)
			return
		}
		if in.Rows() < 1 || in.Valid() < 0 || in.Valid() > in.Rows() {
			t.Fatalf("Rows, Valid = %d, %d", in.Rows(), in.Valid())
		}
		var rows []batch.Row
		if err := in.Each(context.Background(), func(r batch.Row) error { rows = append(rows, r); return nil }); err != nil {
			t.Fatalf("Each after a successful OpenInput: %v", err)
		}
		if len(rows) != in.Rows() {
			t.Fatalf("Each yielded %d rows, Rows() = %d", len(rows), in.Rows())
		}
		cells, lines, undo := numberCells(t, data)
		if len(cells) != len(rows) && !undo {
			t.Fatalf("Each yielded %d rows, encoding/csv reads %d records with a cell after the header", len(rows), len(cells))
		}
		valid := 0
		firstRow := map[string]int{} // valid number -> its row
		j := 0                       // the record of row i: in an undo file, a number's later rows are merged away
		for i, r := range rows {
			for undo && j < len(lines) && lines[j] != r.Line {
				// A record that is not yielded must be merged into an
				// earlier valid row with its number.
				if n, why := batch.NormalizeNumber(unescape(cells[j])); why != "" || firstRow[n] == 0 {
					t.Fatalf("row %d (%q) of an undo file was not yielded, and is not a repeat of an earlier valid row", lines[j], cells[j])
				}
				j++
			}
			if j >= len(lines) || r.Line != lines[j] {
				t.Fatalf("row %d has Line %d, want %d", i, r.Line, lines[min(j, len(lines)-1)])
			}
			if n, _ := batch.NormalizeNumber(unescape(cells[j])); r.Number != cells[j] && r.Number != n {
				t.Errorf("row %d: Number %q, but its number cell is %q", r.Line, r.Number, cells[j])
			}
			j++
			if r.Invalid != "" {
				checkDuplicate(t, r, firstRow)
				continue
			}
			valid++
			if !isNormalNumber(r.Number) {
				t.Errorf("row %d: valid with Number %q, want 7 to 15 digits not starting with 0", r.Line, r.Number)
			}
			if r.Targets.Empty() {
				t.Errorf("row %d: valid but changes nothing", r.Line)
			}
			if line, dup := firstRow[r.Number]; dup {
				t.Errorf("row %d: valid, but its number %s is row %d's too", r.Line, r.Number, line)
			}
			firstRow[r.Number] = r.Line
		}
		for ; j < len(lines); j++ {
			if n, why := batch.NormalizeNumber(unescape(cells[j])); why != "" || firstRow[n] == 0 {
				t.Fatalf("row %d (%q) was not yielded, and is not a repeat of an earlier valid row of an undo file", lines[j], cells[j])
			}
		}
		if valid != in.Valid() {
			t.Errorf("Each yielded %d valid rows, Valid() = %d", valid, in.Valid())
		}
	})
}

// numberCells reads a file that OpenInput accepted with encoding/csv
// alone, and returns the trimmed number cell of each record after the
// header ("" when a ragged record has none) and its row (header = 1, or
// 2 after an origin line), leaving out the records whose cells are all
// empty, which are skipped; and whether the file is an undo file.
func numberCells(t *testing.T, data []byte) ([]string, []int, bool) {
	t.Helper()
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first := 2
	undo := bytes.HasPrefix(data, []byte(report.LegacyPrefix+"undo:"))
	if bytes.HasPrefix(data, []byte(report.LegacyPrefix)) {
		first = 3
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i:] // a blank line, which encoding/csv skips
		} else {
			data = nil
		}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("encoding/csv refuses a file that OpenInput accepted: %v", err)
	}
	col := slices.IndexFunc(recs[0], func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), "number") })
	undo = undo || slices.ContainsFunc(recs[0], func(h string) bool { // the origin columns of an undo file
		return slices.Contains(report.OriginColumns, strings.ToLower(strings.TrimSpace(h)))
	})
	cells := make([]string, 0, len(recs)-1)
	var lines []int
	for i, rec := range recs[1:] {
		if !slices.ContainsFunc(rec[:min(len(rec), len(recs[0]))], func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		c := ""
		if col < len(rec) {
			c = strings.TrimSpace(rec[col])
		}
		cells = append(cells, c)
		lines = append(lines, i+first)
	}
	return cells, lines, undo
}

// unescape decodes a cell as report.UnescapeCell does, or returns it as it
// is when it does not decode.
func unescape(cell string) string {
	if v, err := report.UnescapeCell(cell); err == nil {
		return v
	}
	return cell
}

// checkInputError checks that a refused file is refused the documented way.
func checkInputError(t *testing.T, err error, name string) {
	t.Helper()
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("OpenInput error %T %q, want an *Error", err, err)
	}
	if ie.File != name || !strings.HasPrefix(err.Error(), name+": ") {
		t.Errorf("error %q does not name the file %q", err, name)
	}
	if ie.Msg == "" || ie.Line < 0 {
		t.Errorf("error %q: Line %d, Msg %q", err, ie.Line, ie.Msg)
	}
	if !utf8.ValidString(err.Error()) {
		t.Errorf("error %q is not valid UTF-8", err)
	}
	if len(err.Error()) > 1000 {
		t.Errorf("error is %d bytes long: %.200q...", len(err.Error()), err)
	}
}

// checkDuplicate checks that a row said to duplicate another names an
// earlier valid row with the same number.
func checkDuplicate(t *testing.T, r batch.Row, firstRow map[string]int) {
	t.Helper()
	rest, ok := strings.CutPrefix(r.Invalid, "duplicate of row ")
	if !ok {
		return
	}
	line, err := strconv.Atoi(rest)
	if err != nil || line >= r.Line || firstRow[r.Number] != line {
		t.Errorf("row %d (%s) is %q, but the first row with that number is row %d", r.Line, r.Number, r.Invalid, firstRow[r.Number])
	}
}

// isNormalNumber reports whether s is what batch.NormalizeNumber returns for a
// good number: 7 to 15 ASCII digits, not starting with 0.
func isNormalNumber(s string) bool {
	if len(s) < 7 || len(s) > 15 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
