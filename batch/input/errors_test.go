package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/report"
)

// TestOpen_refuses: a file that cannot be sent is refused with an *Error
// that names the file, the line (a text editor's, the origin line
// counted), and the problem. want is the start of the message after
// "standard input: ".
func TestOpen_refuses(t *testing.T) {
	t.Parallel()
	const head = "number,alias\n12025550101,ok\n"
	over := func(line, col int, name string) string {
		return fmt.Sprintf("line %d: column %d%s is longer than 64 KiB, the most a cell may hold", line, col, name)
	}
	most := strings.Repeat("x", report.MaxCell)
	tests := []struct{ name, file, want string }{
		{"empty header cell", "number,,alias\n1,2,3\n", "line 1: column 2 of the header has no name"},
		{"NUL behind a bare quote", head + "12025550102,a\"b\x00c\n", "line 3: " + binaryData},
		{"NUL behind an open quote", head + "12025550102,\"a\x00", "line 3: " + binaryData},
		// csv.ErrQuote stands for a quoted cell the file ends inside, and
		// for a quote that is not doubled: in each place, with each line end.
		{"open, no line end", head + "12025550102,\"open", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)"},
		{"open, blank lines after", head + "12025550102,\"open\n\n\n", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)"},
		{"open, lines after", head + "12025550102,\"open\n12025550103,x\r\n12025550104,y", "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)"},
		{"undoubled, no line end", head + "12025550102,\"a\"b", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		{"undoubled, mid-file", head + "12025550102,\"a\"b\n12025550103,x\n", `line 3: character 15: a quote (") inside a quoted cell must be doubled ("")`},
		// Cells up to MaxCell; a row that runs on is refused a row's worth in.
		{"alias past MaxCell", head + "12025550102,\"" + most + "x\"\n", over(3, 2, " (alias)")},
		{"number past MaxCell", "number,alias\n1" + most + ",x\n", over(2, 1, " (number)")},
		{"quoted cell of many lines", head + "12025550102,\"" + strings.Repeat("ab\n", report.MaxCell/3+1) + "\"\n", over(3, 2, " (alias)")},
		{"carriage return past MaxCell", "number,alias,subaccount\n12025550101," + most + "\r,x\n", over(2, 2, " (alias)")},
		{"quoted cell past a row", head + "12025550102,\"" + strings.Repeat("ab\n", maxRow) + "\"\n", over(3, 2, " (alias)")},
		{"quoted cells past a row", head + "12025550102," + strings.Repeat("\"abcdefg\",", maxRow/5) + "\n", "line 3: the row is longer than 1024 KiB, the most a row may hold"},
		{"cells past a row", head + "\n\n12025550102," + strings.Repeat("abcdefg,", maxRow/8) + "\n", "line 5: the row is longer than 1024 KiB, the most a row may hold"},
		// After an origin line.
		{"only the origin line", undoLine + "\n", "nothing after the origin line (# plivo-bulk...): a header row naming the columns is required"},
		{"only the origin line, no line end", undoLine, "nothing after the origin line"},
		{"a report as input", reportLine + "\nrow,number,status\n2,12025550101,ok\n", `line 2: unknown column "row"`},
		{"origin line, bare quote", undoLine + "\r\nnumber,alias\r\n12025550101,ok\r\n12025550102,a\"b\r\n", "line 4: character 14: a quote"},
		{"origin line not at the start", "\n" + undoLine + "\nnumber\n", `line 2: unknown column "# plivo-bulk undo: account=MAXXXXXXXXXXX..."`},
		{"origin line, cell past MaxCell", undoLine + "\nnumber,alias\n12025550101," + most + "x\n", over(3, 2, " (alias)")},
		{"origin line, row past a row", undoLine + "\nnumber,alias\n12025550101,\"" + strings.Repeat("ab\n", maxRow) + "\n", over(3, 2, " (alias)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openString(t, tt.file)
			if ie := (*Error)(nil); !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "standard input: "+tt.want) {
				t.Errorf("error = %.300v\nwant an *Error: standard input: %s", err, tt.want)
			}
		})
	}
}

