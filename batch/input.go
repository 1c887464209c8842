package batch

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
)

// InputError is a problem with the input file as a whole: nothing can be
// sent for it. Line is 0 when the problem has no line (an unreadable file).
type InputError struct {
	File string
	Line int
	Msg  string
	Err  error
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns the underlying error, if any.
func (e *InputError) Unwrap() error { return e.Err }

// Opener opens the input afresh: the input is read twice, once to check the
// whole file before anything is sent and once to send it, so that a file of
// a million rows never has to be held in memory.
type Opener func() (io.ReadCloser, error)

// Input is an input file that passed the check: its header is good, every
// line parses, and its duplicates are known.
type Input struct {
	name  string
	open  Opener
	rows  int
	valid int
	dups  map[uint64]struct{} // numbers that occur more than once
}

// Rows returns the number of data rows in the file.
func (in *Input) Rows() int { return in.rows }

// Valid returns the number of rows that will be sent (the others are invalid).
func (in *Input) Valid() int { return in.valid }

// Name returns the file name used in messages.
func (in *Input) Name() string { return in.name }

// record is one decoded line. The two last fields are not columns of the
// file: the line reader adds them so that a row knows where it stands and
// whether it was ragged.
type record struct {
	Number                  string `csv:"number"`
	AppID                   string `csv:"app_id"`
	Subaccount              string `csv:"subaccount"`
	Alias                   string `csv:"alias"`
	ComplianceApplicationID string `csv:"compliance_application_id"`
	Row                     int    `csv:"-row-"`
	Fields                  int    `csv:"-fields-"`
}

// Columns lists the input columns in their canonical order.
func Columns() []string { return append([]string{"number"}, fieldNames[:]...) }

// OpenInput checks the whole input before anything is sent: header, CSV
// syntax, UTF-8, and which numbers occur twice. name is used in messages.
func OpenInput(name string, open Opener) (*Input, error) {
	in := &Input{name: name, open: open}
	var keys []uint64
	err := in.scan(context.Background(), func(r Row) error {
		in.rows++
		if r.Invalid == "" {
			keys = append(keys, numberKey(r.Number))
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	if in.rows == 0 {
		return nil, &InputError{File: name, Msg: "no data rows after the header: nothing to do"}
	}
	slices.Sort(keys)
	in.valid = len(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] { // every occurrence after the first is invalid
			if in.dups == nil {
				in.dups = make(map[uint64]struct{})
			}
			in.dups[keys[i]] = struct{}{}
			in.valid--
		}
	}
	return in, nil
}

// Each reads the input again and calls fn for every row, in file order,
// with duplicates marked invalid. It stops early when ctx is done or fn
// returns an error, and returns that error.
func (in *Input) Each(ctx context.Context, fn func(Row) error) error {
	first := make(map[uint64]int, len(in.dups)) // duplicated number -> its first row
	return in.scan(ctx, func(r Row) error {
		if r.Invalid == "" && in.dups != nil {
			k := numberKey(r.Number)
			if _, dup := in.dups[k]; dup {
				if line, seen := first[k]; seen {
					r.Invalid = "duplicate of row " + strconv.Itoa(line)
				} else {
					first[k] = r.Line
				}
			}
		}
		return fn(r)
	}, true)
}

var errStopped = errors.New("stopped")

// scan decodes the file with gocsv, one record at a time, and turns each
// record into a Row.
func (in *Input) scan(ctx context.Context, fn func(Row) error, reopened bool) error {
	rc, err := in.open()
	if err != nil {
		return &InputError{File: in.name, Msg: "cannot open: " + describeOpenErr(err), Err: err}
	}
	defer func() { _ = rc.Close() }()

	lr := newLineReader(in.name, rc)
	ch := make(chan record, 64)
	done := make(chan error, 1)
	go func() { done <- gocsv.UnmarshalDecoderToChan(gocsv.NewSimpleDecoderFromCSVReader(lr), ch) }()

	var fnErr error
	for rec := range ch {
		if fnErr != nil {
			continue // draining: the reader has been told to stop
		}
		if err := ctx.Err(); err != nil {
			fnErr = err
		} else {
			fnErr = fn(lr.toRow(rec))
		}
		if fnErr != nil {
			lr.stop()
		}
	}
	err = <-done
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return ie
		}
		if reopened {
			return &InputError{File: in.name, Msg: "changed while it was being read: " + err.Error(), Err: err}
		}
		return &InputError{File: in.name, Line: lr.line, Msg: err.Error(), Err: err}
	}
	return nil
}

func describeOpenErr(err error) string {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// lineReader is the gocsv.CSVReader under the decoder: it checks the header,
// lower-cases its names so that columns match whatever their case, checks
// every line for UTF-8 and binary data, and appends the row number and the
// field count to each record.
type lineReader struct {
	name    string
	r       *csv.Reader
	header  []string
	row     int // spreadsheet row of the last record returned
	line    int // file line where the last record started
	stopped chan struct{}
}

func newLineReader(name string, rd io.Reader) *lineReader {
	r := csv.NewReader(skipBOM(rd))
	r.FieldsPerRecord = -1 // a ragged row is the row's problem, not the file's
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	return &lineReader{name: name, r: r, stopped: make(chan struct{})}
}

func (lr *lineReader) stop() {
	select {
	case <-lr.stopped:
	default:
		close(lr.stopped)
	}
}

func (lr *lineReader) fail(line int, format string, args ...any) error {
	return &InputError{File: lr.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Read implements gocsv.CSVReader.
func (lr *lineReader) Read() ([]string, error) {
	select {
	case <-lr.stopped:
		return nil, errStopped
	default:
	}
	rec, err := lr.r.Read()
	if err == io.EOF {
		if lr.header == nil {
			return nil, lr.fail(0, "the file is empty: a header row naming the columns is required (%s)", strings.Join(Columns(), ","))
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, lr.parseError(err)
	}
	line, _ := lr.r.FieldPos(0)
	lr.line = line
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return nil, lr.fail(line, "column %d is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)", i+1)
		}
		if strings.IndexByte(f, 0) >= 0 {
			return nil, lr.fail(line, "column %d holds binary data (a NUL byte): this is not a CSV text file", i+1)
		}
	}
	if lr.header == nil {
		h, err := lr.checkHeader(rec, line)
		if err != nil {
			return nil, err
		}
		lr.header = h
		lr.row = 1
		return append(slices.Clone(h), "-row-", "-fields-"), nil
	}
	lr.row++
	fields := len(rec)
	// A ragged record is cut or padded to the header's width, so that the
	// two extra columns stay where the decoder expects them.
	for len(rec) < len(lr.header) {
		rec = append(rec, "")
	}
	return append(rec[:len(lr.header)], strconv.Itoa(lr.row), strconv.Itoa(fields)), nil
}

// ReadAll implements gocsv.CSVReader; the input is never read whole.
func (lr *lineReader) ReadAll() ([][]string, error) {
	return nil, errors.New("the input is streamed, never read whole")
}

func (lr *lineReader) parseError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &InputError{File: lr.name, Msg: "cannot read: " + err.Error(), Err: err}
	}
	switch {
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		return lr.fail(pe.StartLine, "a quoted cell that starts here is never closed (reached line %d)", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote):
		return lr.fail(pe.Line, "character %d: a quote (\") inside a quoted cell must be doubled (\"\")", pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return lr.fail(pe.Line, "character %d: a quote (\") in an unquoted cell: quote the whole cell and double the quote", pe.Column)
	}
	return lr.fail(pe.Line, "%v", pe.Err)
}

func (lr *lineReader) checkHeader(rec []string, line int) ([]string, error) {
	known := Columns()
	h := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" {
			return nil, lr.fail(line, "column %d of the header has no name (columns: %s)", i+1, strings.Join(known, ","))
		}
		if !slices.Contains(known, n) {
			msg := fmt.Sprintf("unknown column %q", strings.TrimSpace(name))
			if s := closest(n, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, lr.fail(line, "%s; the columns are: %s", msg, strings.Join(known, ","))
		}
		if j, ok := seen[n]; ok {
			return nil, lr.fail(line, "column %q appears twice (columns %d and %d)", n, j+1, i+1)
		}
		seen[n] = i
		h[i] = n
	}
	if _, ok := seen["number"]; !ok {
		return nil, lr.fail(line, "no \"number\" column in the header (a header row is required; found: %s)", strings.Join(rec, ","))
	}
	return h, nil
}

// toRow validates a decoded record.
func (lr *lineReader) toRow(rec record) Row {
	r := Row{Line: rec.Row, Number: strings.TrimSpace(rec.Number)}
	if rec.Fields != len(lr.header) {
		r.Invalid = fmt.Sprintf("has %d fields, the header has %d", rec.Fields, len(lr.header))
		return r
	}
	cells := [NumFields]string{rec.AppID, rec.Subaccount, rec.Alias, rec.ComplianceApplicationID}
	for f, c := range cells {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case c == ClearMarker && (Field(f) == AppID || Field(f) == Alias):
			r.Targets[f] = Setting{Set: true}
		case c == ClearMarker:
			r.Invalid = fmt.Sprintf("%s cannot be cleared", Field(f))
		default:
			r.Targets[f] = Setting{Value: c, Set: true}
		}
	}
	if r.Invalid != "" {
		return r
	}
	n, why := NormalizeNumber(r.Number)
	if why != "" {
		r.Invalid = why
		return r
	}
	r.Number = n
	if r.Targets.Empty() {
		r.Invalid = "nothing to change: every target cell is empty"
	}
	return r
}

// skipBOM drops a UTF-8 byte order mark, which spreadsheet programs write.
func skipBOM(r io.Reader) io.Reader {
	br := &bomReader{r: r}
	return br
}

type bomReader struct {
	r       io.Reader
	checked bool
	buf     []byte
}

func (b *bomReader) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		head := make([]byte, 3)
		n, err := io.ReadFull(b.r, head)
		head = head[:n]
		if !bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
			b.buf = head
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
	}
	if len(b.buf) > 0 {
		n := copy(p, b.buf)
		b.buf = b.buf[n:]
		return n, nil
	}
	return b.r.Read(p)
}

// closest returns the known name nearest to s by edit distance, if it is
// near enough to be a likely typo.
func closest(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(best)/3) || strings.Contains(best, s) || strings.Contains(s, best) {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
