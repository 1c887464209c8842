package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// UndoWriter writes an undo file: an input CSV that, given back to
// `plivo-bulk run --input`, restores the fields a run changed to the values
// they had before it. A row is written and synced to disk (fsync) before the
// update it undoes is sent, so even a run killed mid-way, or a machine that
// loses power, can be rolled back.
//
// The file starts with the origin line (see the package comment). Its cells
// are escaped with batch.EscapeCell: exact when read back, safe in a
// spreadsheet.
//
// The first value recorded for a field of a number wins: it is the value
// from before any change. A later Write for the number (a retry, or a
// resumed run, perhaps with more columns) records only the fields not yet
// recorded, reading the file it appends to. Such a field goes on a row of
// its own while the run goes on; Close merges each number's rows into one,
// so that a closed undo file never lists a number twice. Done forgets a
// number once its row has ended, so that what the writer holds is the rows
// in flight, not the file.
//
// It is safe for concurrent use. Concurrent Writes share their syncs: while
// one fsync runs, the rows written meanwhile wait for the next, which syncs
// them all at once.
type UndoWriter struct {
	path  string
	start int64 // where the data rows start

	mu       sync.Mutex
	f        *os.File
	buf      bytes.Buffer
	w        *csv.Writer // into buf
	rec      []string
	recorded map[string]uint8 // number -> the fields recorded (bit f), or lost; until Done
	split    map[string]struct{}
	lost     int
	err      error // the first failed write or sync: every later Write returns it
	closed   bool

	// Group commit, guarded by mu.
	synced  sync.Cond
	written uint64 // rows written
	durable uint64 // rows synced
	syncing bool
	syncs   int // fsyncs made
}

