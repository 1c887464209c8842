// Package report holds the files a run writes, with their readers and the cell escape they share:
// the report (read back to resume), the undo file, the plan, the export and the summary.
//
// Every CSV starts with its header. The report's and undo file's rows end with their Origin;
// older versions wrote it on a first line instead, and such files still resume and roll back.
package report

import (
	"encoding/json"
	"hash/maphash"
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
	Done *Completed // what a resumed report records as done; nil if not resuming
}

// Open opens the report at path (see Mode) for a run against origin.
func Open(path string, mode Mode, origin Origin, stdout io.Writer) (*Writer, error) {
	done := &Completed{latest: map[uint64]uint64{}}
	c, err := openCSV(path, reportKind, mode, origin, stdout, done.add)
	if mode != Resume {
		done = nil
	}
	return &Writer{c, done}, err
}

// Write appends one result; an error matches ErrWrite.
func (w *Writer) Write(r batch.Result) error {
	rec := w.rec
	rec[0], rec[1], rec[2], rec[3] = strconv.Itoa(r.Row.Line), neutralize(r.Row.Number), string(r.Status), ""
	if r.HTTPStatus != 0 {
		rec[3] = strconv.Itoa(r.HTTPStatus)
	}
	rec[4], rec[5], rec[6] = neutralize(r.APIID), strconv.Itoa(r.Attempts), neutralize(r.Error)
	for f, s := range r.Row.Targets {
		rec[7+f] = escaped(s)
	}
	return w.write(rec)
}

// Compact keeps each row and number's latest line, in order, so that counting statuses gives the
// run's totals; resume reads only a number's latest line. A stream, or a failed report, is left.
func (w *Writer) Compact() error {
	c := w.csvFile
	if c.w == nil || c.dst == "" || c.err != nil { // every write is flushed: c.err holds any failure
		return nil
	}
	key := func(rec []string) uint64 { return hash(rec[0], rec[1]) }
	skip, err := c.repeated(key) // how many earlier lines of a row to drop
	if err != nil || len(skip) == 0 {
		return err
	}
	return c.rewrite(func(rec []string) []string {
		if k := key(rec); skip[k] > 0 {
			skip[k]--
			return nil
		}
		return rec
	})
}

// JSONLine renders a row the report could not record as JSON with the report's keys, exact values.
func JSONLine(r batch.Result) []byte {
	var status *int // null when no answer came
	if r.HTTPStatus != 0 {
		status = &r.HTTPStatus
	}
	t, b := r.Row.Targets, []byte{'{'}
	for i, v := range []any{r.Row.Line, r.Row.Number, r.Status, status, r.APIID, r.Attempts, r.Error, t[0].Cell(), t[1].Cell(), t[2].Cell(), t[3].Cell()} {
		js, _ := json.Marshal(v) // a string, an int or an *int always marshals
		b = append(append(strconv.AppendQuote(b, Columns[i]), ':'), append(js, ',')...)
	}
	b[len(b)-1] = '}'
	return append(b, '\n')
}

// Completed is what a report records as done: a number's latest line, ok with the exact targets.
// Hashed, so that resuming a million rows stays small (BENCHMARKS.md, section 4).
type Completed struct {
	latest map[uint64]uint64 // hash(number) -> state of its latest line when ok or unverified
	Rows   int               // how many rows the report held
}

// add notes a report row. In an old version's (not exact), targets with a space, a leading ' or
// (clear) may stand for other values: such an ok line is not done.
func (d *Completed) add(rec []string, exact bool) error {
	d.Rows++
	lossy := func(c string) bool {
		return strings.Contains(c, " ") || strings.HasPrefix(c, "'") || c == batch.ClearMarker
	}
	switch st := batch.Status(rec[2]); {
	case st == batch.StatusInvalid: // never sent: says nothing of the number
	case (st == batch.StatusOK || st == batch.StatusUnverified) && (exact || !slices.ContainsFunc(rec[7:11], lossy)):
		d.latest[hash(rec[1])] = state(rec[7:11], st == batch.StatusUnverified)
	default:
		delete(d.latest, hash(rec[1]))
	}
	return nil
}

// state hashes a line's targets, the lowest bit set when it is unverified (sent, not read back).
func state(targets []string, unverified bool) uint64 {
	if unverified {
		return hash(targets...) | 1
	}
	return hash(targets...) &^ 1
}

// Has reports whether r is done.
func (d *Completed) Has(r batch.Row) bool { return d.is(r, false) }

// Unverified reports whether r's latest line is unverified with r's targets: to read back.
func (d *Completed) Unverified(r batch.Row) bool { return d.is(r, true) }

func (d *Completed) is(r batch.Row, unverified bool) bool {
	var targets [batch.NumFields]string
	for f, s := range r.Targets {
		targets[f] = escaped(s)
	}
	h, ok := d.latest[hash(neutralize(r.Number))]
	return ok && h == state(targets[:], unverified)
}

// Len returns how many numbers the report records as done.
func (d *Completed) Len() (n int) {
	for _, h := range d.latest {
		n += int(1 - h&1)
	}
	return n
}

// hash hashes strings, each ended by a NUL; only within one process, which is all a resume needs.
func hash(s ...string) uint64 { return maphash.String(seed, strings.Join(s, "\x00")+"\x00") }

var seed = maphash.MakeSeed()
