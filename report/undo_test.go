package report_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/report"
)

var (
	origin = report.Origin{Account: "MAROUNDTRIP000000001", API: "https://api.plivo.com"}
	other  = report.Origin{Account: "MAOTHER0000000000001", API: "https://api.plivo.com"}
)

func set(v string) batch.Setting { return batch.Setting{Value: v, Set: true} }

func alias(v string) batch.Targets { return batch.Targets{batch.Alias: set(v)} }

// readInput reads path as `run --input` does: its rows, and the origins
// it records.
func readInput(t *testing.T, path string) ([]batch.Row, []report.Origin) {
	t.Helper()
	in, err := input.Open(context.Background(), path, nil)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("input.Open: %v\n%q", err, data)
	}
	defer func() { _ = in.Close() }()
	var rows []batch.Row
	report.Must(t, in.Each(context.Background(), func(r batch.Row) error { rows = append(rows, r); return nil }))
	return rows, in.Origins()
}

func openUndo(t *testing.T, path string, mode report.Mode) *report.UndoWriter {
	t.Helper()
	u, err := report.OpenUndo(path, mode, origin)
	report.Must(t, err)
	return u
}

func write(t *testing.T, u *report.UndoWriter, number string, row, current batch.Targets) {
	t.Helper()
	report.Must(t, u.Write(batch.Row{Number: number, Targets: row}, current))
}

// TestUndo_readBack writes hostile values to an undo file and reads them
// back with the input reader: each row's targets are exactly the values
// before, at the rows a spreadsheet shows (the header is row 1).
func TestUndo_readBack(t *testing.T) {
	values := []string{
		" leading", "trailing ", "  ", "\u00a0nbsp\u2003", "(clear)", " (clear) ", "'(clear)", "(CLEAR)",
		"two\nlines", "crlf\r\nend", "\ttab first", "=1+2", "+1", "-1", "@SUM(A1)", "'", "''", "'\\x41", `back\slash`,
		"a,b \"c\"", "日本語", "caf\xe9", "\xff\xfe", "a\x00b", "bell\a", "# plivo-bulk undo: account=MA api=x", "number,alias",
	}
	path := filepath.Join(t.TempDir(), "undo.csv")
	u := openUndo(t, path, report.New)
	var want []batch.Row
	for i, v := range values {
		n := fmt.Sprintf("1202555%04d", i)
		current := batch.Targets{batch.Alias: set(v), batch.ComplianceApplicationID: set(v)}
		write(t, u, n, batch.Targets{batch.Alias: set("new"), batch.ComplianceApplicationID: set("new")}, current)
		want = append(want, batch.Row{Line: 2 + i, Number: n, Targets: current})
	}
	// An app and an alias that were empty come back as (clear); a main
	// account and no compliance application cannot be restored.
	n := fmt.Sprintf("1202555%04d", len(values))
	write(t, u, n, batch.Targets{set("1"), set("SANEW000000000000001"), set("new"), set("c")}, batch.Targets{{}, set("SA0123456789ABCDEFGH"), {}, {}})
	write(t, u, "12025559999", batch.Targets{batch.Subaccount: set("SANEW000000000000001")}, batch.Targets{})
	want = append(want, batch.Row{Line: 2 + len(values), Number: n, Targets: batch.Targets{{Set: true}, set("SA0123456789ABCDEFGH"), {Set: true}, {}}})
	if err := u.Close(); err != nil || u.Unrestorable != 2 {
		t.Fatalf("Close: %v; Unrestorable %d, want 2", err, u.Unrestorable)
	}
	got, origins := readInput(t, path)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(origins) != 1 || origins[0] != origin {
		data, _ := os.ReadFile(path)
		t.Errorf("read back %v, %v\nwant %v\nfile:\n%s", got, origins, want, data)
	}
	if err := report.CheckUndoInput(path, origins, other); err == nil || !strings.Contains(err.Error(), "was written against "+origin.String()) {
		t.Errorf("CheckUndoInput for another account: %v", err)
	}
	long := strings.Repeat("x", report.MaxCell)
	if err := u.Write(batch.Row{Number: "1", Targets: alias("y")}, alias(long)); err == nil {
		t.Error("a write after Close succeeded")
	}
	u = openUndo(t, path, report.Resume)
	if err := u.Write(batch.Row{Number: "1", Targets: alias("y")}, alias("'"+long)); !errors.Is(err, batch.ErrCellTooLong) {
		t.Errorf("a value past an input cell once escaped: %v", err)
	}
	_ = u.Close()
}

