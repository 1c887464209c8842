// Package report writes the files of a plivo-bulk run and reads them back
// for a resumed run: the report, one CSV row per input row, written as
// results arrive; the undo file, an input that restores what the run
// changed; and the plan.
//
// # Origin line
//
// The report and the undo file start with a line that records the account
// and the API host they were written against, before the CSV header:
//
//	# plivo-bulk report: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com
//	row,number,status,...
//
// A spreadsheet shows it as one cell above the header. Resuming into a file
// (or appending to an undo file) of another origin, or of none (one written
// by an older version), is refused with an *OriginError: its "ok" rows and
// its "before" values say nothing true about another account. Every reader
// of these files skips the line; the input reader, which reads an undo file
// back, does so with batch.SkipOriginLine.
//
// # Cells
//
// In the report's other text cells and the plan's number and error, which
// people read, a cell that a spreadsheet would run as a formula is
// neutralised with a leading apostrophe and line breaks become spaces
// (Neutralize): readable, but not exact. The undo file is read back by the
// tool, and the report's targets are compared on resume, so they must be
// exact: their cells, and the plan's values, are escaped with
// batch.EscapeCell, which is spreadsheet-safe too (the origin line of such a
// report says cells=escaped). A value is written as it
// is unless it starts with = + - @, a tab, a carriage return or an
// apostrophe, is the literal "(clear)", starts or ends with white space, or
// holds a control character or bytes that are not UTF-8; then it is written
// as an apostrophe and the value, in which \\ \n \r \t stand for a backslash, a
// line feed, a carriage return and a tab, and \xHH for any other control
// byte, invalid byte, or white-space byte at either end. The input reader
// decodes each target cell with batch.UnescapeCell, after trimming it and
// recognising (clear). An escaped cell has no line break, so every record
// of every file is one line, and a torn last line is all a crash can leave.
package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Columns is the report's header, in order.
var Columns = []string{
	"row", "number", "status", "http_status", "api_id", "attempts", "error",
	"app_id", "subaccount", "alias", "compliance_application_id",
}

// Mode says what to do with a report that already exists.
type Mode int

// The modes. In every mode, a file that records nothing (only its origin
// line and header, perhaps torn: a run that stopped before its first row)
// is taken over.
const (
	New    Mode = iota // refuse an existing file
	Force              // replace it; an undo file is appended to instead, never emptied
	Resume             // read what it says is done, then append
)

// ErrExists is returned when the report exists and the mode is New.
var ErrExists = errors.New("file already exists")

// ErrLocked is returned when another run holds the report.
var ErrLocked = errors.New("report is in use by another run")

// ErrWrite is matched (errors.Is) by the error of a write to a report or an
// undo file that failed (a full disk, a file size limit, a closed pipe):
// the row was not recorded. After one, every later write fails at once
// with the same error, so that nothing follows a partly written line.
var ErrWrite = errors.New("cannot write")

// Writer writes report rows. Each Write reaches the file before it returns
// (it is flushed, not synced), so an interrupted or killed run leaves every
// complete line in place; at most the line being written is torn, and a
// resumed run drops it.
//
// The file starts with the origin line (see the package comment), then the
// header. The columns, in order: row, number, status, http_status, api_id,
// attempts, error, app_id, subaccount, alias, compliance_application_id.
// The targets are escaped as in the undo file (exact); in the other cells,
// those a spreadsheet would run as a formula are neutralised with a leading
// quote, and line breaks become spaces, so every record is one line.
type Writer struct {
	f      *os.File // nil when writing to an io.Writer
	w      *csv.Writer
	rec    []string
	done   *Completed
	torn   bool
	err    error // the first failed write: every later one returns it
	closed bool
}

