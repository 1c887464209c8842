package input

import (
	"bytes"
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

// FuzzOpenInput feeds arbitrary bytes to Open and Each (its seeds are in
// testdata/fuzz/FuzzOpenInput). Whatever the file holds, neither panics;
// a file that is refused is refused with a short *Error naming it; a file
// that is accepted yields every row once, in order, each either valid (a
// normalised number, not an earlier valid row's, and something to change)
// or invalid with a reason, and Rows and Valid agree with what Each yields.
func FuzzOpenInput(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := openString(t, string(data))
		if err != nil {
			var ie *Error
			if !errors.As(err, &ie) || ie.File != "standard input" || ie.Msg == "" || ie.Line < 0 || !strings.HasPrefix(err.Error(), "standard input: ") {
				t.Fatalf("Open error %T %q, want an *Error naming the file", err, err)
			}
			if !utf8.ValidString(err.Error()) || len(err.Error()) > 1000 {
				t.Errorf("error %.200q is not short valid UTF-8", err)
			}
			return
		}
		rows := readAll(t, in)
		if len(rows) != in.Rows() || in.Rows() < 1 {
			t.Fatalf("Each yielded %d rows, Rows() = %d", len(rows), in.Rows())
		}
		if want := records(data); want >= 0 && want != len(rows) {
			t.Fatalf("Each yielded %d rows, encoding/csv reads %d records with a cell after the header", len(rows), want)
		}
		valid, first := 0, map[string]int{} // a valid number's row
		for i, r := range rows {
			if i > 0 && r.Line <= rows[i-1].Line {
				t.Fatalf("row %d after row %d", r.Line, rows[i-1].Line)
			}
			if dup, ok := strings.CutPrefix(r.Invalid, "duplicate of row "); ok {
				if line, err := strconv.Atoi(dup); err != nil || first[r.Number] != line {
					t.Errorf("row %d (%s) is %q, but the first row with that number is row %d", r.Line, r.Number, r.Invalid, first[r.Number])
				}
			}
			if r.Invalid != "" {
				continue
			}
			valid++
			if n, why := batch.NormalizeNumber(r.Number); why != "" || n != r.Number || r.Targets.Empty() || first[r.Number] != 0 {
				t.Errorf("row %d: valid, but its number %q (%s) is not normal, or not its own, or it changes nothing", r.Line, r.Number, why)
			}
			first[r.Number] = r.Line
		}
		if valid != in.Valid() {
			t.Errorf("Each yielded %d valid rows, Valid() = %d", valid, in.Valid())
		}
	})
}

// records counts what encoding/csv alone reads of a file that Open
// accepted: the records after the header with a cell that is not empty,
// or -1 for a file that may be an undo file, whose rows may merge.
func records(data []byte) int {
	data = bytes.TrimPrefix(data, []byte(bom))
	if bytes.HasPrefix(data, []byte(report.LegacyPrefix)) {
		return -1
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord, r.TrimLeadingSpace = -1, true
	recs, err := r.ReadAll()
	if err != nil {
		return 0
	}
	if slices.ContainsFunc(recs[0], func(h string) bool {
		return slices.Contains(report.OriginColumns, strings.ToLower(strings.TrimSpace(h)))
	}) {
		return -1
	}
	n := 0
	for _, rec := range recs[1:] {
		if strings.TrimSpace(strings.Join(rec[:min(len(rec), len(recs[0]))], "")) != "" {
			n++
		}
	}
	return n
}
