package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// PlanColumns is the plan's header: the row, the number, whether it would
// change, why not when it cannot be read, then the current and the target
// value of each field.
var PlanColumns = func() []string {
	cols := []string{"row", "number", "change", "error"}
	for _, f := range batch.FieldNames() {
		cols = append(cols, f+"_current", f+"_target")
	}
	return cols
}()

// The values of the plan's change column: batch's.
const (
	ChangeYes   = batch.ChangeYes
	ChangeNo    = batch.ChangeNo
	ChangeError = batch.ChangeError
)

// PlanWriter writes a plan: per input row, the current and target value of
// each field the row sets, and whether the row would change the number.
// The row's number and error are neutralised as in the report; the current
// and target values are escaped as the report's targets are, so an empty
// value is (clear) and the literal text "(clear)" is not. It is not safe for
// concurrent use.
type PlanWriter struct {
	f      *os.File
	w      *csv.Writer
	rec    []string
	closed bool
}

// OpenPlan creates the plan file at path (mode New or Force), or writes to
// out when path is "-".
func OpenPlan(path string, mode Mode, out io.Writer) (*PlanWriter, error) {
	if path == "-" {
		p := &PlanWriter{w: csv.NewWriter(out)}
		if err := writeFlushed(p.w, PlanColumns); err != nil {
			return nil, fmt.Errorf("%w: plan: %w", ErrWrite, err)
		}
		return p, nil
	}
	f, _, _, err := openCSV(path, planKind, mode, Origin{}, nil)
	if err != nil {
		return nil, err
	}
	return &PlanWriter{f: f, w: csv.NewWriter(f)}, nil
}

// Change says what the plan concludes for a result of reading a number.
func Change(r batch.Result) string { return r.Change() }

// Write writes the plan row for one read result.
func (p *PlanWriter) Write(r batch.Result) error {
	if p.rec == nil {
		p.rec = make([]string, len(PlanColumns))
	}
	rec := p.rec
	rec[0] = strconv.Itoa(r.Row.Line)
	rec[1] = Neutralize(r.Row.Number)
	rec[2] = Change(r)
	rec[3] = Neutralize(r.Error)
	for f, s := range r.Row.Targets {
		cur, tgt := "", ""
		if s.Set {
			tgt = s.Escaped()
			if c := r.Current[f]; c.Set && r.Status == batch.StatusOK {
				cur = c.Escaped()
			}
		}
		rec[4+2*f], rec[5+2*f] = cur, tgt
	}
	if err := writeFlushed(p.w, rec); err != nil {
		return fmt.Errorf("%w: plan: %w", ErrWrite, err)
	}
	return nil
}

// Close flushes the plan and releases its lock.
func (p *PlanWriter) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if err := closeCSV(p.f, p.w); err != nil {
		return fmt.Errorf("close plan: %w", err)
	}
	return nil
}
