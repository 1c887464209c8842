package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

var (
	testOrigin  = Origin{Account: "MATESTACCOUNT0000001", API: "https://api.plivo.com"}
	otherOrigin = Origin{Account: "MAOTHER0000000000001", API: "http://127.0.0.1:1234"}
)

func result(line int, number string, st batch.Status, t batch.Targets) batch.Result {
	return batch.Result{Row: batch.Row{Line: line, Number: number, Targets: t}, Status: st, HTTPStatus: 202, APIID: "a1", Attempts: 1}
}

// writeReport writes rs to a report at path in mode, and closes it.
func writeReport(t *testing.T, path string, mode Mode, o Origin, rs ...batch.Result) *Writer {
	t.Helper()
	w, err := Open(path, mode, o, nil)
	Must(t, err)
	for _, r := range rs {
		Must(t, w.Write(r))
	}
	Must(t, w.Close())
	return w
}

// TestWriter_cells: the header is line 1; people's cells are neutralised,
// the targets exact, every record one line, the origin on every row.
func TestWriter_cells(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	writeReport(t, path, New, testOrigin,
		batch.Result{Row: batch.Row{Line: 5, Number: "=12025550105", Targets: batch.Targets{batch.Alias: set("two\nlines, \"q\""), batch.AppID: set(""), batch.Subaccount: set("(clear)")}},
			Status: batch.StatusFailed, HTTPStatus: 500, Attempts: 5, Error: "@SUM(A1) -from the server\r\n"},
		batch.Result{Row: batch.Row{Line: 3, Number: "+1 202 x"}, Status: batch.StatusInvalid, Error: "bad"})
	o := "," + testOrigin.Account + "," + testOrigin.API + "\n"
	want := strings.Join(Columns, ",") + "\n" +
		`5,'=12025550105,failed,500,,5,'@SUM(A1) -from the server ,(clear),'(clear),"'two\nlines, ""q""",` + o +
		"3,'+1 202 x,invalid,,,0,bad,,,," + o
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Errorf("report:\n%s\nwant:\n%s", data, want)
	}
}

// TestOpen_modes: New refuses a report with rows, a held report is locked, Force replaces, a report
// with no row is taken over, and no mode writes a report or plan over an input or undo file.
func TestOpen_modes(t *testing.T) {
	dir := t.TempDir()
	ok := result(2, "12025550101", batch.StatusOK, batch.Targets{batch.Alias: set("a")})
	path := filepath.Join(dir, "r.csv")
	writeReport(t, path, New, testOrigin, ok)
	if _, err := Open(path, New, testOrigin, nil); !errors.Is(err, ErrExists) {
		t.Errorf("New over a report with rows: %v, want ErrExists", err)
	}
	held, err := Open(path, Resume, testOrigin, nil)
	Must(t, err)
	if _, err := Open(path, Force, testOrigin, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("a second run on a held report: %v, want ErrLocked", err)
	}
	_ = held.Close()
	lock := lockFile // the run holding the report replaces it (--force, compaction) between a second run's open and lock:
	t.Cleanup(func() { lockFile = lock })
	lockFile = func(f *os.File) error { // then the second run must not write to a file no name leads to
		lockFile = lock
		writeReport(t, path+".new", New, testOrigin, ok)
		return errors.Join(os.Rename(path+".new", path), lock(f))
	}
	if w, err := Open(path, Resume, testOrigin, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("a report replaced between open and lock: %v, want ErrLocked", err)
		_ = w.Close()
	}
	w := writeReport(t, path, Force, testOrigin)
	if data, _ := os.ReadFile(path); string(data) != strings.Join(Columns, ",")+"\n" || w.Done != nil {
		t.Errorf("after Force: %q, want the header alone", data)
	}
	writeReport(t, path, New, otherOrigin) // a report with no row is taken over
	for name, body := range map[string]string{"input": "number,alias\n1,a\n", "undo": undoHeader + "\n1,,,,,a,b\n"} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		if _, err := Open(p, Force, testOrigin, nil); err == nil || !strings.Contains(err.Error(), "refusing to write a report over it") {
			t.Errorf("Force over an %s: %v", name, err)
		}
		if _, err := OpenPlan(p, Force, nil); err == nil {
			t.Errorf("a plan with --force over an %s was not refused", name)
		}
	}
}

