package report

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// UndoWriter writes an undo file, each row synced before the update it undoes is sent. A number's
// first value for a field wins (it is from before any change): a later Write in the run records only
// the fields not yet recorded, and Close (or, after a killed run, the input reader) merges each
// number's rows, so the rows a resumed run adds restore nothing that an earlier row does.
type UndoWriter struct {
	mu       sync.Mutex
	c        *csvFile
	recorded map[string]uint8 // number -> the fields recorded (bit f), or lost; until Done
	// Unrestorable counts the numbers with a change the undo file cannot express; read it after Close.
	Unrestorable int
}

// OpenUndo opens the undo file at path for a run against origin; Force appends, as Resume does.
func OpenUndo(path string, mode Mode, origin Origin) (*UndoWriter, error) {
	c, err := openCSV(path, undoKind, mode, origin, nil, func([]string, bool) error { return nil })
	return &UndoWriter{c: c, recorded: map[string]uint8{}}, err
}

// Write records and syncs the current values of the fields row changes that are not recorded yet.
// One the API cannot set back counts in Unrestorable; a cell too long, recording nothing, fails
// with batch.ErrCellTooLong: the row must not be sent.
func (u *UndoWriter) Write(row batch.Row, current batch.Targets) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	had := u.recorded[row.Number]
	bits, rec, any, lost := had, u.c.rec, false, false
	rec[0] = EscapeCell(row.Number)
	for f, s := range row.Targets {
		rec[1+f] = ""
		if !s.Set || had&(1<<f) != 0 {
			continue
		}
		bits |= 1 << f // recorded, or known to be lost: never the value after a change
		switch cur := current[f].Value; {
		case cur != "":
			rec[1+f] = EscapeCell(cur)
			if err := checkCell(batch.Field(f).String(), rec[1+f]); err != nil {
				return fmt.Errorf("number %s: %w", row.Number, err) // nothing recorded: the row must not be sent
			}
			any = true
		case batch.Field(f) == batch.AppID || batch.Field(f) == batch.Alias:
			rec[1+f], any = batch.ClearMarker, true
		default:
			lost = true
		}
	}
	if lost {
		u.Unrestorable++
	}
	u.recorded[row.Number] = bits
	if !any {
		return u.c.err
	}
	if err := u.c.write(rec); err == nil {
		if err := u.c.f.Sync(); err != nil {
			u.c.err = fmt.Errorf("%w: sync: %w", ErrWrite, err)
		}
	}
	return u.c.err
}

// Done tells the writer that number's row has ended.
func (u *UndoWriter) Done(number string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.recorded, number)
}

// Close merges each number's rows into one, syncs the file and releases it.
func (u *UndoWriter) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	var err error
	if u.c.w != nil && u.c.err == nil {
		if err = u.merge(); err != nil { // the input reader merges a number's rows too
			err = fmt.Errorf("merge each number's rows into one: %w (the file is intact, and lists some numbers more than once, which a rollback reads the same)", err)
		}
	}
	if err = errors.Join(err, u.c.Close()); err != nil {
		return fmt.Errorf("close undo file: %w", err)
	}
	return nil
}

// merge replaces the file with one row per number, the first value of each field winning.
func (u *UndoWriter) merge() error {
	number := func(rec []string) uint64 { return hash(rec[0]) }
	split, err := u.c.repeated(number)
	if err != nil || len(split) == 0 {
		return err
	}
	merged := map[uint64][]string{}
	_, err = u.c.scan(func(rec []string) error {
		if m := merged[number(rec)]; m != nil {
			for i, c := range rec {
				if m[i] == "" {
					m[i] = c
				}
			}
		} else if split[number(rec)] > 0 {
			merged[number(rec)] = slices.Clone(rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return u.c.rewrite(func(rec []string) []string {
		if m, ok := merged[number(rec)]; ok {
			delete(merged, number(rec)) // written at the number's first row
			return m
		} else if split[number(rec)] > 0 {
			return nil
		}
		return rec
	})
}