// OpenUndo opens the undo file at path, written against origin. mode works
// as for Open, except that Force appends, as Resume does, instead of
// emptying the file: it may hold the only record of the values from before
// an earlier run. Appending to a file of another origin, or of none, is
// refused with an *OriginError.
func OpenUndo(path string, mode Mode, origin Origin) (*UndoWriter, error) {
	u := &UndoWriter{path: path, recorded: map[string]uint8{}, split: map[string]struct{}{}}
	f, start, _, err := openCSV(path, undoKind, mode, origin, func(f *os.File, start, keep int64, _ bool) (int64, error) {
		return scanRecords(f, path, start, keep, 1+int(batch.NumFields), func(rec []string) error {
			number, err := batch.UnescapeCell(rec[0])
			if err != nil {
				return fmt.Errorf("%s: damaged undo file, cannot append to it: %w", path, err)
			}
			bits := u.recorded[number]
			if bits != 0 {
				u.split[number] = struct{}{}
			}
			for f, c := range rec[1:] {
				if c != "" {
					bits |= 1 << f
				}
			}
			u.recorded[number] = bits
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	u.f, u.start = f, start
	u.w = csv.NewWriter(&u.buf)
	u.rec = make([]string, 1+batch.NumFields)
	u.synced.L = &u.mu
	return u, nil
}

// Write records how to restore, from current, the fields that row changes
// and that the file does not record yet for row's number, and returns once
// that is on disk. A field whose old value cannot be expressed (a number
// that was on the main account, or had no compliance application: the API
// cannot move it back or clear it) is left out and counted by Unrestorable.
// A value whose cell would be longer than an input may hold is refused with
// an error matching batch.ErrCellTooLong, and nothing is recorded: the file
// stays readable, and the caller must not send the row. Any other error
// matches ErrWrite; every later Write then fails with it.
func (u *UndoWriter) Write(row batch.Row, current batch.Targets) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	if u.closed {
		return fmt.Errorf("%w: undo file: closed", ErrWrite)
	}
	had := u.recorded[row.Number]
	bits := had
	rec := u.rec
	rec[0] = batch.EscapeCell(row.Number)
	any, lost := false, false
	for f, s := range row.Targets {
		rec[1+f] = ""
		if !s.Set || had&(1<<f) != 0 {
			continue
		}
		bits |= 1 << f // recorded, or known to be lost: never the value after a change
		cur := current[f]
		switch {
		case cur.Value != "":
			rec[1+f] = batch.EscapeCell(cur.Value)
			if err := batch.CheckCell(batch.Field(f).String(), rec[1+f]); err != nil {
				return fmt.Errorf("number %s: %w", row.Number, err) // nothing recorded: the row must not be sent
			}
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
	u.recorded[row.Number] = bits
	if !any {
		if had != 0 { // what the file records for the number must be on disk
			return u.waitDurable(u.written)
		}
		return nil
	}
	if had != 0 {
		u.split[row.Number] = struct{}{}
	}
	u.buf.Reset()
	if err := u.w.Write(rec); err != nil {
		return u.fail(err)
	}
	u.w.Flush()
	if _, err := u.f.Write(u.buf.Bytes()); err != nil {
		return u.fail(err)
	}
	u.written++
	return u.waitDurable(u.written)
}

func (u *UndoWriter) fail(err error) error {
	if u.err == nil {
		u.err = fmt.Errorf("%w: undo file: %w", ErrWrite, err)
	}
	return u.err
}

// waitDurable returns once row seq is synced. The first waiter that finds
// no sync running syncs everything written so far, without the lock, so
// that the rows written meanwhile share the next sync. Called with mu held.
func (u *UndoWriter) waitDurable(seq uint64) error {
	for u.durable < seq && u.err == nil {
		if u.syncing {
			u.synced.Wait()
			continue
		}
		u.syncing = true
		upto := u.written
		u.mu.Unlock()
		err := u.f.Sync()
		u.mu.Lock()
		u.syncing = false
		u.syncs++
		if err != nil {
			u.fail(fmt.Errorf("sync: %w", err))
		} else {
			u.durable = upto
		}
		u.synced.Broadcast()
	}
	return u.err
}

// Done tells the writer that number's row has ended: no retry will write
// it again in this run, so what was recorded for it is only in the file.
// Without it the writer would hold every number of the run.
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

// Close merges the rows of each number written in more than one row (see
// UndoWriter), syncs the file and releases its lock. Every Write must have
// returned.
func (u *UndoWriter) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.closed = true
	if u.err == nil && len(u.split) > 0 {
		if err := u.merge(); err != nil {
			_ = u.f.Close()
			return fmt.Errorf("close undo file: merge the rows of %d numbers: %w (the file is intact, and lists those numbers more than once)", len(u.split), err)
		}
	}
	err := u.f.Sync()
	if cerr := u.f.Close(); err == nil {
		err = cerr
	}
	if u.err != nil {
		return u.err
	}
	if err != nil {
		return fmt.Errorf("close undo file: %w", err)
	}
	return nil
}

// merge rewrites the file with one row per number, each field's first value
// winning, into a new file beside it that replaces it by a rename, so that a
// crash leaves either file whole. Only the split numbers are held in memory.
func (u *UndoWriter) merge() error {
	end, err := u.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	n := 1 + int(batch.NumFields)
	merged := make(map[string][]string, len(u.split))
	if _, err := scanRecords(u.f, u.path, u.start, end, n, func(rec []string) error {
		number, _ := batch.UnescapeCell(rec[0])
		if _, ok := u.split[number]; !ok {
			return nil
		}
		m := merged[number]
		if m == nil {
			merged[number] = append([]string(nil), rec...)
			return nil
		}
		for i, c := range rec[1:] {
			if m[1+i] == "" {
				m[1+i] = c
			}
		}
		return nil
	}); err != nil {
		return err
	}

	target, err := filepath.EvalSymlinks(u.path) // replace the file, not a symlink to it
	if err != nil {
		return err
	}
	st, err := u.f.Stat()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".merge-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after a successful rename, a no-op
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
		}
	}()
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		return err
	}
	if err := lockFile(tmp); err != nil { // hold the new file before it has the name
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if _, err := io.Copy(bw, io.NewSectionReader(u.f, 0, u.start)); err != nil { // origin line and header
		return err
	}
	cw := csv.NewWriter(bw)
	if _, err := scanRecords(u.f, u.path, u.start, end, n, func(rec []string) error {
		number, _ := batch.UnescapeCell(rec[0])
		if _, ok := u.split[number]; ok {
			m, first := merged[number]
			if !first {
				return nil // merged into its first row
			}
			delete(merged, number)
			return cw.Write(m)
		}
		return cw.Write(rec)
	}); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(filepath.Dir(target)); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	_ = u.f.Close()
	u.f = tmp
	u.split = map[string]struct{}{}
	return nil
}