// TestUndoWriter_merges: a retry records nothing new; a resumed run that
// sets more fields adds them on a row of their own, and Close merges each
// number's rows in the file (the input reader merges them after a killed
// run: batch/input's tests). The first value recorded, from before any
// change, wins.
func TestUndoWriter_merges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "undo.csv")
	u := openUndo(t, path, report.New)
	write(t, u, "12025550101", alias("new"), batch.Targets{batch.Alias: set("old"), batch.AppID: set("100")})
	write(t, u, "12025550102", alias("new"), alias("old2"))
	write(t, u, "12025550101", alias("new"), alias("new")) // a retry reads the changed number
	u.Done("12025550101")
	write(t, u, "12025550104", alias("new"), alias("old4"))
	write(t, u, "12025550104", batch.Targets{batch.AppID: set("1")}, batch.Targets{batch.AppID: set("400")})
	_ = u.Close()
	if data, _ := os.ReadFile(path); !strings.HasSuffix(string(data), "\n12025550104,400,,old4,,MAROUNDTRIP000000001,https://api.plivo.com\n") || !strings.HasPrefix(string(data), "number,") {
		t.Errorf("a number split in one run is not merged at Close:\n%s", data)
	}
	wide := batch.Targets{batch.Alias: set("newer"), batch.AppID: set("101")}
	u = openUndo(t, path, report.Force) // Force appends to an undo file
	write(t, u, "12025550101", wide, batch.Targets{batch.Alias: set("new"), batch.AppID: set("100")})
	write(t, u, "12025550103", wide, batch.Targets{batch.Alias: set("old3"), batch.AppID: set("300")})
	report.Must(t, u.Close())
	o := "," + origin.Account + "," + origin.API + "\n"
	want := "number,app_id,subaccount,alias,compliance_application_id,account,api\n12025550101,100,,old," + o +
		"12025550102,,,old2," + o + "12025550104,400,,old4," + o + "12025550103,300,,old3," + o
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Errorf("undo file:\n%s\nwant:\n%s", data, want)
	}
}

// TestOpenUndo_refuses: an undo file is never emptied, never appended to
// from another origin, and a file that is not one is never appended to
// (another account, and --undo -: the root package's tests).
func TestOpenUndo_refuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "undo.csv")
	u := openUndo(t, path, report.New)
	write(t, u, "12025550101", alias("new"), alias("old"))
	_ = u.Close()
	before, _ := os.ReadFile(path)
	notUndo := filepath.Join(dir, "numbers.csv")
	_ = os.WriteFile(notUndo, []byte("number,alias\n12025550101,x\n"), 0o644)
	for _, tt := range []struct {
		path   string
		mode   report.Mode
		origin report.Origin
		want   string
	}{
		{path, report.New, origin, "already exists (an undo file with rows): use --resume or --force"},
		{path, report.Resume, report.Origin{Account: origin.Account, API: "http://127.0.0.1"}, "never emptied"},
		{notUndo, report.Force, origin, "refusing to append"},
		{notUndo, report.New, origin, "not a plivo-bulk undo file"}, // not "use --resume or --force"
	} {
		if _, err := report.OpenUndo(tt.path, tt.mode, tt.origin); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("OpenUndo(%s, %v, %v) = %v, want %q", tt.path, tt.mode, tt.origin, err, tt.want)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused OpenUndo changed the file")
	}
	if got, _ := os.ReadFile(notUndo); string(got) != "number,alias\n12025550101,x\n" {
		t.Errorf("a file that is not an undo file changed: %q", got)
	}
}

// TestUndo_olderFile: an undo file of an older version (its origin on a
// first line) is appended to in its own form (which batch/input reads
// back), and is refused for another account; a record torn inside a
// quoted cell is dropped.
func TestUndo_olderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "undo.csv")
	head := "# plivo-bulk undo: account=" + origin.Account + " api=" + origin.API + " cells=escaped\nnumber,app_id,subaccount,alias,compliance_application_id\n"
	_ = os.WriteFile(path, []byte(head+"12025550101,,,old,\n12025550102,,,\"two\nli"), 0o644)
	if _, err := report.OpenUndo(path, report.Resume, other); err == nil || !strings.Contains(err.Error(), "not "+other.String()) {
		t.Errorf("append from another account: %v", err)
	}
	u := openUndo(t, path, report.Resume)
	write(t, u, "12025550102", alias("new"), alias("two\nlines"))
	_ = u.Close()
	if got, _ := os.ReadFile(path); string(got) != head+"12025550101,,,old,\n12025550102,,,'two\\nlines,\n" {
		t.Errorf("undo file:\n%q", got)
	}
	_ = os.WriteFile(path, []byte(head+"12025550101,,,\"two\n"), 0o644) // cut after a line break in a quoted cell
	if u, err := report.OpenUndo(path, report.Resume, origin); err != nil {
		t.Errorf("a record cut inside a quoted cell: %v", err)
	} else {
		_ = u.Close()
	}
	_ = os.WriteFile(path, []byte(head+"12025550102,x\n12025550103,,,,\n"), 0o644)
	if _, err := report.OpenUndo(path, report.Resume, origin); err == nil || !strings.Contains(err.Error(), "damaged, cannot resume: record on line 3:") {
		t.Errorf("a damaged undo file: %v, want its line in the file, 3", err)
	}
}

// TestUndoWriter_concurrent: every row written from many goroutines lands once.
func TestUndoWriter_concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "undo.csv")
	u := openUndo(t, path, report.New)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				n := fmt.Sprintf("120255%05d", g*20+i)
				write(t, u, n, alias("new"), alias("old "+n))
				u.Done(n)
			}
		})
	}
	wg.Wait()
	_ = u.Close()
	if rows, _ := readInput(t, path); len(rows) != 160 {
		t.Errorf("%d rows, want 160", len(rows))
	}
}
