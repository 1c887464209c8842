package input

import (
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

const (
	undoLine   = "# plivo-bulk undo: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com"
	reportLine = "# plivo-bulk report: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com"
)

// TestOpenInput_originLine: an origin line is skipped, with or without a
// byte order mark and CRLF line ends, and still counted: the header is
// row 2, the first data row is row 3, and file errors name the file's lines.
func TestOpenInput_originLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, head, eol string }{
		{"undo", undoLine, "\n"},
		{"report", reportLine, "\n"},
		{"undo crlf", undoLine, "\r\n"},
		{"undo bom", "\xef\xbb\xbf" + undoLine, "\n"},
		{"bare prefix", strings.TrimSpace(report.LegacyPrefix) + " ", "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := tt.head + tt.eol + "number,alias" + tt.eol + "12025550101,a" + tt.eol + "12025550102,\"two" + tt.eol + "lines\"" + tt.eol + "12025550103,c" + tt.eol
			in, err := openString(t, "t.csv", file)
			if err != nil {
				t.Fatalf("OpenInput: %v", err)
			}
			rows := readAll(t, in)
			var lines []int
			for _, r := range rows {
				if r.Invalid != "" {
					t.Errorf("row %d: %s", r.Line, r.Invalid)
				}
				lines = append(lines, r.Line)
			}
			if len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 {
				t.Errorf("rows %v, want 3 4 5 (the origin line is row 1, the header row 2)", lines)
			}
		})
	}
}

// TestOpenInput_originLineErrors: a file error after an origin line names
// the line a text editor shows.
func TestOpenInput_originLineErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, file, want string }{
		{"only the origin line", undoLine + "\n", "t.csv: nothing after the origin line (# plivo-bulk...): a header row"},
		{"only the origin line, no line end", undoLine, "t.csv: nothing after the origin line"},
		{"header only", undoLine + "\nnumber,alias\n", "t.csv: no data rows after the header"},
		{"unknown column", undoLine + "\nnumber,colour\n1,2\n", `t.csv: line 2: unknown column "colour"`},
		{"a report as input", reportLine + "\nrow,number,status\n2,12025550101,ok\n", `t.csv: line 2: unknown column "row"`},
		{"bare quote", undoLine + "\r\nnumber,alias\r\n12025550101,ok\r\n12025550102,a\"b\r\n", "t.csv: line 4: character 14: a quote"},
		{"latin-1", "\xef\xbb\xbf" + undoLine + "\nnumber,alias\n12025550101,caf\xe9\n", "t.csv: line 3: column 2 is not valid UTF-8"},
		{"not at the start", "\n" + undoLine + "\nnumber\n", `t.csv: line 2: unknown column "# plivo-bulk undo: account=MAXXXXXXXXXXX..."`},
		{"huge cell", undoLine + "\nnumber,alias\n12025550101," + strings.Repeat("x", MaxCell+1) + "\n", "t.csv: line 3: column 2 (alias) is longer than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := openString(t, "t.csv", tt.file)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant prefix %q", err, tt.want)
			}
		})
	}
}

