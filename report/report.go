// Package report writes plivo-bulk's report: one CSV row per input row,
// written as results arrive, and reads it back for a resumed run.
package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
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

// The modes.
const (
	New    Mode = iota // refuse an existing report
	Force              // replace it
	Resume             // read what it says is done, then append
)

// ErrExists is returned when the report exists and the mode is New.
var ErrExists = errors.New("report already exists")

// ErrLocked is returned when another run holds the report.
var ErrLocked = errors.New("report is in use by another run")

// Writer writes report rows. Each Write reaches the file before it returns
// (it is flushed, not synced), so an interrupted or killed run leaves every
// complete line in place; at most the line being written is torn, and a
// resumed run drops it.
//
// The columns, in order: row, number, status, http_status, api_id, attempts,
// error, app_id, subaccount, alias, compliance_application_id. Cells that a
// spreadsheet would run as a formula are neutralised with a leading quote,
// and line breaks inside cells become spaces, so every record is one line.
type Writer struct {
	f      *os.File // nil when writing to an io.Writer
	w      *csv.Writer
	rec    []string
	done   *Done
	torn   bool
	closed bool
}

// Open opens the report at path. It takes an exclusive OS lock on the file
// for the life of the Writer (released by Close, or by the OS when the
// process dies), so two runs can never write one report.
func Open(path string, mode Mode) (*Writer, error) {
	w := &Writer{}
	f, cw, err := openCSV(path, "report", mode, Columns, func(f *os.File) (int64, error) {
		done, keep, torn, err := readDone(f, path)
		w.done, w.torn = done, torn
		return keep, err
	})
	if err != nil {
		return nil, err
	}
	w.f, w.w = f, cw
	return w, nil
}

// NewWriter writes a report to out, such as standard output; it cannot be
// resumed.
func NewWriter(out io.Writer) (*Writer, error) {
	w := &Writer{w: csv.NewWriter(out)}
	if err := w.writeRecord(Columns); err != nil {
		return nil, err
	}
	return w, nil
}

// Done returns what a resumed report recorded as done (nil if not resuming).
func (w *Writer) Done() *Done { return w.done }

// DroppedTornLine reports whether resuming dropped an incomplete last line.
func (w *Writer) DroppedTornLine() bool { return w.torn }

// Write appends one result and flushes it.
func (w *Writer) Write(r batch.Result) error {
	if w.rec == nil {
		w.rec = make([]string, len(Columns))
	}
	rec := w.rec
	rec[0] = strconv.Itoa(r.Row.Line)
	rec[1] = Neutralize(r.Row.Number)
	rec[2] = string(r.Status)
	rec[3] = ""
	if r.HTTPStatus >= 100 && r.HTTPStatus < len(statusCells) {
		rec[3] = statusCells[r.HTTPStatus]
	} else if r.HTTPStatus != 0 {
		rec[3] = strconv.Itoa(r.HTTPStatus)
	}
	rec[4] = Neutralize(r.APIID)
	rec[5] = strconv.Itoa(r.Attempts)
	rec[6] = Neutralize(r.Error)
	for f, s := range r.Row.Targets {
		rec[7+f] = Neutralize(s.Cell())
	}
	return w.writeRecord(rec)
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
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Close flushes the report and releases its lock.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := closeCSV(w.f, w.w); err != nil {
		return fmt.Errorf("close report: %w", err)
	}
	return nil
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

// Done is the set of rows that a report records as ok: the same number with
// the same targets. It costs 8 bytes per ok row.
type Done struct {
	keys []uint64 // sorted
	rows int      // report rows read
}

// Has reports whether the report already holds an ok row for r's number
// with r's targets.
func (d *Done) Has(r batch.Row) bool {
	if d == nil || len(d.keys) == 0 {
		return false
	}
	var cells [batch.NumFields]string
	for f, s := range r.Targets {
		cells[f] = Neutralize(s.Cell())
	}
	_, ok := slices.BinarySearch(d.keys, key(Neutralize(r.Number), cells))
	return ok
}

// Len returns how many distinct ok rows the report holds.
func (d *Done) Len() int {
	if d == nil {
		return 0
	}
	return len(d.keys)
}

// Rows returns how many rows the report held.
func (d *Done) Rows() int {
	if d == nil {
		return 0
	}
	return d.rows
}

func key(number string, cells [batch.NumFields]string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(number))
	for _, c := range cells {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(c))
	}
	return h.Sum64()
}

// readDone reads a report for resuming, streaming it. It returns the ok
// rows, the length of the file's complete lines (a torn last line, left by a
// killed run, is not part of it) and whether there was such a line.
func readDone(f *os.File, path string) (*Done, int64, bool, error) {
	keep, size, err := completeLength(f)
	if err != nil {
		return nil, 0, false, fmt.Errorf("read report: %w", err)
	}
	torn := keep < size
	d := &Done{}
	if keep == 0 {
		// No complete line: only a run killed while writing the header
		// leaves that, and then what is there starts the header. Anything
		// else is not ours to cut.
		head := make([]byte, min(size, 4096))
		n, _ := f.ReadAt(head, 0)
		if !strings.HasPrefix(strings.Join(Columns, ","), string(head[:n])) {
			return nil, 0, false, fmt.Errorf("%s: not a plivo-bulk report (its header is not %s): refusing to resume into it", path, strings.Join(Columns, ","))
		}
		return d, 0, torn, nil
	}
	// Size the keys once, for 8 bytes per row: every record is one line
	// (Neutralize turns line breaks into spaces), so the line count bounds
	// the ok rows. Grown by append, a million keys held their old and new
	// arrays at once and the resume's heap peaked at 30 MB.
	lines, err := countLines(io.NewSectionReader(f, 0, keep))
	if err != nil {
		return nil, 0, false, fmt.Errorf("read report: %w", err)
	}
	d.keys = make([]uint64, 0, max(lines-1, 0))
	r := csv.NewReader(bufio.NewReaderSize(io.NewSectionReader(f, 0, keep), 64<<10))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil || !slices.Equal(header, Columns) {
		return nil, 0, false, fmt.Errorf("%s: not a plivo-bulk report (its header is not %s): refusing to resume into it", path, strings.Join(Columns, ","))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("%s: damaged report, cannot resume: %w", path, err)
		}
		if len(rec) != len(Columns) {
			line, _ := r.FieldPos(0)
			return nil, 0, false, fmt.Errorf("%s: line %d: damaged report (%d fields, want %d), cannot resume", path, line, len(rec), len(Columns))
		}
		d.rows++
		if rec[2] != string(batch.StatusOK) {
			continue
		}
		var cells [batch.NumFields]string
		copy(cells[:], rec[7:])
		d.keys = append(d.keys, key(rec[1], cells))
	}
	slices.Sort(d.keys)
	d.keys = slices.Compact(d.keys)
	if len(d.keys) < cap(d.keys)/2 { // mostly rows not ok: give the rest back
		d.keys = slices.Clone(d.keys)
	}
	return d, keep, torn, nil
}

// countLines counts the line ends in r.
func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 64<<10)
	n := 0
	for {
		m, err := r.Read(buf)
		n += bytes.Count(buf[:m], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// completeLength finds the end of the last complete line by reading the
// file backwards from its end, a block at a time.
func completeLength(f *os.File) (keep, size int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	size = st.Size()
	buf := make([]byte, 32<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && err != io.EOF {
			return 0, 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, size, nil
		}
		end = start
	}
	return 0, size, nil
}
