// Package report holds the files a run writes, with their readers and the cell escape they share:
// the report (read back to resume), the undo file, the plan, the export and the summary.
//
// Every CSV starts with its header. The report's and undo file's rows end with their Origin;
// older versions wrote it on a first line instead, and such files still resume and roll back.
package report

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Columns is the report's header, in order.
var Columns = []string{
	"row", "number", "status", "http_status", "api_id", "attempts", "error",
	"app_id", "subaccount", "alias", "compliance_application_id", "account", "api",
}

// Writer writes the report, a flushed row per result: targets escaped (exact), the rest neutralised.
type Writer struct {
	*csvFile
	done *Completed
}

// Open opens the report at path (see Mode) for a run against origin.
func Open(path string, mode Mode, origin Origin, stdout io.Writer) (*Writer, error) {
	w := &Writer{}
	if mode == Resume {
		w.done = &Completed{done: map[uint64]uint64{}, unverified: map[uint64]uint64{}}
	}
	c, err := openCSV(path, reportKind, mode, origin, stdout, func(rec []string, exact bool) error {
		w.done.add(rec, exact)
		return nil
	})
	w.csvFile = c
	return w, err
}

// Completed returns what a resumed report records as done (nil if not resuming).
func (w *Writer) Completed() *Completed { return w.done }

// DroppedTornLine reports whether resuming dropped an incomplete last line.
func (w *Writer) DroppedTornLine() bool { return w.torn }

// Write appends one result; an error matches ErrWrite.
func (w *Writer) Write(r batch.Result) error {
	return w.write(cells(w.rec, r, neutralize, escaped))
}

// cells fills rec with r's cells, passed through text or target.
func cells(rec []string, r batch.Result, text func(string) string, target func(batch.Setting) string) []string {
	rec[0], rec[1], rec[2], rec[3] = strconv.Itoa(r.Row.Line), text(r.Row.Number), string(r.Status), ""
	if r.HTTPStatus != 0 {
		rec[3] = strconv.Itoa(r.HTTPStatus)
	}
	rec[4], rec[5], rec[6] = text(r.APIID), strconv.Itoa(r.Attempts), text(r.Error)
	for f, s := range r.Row.Targets {
		rec[7+f] = target(s)
	}
	return rec
}

// Compact keeps each row and number's latest line, in order, so that counting statuses gives the
// run's totals; resume reads only a number's latest line. A stream, or a failed report, is left.
func (w *Writer) Compact() error {
	c := w.csvFile
	if c.w == nil || c.stream || c.err != nil { // every write is flushed: c.err holds any failure
		return nil
	}
	var keys []uint64 // sorted, rather than a set of every row, to stay small
	err := c.each(func(rec []string) error { keys = append(keys, hash(rec[0], rec[1])); return nil })
	slices.Sort(keys)
	skip := map[uint64]int{} // how many earlier lines of a row to drop
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			skip[keys[i]]++
		}
	}
	if err != nil || len(skip) == 0 {
		return err
	}
	return c.rewrite(func(rec []string) []string {
		if k := hash(rec[0], rec[1]); skip[k] > 0 {
			skip[k]--
			return nil
		}
		return rec
	})
}

// JSONLine renders a row the report could not record as JSON with the report's keys, exact values.
func JSONLine(r batch.Result) []byte {
	rec := cells(make([]string, len(Columns)-2), r, func(s string) string { return s }, batch.Setting.Cell)
	b := []byte{'{'}
	for i, cell := range rec {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendQuote(b, Columns[i]), ':')
		switch {
		case i == 3 && cell == "":
			b = append(b, "null"...)
		case i == 0 || i == 3 || i == 5:
			b = append(b, cell...)
		default:
			s, _ := json.Marshal(cell) // a string always marshals
			b = append(b, s...)
		}
	}
	return append(b, '}', '\n')
}

// Completed is what a report records as done: a number's latest line, ok with the exact targets.
// Hashed, so that resuming a million rows stays small (BENCHMARKS.md, section 4).
type Completed struct {
	done       map[uint64]uint64 // hash(number) -> hash(number, targets) of its latest line, when ok
	unverified map[uint64]uint64 // the same when unverified: a resumed --verify run reads it back
	rows       int
}

// add notes a report row. In an old version's (not exact), targets with a space, a leading ' or
// (clear) may stand for other values: such an ok line is not done.
func (d *Completed) add(rec []string, exact bool) {
	d.rows++
	lossy := func(c string) bool {
		return strings.Contains(c, " ") || strings.HasPrefix(c, "'") || c == batch.ClearMarker
	}
	switch targets := rec[7:11]; batch.Status(rec[2]) {
	case batch.StatusInvalid: // never sent: says nothing of the number
	case batch.StatusOK, batch.StatusUnverified:
		if exact || !slices.ContainsFunc(targets, lossy) {
			latest, other := d.done, d.unverified
			if rec[2] == string(batch.StatusUnverified) {
				latest, other = other, latest
			}
			latest[hash(rec[1])] = hash(append([]string{rec[1]}, targets...)...)
			delete(other, hash(rec[1]))
			break
		}
		fallthrough
	default:
		delete(d.done, hash(rec[1]))
		delete(d.unverified, hash(rec[1]))
	}
}

// Has reports whether r is done.
func (d *Completed) Has(r batch.Row) bool { return d.latest(d.done, r) }

// Unverified reports whether r's latest line is unverified (sent, not read back) with r's targets.
func (d *Completed) Unverified(r batch.Row) bool { return d.latest(d.unverified, r) }

func (d *Completed) latest(m map[uint64]uint64, r batch.Row) bool {
	if len(m) == 0 {
		return false
	}
	var targets [batch.NumFields]string
	for f, s := range r.Targets {
		targets[f] = escaped(s)
	}
	n := neutralize(r.Number)
	k, ok := m[hash(n)]
	return ok && k == hash(append([]string{n}, targets[:]...)...)
}

// Len returns how many numbers the report records as done.
func (d *Completed) Len() int { return len(d.done) }

// Rows returns how many rows the report held.
func (d *Completed) Rows() int { return d.rows }

// hash hashes strings, each ended by a NUL.
func hash(s ...string) uint64 {
	h := fnv.New64a()
	for _, c := range s {
		_, _ = h.Write([]byte(c))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}
