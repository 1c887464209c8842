package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// UndoWriter writes an undo file: an input CSV that, given back to
// `plivo-bulk run --input`, restores the fields a run changed to the values
// they had before it. A row is synced to disk (fsync) before the update it
// undoes is sent, so even a run killed mid-way, or a machine that loses
// power, can be rolled back. Its header is the input's columns and
// OriginColumns; its cells are escaped (EscapeCell).
//
// The first value recorded for a field of a number wins: it is the value
// from before any change. A later Write for the number (a retry, or a
// resumed run) records only the fields not yet recorded, on a row of its
// own; Close merges each number's rows into one. Done forgets a number
// once its row has ended, so the writer holds the rows in flight, not the
// file. It is safe for concurrent use.
type UndoWriter struct {
	mu       sync.Mutex
	c        *csvFile
	path     string
	recorded map[string]uint8 // number -> the fields recorded (bit f), or lost; until Done
	split    map[string]bool  // numbers written on more than one row
	lost     int
	closed   bool
}

// OpenUndo opens the undo file at path for a run against origin. mode works
// as for Open, except that Force appends, as Resume does: the file may hold
// the only record of the values from before an earlier run. Appending to a
// file of another origin, or of none, is refused with an *OriginError.
func OpenUndo(path string, mode Mode, origin Origin) (*UndoWriter, error) {
	u := &UndoWriter{path: path, recorded: map[string]uint8{}, split: map[string]bool{}}
	c, err := openCSV(path, undoKind, mode, origin, nil, func(rec []string, _ bool) error {
		number, err := UnescapeCell(rec[0])
		if err != nil {
			return fmt.Errorf("%s: damaged undo file, cannot append to it: %w", path, err)
		}
		bits := u.recorded[number]
		if bits != 0 {
			u.split[number] = true
		}
		for f, c := range rec[1 : 1+batch.NumFields] {
			if c != "" {
				bits |= 1 << f
			}
		}
		u.recorded[number] = bits
		return nil
	})
	u.c = c
	return u, err
}

// Write records how to restore, from current, the fields that row changes
// and that the file does not record yet for row's number, and returns once
// that is on disk. A field whose old value cannot be expressed (a number
// that was on the main account, or had no compliance application: the API
// cannot move it back or clear it) is left out and counted by Unrestorable.
// A value whose cell would be longer than an input may hold is refused with
// an error matching batch.ErrCellTooLong, and nothing is recorded: the
// caller must not send the row. Any other error matches ErrWrite; every
// later Write then fails with it.
func (u *UndoWriter) Write(row batch.Row, current batch.Targets) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return fmt.Errorf("%w: undo file: closed", ErrWrite)
	}
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
			if err := CheckCell(batch.Field(f).String(), rec[1+f]); err != nil {
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
		u.lost++
	}
	u.recorded[row.Number] = bits
	if !any {
		return u.c.err
	}
	if had != 0 {
		u.split[row.Number] = true
	}
	if err := u.c.write(rec); err == nil {
		if err := u.c.f.Sync(); err != nil {
			u.c.err = fmt.Errorf("%w: sync: %w", ErrWrite, err)
		}
	}
	return u.c.err
}

// Done tells the writer that number's row has ended: no retry will write
// it again in this run. Without it the writer would hold every number.
func (u *UndoWriter) Done(number string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.recorded, number)
}

// Unrestorable counts the numbers with a change the undo file cannot express.
func (u *UndoWriter) Unrestorable() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lost
}

// Close merges the rows of each number written on more than one row, syncs
// the file and releases its lock. Every Write must have returned.
func (u *UndoWriter) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.closed = true
	if u.c.err == nil && len(u.split) > 0 {
		if err := u.merge(); err != nil {
			_ = u.c.close()
			return fmt.Errorf("close undo file: merge the rows of %d numbers: %w (the file is intact, and lists those numbers more than once)", len(u.split), err)
		}
	}
	if err := u.c.close(); err != nil {
		return fmt.Errorf("close undo file: %w", err)
	}
	return nil
}

// merge rewrites the file with one row per number, each field's first value
// winning, into a new file that replaces it by a rename, so that a crash
// leaves either file whole. Only the split numbers are held in memory.
func (u *UndoWriter) merge() error {
	end, err := u.c.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	merged := map[string][]string{}
	each := func(fn func(number string, rec []string) error) error {
		_, err := scanRecords(u.c.f, u.path, u.c.start, end, len(u.c.rec), func(rec []string) error {
			number, _ := UnescapeCell(rec[0])
			return fn(number, rec)
		})
		return err
	}
	if err := each(func(number string, rec []string) error {
		if m := merged[number]; m != nil {
			for i, c := range rec {
				if m[i] == "" {
					m[i] = c
				}
			}
		} else if u.split[number] {
			merged[number] = append([]string(nil), rec...)
		}
		return nil
	}); err != nil {
		return err
	}
	dst, _, err := resolve(u.path)
	if err != nil {
		return err
	}
	st, err := u.c.f.Stat()
	if err != nil {
		return err
	}
	tmp, err := createTemp(dst, st)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	cw := csv.NewWriter(bw)
	err = lockFile(tmp) // hold the new file before it has the name
	if err == nil {
		_, err = io.Copy(bw, io.NewSectionReader(u.c.f, 0, u.c.start)) // the header
	}
	if err == nil {
		err = each(func(number string, rec []string) error {
			if m, ok := merged[number]; ok {
				delete(merged, number) // written at the number's first row
				return cw.Write(m)
			} else if u.split[number] {
				return nil
			}
			return cw.Write(rec)
		})
	}
	if cw.Flush(); err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	_ = u.c.f.Close()
	u.c.f = tmp
	return nil
}