// TestOpen_badFiles reads the files of testdata/bad (fuzz seeds too), and
// one that is not there: each is refused with its exact message, or read.
func TestOpen_badFiles(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"empty.csv":                        "the file is empty: a header row naming the columns is required (number,app_id,subaccount,alias,compliance_application_id)",
		"header-only.csv":                  "no data rows after the header: nothing to do",
		"no-number-column.csv":             `line 1: no "number" column in the header (a header row is required; found: app_id,alias)`,
		"no-header.csv":                    `line 1: no header row: column 1 of the first row is a phone number, "12025550101", but the first row must name the columns (number,app_id,subaccount,alias,compliance_application_id)`,
		"semicolons.csv":                   `line 1: the header is one column, "number;app_id": the file seems separated by semicolons, but plivo-bulk reads comma-separated files (save it as "CSV (comma delimited)")`,
		"unknown-column.csv":               `line 1: unknown column "app" (did you mean "app_id"?); the columns are: number,app_id,subaccount,alias,compliance_application_id`,
		"column-twice.csv":                 `line 1: column "alias" appears twice (columns 2 and 4)`,
		"unterminated-quote.csv":           "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 5)",
		"unterminated-quote-last-line.csv": "line 3: a quoted cell that starts here is never closed: the file ends inside it (at line 3)",
		"undoubled-quote.csv":              `line 3: character 6: a quote (") inside a quoted cell must be doubled (""); the cell starts on line 2`,
		"bare-quote.csv":                   `line 2: character 17: a quote (") in an unquoted cell: quote the whole cell and double the quote`,
		"gzip.csv":                         "line 1: " + binaryData,
		"utf16.csv":                        "line 1: " + binaryData,
		"latin1.csv":                       "line 2: column 2 is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)",
		// Read: a ragged row is the row's problem; a BOM, CRLF and blank
		// lines are taken as spreadsheets write them.
		"missing.csv": "cannot open: no such file or directory",
		"ragged.csv":  "rows 2 3 4 5 6, valid 2", "bom.csv": "rows 2 3, valid 2", "crlf.csv": "rows 2 3 4, valid 3", "blank-lines.csv": "rows 2 3 4, valid 3",
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.csv"))
	if files = append(files, filepath.Join("testdata", "bad", "missing.csv")); len(files) != len(want) {
		t.Errorf("%d files in testdata/bad, %d expectations", len(files), len(want))
	}
	for _, path := range files {
		got := ""
		if in, err := Open(context.Background(), path, nil); err != nil {
			got = strings.TrimPrefix(err.Error(), path+": ")
		} else {
			got = "rows"
			for _, r := range readAll(t, in) {
				got += fmt.Sprint(" ", r.Line)
			}
			got += fmt.Sprint(", valid ", in.Valid())
			_ = in.Close()
		}
		if w := want[filepath.Base(path)]; got != w {
			t.Errorf("%s:\n got %s\nwant %s", path, got, w)
		}
	}
}

// xs is a cell of x that never ends; it counts the bytes read.
type xs struct{ read atomic.Int64 } // the pump's goroutine reads it

func (x *xs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	x.read.Add(int64(len(p)))
	return len(p), nil
}

// TestOpen_hugeCell: a cell that never ends, on standard input, is refused
// once a row's worth of it is read, not after it is held in memory.
func TestOpen_hugeCell(t *testing.T) {
	x := &xs{}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Open(context.Background(), "-", io.MultiReader(strings.NewReader("number,alias\n12025550101,"), x))
	runtime.ReadMemStats(&after)
	if want := "standard input: line 2: column 2 (alias) is longer than 64 KiB, the most a cell may hold"; err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
	if read := x.read.Load(); read > 2*maxRow {
		t.Errorf("read %d bytes of the input before refusing it, want at most 2 MiB", read)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("allocated %d MB to refuse it, want at most 32", alloc>>20)
	}
}