// Open opens the report at path, written against origin. It takes an
// exclusive OS lock on the file for the life of the Writer (released by
// Close, or by the OS when the process dies), so two runs can never write
// one report. With Resume, a report of another origin, or of none, is
// refused with an *OriginError.
func Open(path string, mode Mode, origin Origin) (*Writer, error) {
	w := &Writer{done: &Completed{}}
	f, _, torn, err := openCSV(path, reportKind, mode, origin, func(f *os.File, start, keep int64, exact bool) (int64, error) {
		done, keep, err := readCompleted(f, path, start, keep, exact)
		w.done = done
		return keep, err
	})
	if err != nil {
		return nil, err
	}
	if mode != Resume {
		w.done = nil
	}
	w.f, w.w, w.torn = f, csv.NewWriter(f), torn
	return w, nil
}

// NewWriter writes a report against origin to out, such as standard output;
// it cannot be resumed.
func NewWriter(out io.Writer, origin Origin) (*Writer, error) {
	if err := origin.validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	w := &Writer{w: csv.NewWriter(out)}
	if _, err := io.WriteString(out, origin.line(reportKind.tag)); err != nil {
		return nil, fmt.Errorf("%w: report: %w", ErrWrite, err)
	}
	if err := w.writeRecord(Columns); err != nil {
		return nil, err
	}
	return w, nil
}

// Completed returns what a resumed report recorded as done (nil if not resuming).
func (w *Writer) Completed() *Completed { return w.done }

// DroppedTornLine reports whether resuming dropped an incomplete last line.
func (w *Writer) DroppedTornLine() bool { return w.torn }

// Write appends one result and flushes it. An error matches ErrWrite: the
// row is not recorded (JSONLine renders it for another place), and every
// later Write fails the same way.
func (w *Writer) Write(r batch.Result) error {
	if w.err != nil {
		return w.err
	}
	if w.rec == nil {
		w.rec = make([]string, len(Columns))
	}
	return w.writeRecord(cells(w.rec, r, Neutralize, batch.Setting.Escaped))
}

// cells fills rec with the report's cells for r, passing each text cell
// through text and each target through target.
func cells(rec []string, r batch.Result, text func(string) string, target func(batch.Setting) string) []string {
	rec[0] = strconv.Itoa(r.Row.Line)
	rec[1] = text(r.Row.Number)
	rec[2] = string(r.Status)
	rec[3] = ""
	if r.HTTPStatus >= 100 && r.HTTPStatus < len(statusCells) {
		rec[3] = statusCells[r.HTTPStatus]
	} else if r.HTTPStatus != 0 {
		rec[3] = strconv.Itoa(r.HTTPStatus)
	}
	rec[4] = text(r.APIID)
	rec[5] = strconv.Itoa(r.Attempts)
	rec[6] = text(r.Error)
	for f, s := range r.Row.Targets {
		rec[7+f] = target(s)
	}
	return rec
}

// statusCells are the cells of the HTTP statuses, formatted once: every row
// has one, and strconv.Itoa allocates for numbers of 100 and more.
var statusCells = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func (w *Writer) writeRecord(rec []string) error {
	if err := writeFlushed(w.w, rec); err != nil {
		w.err = fmt.Errorf("%w: report: %w", ErrWrite, err)
		return w.err
	}
	return nil
}

// Close flushes the report and releases its lock. After a failed Write it
// returns that error.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := closeCSV(w.f, w.w)
	if w.err != nil {
		return w.err
	}
	if err != nil {
		return fmt.Errorf("close report: %w", err)
	}
	return nil
}

// JSONLine renders r as one JSON object with the report's columns as keys,
// in the report's order, and a newline: for a row that could not be written
// to the report, so that it is kept somewhere (say, standard error). The
// values are exact, not neutralised: row, http_status and attempts are
// numbers (http_status null when no answer came), the others strings, the
// targets as they were asked for ("(clear)" for a field to clear, "" for
// one left alone).
func JSONLine(r batch.Result) []byte {
	rec := cells(make([]string, len(Columns)), r, func(s string) string { return s }, batch.Setting.Cell)
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, col := range Columns {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, col)
		b = append(b, ':')
		switch col {
		case "row", "attempts":
			b = append(b, rec[i]...)
		case "http_status":
			if rec[i] == "" {
				b = append(b, "null"...)
			} else {
				b = append(b, rec[i]...)
			}
		default:
			s, _ := json.Marshal(rec[i]) // a string always marshals
			b = append(b, s...)
		}
	}
	return append(b, '}', '\n')
}

