package report

import (
	"bytes"
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
)

// readUndo reads an undo file as `run --input` does, with input.Open and
// Each, which skip the origin line and decode every cell. It returns the
// rows by number, and fails on an invalid row or a number listed twice.
func readUndo(t *testing.T, path string) map[string]batch.Targets {
	t.Helper()
	in, err := input.Open(context.Background(), path, nil)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("read the undo file as input: %v\n%s", err, data)
	}
	defer func() { _ = in.Close() }()
	out := map[string]batch.Targets{}
	err = in.Each(context.Background(), func(r batch.Row) error {
		if r.Invalid != "" {
			return fmt.Errorf("row %d (%s) is invalid: %s", r.Line, r.Number, r.Invalid)
		}
		if _, twice := out[r.Number]; twice {
			return fmt.Errorf("row %d: %s is listed twice", r.Line, r.Number)
		}
		out[r.Number] = r.Targets
		return nil
	})
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("undo file: %v\n%s", err, data)
	}
	return out
}

func targets(kv ...any) batch.Targets {
	var t batch.Targets
	for i := 0; i < len(kv); i += 2 {
		t[kv[i].(batch.Field)] = set(kv[i+1].(string))
	}
	return t
}

func undoWrite(t *testing.T, u *UndoWriter, number string, row, current batch.Targets) {
	t.Helper()
	if err := u.Write(batch.Row{Number: number, Targets: row}, current); err != nil {
		t.Fatal(err)
	}
}

// TestUndoWriter_hostileValues: every value read before the run comes back
// exactly when the undo file is read as input, and no cell starts a formula.
// The values go in alias and compliance_application_id: an app_id must be
// an id (digits) to be read back, and the API gives no other kind.
func TestUndoWriter_hostileValues(t *testing.T) {
	t.Parallel()
	values := []string{
		" leading", "trailing ", "  ", "(clear)", "two\nlines", "crlf\r\nend", "=1+2", "+1", "-1", "@SUM(A1)",
		"\t=1", "'quoted", `back\slash`, `'\x41`, "a,b \"c\"", "日本語", "\u00a0nbsp", "plain",
	}
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := OpenUndo(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		undoWrite(t, u, fmt.Sprintf("1202555%04d", i), targets(batch.Alias, "new", batch.ComplianceApplicationID, "2"), targets(batch.Alias, v, batch.ComplianceApplicationID, v))
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	got := readUndo(t, path)
	for i, v := range values {
		n := fmt.Sprintf("1202555%04d", i)
		if g := got[n]; g != targets(batch.Alias, v, batch.ComplianceApplicationID, v) {
			t.Errorf("%s: undo restores alias %q compliance %q, want %q", n, g[batch.Alias].Value, g[batch.ComplianceApplicationID].Value, v)
		}
	}
	data, _ := os.ReadFile(path)
	header, rows := readBack(t, data)
	for _, rec := range rows {
		for j, c := range rec {
			if dangerous(c) || c != strings.TrimSpace(c) {
				t.Errorf("column %s: %q starts a formula or is trimmed", header[j], c)
			}
		}
	}
	if lines := bytes.Count(data, []byte{'\n'}); lines != 2+len(values) {
		t.Errorf("%d lines for %d rows: a record spans lines\n%s", lines, len(values), data)
	}
}

// TestUndoWriter_widenedColumns: a run records the alias, is interrupted,
// and its resume also sets app_id: the alias recorded first (from before
// any change) wins, the app_id is added, and the closed file lists the
// number once.
func TestUndoWriter_widenedColumns(t *testing.T) {
	t.Parallel()
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "undo.csv")
			u, err := OpenUndo(path, New, testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			undoWrite(t, u, "12025550101", targets(batch.Alias, "new"), targets(batch.Alias, "old", batch.AppID, "100"))
			undoWrite(t, u, "12025550102", targets(batch.Alias, "new"), targets(batch.Alias, "old2", batch.AppID, "200"))
			// A retry reads the number after its change: nothing new.
			undoWrite(t, u, "12025550101", targets(batch.Alias, "new"), targets(batch.Alias, "new", batch.AppID, "100"))
			if err := u.Close(); err != nil {
				t.Fatal(err)
			}

			u, err = OpenUndo(path, Resume, testOrigin)
			if err != nil {
				t.Fatal(err)
			}
			wide := targets(batch.Alias, "new", batch.AppID, "101")
			undoWrite(t, u, "12025550101", wide, targets(batch.Alias, "new", batch.AppID, "100"))
			undoWrite(t, u, "12025550103", wide, targets(batch.Alias, "old3", batch.AppID, "300"))
			if crash {
				// Killed before Close: the file lists 12025550101 twice; the
				// next resume reads both rows and its Close merges them.
				u.f.Close()
				u, err = OpenUndo(path, Force, testOrigin)
				if err != nil {
					t.Fatal(err)
				}
				undoWrite(t, u, "12025550101", wide, targets(batch.Alias, "x", batch.AppID, "x"))
			}
			if err := u.Close(); err != nil {
				t.Fatal(err)
			}
			want := map[string]batch.Targets{
				"12025550101": targets(batch.Alias, "old", batch.AppID, "100"),
				"12025550102": targets(batch.Alias, "old2"),
				"12025550103": targets(batch.Alias, "old3", batch.AppID, "300"),
			}
			got := readUndo(t, path)
			if len(got) != len(want) {
				t.Errorf("undo rows %v, want %v", got, want)
			}
			for n, w := range want {
				if got[n] != w {
					t.Errorf("%s: undo restores %+v, want %+v", n, got[n], w)
				}
			}
			data, _ := os.ReadFile(path)
			if !strings.HasPrefix(string(data), testOrigin.line("undo")+"number,app_id,subaccount,alias,compliance_application_id\n12025550101,100,,old,\n") {
				t.Errorf("undo file:\n%s", data)
			}
		})
	}
}