// TestOpenInput_originLineLater: an origin line after the first line is
// a row like any other (here an invalid one), never skipped.
func TestOpenInput_originLineLater(t *testing.T) {
	t.Parallel()
	in, err := openString(t, "t.csv", "number,alias\n"+undoLine+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if rows := readAll(t, in); len(rows) != 1 || rows[0].Line != 2 || !strings.HasPrefix(rows[0].Invalid, "has 1 cell") {
		t.Errorf("rows %+v, want row 2, invalid", rows)
	}
}

// TestOpenInput_cells: every cell is trimmed, then decoded as
// report.UnescapeCell does; (clear) is recognised before decoding; a cell
// that does not decode, or decodes to nothing, is its row's problem; ids
// are checked once decoded.
func TestOpenInput_cells(t *testing.T) {
	t.Parallel()
	set := func(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }
	tests := []struct {
		name, col, cell string
		want            batch.Setting
		invalid         string
	}{
		{"plain", "alias", "Front desk", set("Front desk"), ""},
		{"trimmed", "alias", "  x  ", set("x"), ""},
		{"escaped spaces", "alias", `'\x20x\x20`, set(" x "), ""},
		{"escaped cell trimmed first", "alias", `  '\x20x  `, set(" x"), ""},
		{"clear", "alias", "(clear)", batch.Setting{Set: true}, ""},
		{"clear, trimmed", "alias", " (clear) ", batch.Setting{Set: true}, ""},
		{"literal (clear)", "alias", "'(clear)", set("(clear)"), ""},
		{"newline", "alias", `'a\nb\r\n\tc`, set("a\nb\r\n\tc"), ""},
		{"formula", "alias", "'=1+2", set("=1+2"), ""},
		{"apostrophe", "alias", "''quoted", set("'quoted"), ""},
		{"backslash unescaped", "alias", `a\b`, set(`a\b`), ""},
		{"backslash escaped", "alias", `'a\\b`, set(`a\b`), ""},
		{"invalid UTF-8", "alias", `'caf\xE9`, set("caf\xe9"), ""},
		{"NUL", "alias", `'a\x00b`, set("a\x00b"), ""},
		{"bad escape", "alias", `'a\qb`, batch.Setting{}, `alias: bad escape in a cell that starts with an apostrophe: \q`},
		{"lone backslash", "compliance_application_id", `'a\`, batch.Setting{}, "compliance_application_id: bad escape"},
		{"bad hex", "alias", `'\xZ1`, batch.Setting{}, `alias: bad escape in a cell that starts with an apostrophe: \x must be followed`},
		{"lone apostrophe", "alias", "'", batch.Setting{}, "alias is a lone ' (an escaped empty value): use (clear) to empty a field"},
		{"lone apostrophe, app_id", "app_id", " ' ", batch.Setting{}, "app_id is a lone ' (an escaped empty value): use (clear)"},
		{"lone apostrophe, subaccount", "subaccount", "'", batch.Setting{}, "subaccount is a lone ' (an escaped empty value), but subaccount cannot be cleared"},
		{"app_id escaped digits", "app_id", "'123", set("123"), ""},
		{"app_id literal (clear)", "app_id", "'(clear)", batch.Setting{}, `app_id "(clear)" is not an application id`},
		{"app_id decoded then checked", "app_id", `'1\x2F2`, batch.Setting{}, `app_id "1/2" is not an application id, which is digits (give the id alone`},
		{"app_id escaped space", "app_id", `'\x20123`, batch.Setting{}, `app_id " 123" is not an application id`},
		{"subaccount escaped", "subaccount", "'SA0123ABC", set("SA0123ABC"), ""},
		{"subaccount decoded dot-dot", "subaccount", `'SA\x2E.`, batch.Setting{}, `subaccount "SA.." is not a subaccount id`},
		{"subaccount clear", "subaccount", "(clear)", batch.Setting{}, "subaccount cannot be cleared"},
		{"subaccount escaped clear", "subaccount", "'(clear)", batch.Setting{}, `subaccount "(clear)" is not a subaccount id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := openString(t, "t.csv", "number,"+tt.col+"\n12025550101,\""+strings.ReplaceAll(tt.cell, `"`, `""`)+"\"\n")
			if err != nil {
				t.Fatal(err)
			}
			r := readAll(t, in)[0]
			if tt.invalid != "" {
				if !strings.HasPrefix(r.Invalid, tt.invalid) {
					t.Errorf("Invalid = %q, want prefix %q", r.Invalid, tt.invalid)
				}
				return
			}
			var f batch.Field
			for i, n := range batch.FieldNames() {
				if n == tt.col {
					f = batch.Field(i)
				}
			}
			if r.Invalid != "" || r.Targets[f] != tt.want {
				t.Errorf("%s = %+v (Invalid %q), want %+v", tt.col, r.Targets[f], r.Invalid, tt.want)
			}
		})
	}
}

