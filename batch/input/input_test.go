package input

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// openString checks s as the content of a file called name, and closes
// what it opened at the end of the test.
func openString(t testing.TB, name, s string) (*Input, error) {
	t.Helper()
	in, err := open(context.Background(), name, strings.NewReader(s))
	if err == nil {
		t.Cleanup(func() { _ = in.Close() })
	}
	return in, err
}

func readAll(t *testing.T, in *Input) []batch.Row {
	t.Helper()
	var rows []batch.Row
	if err := in.Each(context.Background(), func(r batch.Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("Each: %v", err)
	}
	return rows
}

func TestOpenInput_rows(t *testing.T) {
	const file = "\xef\xbb\xbfNumber, ALIAS ,app_id,subaccount\r\n" +
		"+1 202 555 0101,Front desk,123,\r\n" +
		"12025550102,,,\r\n" + // nothing to change
		"12025550101,dup,,\r\n" + // duplicate of row 2
		"abc,x,,\r\n" +
		"12025550103,too,many,fields,here\r\n" +
		"\r\n" + // blank lines are skipped
		"12025550104,(clear),(clear),\r\n" +
		"12025550105,x,,(clear)\r\n" +
		"\"12025550106\",\"multi\nline\",,\r\n"
	in, err := openString(t, "t.csv", file)
	if err != nil {
		t.Fatalf("OpenInput: %v", err)
	}
	if in.Rows() != 8 || in.Valid() != 3 {
		t.Errorf("Rows, Valid = %d, %d; want 8, 3", in.Rows(), in.Valid())
	}
	rows := readAll(t, in)
	if again := readAll(t, in); len(again) != len(rows) || again[0].Invalid != "" || again[2].Invalid == "" {
		t.Errorf("a second Each gives other rows: %+v", again)
	}
	want := []struct {
		line    int
		number  string
		invalid string
	}{
		{2, "12025550101", ""},
		{3, "12025550102", "nothing to change"},
		{4, "12025550101", "duplicate of row 2"},
		{5, "abc", "not a digit"},
		{6, "12025550103", "has 5 cells, the header has 4"},
		{7, "12025550104", ""},
		{8, "12025550105", "subaccount cannot be cleared"},
		{9, "12025550106", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line || r.Number != w.number || (w.invalid == "") != (r.Invalid == "") || !strings.Contains(r.Invalid, w.invalid) {
			t.Errorf("row %d = {Line:%d Number:%q Invalid:%q}, want {%d %q %q}", i, r.Line, r.Number, r.Invalid, w.line, w.number, w.invalid)
		}
	}
	if got := rows[0].Targets; got[batch.Alias] != (batch.Setting{Value: "Front desk", Set: true}) || got[batch.AppID] != (batch.Setting{Value: "123", Set: true}) || got[batch.Subaccount].Set {
		t.Errorf("row 2 targets = %+v", got)
	}
	if got := rows[5].Targets; got[batch.Alias] != (batch.Setting{Value: "", Set: true}) || got[batch.AppID] != (batch.Setting{Value: "", Set: true}) {
		t.Errorf("row 7 targets = %+v, want alias and app_id cleared", got)
	}
	if got := rows[7].Targets[batch.Alias].Value; got != "multi\nline" {
		t.Errorf("row 9 alias = %q", got)
	}
}

func TestOpenInput_fileErrors(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "t.csv: the file is empty"},
		{"header only", "number,app_id\n", "t.csv: no data rows after the header"},
		{"no number column", "app_id,alias\n1,2\n", `t.csv: line 1: no "number" column`},
		{"unknown column", "number,app\n1,2\n", `t.csv: line 1: unknown column "app" (did you mean "app_id"?)`},
		{"unknown column far", "number,colour\n1,2\n", `t.csv: line 1: unknown column "colour"; the columns are`},
		{"column twice", "number,alias,Number\n1,2,3\n", `t.csv: line 1: column "number" appears twice (columns 1 and 3)`},
		{"empty header cell", "number,,alias\n1,2,3\n", "t.csv: line 1: column 2 of the header has no name"},
		{"unterminated quote", "number,alias\n12025550101,ok\n12025550102,\"open\n12025550103,x\n", "t.csv: line 3: a quoted cell that starts here is never closed"},
		{"bare quote", "number,alias\n12025550101,a\"b\n", "t.csv: line 2: character 14: a quote (\") in an unquoted cell"},
		{"latin-1", "number,alias\n12025550101,caf\xe9\n", "t.csv: line 2: column 2 is not valid UTF-8"},
		{"binary", "number,alias\n12025550101,a\x00b\n", "t.csv: line 2: binary data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openString(t, "t.csv", tt.file)
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("OpenInput error = %v, want an *Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant prefix %q", err, tt.want)
			}
		})
	}
}

