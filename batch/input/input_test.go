package input

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// openString checks s, on standard input, and closes what it opened at the
// end of the test.
func openString(t testing.TB, s string) (*Input, error) {
	t.Helper()
	in, err := Open(context.Background(), "-", strings.NewReader(s))
	if err == nil {
		t.Cleanup(func() { _ = in.Close() })
	}
	return in, err
}

func readAll(t *testing.T, in *Input) []batch.Row {
	t.Helper()
	var rows []batch.Row
	must(t, in.Each(context.Background(), func(r batch.Row) error { rows = append(rows, r); return nil }))
	return rows
}

// must fails the test now if err is not nil.
func must(t *testing.T, err error) {
	if t.Helper(); err != nil {
		t.Fatal(err)
	}
}

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

// sameRow compares a row with what a test wants of it: for an invalid row,
// its line, the start of the reason and, if given, the number.
func sameRow(got, want batch.Row) bool {
	if want.Invalid != "" {
		return got.Line == want.Line && strings.HasPrefix(got.Invalid, want.Invalid) && (want.Number == "" || got.Number == want.Number)
	}
	return got == want
}

const (
	undoLine   = "# plivo-bulk undo: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com"
	reportLine = "# plivo-bulk report: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com"
)

var mx = report.Origin{Account: "MAXXXXXXXXXXXXXXXXXX", API: "https://api.plivo.com"} // undoLine's