// TestOpen_resume: the latest line of a number decides, and only when it is
// ok (done) or unverified (to read back) with exactly the row's targets; an
// invalid line says nothing of its number; a torn last line is dropped.
// (A line break is not a space, (clear) not the text: TestResume_comparesExactTargets.)
func TestOpen_resume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	a, b := batch.Targets{batch.Alias: set("a")}, batch.Targets{batch.Alias: set("b")}
	writeReport(t, path, New, testOrigin,
		result(2, "1", batch.StatusOK, a), result(3, "1", batch.StatusInvalid, b),
		result(3, "2", batch.StatusOK, a), result(4, "2", batch.StatusFailed, a),
		result(8, "6", batch.StatusUnverified, a), result(9, "7", batch.StatusUnverified, a), result(9, "7", batch.StatusOK, a))
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`7,5,ok,202,x,1,,,,"torn`)
	_ = f.Close()
	w, err := Open(path, Resume, testOrigin, nil)
	Must(t, err)
	defer w.Close()
	d := w.Done
	has := func(n string, tg batch.Targets) bool { return d.Has(batch.Row{Number: n, Targets: tg}) }
	unverified := func(n string, tg batch.Targets) bool { return d.Unverified(batch.Row{Number: n, Targets: tg}) }
	switch {
	case !has("1", a) || has("1", b):
		t.Error("an ok line must count for its exact targets only, and an invalid line after it for nothing")
	case has("2", a):
		t.Error("a number whose latest line failed counts as done")
	case has("6", a) || !unverified("6", a) || unverified("6", b):
		t.Error("an unverified latest line must be to read back for its exact targets, not done")
	case !has("7", a) || unverified("7", a) || unverified("1", a):
		t.Error("an ok line after an unverified one must make the row done, no longer to read back")
	case d.Len() != 2 || d.Rows != 7 || !w.Torn:
		t.Errorf("Len %d Rows %d torn %v, want 2, 7, true", d.Len(), d.Rows, w.Torn)
	}
}

// TestOpen_resumeOrigin: a report of another origin, or of none, is refused;
// reports of older versions, with the origin on a first line, resume (refused
// for another origin even with no record to tell it), and their lossy ok
// lines (no cells=escaped) do not count as done.
func TestOpen_resumeOrigin(t *testing.T) {
	dir := t.TempDir()
	head, old := strings.Join(Columns, ",")+"\n", strings.Join(Columns[:11], ",")
	line := "# plivo-bulk report: account=" + testOrigin.Account + " api=" + testOrigin.API
	for name, tt := range map[string]struct {
		body string
		err  string // what the error says; "" for none
		done bool   // its ok line of targets "a b" counts
	}{
		"this origin":    {head + "2,1,ok,202,x,1,,,,a b,," + testOrigin.Account + "," + testOrigin.API + "\n", "", true},
		"another origin": {head + "2,1,ok,202,x,1,,,,a b,," + otherOrigin.Account + "," + otherOrigin.API + "\n", "was written against " + otherOrigin.String(), false},
		"empty cells":    {head + "2,1,ok,202,x,1,,,,a,,,\n", "does not record which account", false},
		"old, escaped":   {line + " cells=escaped\r\n" + old + "\r\n2,1,ok,202,x,1,,,,a b,\r\n", "", true},
		"old, lossy":     {"\xef\xbb\xbf" + line + "\n" + old + "\n2,1,ok,202,x,1,,,,a b,\n", "", false},
		"old, other":     {"# plivo-bulk report: account=MAX api=http://x\n" + old + "\n2,1,ok,202,x,1,,,,a,\n", "was written against account MAX at http://x", false},
		"old, none":      {"# plivo-bulk report:\n" + old + "\n2,1,ok,202,x,1,,,,a,\n", "does not record which account", false},
		"old, blank":     {"# plivo-bulk report: account=MAX api=http://x\n" + old + "\n\n", "was written against account MAX at http://x", false},
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(tt.body), 0o644)
		w, err := Open(p, Resume, testOrigin, nil)
		if (err == nil) != (tt.err == "") || !strings.Contains(fmt.Sprint(err), tt.err) ||
			err == nil && w.Done.Has(batch.Row{Number: "1", Targets: batch.Targets{batch.Alias: set("a b")}}) != tt.done {
			t.Errorf("%s: %v, want %v, done %v", name, err, tt.err, tt.done)
		}
		if err == nil {
			_ = w.Close()
		}
	}
}

