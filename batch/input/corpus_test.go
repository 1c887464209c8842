package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// badFiles says what reading each file of testdata/bad must give: the exact
// message of a file that is refused (after "testdata/bad/NAME: "), or
// every row of a file that is accepted.
var badFiles = []badFile{
	{file: "empty.csv", err: "the file is empty: a header row naming the columns is required (number,app_id,subaccount,alias,compliance_application_id)"},
	{file: "header-only.csv", err: "no data rows after the header: nothing to do"},
	{file: "no-number-column.csv", err: `line 1: no "number" column in the header (a header row is required; found: app_id,alias)`},
	{file: "no-header.csv", err: `line 1: no header row: column 1 of the first row is a phone number, "12025550101", but the first row must name the columns (number,app_id,subaccount,alias,compliance_application_id)`},
	{file: "semicolons.csv", err: `line 1: the header is one column, "number;app_id": the file seems separated by semicolons, but plivo-bulk reads comma-separated files (save it as "CSV (comma delimited)")`},
	{file: "unknown-column.csv", err: `line 1: unknown column "app" (did you mean "app_id"?); the columns are: number,app_id,subaccount,alias,compliance_application_id`},
	{file: "column-twice.csv", err: `line 1: column "alias" appears twice (columns 2 and 4)`},
	{file: "unterminated-quote.csv", err: "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)"},
	{file: "unterminated-quote-last-line.csv", err: "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
	{file: "undoubled-quote.csv", err: `line 3: character 6: a quote (") inside a quoted cell must be doubled (""); the cell starts on line 2`},
	{file: "bare-quote.csv", err: `line 2: character 17: a quote (") in an unquoted cell: quote the whole cell and double the quote`},
	{file: "gzip.csv", err: "line 1: " + binaryData},
	{file: "utf16.csv", err: "line 1: " + binaryData},
	{file: "latin1.csv", err: "line 2: column 2 is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)"},

	// batch.Row-level problems are rows, not file errors.
	{file: "ragged.csv", rows: []batch.Row{
		{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("20372631212782780"), batch.Alias: set("Front desk")}},
		{Line: 3, Number: "12025550102", Invalid: "has 4 cells, the header has 3"},
		{Line: 4, Number: "12025550103", Invalid: "has 2 cells, the header has 3"},
		{Line: 5, Number: "12025550104", Invalid: "has 1 cell, the header has 3"},
		{Line: 6, Number: "12025550105", Targets: batch.Targets{batch.AppID: set("20372631212782780")}},
	}},
	// Accepted as they are.
	{file: "bom.csv", rows: []batch.Row{
		{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.Alias: set("Front desk")}},
		{Line: 3, Number: "12025550102", Targets: batch.Targets{batch.Alias: set("Back desk")}},
	}},
	{file: "crlf.csv", rows: []batch.Row{
		{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.Alias: set("Front desk")}},
		{Line: 3, Number: "12025550102", Targets: batch.Targets{batch.Alias: set("Back\ndesk")}},
		{Line: 4, Number: "12025550103", Targets: batch.Targets{batch.Alias: set("Hall")}},
	}},
	{file: "blank-lines.csv", rows: []batch.Row{ // skipped, and not counted
		{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.Alias: set("Front desk")}},
		{Line: 3, Number: "12025550102", Targets: batch.Targets{batch.Alias: set("Back desk")}},
		{Line: 4, Number: "12025550103", Targets: batch.Targets{batch.Alias: set("Hall")}},
	}},
}

type badFile struct {
	file string
	err  string // empty for a file that is accepted
	rows []batch.Row
}

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

