package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

// testOrigin is the origin the tests write their files against.
var testOrigin = Origin{Account: "MATESTACCOUNT0000001", API: "https://api.plivo.com"}

// otherOrigin is another account on another host.
var otherOrigin = Origin{Account: "SAOTHER0000000000001", API: "http://127.0.0.1:1234"}

func sampleResults() []batch.Result {
	return []batch.Result{
		{Row: batch.Row{Line: 2, Number: "12025550101", Targets: batch.Targets{batch.AppID: set("2037")}},
			Status: batch.StatusOK, HTTPStatus: 202, APIID: "5a9fcb68-582d", Attempts: 1},
		{Row: batch.Row{Line: 4, Number: "12025550103", Targets: batch.Targets{batch.Alias: set("=1+2"), batch.AppID: set("")}},
			Status: batch.StatusFailed, HTTPStatus: 404, APIID: "e1", Attempts: 1, Kind: "not_found", Error: "HTTP 404: not found"},
		{Row: batch.Row{Line: 3, Number: "+1 202 x", Invalid: "bad"},
			Status: batch.StatusInvalid, Error: "number has a character that is not a digit: \"x\""},
		{Row: batch.Row{Line: 5, Number: "12025550105", Targets: batch.Targets{batch.Alias: set("two\nlines, \"quoted\""), batch.Subaccount: set("SA1")}},
			Status: batch.StatusFailed, HTTPStatus: 500, Attempts: 5, Error: "@SUM(A1) -from the server\r\n"},
	}
}

func TestWriter_golden(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleResults() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
}

func TestNeutralize(t *testing.T) {
	tests := map[string]string{
		"":             "",
		"plain":        "plain",
		"=cmd|' /C'":   "'=cmd|' /C'",
		"+12025550101": "'+12025550101",
		"-1":           "'-1",
		"@SUM(1)":      "'@SUM(1)",
		"\t=1":         "'\t=1",
		"a\nb\r\nc":    "a b c",
		"\n=1":         "' =1"[1:],
	}
	for in, want := range tests {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpen_modes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.csv")
	w, err := Open(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sampleResults()[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	if _, err := Open(path, New, testOrigin); !errors.Is(err, ErrExists) {
		t.Errorf("Open(existing, New) = %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a refused Open changed the report")
	}

	w, err = Open(path, Force, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if got, _ := os.ReadFile(path); string(got) != testOrigin.line("report")+strings.Join(Columns, ",")+"\n" {
		t.Errorf("after Force: %q, want only the origin line and the header", got)
	}
}

func TestOpen_resume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.csv")
	w, err := Open(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleResults() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Close()
	// A killed run tears its last line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("9,1202555,ok,202,x")
	_ = f.Close()

	w, err = Open(path, Resume, testOrigin)
	if err != nil {
		t.Fatalf("Open(Resume): %v", err)
	}
	if !w.DroppedTornLine() {
		t.Error("DroppedTornLine = false")
	}
	d := w.Completed()
	if d.Len() != 1 || d.Rows() != 4 {
		t.Errorf("Done Len, Rows = %d, %d; want 1, 4", d.Len(), d.Rows())
	}
	okRow := sampleResults()[0].Row
	if !d.Has(okRow) {
		t.Error("Has(the ok row) = false")
	}
	other := okRow
	other.Targets[batch.AppID] = set("9999")
	if d.Has(other) {
		t.Error("Has(same number, other target) = true: a changed row must be sent")
	}
	if d.Has(sampleResults()[1].Row) {
		t.Error("Has(a failed row) = true")
	}
	if err := w.Write(sampleResults()[1]); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[6], "4,12025550103,failed") {
		t.Errorf("after resume and one write, the report is:\n%s", data)
	}
}

func TestOpen_resumeRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "numbers.csv")
	_ = os.WriteFile(path, []byte("number,app_id\n12025550101,1\n"), 0o644)
	if _, err := Open(path, Resume, testOrigin); err == nil || !strings.Contains(err.Error(), "holds an input file") {
		t.Errorf("Open(input file, Resume) = %v", err)
	}
}

func TestOpen_locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.csv")
	w, err := Open(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Resume, testOrigin); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open while the first holds it = %v, want ErrLocked", err)
	}
	_ = w.Close()
	w, err = Open(path, Resume, testOrigin)
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	_ = w.Close()
}
