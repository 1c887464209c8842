package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// PlanColumns is the plan's header: the row, the number, whether it would
// change, why not when unread, then each field's current and target value.
var PlanColumns = func() []string {
	cols := []string{"row", "number", "change", "error"}
	for _, f := range batch.FieldNames() {
		cols = append(cols, f+"_current", f+"_target")
	}
	return cols
}()

// PlanWriter writes a plan, a row per read result: the number and error
// neutralised as in the report, the values escaped as its targets are.
type PlanWriter struct{ c *csvFile }

// OpenPlan creates the plan at path (mode New or Force); "-" is stdout.
func OpenPlan(path string, mode Mode, stdout io.Writer) (*PlanWriter, error) {
	c, err := openCSV(path, planKind, mode, Origin{}, stdout, nil)
	return &PlanWriter{c}, err
}

// Write writes the plan row for one read result.
func (p *PlanWriter) Write(r batch.Result) error {
	rec := p.c.rec
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
	if err := p.c.write(rec); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	return nil
}

// Close flushes the plan and releases its lock.
func (p *PlanWriter) Close() error {
	if err := p.c.close(); err != nil {
		return fmt.Errorf("close plan: %w", err)
	}
	return nil
}

// ExportColumns is the header of an export, an input that changes nothing.
var ExportColumns = []string{"number", "app_id", "subaccount", "alias"}

// ExportWriter writes an export, put in place by Commit: every number of
// an account as an input row that restores its app, subaccount and alias
// (escaped; an empty app or alias is (clear); the main account, which the
// API cannot move a number back to, an empty cell).
type ExportWriter struct {
	*output
	w   *csv.Writer
	rec []string
}

// CreateExport starts an export to path ("-" is stdout). An existing file
// is refused unless force is set; an undo file always is.
func CreateExport(path string, force bool, stdout io.Writer) (*ExportWriter, error) {
	out, err := createOutput(path, "--output", force, stdout)
	if err != nil {
		return nil, err
	}
	e := &ExportWriter{output: out, w: csv.NewWriter(out), rec: make([]string, len(ExportColumns))}
	return e, e.w.Write(ExportColumns)
}

// Write adds one number. A cell longer than an input may hold fails the
// export: a backup that cannot be read back is no backup.
func (e *ExportWriter) Write(number string, current batch.Targets) error {
	e.rec[0] = number
	e.rec[1] = escaped(batch.Setting{Value: current[batch.AppID].Value, Set: true})
	e.rec[2] = EscapeCell(current[batch.Subaccount].Value)
	e.rec[3] = escaped(batch.Setting{Value: current[batch.Alias].Value, Set: true})
	for i, c := range e.rec[1:] {
		if err := checkCell(ExportColumns[1+i], c); err != nil {
			return fmt.Errorf("export: number %s: %w: the file could not be read back", number, err)
		}
	}
	if err := e.w.Write(e.rec); err != nil {
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

// Commit makes the export durable and puts it in place.
func (e *ExportWriter) Commit() error {
	e.w.Flush()
	err := e.w.Error()
	if err == nil {
		err = e.commit()
	} else {
		e.abort()
	}
	if err != nil {
		return fmt.Errorf("%w: export: %w", ErrWrite, err)
	}
	return nil
}

// Abort drops the export: the file it would replace is left as it was.
func (e *ExportWriter) Abort() { e.abort() }
