package input

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

	"github.com/plivo-bulk/plivo-bulk/batch"
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
	// targets holds, per field, the distinct non-empty values that valid
	// rows set, up to MaxDistinct of each: the pre-flight check reads
	// each application and subaccount once without a pass of its own.
	targets [batch.NumFields]map[string]struct{}
}

// MaxDistinct bounds the distinct values per field that Distinct keeps.
const MaxDistinct = 1000

// Distinct returns the distinct non-empty values that valid rows set for
// f, in no order, and whether there were more than MaxDistinct of them
// (then only the first MaxDistinct are returned).
func (in *Input) Distinct(f batch.Field) ([]string, bool) {
	m := in.targets[f]
	out := make([]string, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	return out, len(m) > MaxDistinct
}

// Rows returns the number of data rows in the file.
func (in *Input) Rows() int { return in.rows }

// Valid returns the number of rows that will be sent (the others are invalid).
func (in *Input) Valid() int { return in.valid }

// Name returns the file name used in messages.
func (in *Input) Name() string { return in.name }

// record is one decoded line. The last field is not a column of the file:
// the line reader adds it so that a row knows whether it was ragged. (A
// row's number needs no such column: gocsv hands the records over in file
// order, one per line read, so the reader of the channel counts them.)
type record struct {
	Number                  string `csv:"number"`
	AppID                   string `csv:"app_id"`
	Subaccount              string `csv:"subaccount"`
	Alias                   string `csv:"alias"`
	ComplianceApplicationID string `csv:"compliance_application_id"`
	Fields                  int    `csv:"-fields-"`
}

// fieldsColumn names the column the line reader adds for record.Fields.
const fieldsColumn = "-fields-"

var _ gocsv.TypeUnmarshalCSVWithFields = (*record)(nil)

// UnmarshalCSVWithFields sets one cell, by its column's name. With it, gocsv
// hands each cell over as it is instead of setting the field through
// reflection, which boxed every cell into an interface and parsed the added
// number columns through strings.SplitN: 13 allocations a row before, 4 now
// (see BENCHMARKS.md).
func (r *record) UnmarshalCSVWithFields(key, value string) error {
	switch key {
	case "number":
		r.Number = value
	case "app_id":
		r.AppID = value
	case "subaccount":
		r.Subaccount = value
	case "alias":
		r.Alias = value
	case "compliance_application_id":
		r.ComplianceApplicationID = value
	case fieldsColumn:
		n, err := strconv.Atoi(value)
		if err != nil {
			return err
		}
		r.Fields = n
	}
	return nil
}

// cells says "1 cell" or "N cells".
func cells(n int) string {
	if n == 1 {
		return "1 cell"
	}
	return strconv.Itoa(n) + " cells"
}

// blank reports whether every cell of the record is empty or spaces, as in
// the ",,," lines spreadsheet programs write for rows left blank.
func (r record) blank() bool {
	for _, c := range [...]string{r.Number, r.AppID, r.Subaccount, r.Alias, r.ComplianceApplicationID} {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// OpenInput checks the whole input before anything is sent: header, CSV
// syntax, UTF-8, and which numbers occur twice. name is used in messages.
//
// Duplicate detection keeps each valid row's number packed into a uint64
// while the check runs, then sorts them and keeps only the numbers that
// occur more than once. Nothing more is needed: a million rows cost 8 MB for
// the length of the check, and the send pass cannot outpace the API's rate.
func OpenInput(name string, open Opener) (*Input, error) {
	in := &Input{name: name, open: open}
	var keys []uint64
	err := in.scan(context.Background(), func(r batch.Row) error {
		in.rows++
		if r.Invalid == "" {
			keys = append(keys, numberKey(r.Number))
			in.noteTargets(r.Targets)
		}
		return nil
	}, false)
	if err != nil {
		return nil, err
	}
	if in.rows == 0 {
		return nil, &InputError{File: name, Msg: "no data rows after the header: nothing to do"}
	}
	in.valid, in.dups = countDuplicates(keys)
	return in, nil
}

// countDuplicates sorts keys and returns how many distinct values they hold
// and the values that occur more than once (nil if none do): every
// occurrence after a number's first is an invalid row.
func countDuplicates(keys []uint64) (int, map[uint64]struct{}) {
	slices.Sort(keys)
	var dups map[uint64]struct{}
	distinct := 0
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			if dups == nil {
				dups = make(map[uint64]struct{})
			}
			dups[k] = struct{}{}
			continue
		}
		distinct++
	}
	return distinct, dups
}

// noteTargets records the distinct values of the fields that the
// pre-flight check looks up; one past MaxDistinct marks the overflow.
func (in *Input) noteTargets(t batch.Targets) {
	for _, f := range [...]batch.Field{batch.AppID, batch.Subaccount} {
		if s := t[f]; s.Set && s.Value != "" {
			m := in.targets[f]
			if m == nil {
				m = map[string]struct{}{}
				in.targets[f] = m
			}
			if _, ok := m[s.Value]; !ok && len(m) <= MaxDistinct {
				m[s.Value] = struct{}{}
			}
		}
	}
}

// Each reads the input again and calls fn for every row, in file order,
// with duplicates marked invalid. It stops early when ctx is done or fn
// returns an error, and returns that error.
func (in *Input) Each(ctx context.Context, fn func(batch.Row) error) error {
	first := make(map[uint64]int, len(in.dups)) // duplicated number -> its first row
	return in.scan(ctx, func(r batch.Row) error {
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
// record into a batch.Row.
func (in *Input) scan(ctx context.Context, fn func(batch.Row) error, reopened bool) error {
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
	row := 1 // the header's
	for rec := range ch {
		row++
		if fnErr != nil {
			continue // draining: the reader has been told to stop
		}
		if rec.blank() {
			continue // a row of empty cells (",,,"): spreadsheets export blank rows so
		}
		if err := ctx.Err(); err != nil {
			fnErr = err
		} else {
			fnErr = fn(lr.toRow(rec, row))
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
// every line for UTF-8 and binary data, and appends the field count to each
// record.
type lineReader struct {
	name    string
	r       *csv.Reader
	header  []string
	out     []string // the record handed to gocsv, reused: gocsv is done with it by the next Read
	line    int      // file line where the last record started
	tail    *tailReader
	stopped chan struct{}
}

func newLineReader(name string, rd io.Reader) *lineReader {
	tail := &tailReader{r: skipBOM(rd), lastNL: -1, prevNL: -1, nul: -1}
	r := csv.NewReader(tail)
	r.FieldsPerRecord = -1 // a ragged row is the row's problem, not the file's
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	return &lineReader{name: name, r: r, tail: tail, stopped: make(chan struct{})}
}

// tailReader notes what csv.Reader's errors leave out: where the last two
// lines of the input start, whether the input has ended, and where its
// first NUL byte is. csv.ErrQuote stands both for a quoted cell that the
// file ends inside and for an undoubled quote inside a quoted cell, and a
// binary file mostly fails on a stray quote before its NUL bytes are seen.
type tailReader struct {
	r              io.Reader
	n              int64 // bytes read
	lastNL, prevNL int64 // offsets of the last two '\n' read; -1 for none
	nul            int64 // offset of the first NUL byte read; -1 for none
	eof            bool
}

func (t *tailReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
		t.prevNL = t.lastNL
		if j := bytes.LastIndexByte(p[:i], '\n'); j >= 0 {
			t.prevNL = t.n + int64(j)
		}
		t.lastNL = t.n + int64(i)
	}
	if t.nul < 0 {
		if i := bytes.IndexByte(p[:n], 0); i >= 0 {
			t.nul = t.n + int64(i)
		}
	}
	t.n += int64(n)
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// endsInside reports whether a csv.ErrQuote at column col is the end of
// the input inside a quoted cell, given that the csv.Reader has consumed
// the input up to offset consumed. It then has read all of it, and col is
// just past the end of the last line that is not empty; an undoubled quote
// is followed by at least one more character on its line.
func (t *tailReader) endsInside(consumed int64, col int) bool {
	if !t.eof || consumed != t.n {
		return false
	}
	last := t.n - 1 - t.lastNL // the last line's bytes, its line end included
	if t.lastNL == t.n-1 {
		last = t.lastNL - t.prevNL
	}
	return int64(col-1) >= last-1 // a "\r\n" counts as one character
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
			return nil, lr.fail(0, "the file is empty: a header row naming the columns is required (%s)", strings.Join(batch.Columns(), ","))
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, lr.parseError(err)
	}
	line, _ := lr.r.FieldPos(0)
	lr.line = line
	for i, f := range rec { // binary data first: it is not valid UTF-8 either
		if strings.IndexByte(f, 0) >= 0 {
			return nil, lr.fail(line, "column %d holds %s", i+1, binaryData)
		}
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return nil, lr.fail(line, "column %d is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)", i+1)
		}
	}
	if lr.header == nil {
		h, err := lr.checkHeader(rec, line)
		if err != nil {
			return nil, err
		}
		lr.header = h
		return append(slices.Clone(h), fieldsColumn), nil
	}
	// A ragged record is cut or padded to the header's width, so that the
	// extra column stays where the decoder expects it. strconv.Itoa of a
	// count under 100 does not allocate.
	out := append(lr.out[:0], rec[:min(len(rec), len(lr.header))]...)
	for len(out) < len(lr.header) {
		out = append(out, "")
	}
	lr.out = append(out, strconv.Itoa(len(rec)))
	return lr.out, nil
}

// ReadAll implements gocsv.CSVReader; the input is never read whole.
func (lr *lineReader) ReadAll() ([][]string, error) {
	return nil, errors.New("the input is streamed, never read whole")
}

// binaryData describes a NUL byte in the input: no CSV text holds one, but
// the files people pick by mistake do.
const binaryData = "binary data (a NUL byte): this is not a CSV text file (is it an .xlsx, a compressed file or UTF-16 text? save it as CSV, UTF-8)"

func (lr *lineReader) parseError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &InputError{File: lr.name, Msg: "cannot read: " + err.Error(), Err: err}
	}
	switch {
	case lr.tail.nul >= 0 && lr.tail.nul < lr.r.InputOffset():
		// The NUL is in this record: every record before it was checked.
		return lr.fail(pe.StartLine, "%s", binaryData)
	case errors.Is(pe.Err, csv.ErrQuote) && lr.tail.endsInside(lr.r.InputOffset(), pe.Column):
		return lr.fail(pe.StartLine, "a quoted cell that starts here is never closed: the file ends inside it (at line %d)", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		return lr.fail(pe.Line, "character %d: a quote (\") inside a quoted cell must be doubled (\"\"); the cell starts on line %d", pe.Column, pe.StartLine)
	case errors.Is(pe.Err, csv.ErrQuote):
		return lr.fail(pe.Line, "character %d: a quote (\") inside a quoted cell must be doubled (\"\")", pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return lr.fail(pe.Line, "character %d: a quote (\") in an unquoted cell: quote the whole cell and double the quote", pe.Column)
	}
	return lr.fail(pe.Line, "%v", pe.Err)
}

func (lr *lineReader) checkHeader(rec []string, line int) ([]string, error) {
	known := batch.Columns()
	h := make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" {
			return nil, lr.fail(line, "column %d of the header has no name (columns: %s)", i+1, strings.Join(known, ","))
		}
		if !slices.Contains(known, n) {
			if sep := separatorName(n); len(rec) == 1 && sep != "" {
				return nil, lr.fail(line, "the header is one column, %q: the file seems separated by %s, but plivo-bulk reads comma-separated files (save it as \"CSV (comma delimited)\")", clip(name), sep)
			}
			if _, why := batch.NormalizeNumber(name); why == "" && len(seen) == 0 {
				return nil, lr.fail(line, "no header row: column %d of the first row is a phone number, %q, but the first row must name the columns (%s)", i+1, clip(name), strings.Join(known, ","))
			}
			msg := fmt.Sprintf("unknown column %q", clip(strings.TrimSpace(name)))
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
		return nil, lr.fail(line, "no \"number\" column in the header (a header row is required; found: %s)", clip(strings.Join(rec, ",")))
	}
	return h, nil
}

// separatorName names the first separator other than a comma that a lone
// header cell holds, if any: spreadsheets in many locales save "CSV" with
// semicolons, and "Text" with tabs.
func separatorName(cell string) string {
	switch i := strings.IndexAny(cell, ";\t|"); {
	case i < 0:
		return ""
	case cell[i] == ';':
		return "semicolons"
	case cell[i] == '\t':
		return "tabs"
	}
	return "vertical bars"
}

// clip shortens s for a message: a header cell can be a megabyte long.
func clip(s string) string {
	const most = 40 // characters
	n := 0
	for i := range s {
		if n == most {
			return s[:i] + "..."
		}
		n++
	}
	return s
}

// toRow validates a decoded record, which is spreadsheet row line.
func (lr *lineReader) toRow(rec record, line int) batch.Row {
	r := batch.Row{Line: line, Number: strings.TrimSpace(rec.Number)}
	if rec.Fields != len(lr.header) {
		r.Invalid = fmt.Sprintf("has %s, the header has %d", cells(rec.Fields), len(lr.header))
		return r
	}
	cells := [batch.NumFields]string{rec.AppID, rec.Subaccount, rec.Alias, rec.ComplianceApplicationID}
	for f, c := range cells {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case c == batch.ClearMarker && (batch.Field(f) == batch.AppID || batch.Field(f) == batch.Alias):
			r.Targets[f] = batch.Setting{Set: true}
		case c == batch.ClearMarker:
			r.Invalid = fmt.Sprintf("%s cannot be cleared", batch.Field(f))
		default:
			r.Targets[f] = batch.Setting{Value: c, Set: true}
		}
	}
	if r.Invalid != "" {
		return r
	}
	n, why := batch.NormalizeNumber(r.Number)
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
	if len(s) > 64 { // no typo; and editDistance costs len(s) * len(k)
		return ""
	}
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

// numberKey packs a normalised number (7 to 15 digits, no leading zero) into
// a uint64, so that duplicate detection costs 8 bytes a row.
func numberKey(n string) uint64 {
	var k uint64
	for i := 0; i < len(n); i++ {
		k = k*10 + uint64(n[i]-'0')
	}
	return k
}
