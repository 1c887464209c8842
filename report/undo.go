package report

import (
	"encoding/csv"
	"fmt"
	"os"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// UndoWriter writes an undo file: an input CSV that, given back to
// `plivo-bulk run --input`, restores the fields a run changed to the values
// they had before it. A row is written, and flushed, before the update it
// undoes is sent, so even a run killed mid-way can be rolled back.
//
// The undo file is meant to be fed back to the tool, so its cells are
// written as read (no formula neutralisation). When a number appears twice
// (a resumed run reads it again), the first row holds the values from before
// any change; run on the undo file, the later rows are reported as
// duplicates and not sent.
//
// It is safe for concurrent use.
type UndoWriter struct {
	mu     sync.Mutex
	f      *os.File
	w      *csv.Writer
	seen   map[string]struct{}
	rec    []string
	lost   int
	closed bool
}

// OpenUndo opens the undo file at path; mode works as for Open, Resume
// appending to what an earlier run wrote.
func OpenUndo(path string, mode Mode) (*UndoWriter, error) {
	f, cw, err := openCSV(path, "undo file", mode, batch.Columns(), func(f *os.File) (int64, error) {
		keep, _, err := completeLength(f)
		return keep, err
	})
	if err != nil {
		return nil, err
	}
	return &UndoWriter{f: f, w: cw, seen: map[string]struct{}{}, rec: make([]string, 1+batch.NumFields)}, nil
}

// Write records how to restore, from current, the fields that row changes.
// It writes nothing for a number it has already written in this run (a
// retry reads the number again, perhaps after the change was applied).
// A field whose old value cannot be expressed (a number that was on the
// main account, or had no compliance application: the API cannot move it
// back or clear it) is left out and counted by Unrestorable.
func (u *UndoWriter) Write(row batch.Row, current batch.Targets) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.seen[row.Number]; ok {
		return nil
	}
	rec := u.rec
	rec[0] = row.Number
	any, lost := false, false
	for f, s := range row.Targets {
		rec[1+f] = ""
		if !s.Set {
			continue
		}
		cur := current[f]
		switch {
		case cur.Value != "":
			rec[1+f] = cur.Value
			any = true
		case batch.Field(f) == batch.AppID || batch.Field(f) == batch.Alias:
			rec[1+f] = batch.ClearMarker
			any = true
		default:
			lost = true
		}
	}
	if lost {
		u.lost++
	}
	u.seen[row.Number] = struct{}{}
	if !any {
		return nil
	}
	if err := writeFlushed(u.w, rec); err != nil {
		return fmt.Errorf("undo file: %w", err)
	}
	return nil
}

// Unrestorable counts the numbers with a change the undo file cannot express.
func (u *UndoWriter) Unrestorable() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lost
}

// Close flushes the undo file and releases its lock.
func (u *UndoWriter) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.closed = true
	if err := closeCSV(u.f, u.w); err != nil {
		return fmt.Errorf("close undo file: %w", err)
	}
	return nil
}
