package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// ExportColumns is the header of an export: an input file, so that the
// export run back as input changes nothing.
var ExportColumns = []string{"number", "app_id", "subaccount", "alias"}

// ExportWriter writes an export: every number of an account as an input
// row that restores its app, subaccount and alias. It writes a temporary
// file beside the target and renames it over the target on Commit, so a
// stopped export leaves no file, or the earlier one, never half of one.
//
// An empty app or alias is written as (clear), so that running the file
// back restores the unassignment too; an empty subaccount (the main
// account) is an empty cell, since the API cannot move a number back.
// Values are escaped as in undo files (batch.EscapeCell).
type ExportWriter struct {
	path string
	tmp  *os.File
	w    *csv.Writer
	rec  []string
}

// CreateExport starts an export to path. An existing file is refused unless
// force is set; an undo file always is.
func CreateExport(path string, force bool) (*ExportWriter, error) {
	if err := CheckNotUndo(path, "--output"); err != nil {
		return nil, err
	}
	if !force {
		if _, err := os.Stat(path); err == nil {
			return nil, fmt.Errorf("%s: %w: use --force to replace it", path, ErrExists)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	e := &ExportWriter{path: path, tmp: tmp, w: csv.NewWriter(tmp), rec: make([]string, len(ExportColumns))}
	if err := e.w.Write(ExportColumns); err != nil {
		e.Abort()
		return nil, fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return e, nil
}

// CheckNotUndo refuses, whatever the flags, to have flag replace the file
// at path when it is an undo file: it may hold the only record of the
// values from before a run.
func CheckNotUndo(path, flag string) error {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil // nothing there to lose; and opening a pipe (/dev/stdout) to read it waits for ever
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // nothing there to lose, or nothing we can read
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	if bytes.HasPrefix(bytes.TrimPrefix(head[:n], []byte(bom)), []byte(originPrefix(undoKind.tag))) {
		return fmt.Errorf("%s holds a plivo-bulk undo file: refusing to replace it, whatever the flags (an undo file is never emptied, not even with --force): name another %s", path, flag)
	}
	return nil
}

// Write adds one number. A value whose cell would be longer than an input
// may hold fails the export (batch.ErrCellTooLong): a backup that cannot
// be read back, or that silently lacks a number, is no backup.
func (e *ExportWriter) Write(number string, current batch.Targets) error {
	e.rec[0] = number
	e.rec[1] = cellOrClear(current[batch.AppID].Value)
	e.rec[2] = batch.EscapeCell(current[batch.Subaccount].Value)
	e.rec[3] = cellOrClear(current[batch.Alias].Value)
	for i, c := range e.rec[1:] {
		if err := batch.CheckCell(ExportColumns[1+i], c); err != nil {
			return fmt.Errorf("export: number %s: %w: the file could not be read back", number, err)
		}
	}
	if err := e.w.Write(e.rec); err != nil {
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

func cellOrClear(v string) string {
	if v == "" {
		return batch.ClearMarker
	}
	return batch.EscapeCell(v)
}

// Commit makes the export durable and puts it in place.
func (e *ExportWriter) Commit() error {
	e.w.Flush()
	err := e.w.Error()
	if err == nil {
		err = e.tmp.Sync()
	}
	if cerr := e.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(e.tmp.Name(), e.path)
	}
	if err != nil {
		_ = os.Remove(e.tmp.Name())
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

// Abort drops the export: the target is left as it was.
func (e *ExportWriter) Abort() {
	_ = e.tmp.Close()
	_ = os.Remove(e.tmp.Name())
}
