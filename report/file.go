package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

// openCSV opens a CSV file that a run writes (the report, the undo file,
// the plan), locked with an exclusive flock for as long as it is open.
// An existing, non-empty file is refused in mode New, emptied in mode
// Force, and in mode Resume handed to resume, which reads it and returns
// the length to keep (a torn last line is cut off); writing then appends.
// what names the file in messages. The header is written to an empty file.
func openCSV(path, what string, mode Mode, header []string, resume func(*os.File) (int64, error)) (*os.File, *csv.Writer, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", what, err)
	}
	fail := func(err error) (*os.File, *csv.Writer, error) {
		_ = f.Close()
		return nil, nil, err
	}
	if err := lockFile(f); err != nil {
		if errors.Is(err, ErrLocked) {
			return fail(fmt.Errorf("%s: %w (two runs must not write one %s; wait for the other to finish)", path, ErrLocked, what))
		}
		return fail(fmt.Errorf("lock %s %s: %w", what, path, err))
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("stat %s: %w", what, err))
	}
	switch {
	case st.Size() == 0:
	case mode == New:
		return fail(fmt.Errorf("%s: %w: use --resume to continue the run it records, or --force to replace it", path, ErrExists))
	case mode == Force:
		if err := f.Truncate(0); err != nil {
			return fail(fmt.Errorf("truncate %s: %w", what, err))
		}
	case mode == Resume:
		keep, err := resume(f)
		if err != nil {
			return fail(err)
		}
		if err := f.Truncate(keep); err != nil {
			return fail(fmt.Errorf("drop the torn last line of the %s: %w", what, err))
		}
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(fmt.Errorf("seek %s: %w", what, err))
	}
	cw := csv.NewWriter(f)
	if end == 0 {
		if err := writeFlushed(cw, header); err != nil {
			return fail(err)
		}
	}
	return f, cw, nil
}

// writeFlushed writes one record and flushes it to the file, so that a
// killed process leaves every complete line behind.
func writeFlushed(cw *csv.Writer, rec []string) error {
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// closeCSV flushes cw, syncs and closes f (when not nil).
func closeCSV(f *os.File, cw *csv.Writer) error {
	cw.Flush()
	err := cw.Error()
	if f != nil {
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