// TestOpen_files reads whole files and checks every row Each yields,
// twice (each pass reads the private copy), and what Rows and Valid say.
func TestOpen_files(t *testing.T) {
	t.Parallel()
	const repeats = "number,app_id,subaccount,alias,compliance_application_id\n" +
		"12025550101,,,old,\n12025550102,22,,,\n12025550101,11,,,\n12025550101,99,,newer,C1\n" +
		"12025550101,'x\\q,,,\n+1 202 555 0102,,,(clear),\n"
	two := func(first int) []batch.Row {
		return []batch.Row{{Line: first, Number: "12025550101", Targets: batch.Targets{batch.Alias: set("a")}},
			{Line: first + 1, Number: "12025550102", Targets: batch.Targets{batch.Alias: set("two\nlines")}}}
	}
	tests := []struct {
		name, file string
		want       []batch.Row
		rows       int             // Rows(), when it is not len(want)
		origins    []report.Origin // what an undo file records
	}{
		{name: "every shape", file: "\xef\xbb\xbfNumber, ALIAS ,app_id,subaccount\r\n+1 202 555 0101,Front desk,123,\r\n" +
			"12025550102,,,\r\n12025550101,dup,,\r\nabc,x,,\r\n12025550103,too,many,fields,here\r\n\r\n" +
			"12025550104,(clear),(clear),\r\n12025550105,x,,(clear)\r\n\"12025550106\",\"multi\nline\",,\r\n",
			want: []batch.Row{
				{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("123"), batch.Alias: set("Front desk")}},
				{Line: 3, Number: "12025550102", Invalid: "nothing to change"},
				{Line: 4, Invalid: "duplicate of row 2"}, {Line: 5, Number: "abc", Invalid: "number has a character"},
				{Line: 6, Invalid: "has 5 cells, the header has 4"},
				{Line: 7, Number: "12025550104", Targets: batch.Targets{batch.AppID: {Set: true}, batch.Alias: {Set: true}}},
				{Line: 8, Invalid: "subaccount cannot be cleared"},
				{Line: 9, Number: "12025550106", Targets: batch.Targets{batch.Alias: set("multi\nline")}}}},
		{name: "rows of empty cells skipped, still counted", file: "number,app_id,alias\n12025550101,1,\n,,\n   \n , ,\n12025550102,1,\n",
			want: []batch.Row{{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("1")}},
				{Line: 6, Number: "12025550102", Targets: batch.Targets{batch.AppID: set("1")}}}},
		{name: "undo origin line", file: undoLine + "\nnumber,alias\n12025550101,a\n12025550102,\"two\nlines\"\n", want: two(3), origins: []report.Origin{mx}},
		{name: "report origin line, CRLF", file: reportLine + "\r\nnumber,alias\r\n12025550101,a\r\n12025550102,\"two\r\nlines\"\r\n", want: two(3)},
		{name: "origin line after a BOM", file: "\xef\xbb\xbf" + undoLine + "\nnumber,alias\n12025550101,a\n12025550102,\"two\nlines\"\n", want: two(3), origins: []report.Origin{mx}},
		{name: "bare prefix", file: "# plivo-bulk \nnumber,alias\n12025550101,a\n12025550102,\"two\nlines\"\n", want: two(3)},
		{name: "origin line later is a row", file: "number,alias\n" + undoLine + "\n", want: []batch.Row{{Line: 2, Invalid: "has 1 cell, the header has 2"}}},
		// An undo file's rows of one number are merged into the first, the
		// first value of each field winning; invalid rows stay.
		{name: "undo file repeats", file: undoLine + "\n" + repeats, rows: 3, origins: []report.Origin{mx}, want: []batch.Row{
			{Line: 3, Number: "12025550101", Targets: batch.Targets{set("11"), {}, set("old"), set("C1")}},
			{Line: 4, Number: "12025550102", Targets: batch.Targets{set("22"), {}, {Set: true}, {}}},
			{Line: 7, Invalid: "app_id: bad escape"}}},
		{name: "origin columns", file: "number,alias,app_id,account,api\n12025550101,x,,MA2,http://127.0.0.1:8080\n12025550101,,1,MA1,https://api.plivo.com\n",
			origins: []report.Origin{{Account: "MA1", API: "https://api.plivo.com"}, {Account: "MA2", API: "http://127.0.0.1:8080"}},
			want:    []batch.Row{{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("1"), batch.Alias: set("x")}}}},
		{name: "repeats elsewhere", file: reportLine + "\n" + repeats, want: []batch.Row{
			{Line: 3, Number: "12025550101", Targets: batch.Targets{batch.Alias: set("old")}},
			{Line: 4, Number: "12025550102", Targets: batch.Targets{batch.AppID: set("22")}},
			{Line: 5, Invalid: "duplicate of row 3"}, {Line: 6, Invalid: "duplicate of row 3"},
			{Line: 7, Invalid: "app_id: bad escape"}, {Line: 8, Invalid: "duplicate of row 4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := openString(t, tt.file)
			must(t, err)
			valid := 0
			for _, r := range tt.want {
				if r.Invalid == "" {
					valid++
				}
			}
			if in.Rows() != cmp.Or(tt.rows, len(tt.want)) || in.Valid() != valid || !slices.Equal(in.Origins(), tt.origins) {
				t.Errorf("Rows, Valid, Origins = %d, %d, %v; want %d, %d, %v", in.Rows(), in.Valid(), in.Origins(), cmp.Or(tt.rows, len(tt.want)), valid, tt.origins)
			}
			for range 2 {
				rows := readAll(t, in)
				if len(rows) != len(tt.want) {
					t.Fatalf("rows %+v\nwant %+v", rows, tt.want)
				}
				for i, w := range tt.want {
					if !sameRow(rows[i], w) {
						t.Errorf("row %d = %+v\nwant %+v", i, rows[i], w)
					}
				}
			}
		})
	}
}