// TestOpenInput_numberCell: the number cell is decoded as every other
// cell is, before it is normalised; an invalid row keeps the cell as it is.
func TestOpenInput_numberCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ cell, number, invalid string }{
		{"12025550101", "12025550101", ""},
		{"'+1 202 555 0101", "12025550101", ""},
		{"'12025550101", "12025550101", ""},
		{`'\x2B12025550101`, "12025550101", ""},
		{`'1202555\q`, `'1202555\q`, `number: bad escape in a cell that starts with an apostrophe: \q`},
		{"'", "'", "number is empty"},
		{"''12025550101", "''12025550101", `number has a character that is not a digit: "'"`},
	}
	for _, tt := range tests {
		t.Run(tt.cell, func(t *testing.T) {
			t.Parallel()
			in, err := openString(t, "t.csv", "number,alias\n"+tt.cell+",x\n")
			if err != nil {
				t.Fatal(err)
			}
			r := readAll(t, in)[0]
			if r.Number != tt.number || !strings.HasPrefix(r.Invalid, tt.invalid) || (tt.invalid == "") != (r.Invalid == "") {
				t.Errorf("Number, Invalid = %q, %q; want %q, %q", r.Number, r.Invalid, tt.number, tt.invalid)
			}
		})
	}
}

// TestOpenInput_undoRepeats: in an undo file, the rows of a number (as a
// run killed before it closed the file leaves them) are merged into its
// first row, the first value of each field winning; in any other file, a
// repeated number is a duplicate, invalid.
func TestOpenInput_undoRepeats(t *testing.T) {
	t.Parallel()
	const body = "number,app_id,subaccount,alias,compliance_application_id\n" +
		"12025550101,,,old,\n" + // row 3 (2 without an origin line)
		"12025550102,22,,,\n" +
		"12025550101,11,,,\n" + // merged: adds app_id
		"12025550101,99,,newer,C1\n" + // merged: only compliance is new
		"12025550101,'x\\q,,,\n" + // invalid: stays, as a row of its own
		"+1 202 555 0102,,,(clear),\n" // merged, by its normalised number
	set := func(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

	t.Run("undo file", func(t *testing.T) {
		t.Parallel()
		in, err := openString(t, "undo.csv", undoLine+"\n"+body)
		if err != nil {
			t.Fatal(err)
		}
		if in.Rows() != 3 || in.Valid() != 2 {
			t.Errorf("Rows, Valid = %d, %d; want 3, 2", in.Rows(), in.Valid())
		}
		rows := readAll(t, in)
		if len(rows) != 3 {
			t.Fatalf("rows %+v, want 3", rows)
		}
		want := []batch.Row{
			{Line: 3, Number: "12025550101", Targets: batch.Targets{set("11"), {}, set("old"), set("C1")}},
			{Line: 4, Number: "12025550102", Targets: batch.Targets{set("22"), {}, {Set: true}, {}}},
		}
		for i, w := range want {
			if rows[i] != w {
				t.Errorf("row %d = %+v\nwant %+v", i, rows[i], w)
			}
		}
		if r := rows[2]; r.Line != 7 || !strings.HasPrefix(r.Invalid, "app_id: bad escape") {
			t.Errorf("row 7 = %+v, want invalid", r)
		}
		apps, _ := in.Distinct(batch.AppID)
		if len(apps) != 3 {
			t.Errorf("Distinct(AppID) = %v, want every app of the valid rows: the pre-flight checks them", apps)
		}
	})
	for _, head := range []string{"", reportLine + "\n"} {
		t.Run("not an undo file "+head, func(t *testing.T) {
			t.Parallel()
			in, err := openString(t, "in.csv", head+body)
			if err != nil {
				t.Fatal(err)
			}
			first := 2
			if head != "" {
				first = 3
			}
			if in.Rows() != 6 || in.Valid() != 2 {
				t.Errorf("Rows, Valid = %d, %d; want 6, 2", in.Rows(), in.Valid())
			}
			var dups []string
			for _, r := range readAll(t, in) {
				if strings.HasPrefix(r.Invalid, "duplicate") {
					dups = append(dups, r.Invalid)
				}
			}
			w1, w2 := "duplicate of row "+itoa(first), "duplicate of row "+itoa(first+1)
			if len(dups) != 3 || dups[0] != w1 || dups[1] != w1 || dups[2] != w2 {
				t.Errorf("duplicates %q, want [%s %s %s]", dups, w1, w1, w2)
			}
		})
	}
}