// TestOpenUndo_forceAppends: --force never empties an undo file.
func TestOpenUndo_forceAppends(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := OpenUndo(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	undoWrite(t, u, "12025550101", targets(batch.Alias, "new"), targets(batch.Alias, "old"))
	_ = u.Close()
	if _, err := OpenUndo(path, New, testOrigin); !errors.Is(err, ErrExists) {
		t.Errorf("OpenUndo(New) = %v, want ErrExists", err)
	}
	u, err = OpenUndo(path, Force, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	undoWrite(t, u, "12025550101", targets(batch.Alias, "newer"), targets(batch.Alias, "new"))
	undoWrite(t, u, "12025550102", targets(batch.Alias, "newer"), targets(batch.Alias, "old2"))
	_ = u.Close()
	got := readUndo(t, path)
	if got["12025550101"] != targets(batch.Alias, "old") || got["12025550102"] != targets(batch.Alias, "old2") {
		t.Errorf("after Force: %v", got)
	}
	before, _ := os.ReadFile(path)
	for _, o := range []Origin{otherOrigin, {}} {
		if _, err := OpenUndo(path, Force, o); err == nil {
			t.Errorf("OpenUndo(Force, %v) appended to a file of another origin", o)
		}
	}
	_, err = OpenUndo(path, Force, otherOrigin)
	if !errors.Is(err, ErrOtherOrigin) || !strings.Contains(err.Error(), "never emptied") {
		t.Errorf("OpenUndo(Force, other origin) = %v", err)
	}
	other := filepath.Join(t.TempDir(), "numbers.csv")
	_ = os.WriteFile(other, []byte("number,alias\n12025550101,x\n"), 0o644)
	if _, err := OpenUndo(other, Force, testOrigin); err == nil || !strings.Contains(err.Error(), "refusing to append") {
		t.Errorf("OpenUndo(Force, not an undo file) = %v", err)
	}
	if got, _ := os.ReadFile(other); string(got) != "number,alias\n12025550101,x\n" {
		t.Errorf("Force emptied a file that is not an undo file: %q", got)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a refused OpenUndo changed the file")
	}
}

// TestOpenUndo_tornRecord: a record cut inside a quoted, multi-line cell
// (as older versions wrote a line break) is dropped on resume.
func TestOpenUndo_tornRecord(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "undo.csv")
	good := testOrigin.line("undo") + "number,app_id,subaccount,alias,compliance_application_id\n12025550101,,,old,\n"
	if err := os.WriteFile(path, []byte(good+"12025550102,,,\"two\nli"), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := OpenUndo(path, Resume, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	undoWrite(t, u, "12025550102", targets(batch.Alias, "new"), targets(batch.Alias, "two\nlines"))
	_ = u.Close()
	if got, _ := os.ReadFile(path); string(got) != good+"12025550102,,,'two\\nlines,\n" {
		t.Errorf("undo file:\n%q", got)
	}
	// Damage that is not a torn last record is refused.
	if err := os.WriteFile(path, []byte(good+"12025550102,x\n12025550103,,,,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenUndo(path, Resume, testOrigin); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("OpenUndo(damaged) = %v", err)
	}
}

// TestUndoWriter_concurrent writes from many goroutines: every row lands,
// once, and the rows share their syncs.
func TestUndoWriter_concurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := OpenUndo(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				n := fmt.Sprintf("120255%05d", g*each+i)
				if err := u.Write(batch.Row{Number: n, Targets: targets(batch.Alias, "new")}, targets(batch.Alias, "old "+n)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	syncs := u.syncs
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	got := readUndo(t, path)
	if len(got) != writers*each {
		t.Errorf("%d rows, want %d", len(got), writers*each)
	}
	if syncs >= writers*each {
		t.Errorf("%d syncs for %d rows: the syncs were not shared", syncs, writers*each)
	}
	t.Logf("%d rows, %d syncs", writers*each, syncs)
}

// TestUndoWriter_doneForgets: the writer holds a number from its first
// Write (a retry records nothing new) until Done, not for the whole run.
func TestUndoWriter_doneForgets(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "undo.csv")
	u, err := OpenUndo(path, New, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		n := fmt.Sprintf("120255%05d", i)
		undoWrite(t, u, n, targets(batch.Alias, "new"), targets(batch.Alias, "old"))
		undoWrite(t, u, n, targets(batch.Alias, "new"), targets(batch.Alias, "new")) // a retry
		u.Done(n)
	}
	if len(u.recorded) != 0 {
		t.Errorf("the writer still holds %d numbers after their rows ended", len(u.recorded))
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	got := readUndo(t, path)
	for n, w := range got {
		if w != targets(batch.Alias, "old") {
			t.Errorf("%s: undo restores %+v, want the alias from before the run", n, w)
		}
	}
	if len(got) != 100 {
		t.Errorf("%d rows, want 100", len(got))
	}
}