func TestOpenInput_missingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.csv")
	_, err := Open(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), path+": cannot open: no such file or directory") {
		t.Errorf("error = %v", err)
	}
}

func TestInput_Each_stops(t *testing.T) {
	var b strings.Builder
	b.WriteString("number,alias\n")
	for i := range 1000 {
		b.WriteString("1202555")
		b.WriteString(strings.Repeat("0", 4-len(itoa(i))) + itoa(i))
		b.WriteString(",x\n")
	}
	in, err := openString(t, "t.csv", b.String())
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	n := 0
	err = in.Each(context.Background(), func(batch.Row) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Errorf("Each = %v after %d rows, want %v after 10", err, n, stop)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestOpenInput_blankRowsSkipped(t *testing.T) {
	const file = "number,app_id,alias\n12025550101,1,\n,,\n   \n , ,\n12025550102,1,\n"
	in, err := openString(t, "t.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, in)
	if in.Rows() != 2 || len(rows) != 2 || rows[0].Line != 2 || rows[1].Line != 6 {
		t.Errorf("Rows = %d, rows %+v; want rows 2 and 6 (rows of empty cells skipped, still counted)", in.Rows(), rows)
	}
}

func TestInput_Distinct(t *testing.T) {
	const file = "number,app_id,subaccount\n12025550101,11,SA1\n12025550102,22,\n12025550103,11,SA1\nbad,33,SA9\n12025550104,(clear),\n12025550105,.,SA5\n"
	in, err := openString(t, "t.csv", file)
	if err != nil {
		t.Fatal(err)
	}
	apps, more := in.Distinct(batch.AppID)
	slices.Sort(apps)
	if !slices.Equal(apps, []string{"11", "22"}) || more {
		t.Errorf("Distinct(AppID) = %v, %v; want [11 22] from valid rows only, no clear marker", apps, more)
	}
	if subs, _ := in.Distinct(batch.Subaccount); !slices.Equal(subs, []string{"SA1"}) {
		t.Errorf("Distinct(Subaccount) = %v", subs)
	}
}

// TestOpenInput_ids: an app_id or subaccount that is not an id of its kind
// makes its row invalid, and never reaches the pre-flight's URL paths.
func TestOpenInput_ids(t *testing.T) {
	t.Parallel()
	tests := []struct {
		app, sub, invalid string
	}{
		{app: "20372631212782780"},
		{sub: "SA0123456789ABCDEFGH"},
		{app: "(clear)", sub: "SAXY12"},
		{app: ".", invalid: `app_id "." is not an application id, which is digits`},
		{app: "..", invalid: `app_id ".." is not an application id, which is digits`},
		{app: "12a", invalid: `app_id "12a" is not an application id`},
		{app: "-12", invalid: `app_id "-12" is not an application id`},
		{app: "2.03726E+16", invalid: `app_id "2.03726E+16" looks like a spreadsheet's scientific notation`},
		{app: "/v1/Account/MA1/Application/123/", invalid: `app_id "/v1/Account/MA1/Application/123/" is not an application id, which is digits (give the id alone, not the resource URI)`},
		{sub: "..", invalid: `subaccount ".." is not a subaccount id, which is SA followed by capital letters and digits`},
		{sub: "SA", invalid: `subaccount "SA" is not a subaccount id`},
		{sub: "sa0123", invalid: `subaccount "sa0123" is not a subaccount id`},
		{sub: "SA01/../x", invalid: `subaccount "SA01/../x" is not a subaccount id, which is SA followed by capital letters and digits (give the id alone, not the resource URI)`},
		{sub: "MA0123", invalid: `subaccount "MA0123" is not a subaccount id`},
	}
	for _, tt := range tests {
		t.Run(tt.app+"|"+tt.sub, func(t *testing.T) {
			in, err := openString(t, "t.csv", "number,app_id,subaccount,alias\n12025550101,"+tt.app+","+tt.sub+",x\n")
			if err != nil {
				t.Fatal(err)
			}
			rows := readAll(t, in)
			if got := rows[0].Invalid; tt.invalid == "" && got != "" || !strings.HasPrefix(got, tt.invalid) {
				t.Errorf("Invalid = %q, want %q", got, tt.invalid)
			}
			if apps, _ := in.Distinct(batch.AppID); tt.invalid != "" && len(apps) > 0 {
				t.Errorf("Distinct(AppID) = %v from an invalid row", apps)
			}
		})
	}
}
