package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// PlanColumns is the plan's header: each field's current and target value after the row's.
var PlanColumns = func() []string {
	cols := []string{"row", "number", "change", "error"}
	for _, f := range batch.FieldNames() {
		cols = append(cols, f+"_current", f+"_target")
	}
	return cols
}()

// PlanWriter writes a plan: the number and error neutralised, the values escaped, as in the report.
// Close flushes it and releases its lock.
type PlanWriter struct{ *csvFile }

// OpenPlan creates the plan at path (mode New or Force); "-" is stdout.
func OpenPlan(path string, mode Mode, stdout io.Writer) (*PlanWriter, error) {
	c, err := openCSV(path, planKind, mode, Origin{}, stdout, nil)
	return &PlanWriter{c}, err
}

// Write writes the plan row for one read result.
func (p *PlanWriter) Write(r batch.Result) error {
	rec := p.rec
	rec[0], rec[1], rec[2], rec[3] = strconv.Itoa(r.Row.Line), neutralize(r.Row.Number), r.Change(), neutralize(r.Error)
	for f, s := range r.Row.Targets {
		cur, tgt := "", ""
		if s.Set {
			tgt = escaped(s)
			if c := r.Current[f]; c.Set && r.Status == batch.StatusOK {
				cur = escaped(c)
			}
		}
		rec[4+2*f], rec[5+2*f] = cur, tgt
	}
	if err := p.write(rec); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}

// ExportColumns is the header of an export, an input that changes nothing.
var ExportColumns = []string{"number", "app_id", "subaccount", "alias"}

// ExportWriter writes an export, put in place by Commit: a row restoring each number's app,
// subaccount and alias ((clear) when empty; the main account, which no update restores, empty).
type ExportWriter struct {
	out *output
	w   *csv.Writer
}

// CreateExport starts an export to path: an existing file only with force, never an undo file.
func CreateExport(path string, force bool, stdout io.Writer) (*ExportWriter, error) {
	out, err := createOutput(path, "--output", force, stdout)
	if err != nil {
		return nil, err
	}
	e := &ExportWriter{out, csv.NewWriter(out)}
	return e, e.w.Write(ExportColumns)
}

// Write adds one number; a cell too long for an input fails: a backup not read back is none.
func (e *ExportWriter) Write(number string, current batch.Targets) error {
	rec := []string{number, escaped(batch.Setting{Value: current[batch.AppID].Value, Set: true}),
		EscapeCell(current[batch.Subaccount].Value), escaped(batch.Setting{Value: current[batch.Alias].Value, Set: true})}
	for i, c := range rec[1:] {
		if err := checkCell(ExportColumns[1+i], c); err != nil {
			return fmt.Errorf("export: number %s: %w: the file could not be read back", number, err)
		}
	}
	if err := e.w.Write(rec); err != nil {
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

// Commit makes the export durable and puts it in place.
func (e *ExportWriter) Commit() error {
	e.w.Flush()
	if err := errors.Join(e.w.Error(), e.out.close(e.w.Error() == nil)); err != nil {
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

// Abort drops the export: the file it would replace is left as it was.
func (e *ExportWriter) Abort() { _ = e.out.close(false) }