// TestOpen_cells: each cell, the number's included, is trimmed, then
// decoded as report.UnescapeCell does ((clear) is recognised first); a
// number is then normalised. A cell that does not decode, a lone ', an id
// that is not one, make the row invalid (keeping the number cell as it
// is), never the file.
func TestOpen_cells(t *testing.T) {
	t.Parallel()
	const n = "12025550101"
	row := func(f batch.Field, s batch.Setting) batch.Row {
		r := batch.Row{Line: 2, Number: n}
		r.Targets[f] = s
		return r
	}
	invalid := func(why string) batch.Row { return batch.Row{Line: 2, Invalid: why} }
	tests := []struct {
		number, col, cell string
		want              batch.Row
	}{
		{n, "alias", "  x  ", row(batch.Alias, set("x"))},
		{n, "alias", `  '\x20x  `, row(batch.Alias, set(" x"))},
		{n, "alias", " (clear) ", row(batch.Alias, batch.Setting{Set: true})},
		{n, "alias", "'(clear)", row(batch.Alias, set("(clear)"))},
		{n, "alias", `'a\qb`, invalid(`alias: bad escape in a cell that starts with an apostrophe: \q`)},
		{n, "alias", "'", invalid("alias is a lone ' (an escaped empty value): use (clear) to empty a field")},
		{n, "subaccount", "'", invalid("subaccount is a lone ' (an escaped empty value), but subaccount cannot be cleared")},
		{n, "app_id", "20372631212782780", row(batch.AppID, set("20372631212782780"))},
		{n, "app_id", "'123", row(batch.AppID, set("123"))},
		{n, "app_id", "..", invalid(`app_id ".." is not an application id, which is digits`)},
		{n, "app_id", "'(clear)", invalid(`app_id "(clear)" is not an application id`)},
		{n, "app_id", "2.03726E+16", invalid(`app_id "2.03726E+16" looks like a spreadsheet's scientific notation`)},
		{n, "app_id", "/v1/Account/MA1/Application/123/", invalid(`app_id "/v1/Account/MA1/Application/123/" is not an application id, which is digits (give the id alone, not the resource URI)`)},
		{n, "app_id", `'1\x2F2`, invalid(`app_id "1/2" is not an application id, which is digits (give the id alone`)},
		{n, "subaccount", "SA0123456789ABCDEFGH", row(batch.Subaccount, set("SA0123456789ABCDEFGH"))},
		{n, "subaccount", `'SA\x2E.`, invalid(`subaccount "SA.." is not a subaccount id, which is SA followed by capital letters and digits`)},
		{n, "subaccount", "sa0123", invalid(`subaccount "sa0123" is not a subaccount id`)},
		{n, "subaccount", "SA01/../x", invalid(`subaccount "SA01/../x" is not a subaccount id, which is SA followed by capital letters and digits (give the id alone, not the resource URI)`)},
		{"'+1 202 555 0101", "alias", "x", row(batch.Alias, set("x"))},
		{`'\x2B12025550101`, "alias", "x", row(batch.Alias, set("x"))},
		{`'1202555\q`, "alias", "x", batch.Row{Line: 2, Number: `'1202555\q`, Invalid: `number: bad escape in a cell that starts with an apostrophe: \q`}},
		{"'", "alias", "x", batch.Row{Line: 2, Number: "'", Invalid: "number is empty"}},
		{"''12025550101", "alias", "x", batch.Row{Line: 2, Number: "''12025550101", Invalid: `number has a character that is not a digit: "'"`}},
	}
	for _, tt := range tests {
		t.Run(tt.number+" "+tt.col+" "+tt.cell, func(t *testing.T) {
			in, err := openString(t, "number,"+tt.col+"\n"+tt.number+",\""+strings.ReplaceAll(tt.cell, `"`, `""`)+"\"\n")
			must(t, err)
			if r := readAll(t, in)[0]; !sameRow(r, tt.want) {
				t.Errorf("row %+v\nwant %+v", r, tt.want)
			}
		})
	}
}

// TestInput_Distinct: the values that valid rows set, for the pre-flight.
func TestInput_Distinct(t *testing.T) {
	t.Parallel()
	in, err := openString(t, "number,app_id,subaccount\n12025550101,11,SA1\n12025550102,22,\n12025550103,11,SA1\nbad,33,SA9\n12025550104,(clear),\n")
	must(t, err)
	apps, more := in.Distinct(batch.AppID)
	subs, _ := in.Distinct(batch.Subaccount)
	if !slices.Equal(apps, []string{"11", "22"}) || more || !slices.Equal(subs, []string{"SA1"}) {
		t.Errorf("Distinct = %v, %v and %v; want [11 22] and [SA1], from valid rows only, without (clear)", apps, more, subs)
	}
}
