package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

func TestNewOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct{ api, want string }{
		{"https://api.plivo.com", "https://api.plivo.com"},
		{"https://API.Plivo.com:443/v1/", "https://api.plivo.com"},
		{"https://user:secret@api.plivo.com/v1/?token=x", "https://api.plivo.com"},
		{"http://127.0.0.1:1234", "http://127.0.0.1:1234"},
		{"http://localhost:80", "http://localhost"},
		{"http://[::1]:8080/", "http://[::1]:8080"},
	}
	for _, tt := range tests {
		o, err := NewOrigin("MA123", tt.api)
		if err != nil || o.API != tt.want || o.Account != "MA123" {
			t.Errorf("NewOrigin(MA123, %q) = %+v, %v; want API %q", tt.api, o, err, tt.want)
		}
	}
	for _, bad := range []struct{ account, api string }{
		{"", "https://api.plivo.com"}, {"MA 1", "https://api.plivo.com"}, {"MA,1", "https://api.plivo.com"},
		{"MA1", ""}, {"MA1", "api.plivo.com"}, {"MA1", "ftp://api.plivo.com"},
	} {
		if o, err := NewOrigin(bad.account, bad.api); err == nil {
			t.Errorf("NewOrigin(%q, %q) = %+v, want an error", bad.account, bad.api, o)
		}
	}
	if _, err := NewOrigin("MA1", "https://user:hunter2@api.plivo.com:bad/"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("NewOrigin with a bad URL and a password: %v", err)
	}
}