func TestOpenInput_corpus(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(badFiles, func(b badFile) bool { return b.file == filepath.Base(f) }) {
			t.Errorf("%s: no expectation in badFiles", f)
		}
	}
	for _, tt := range badFiles {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "bad", tt.file)
			in, err := Open(context.Background(), path, nil)
			if tt.err != "" {
				var ie *Error
				if !errors.As(err, &ie) {
					t.Fatalf("OpenInput error = %v, want an *Error", err)
				}
				if want := path + ": " + tt.err; err.Error() != want {
					t.Errorf("error:\n got %s\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenInput: %v", err)
			}
			rows := readAll(t, in)
			valid := 0
			for _, r := range tt.rows {
				if r.Invalid == "" {
					valid++
				}
			}
			if in.Rows() != len(tt.rows) || in.Valid() != valid {
				t.Errorf("Rows, Valid = %d, %d; want %d, %d", in.Rows(), in.Valid(), len(tt.rows), valid)
			}
			for i := range max(len(rows), len(tt.rows)) {
				var got, want batch.Row
				if i < len(rows) {
					got = rows[i]
				}
				if i < len(tt.rows) {
					want = tt.rows[i]
				}
				if got != want {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want)
				}
			}
		})
	}
}

// TestOpenInput_quoteErrors covers the two meanings of csv.ErrQuote (the
// file ends inside a quoted cell; a quote inside one is not doubled) in
// each place they can be, with each line end, and a NUL byte that the CSV
// parser stumbles over before the line reader sees it.
func TestOpenInput_quoteErrors(t *testing.T) {
	t.Parallel()
	const head = "number,alias\n12025550101,ok\n"
	tests := []struct {
		name, file, want string
	}{
		{"open at the end, LF", head + "12025550102,\"open\n", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"open at the end, no line end", head + "12025550102,\"open", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"open at the end, CRLF", head + "12025550102,\"open\r\n", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"open at the end, CR", head + "12025550102,\"open\r", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"open, blank lines after", head + "12025550102,\"open\n\n\n", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)"},
		{"open, lines after", head + "12025550102,\"open\n12025550103,x\r\n12025550104,y", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)"},
		{"open, just a quote", head + "12025550102,\"", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"undoubled, last line", head + "12025550102,\"a\"b\n", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, last line, no line end", head + "12025550102,\"a\"b", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, last line, CRLF", head + "12025550102,\"a\"b\r\n", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, blank lines after", head + "12025550102,\"a\"b\n\n\n", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, mid-file", head + "12025550102,\"a\"b\n12025550103,x\n", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, second line of a cell, last line", head + "12025550102,\"a\nb\"c\n", `line 4: character 2: a quote (") inside a quoted cell must be doubled (""); the cell starts on line 3`},
		{"NUL behind a bare quote", head + "12025550102,a\"b\x00c\n", "line 3: " + binaryData},
		{"NUL behind an open quote", head + "12025550102,\"a\x00", "line 3: " + binaryData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openString(t, "t.csv", tt.file)
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("OpenInput error = %v, want an *Error", err)
			}
			if want := "t.csv: " + tt.want; err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

// TestOpenInput_bigField reads cells up to MaxCell, and refuses a longer
// one, or a longer row, naming the line and the column it starts at. The
// read stops a row's worth into a row that does not end; empty lines
// between rows are no part of one.
func TestOpenInput_bigField(t *testing.T) {
	t.Parallel()
	const over = "t.csv: line %d: column %d%s is longer than 64 KiB, the most a cell may hold"
	most := strings.Repeat("x", MaxCell)
	tests := []struct {
		name, file string
		want       batch.Row
		err        string
	}{
		{name: "alias of MaxCell", file: "number,alias\n12025550101,\"" + most + "\"\n",
			want: batch.Row{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.Alias: set(most)}}},
		{name: "number of MaxCell letters", file: "number,alias\n" + most + ",x\n",
			want: batch.Row{Line: 2, Number: most, Targets: batch.Targets{batch.Alias: set("x")}, Invalid: `number has a character that is not a digit: "x"`}},
		{name: "alias past MaxCell", file: "number,alias\n12025550101,\"" + most + "x\"\n", err: fmt.Sprintf(over, 2, 2, " (alias)")},
		{name: "unquoted number past MaxCell", file: "number,alias\n1" + most + ",x\n", err: fmt.Sprintf(over, 2, 1, " (number)")},
		{name: "quoted cell of many lines", file: "number,alias\n12025550101,a\n12025550102,\"" + strings.Repeat("ab\n", MaxCell/3+1) + "\"\n",
			err: fmt.Sprintf(over, 3, 2, " (alias)")},
		{name: "a carriage return past MaxCell, before a comma", file: "number,alias,subaccount\n12025550101," + most + "\r,x\n", err: fmt.Sprintf(over, 2, 2, " (alias)")},
		{name: "a carriage return past MaxCell, in quotes", file: "number,alias\n12025550101,\"" + most + "\r\"\n", err: fmt.Sprintf(over, 2, 2, " (alias)")},
		{name: "extra cell past MaxCell", file: "number,alias\n12025550101,a," + most + "x\n", err: fmt.Sprintf(over, 2, 3, "")},
		{name: "header", file: "number," + most + "x\n1,2\n", err: fmt.Sprintf(over, 1, 2, "")},
		{name: "quoted cell of many lines past a row", file: "number,alias\n12025550101,a\n12025550102,\"" + strings.Repeat("ab\n", maxRow) + "\"\n",
			err: fmt.Sprintf(over, 3, 2, " (alias)")},
		{name: "quoted cells past a row", file: "number,alias\n12025550101," + strings.Repeat("\"abcdefg\",", maxRow/5) + "\n",
			err: "t.csv: line 2: the row is longer than 1024 KiB, the most a row may hold"},
		{name: "row of many cells", file: "number,alias\n12025550101," + strings.Repeat("abcdefg,", maxRow/4) + "\n",
			err: "t.csv: line 2: the row is longer than 1024 KiB, the most a row may hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := openString(t, "t.csv", tt.file)
			if tt.err != "" {
				var ie *Error
				if !errors.As(err, &ie) || err.Error() != tt.err {
					t.Errorf("error:\n got %v\nwant %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenInput: %v", err)
			}
			rows := readAll(t, in)
			if len(rows) != 1 || rows[0] != tt.want {
				t.Errorf("got %d rows, the first %s; want 1 row, %s", len(rows), shortRow(rows[0]), shortRow(tt.want))
			}
		})
	}
}

// hugeCell is an input whose second row holds a cell of n bytes, made as
// it is read; it counts the bytes read.
type hugeCell struct {
	n    int
	read atomic.Int64 // the reading goroutine may outlive open after an error
	head bool
}

func (h *hugeCell) Read(p []byte) (int, error) {
	if !h.head {
		h.head = true
		n := copy(p, "number,alias\n12025550101,")
		h.read.Add(int64(n))
		return n, nil
	}
	read := int(h.read.Load())
	if read >= h.n {
		return 0, io.EOF
	}
	p = p[:min(len(p), h.n-read)]
	for i := range p {
		p[i] = 'x'
	}
	h.read.Add(int64(len(p)))
	return len(p), nil
}

// TestOpenInput_hugeCell: a 200 MB cell is refused once a row's worth of
// it is read, not after it is held in memory.
func TestOpenInput_hugeCell(t *testing.T) {
	h := &hugeCell{n: 200 << 20}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := open(context.Background(), "t.csv", h)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if want := "t.csv: line 2: column 2 (alias) is longer than 64 KiB, the most a cell may hold"; err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if read := h.read.Load(); read > 2*maxRow {
		t.Errorf("read %d bytes of the input before refusing it, want at most 2 MiB", read)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("allocated %d MB to refuse it, want at most 32", alloc>>20)
	}
}

// shortRow describes a row whose cells can be a megabyte long.
func shortRow(r batch.Row) string {
	cells := make([]string, 0, batch.NumFields)
	for f, s := range r.Targets {
		cells = append(cells, fmt.Sprintf("%s %d bytes set=%v", batch.Field(f), len(s.Value), s.Set))
	}
	return fmt.Sprintf("{Line:%d Number:%d bytes %.20q... batch.Targets:[%s] Invalid:%q}", r.Line, len(r.Number), r.Number, strings.Join(cells, ", "), r.Invalid)
}

// millionRows generates an input file of n rows without holding it: every
// 1000th row repeats the number of the row 500 rows before it, and every
// 10,000th row's number is not a number. It samples the heap as it goes,
// so that the peak of a whole read is known.
type millionRows struct {
	n, i     int
	buf      []byte
	peakHeap uint64
}

func (g *millionRows) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.i == g.n {
			return 0, io.EOF
		}
		if g.i%50_000 == 0 {
			g.sampleHeap()
		}
		if g.i == 0 {
			g.buf = append(g.buf, "number,app_id,alias\n"...)
		}
		for end := min(g.i+1000, g.n); g.i < end; g.i++ {
			switch num := 12_020_000_000 + g.i; {
			case g.i%10_000 == 9_999:
				g.buf = append(g.buf, "not a number"...)
			case g.i%1000 == 999:
				g.buf = strconv.AppendInt(g.buf, int64(num-500), 10)
			default:
				g.buf = strconv.AppendInt(g.buf, int64(num), 10)
			}
			g.buf = append(g.buf, ",20372631212782780,Front desk\n"...)
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

func (g *millionRows) sampleHeap() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	g.peakHeap = max(g.peakHeap, m.HeapInuse)
}

func (g *millionRows) Close() error { return nil }

// TestOpenInput_millionRows reads a million rows, and their private copy, in bounded memory,
// and finds the duplicates among them.
func TestOpenInput_millionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("a million rows: skipped with -short")
	}
	const rows = 1_000_000
	const dups, notNumbers = rows / 1000 * 9 / 10, rows / 10_000 // every 10th repeat falls on a non-number
	const bound = 64 << 20
	g := &millionRows{n: rows}
	runtime.GC()
	in, err := open(context.Background(), "million.csv", g)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = in.Close() }()
	if in.Rows() != rows || in.Valid() != rows-dups-notNumbers {
		t.Errorf("Rows, Valid = %d, %d; want %d, %d", in.Rows(), in.Valid(), rows, rows-dups-notNumbers)
	}
	n, line, invalid := 0, 1, map[string]int{}
	err = in.Each(context.Background(), func(r batch.Row) error {
		n++
		if r.Line != line+1 {
			return fmt.Errorf("row %d after row %d", r.Line, line)
		}
		line = r.Line
		if n%50_000 == 0 {
			g.sampleHeap()
		}
		if r.Invalid != "" {
			reason, _, _ := strings.Cut(r.Invalid, " of row ")
			invalid[reason]++
		}
		if i := r.Line - 2; i%1000 == 999 && i%10_000 != 9_999 && r.Invalid != "duplicate of row "+strconv.Itoa(r.Line-500) {
			return fmt.Errorf("row %d: Invalid = %q, want a duplicate of row %d", r.Line, r.Invalid, r.Line-500)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g.sampleHeap()
	if n != rows || invalid["duplicate"] != dups || invalid[`number has a character that is not a digit: "n"`] != notNumbers || len(invalid) != 2 {
		t.Errorf("Each: %d rows, invalid %v", n, invalid)
	}
	t.Logf("check and send pass: peak heap in use %.1f MB; peak RSS of the test process %s", float64(g.peakHeap)/(1<<20), peakRSS())
	if g.peakHeap > bound {
		t.Errorf("heap in use peaked at %d MB, want at most %d MB", g.peakHeap>>20, bound>>20)
	}
}

// peakRSS returns the process's peak resident set size as /proc tells it
// ("VmHWM: ... kB"), or "unknown".
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
