package report

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// failAfter accepts n bytes, then fails every write, as a full disk does.
type failAfter struct {
	n       int
	written []byte
	calls   int
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.calls++
	if len(p) > f.n {
		f.written = append(f.written, p[:f.n]...)
		m := f.n
		f.n = 0
		return m, syscall.ENOSPC
	}
	f.n -= len(p)
	f.written = append(f.written, p...)
	return len(p), nil
}

func TestWriter_Write_failure(t *testing.T) {
	t.Parallel()
	preamble := len(testOrigin.line("report") + reportKind.headerLine())
	out := &failAfter{n: preamble + 60}
	w, err := NewWriter(out, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	var failed int
	for i, r := range append(sampleResults(), sampleResults()...) {
		err := w.Write(r)
		if err == nil {
			continue
		}
		failed++
		if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("write %d: %v, want ErrWrite wrapping ENOSPC", i, err)
		}
	}
	if failed != 2*len(sampleResults())-1 {
		t.Errorf("%d writes failed, want all but the first", failed)
	}
	if out.calls != 4 { // origin line, header, the first row and the failing one: nothing after
		t.Errorf("%d writes reached the file, want 4: writes after a failure must fail at once", out.calls)
	}
	if err := w.Close(); !errors.Is(err, ErrWrite) {
		t.Errorf("Close = %v, want the write error", err)
	}
	if _, err := NewWriter(&failAfter{n: 10}, testOrigin); !errors.Is(err, ErrWrite) {
		t.Errorf("NewWriter on a full disk = %v, want ErrWrite", err)
	}
}

// TestWriter_Write_closedPipe: --report - into `head -1`.
func TestWriter_Write_closedPipe(t *testing.T) {
	t.Parallel()
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	w, err := NewWriter(pw, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close() // the reader goes away
	err = w.Write(sampleResults()[0])
	if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write to a closed pipe = %v, want ErrWrite wrapping EPIPE", err)
	}
	if err2 := w.Write(sampleResults()[1]); err2 != err {
		t.Errorf("second Write = %v, want the first error again", err2)
	}
}

// TestWriter_Write_fullDevice writes a report file on /dev/full.
func TestWriter_Write_fullDevice(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	_, err = NewWriter(f, testOrigin)
	if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("NewWriter(/dev/full) = %v, want ErrWrite wrapping ENOSPC", err)
	}
}

func TestJSONLine(t *testing.T) {
	t.Parallel()
	for _, r := range sampleResults() {
		line := JSONLine(r)
		if !strings.HasSuffix(string(line), "}\n") || strings.Count(string(line), "\n") != 1 {
			t.Errorf("JSONLine = %q: want one line", line)
		}
		var got map[string]any
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("JSONLine = %s: %v", line, err)
		}
		if len(got) != len(Columns) {
			t.Errorf("JSONLine has %d keys, want the report's %d columns", len(got), len(Columns))
		}
		// Keys in the report's order.
		last := -1
		for _, c := range Columns {
			i := strings.Index(string(line), `"`+c+`":`)
			if i < last {
				t.Errorf("key %s out of order in %s", c, line)
			}
			last = i
		}
		if got["number"] != r.Row.Number || got["error"] != r.Error || got["row"] != float64(r.Row.Line) || got["status"] != string(r.Status) {
			t.Errorf("JSONLine = %s, for %+v", line, r)
		}
		for f, s := range r.Row.Targets {
			if got[batch.Field(f).String()] != s.Cell() {
				t.Errorf("%s = %v, want %q (exact, not neutralised)", batch.Field(f), got[batch.Field(f).String()], s.Cell())
			}
		}
	}
	var got map[string]any
	_ = json.Unmarshal(JSONLine(sampleResults()[2]), &got)
	if got["http_status"] != nil {
		t.Errorf("http_status with no answer = %v, want null", got["http_status"])
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile("x.csv", []byte("x"), 0o644))
	must(os.WriteFile("y.csv", []byte("y"), 0o644))
	must(os.Symlink("x.csv", "link.csv"))
	must(os.Link("x.csv", "hard.csv"))
	must(os.Mkdir("sub", 0o755))
	must(os.Symlink(".", "here"))
	tests := []struct {
		a, b string
		want bool
	}{
		{"x.csv", "./x.csv", true},
		{"x.csv", filepath.Join(dir, "x.csv"), true},
		{"x.csv", "sub/../x.csv", true},
		{"x.csv", "link.csv", true},
		{"x.csv", "hard.csv", true},
		{"x.csv", "y.csv", false},
		{"x.csv", "missing.csv", false},
		{"missing.csv", "./missing.csv", true}, // the one file both would create
		{"missing.csv", "here/missing.csv", true},
		{"missing.csv", "other.csv", false},
		{"missing.csv", "sub/missing.csv", false},
		{"-", "-", false},
		{"", "x.csv", false},
		{"nodir/a.csv", "nodir/a.csv", false},
	}
	for _, tt := range tests {
		got, err := SameFile(tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("SameFile(%q, %q) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}
	err := CheckDistinct(NamedPath{"--input", "x.csv"}, NamedPath{"--report", "r.csv"}, NamedPath{"--undo", "-"}, NamedPath{"--summary", "./link.csv"})
	if !errors.Is(err, ErrSameFile) || !strings.Contains(err.Error(), "--input") || !strings.Contains(err.Error(), "--summary") {
		t.Errorf("CheckDistinct = %v", err)
	}
	if err := CheckDistinct(NamedPath{"--input", "x.csv"}, NamedPath{"--report", "r.csv"}, NamedPath{"--undo", "u.csv"}); err != nil {
		t.Errorf("CheckDistinct(distinct) = %v", err)
	}
}