func TestWriter_writeFailure(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w, err := Open("/dev/full", New, testOrigin, nil)
	if err == nil {
		err = w.Write(result(2, "1", batch.StatusOK, batch.Targets{}))
	}
	if !errors.Is(err, ErrWrite) {
		t.Fatalf("writing to a full device: %v, want ErrWrite", err)
	}
}

func TestJSONLine(t *testing.T) {
	r := result(2, "=1", batch.StatusFailed, batch.Targets{batch.AppID: set(""), batch.Alias: set("a\"\n")})
	r.HTTPStatus = 0
	want := `{"row":2,"number":"=1","status":"failed","http_status":null,"api_id":"a1","attempts":1,"error":"","app_id":"(clear)","subaccount":"","alias":"a\"\n","compliance_application_id":""}` + "\n"
	if got := string(JSONLine(r)); got != want {
		t.Errorf("JSONLine:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanWriter(t *testing.T) {
	var out strings.Builder
	p, err := OpenPlan("-", New, &out)
	Must(t, err)
	r := batch.Result{Row: batch.Row{Line: 2, Number: "-1", Targets: batch.Targets{batch.Alias: set(""), batch.AppID: set("(clear)")}},
		Status: batch.StatusOK, Current: batch.Targets{batch.Alias: set("=x"), batch.AppID: set("")}}
	if err := p.Write(r); err != nil || p.Close() != nil {
		t.Fatal(err)
	}
	want := strings.Join(PlanColumns, ",") + "\n2,'-1,yes,,(clear),'(clear),,,'=x,(clear),,\n"
	if out.String() != want {
		t.Errorf("plan:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNewOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"https://API.plivo.com:443/v1/": "https://api.plivo.com", "http://127.0.0.1:80": "http://127.0.0.1",
		"http://user:pw@[::1]:8080/x?q": "http://[::1]:8080", "HTTP://[::1]/": "http://[::1]", "ftp://x": "", "/v1": "", "http://%zz": "",
	} {
		o, err := NewOrigin("MA1", raw)
		if o.API != want || (err != nil) != (want == "") || err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("NewOrigin(%q) = %q, %v; want %q", raw, o.API, err, want)
		}
	}
}

// BenchmarkWriter_Write writes one typical ok row: to io.Discard (the
// encoding alone) and to a file (with the flush every row gets).
func BenchmarkWriter_Write(b *testing.B) {
	r := result(2, "12025550101", batch.StatusOK, batch.Targets{batch.AppID: set("20372631212782780"), batch.Alias: set("Front desk")})
	for _, path := range []string{"-", filepath.Join(b.TempDir(), "report.csv")} {
		b.Run(map[bool]string{true: "discard", false: "file"}[path == "-"], func(b *testing.B) {
			w, err := Open(path, Force, testOrigin, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriter_Compact: a report is rewritten with each row's latest line, in
// order (its rows' cells as they were, their line ends \n), its first lines
// (an old version's origin line, its header) byte for byte; an invalid row
// with the number of another row drops nothing; so is a new report. A
// report on standard output is left as written.
func TestWriter_Compact(t *testing.T) {
	head := "\xef\xbb\xbf# plivo-bulk report: account=" + testOrigin.Account + " api=" + testOrigin.API + " cells=escaped\r\n" +
		strings.Join(Columns[:11], ",") + "\r\n"
	p := filepath.Join(t.TempDir(), "r.csv")
	_ = os.WriteFile(p, []byte(head+"2,1,failed,500,x,3,boom,,,'=a,\r\n3,2,ok,202,x,1,,,,b,\r\n"), 0o600)
	w, err := Open(p, Resume, testOrigin, nil)
	Must(t, err)
	for _, r := range []batch.Result{
		result(2, "1", batch.StatusUnverified, batch.Targets{batch.Alias: set("=a")}),
		result(4, "1", batch.StatusInvalid, batch.Targets{}),
		result(2, "1", batch.StatusOK, batch.Targets{batch.Alias: set("=a")}),
	} {
		Must(t, w.Write(r))
	}
	Must(t, errors.Join(w.Compact(), w.Close()))
	data, _ := os.ReadFile(p)
	want := head + "3,2,ok,202,x,1,,,,b,\n4,1,invalid,202,a1,1,,,,,\n2,1,ok,202,a1,1,,,,'=a,\n"
	if string(data) != want {
		t.Errorf("compacted:\n%q\nwant\n%q", data, want)
	}

	for path, lines := range map[string]int{"-": 3, filepath.Join(t.TempDir(), "new.csv"): 2} {
		var out strings.Builder
		w, err = Open(path, New, testOrigin, &out)
		Must(t, err)
		_ = w.Write(result(2, "1", batch.StatusUnverified, batch.Targets{}))
		_ = w.Write(result(2, "1", batch.StatusOK, batch.Targets{}))
		err := errors.Join(w.Compact(), w.Close())
		if data, _ := os.ReadFile(path); path != "-" {
			out.Write(data)
		}
		if got := out.String(); err != nil || strings.Count(got, "\n") != lines || !strings.HasSuffix(got, ",ok,202,a1,1,,,,,,"+testOrigin.Account+","+testOrigin.API+"\n") {
			t.Errorf("report %s: %v, %q; want %d lines, the ok line last", path, err, got, lines)
		}
	}
}

func TestCheckDistinct(t *testing.T) {
	dir := t.TempDir()
	in, sub := filepath.Join(dir, "in.csv"), filepath.Join(dir, "sub")
	Must(t, os.WriteFile(in, []byte("number\n"), 0o644), os.Mkdir(sub, 0o755), os.Symlink(sub, filepath.Join(dir, "link")), os.Link(in, filepath.Join(dir, "hard.csv")))
	t.Chdir(filepath.Join(dir, "link"))
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{in, filepath.Join(dir, "hard.csv"), true},                                // a hard link of an existing file
		{filepath.Join(dir, "new.csv"), sub + "/../new.csv", true},                // a file not made yet, two spellings
		{filepath.Join(sub, "new.csv"), filepath.Join(dir, "link/new.csv"), true}, // through a symlinked folder
		{"new.csv", filepath.Join(sub, "new.csv"), true},                          // relative and absolute, in a symlinked working folder
		{"-", "/dev/stdout", true},
		{filepath.Join(dir, "new.csv"), filepath.Join(sub, "new.csv"), false},
	} {
		err := CheckDistinct(NamedPath{"--report", c.a}, NamedPath{"--undo", c.b})
		if errors.Is(err, ErrSameFile) != c.same {
			t.Errorf("CheckDistinct(%s, %s) = %v, want one file: %v", c.a, c.b, err, c.same)
		}
	}
}

// Must fails the test now at the first error (undo_test.go, outside the package, too).
func Must(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