// Neutralize makes a cell safe to open in a spreadsheet: a cell that starts
// with = + - @ (or a tab or carriage return, which some programs skip) would
// be run as a formula, so it gets a leading apostrophe. Line breaks become
// spaces so that each report record stays on one line.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	// Two vectorised IndexByte scans: strings.ContainsAny built an ASCII
	// set on every call, which made Neutralize a quarter of a row's cost.
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		s = lineBreaks.Replace(s)
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// lineBreaks turns each line break in a cell into a space; built once.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")

// Completed is the set of rows that a report records as done: for each number,
// the latest line decides, and the row is done only when that line is ok
// and has the row's targets. A number set to A, then to B, is not done for
// a row that sets A again. Hashed, a done number costs about 30 bytes:
// with the strings themselves, a million of them took 200 MB.
type Completed struct {
	done map[uint64]uint64 // numberHash -> key(number, cells) of its latest line, when that line is ok
	rows int               // report rows read
}

// Has reports whether the report's latest line for r's number is ok and
// has r's targets.
func (d *Completed) Has(r batch.Row) bool {
	if d == nil || len(d.done) == 0 {
		return false
	}
	var cells [batch.NumFields]string
	for f, s := range r.Targets {
		cells[f] = s.Escaped()
	}
	n := Neutralize(r.Number)
	k, ok := d.done[numberHash(n)]
	return ok && k == key(n, cells)
}

// Len returns how many numbers the report records as done.
func (d *Completed) Len() int {
	if d == nil {
		return 0
	}
	return len(d.done)
}

// Rows returns how many rows the report held.
func (d *Completed) Rows() int {
	if d == nil {
		return 0
	}
	return d.rows
}

// key hashes a number and its target cells.
func key(number string, cells [batch.NumFields]string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(number))
	for _, c := range cells {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(c))
	}
	return h.Sum64()
}

// lossy reports whether a target cell of an older report (see
// readCompleted) may have been written for another value: a space may have
// been a line break, a leading ' may be a neutralised formula, and (clear)
// may have been the literal text. Any other cell is the value itself, which
// a resumed row's escaped target matches only when it needs no escape.
func lossy(c string) bool {
	return strings.IndexByte(c, ' ') >= 0 || strings.HasPrefix(c, "'") || c == batch.ClearMarker
}

func numberHash(number string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(number))
	return h.Sum64()
}

// readCompleted reads the report's rows, from start to keep, for resuming,
// streaming them. It returns the done rows and the length to keep (short of
// keep when the last record is torn). A report whose origin line does not
// say its cells are escaped (!exact) was written by an older version, which
// turned line breaks into spaces and wrote a literal "(clear)" as the
// marker: an ok line whose targets may stand for other values (see lossy)
// does not count as done, and its row is sent again.
func readCompleted(f *os.File, path string, start, keep int64, exact bool) (*Completed, int64, error) {
	d := &Completed{done: map[uint64]uint64{}}
	keep, err := scanRecords(f, path, start, keep, len(Columns), func(rec []string) error {
		d.rows++
		switch batch.Status(rec[2]) {
		case batch.StatusInvalid:
			return nil // never sent: says nothing of what the number holds
		case batch.StatusOK:
			cells := [batch.NumFields]string(rec[7:])
			if exact || !slices.ContainsFunc(cells[:], lossy) {
				d.done[numberHash(rec[1])] = key(rec[1], cells)
				return nil
			}
		}
		delete(d.done, numberHash(rec[1])) // not ok, or ok for targets it may not name
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return d, keep, nil
}