// writeReport writes results to a new report at path, against origin.
func writeReport(t *testing.T, path string, o Origin, results ...batch.Result) {
	t.Helper()
	w, err := Open(path, New, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpen_resumeOtherOrigin(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.csv")
	writeReport(t, path, testOrigin, sampleResults()[0])
	before, _ := os.ReadFile(path)
	for _, o := range []Origin{otherOrigin, {Account: testOrigin.Account, API: "http://127.0.0.1:1234"}, {Account: "MAOTHER", API: testOrigin.API}} {
		_, err := Open(path, Resume, o)
		if !errors.Is(err, ErrOtherOrigin) {
			t.Fatalf("Open(Resume, %v) = %v, want ErrOtherOrigin", o, err)
		}
		want := path + " was written against account MATESTACCOUNT0000001 at https://api.plivo.com, not " + o.String() + ": use another --report, or --force to start over"
		if err.Error() != want {
			t.Errorf("error:\n%s\nwant:\n%s", err, want)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a refused resume changed the report")
	}
	w, err := Open(path, Resume, testOrigin)
	if err != nil {
		t.Fatalf("Open(Resume, same origin) = %v", err)
	}
	_ = w.Close()
}

// TestOpen_resumeOlderReport: a report from before the origin line, with
// rows, cannot be trusted for any account.
func TestOpen_resumeOlderReport(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "report.csv")
	old := strings.Join(Columns, ",") + "\n2,12025550101,ok,202,x,1,,2037,,,\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Resume, testOrigin)
	if !errors.Is(err, ErrNoOrigin) || !strings.Contains(err.Error(), "older plivo-bulk") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("Open(older report, Resume) = %v, want ErrNoOrigin", err)
	}
	if _, err := Open(path, New, testOrigin); !errors.Is(err, ErrExists) {
		t.Errorf("Open(older report, New) = %v, want ErrExists", err)
	}
	w, err := Open(path, Force, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if got, _ := os.ReadFile(path); string(got) != testOrigin.line("report")+reportKind.headerLine() {
		t.Errorf("after Force: %q", got)
	}
}

// TestOpen_undoFileAsReport: an undo file is not resumed into.
func TestOpen_undoFileAsReport(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := OpenUndo(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Write(batch.Row{Number: "12025550101", Targets: batch.Targets{batch.Alias: set("new")}}, batch.Targets{batch.Alias: set("old")}); err != nil {
		t.Fatal(err)
	}
	_ = u.Close()
	if _, err := Open(path, Resume, testOrigin); err == nil || !strings.Contains(err.Error(), "holds a plivo-bulk undo file") {
		t.Errorf("Open(undo file, Resume) = %v", err)
	}
}

// TestOpen_takeOver: a report that records nothing (a run that stopped
// before its first row, perhaps killed while writing its first lines) does
// not block the next run, whatever its origin.
func TestOpen_takeOver(t *testing.T) {
	t.Parallel()
	full := otherOrigin.line("report") + reportKind.headerLine()
	for name, content := range map[string]string{
		"origin and header":        full,
		"torn header":              full[:len(full)-5],
		"torn origin line":         full[:10],
		"header and a torn row":    full + "2,1202555",
		"older header only":        reportKind.headerLine(),
		"older torn header":        "row,num",
		"origin line of this run":  testOrigin.line("report"),
		"origin of this run, torn": testOrigin.line("report")[:20],
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []Mode{New, Resume, Force} {
				path := filepath.Join(t.TempDir(), "report.csv")
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				w, err := Open(path, mode, testOrigin)
				if err != nil {
					t.Fatalf("mode %d: %v", mode, err)
				}
				if err := w.Write(sampleResults()[0]); err != nil {
					t.Fatal(err)
				}
				_ = w.Close()
				got, _ := os.ReadFile(path)
				if want := testOrigin.line("report") + reportKind.headerLine() + "2,12025550101,ok,202,5a9fcb68-582d,1,,2037,,,\n"; string(got) != want {
					t.Errorf("mode %d: the report is\n%s\nwant\n%s", mode, got, want)
				}
			}
		})
	}
	// Anything else is not taken over.
	for name, content := range map[string]string{
		"a row":        full + "2,12025550101,ok,202,x,1,,2037,,,\n",
		"another file": "phone,app_id\n",
		"a comment":    "# notes\n",
		"one line":     "precious",
	} {
		path := filepath.Join(t.TempDir(), "report.csv")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, New, testOrigin); !errors.Is(err, ErrExists) {
			t.Errorf("%s: Open(New) = %v, want ErrExists", name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("%s: a refused Open changed the file", name)
		}
	}
}

// TestCompleted_latestLineDecides: targets A ok, then B ok, then A again must be
// sent: the number is on B.
func TestCompleted_latestLineDecides(t *testing.T) {
	t.Parallel()
	row := func(app string) batch.Row {
		return batch.Row{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set(app)}}
	}
	res := func(app string, st batch.Status) batch.Result {
		return batch.Result{Row: row(app), Status: st, HTTPStatus: 202, Attempts: 1}
	}
	other := batch.Result{Row: batch.Row{Line: 3, Number: "12025550102", Targets: batch.Targets{batch.AppID: set("A")}}, Status: batch.StatusOK}
	tests := []struct {
		name     string
		lines    []batch.Result
		doneA    bool
		doneB    bool
		wantLen  int
		wantRows int
	}{
		{"A then B", []batch.Result{res("A", batch.StatusOK), other, res("B", batch.StatusOK)}, false, true, 2, 3},
		{"B then A", []batch.Result{res("B", batch.StatusOK), res("A", batch.StatusOK), other}, true, false, 2, 3},
		{"A then A failed", []batch.Result{res("A", batch.StatusOK), res("A", batch.StatusFailed)}, false, false, 0, 2},
		{"A then B failed", []batch.Result{res("A", batch.StatusOK), res("B", batch.StatusFailed)}, false, false, 0, 2},
		{"A then skipped", []batch.Result{res("A", batch.StatusOK), res("A", batch.StatusSkipped)}, false, false, 0, 2},
		{"A then an invalid line", []batch.Result{res("A", batch.StatusOK), {Row: row("B"), Status: batch.StatusInvalid, Error: "duplicate of row 2"}}, true, false, 1, 2},
		{"A twice", []batch.Result{res("A", batch.StatusOK), res("A", batch.StatusOK)}, true, false, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "report.csv")
			writeReport(t, path, testOrigin, tt.lines...)
			w, err := Open(path, Resume, testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = w.Close() }()
			d := w.Completed()
			if got := d.Has(row("A")); got != tt.doneA {
				t.Errorf("Has(A) = %v, want %v", got, tt.doneA)
			}
			if got := d.Has(row("B")); got != tt.doneB {
				t.Errorf("Has(B) = %v, want %v", got, tt.doneB)
			}
			if d.Len() != tt.wantLen || d.Rows() != tt.wantRows {
				t.Errorf("Len, Rows = %d, %d; want %d, %d", d.Len(), d.Rows(), tt.wantLen, tt.wantRows)
			}
		})
	}
}
