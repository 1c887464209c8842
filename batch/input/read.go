package input

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// reader reads one pass over the input: encoding/csv splits the records,
// and reader checks the header, checks each record's text, and turns it
// into a batch.Row.
type reader struct {
	name   string
	r      *csv.Reader
	tail   *tailReader
	header []string
	// col holds where the number (index 0) and each field (1 + Field)
	// are in a record; -1 for a column the file lacks.
	col    [1 + batch.NumFields]int
	row    int    // the last record's row as a spreadsheet shows it (see Row.Line)
	origin origin // the origin line the file starts with, if any
}

// origin is the kind of origin line a file starts with (see
// batch.OriginLinePrefix).
type origin int

const (
	noOrigin    origin = iota
	otherOrigin        // a report's, or a kind this version does not know
	undoOrigin         // an undo file's: report.OpenUndo writes it
)

// undoOriginLine starts the origin line of an undo file: report's origin.go
// writes the prefix, the tag "undo" and a colon (TestUndo_readBack in
// package report checks that the two agree).
const undoOriginLine = batch.OriginLinePrefix + "undo:"

func newReader(name string, src io.Reader) *reader {
	// The origin line is skipped, not dropped: batch.SkipOriginLine keeps
	// its line end, so the csv.Reader's and cellLimit's line numbers stay
	// the file's. Peeking through a bufio.Reader of SkipOriginLine's size
	// costs no second buffer: it takes the same one.
	br := bufio.NewReaderSize(src, 4096)
	head, _ := br.Peek(len(bom) + len(undoOriginLine))
	head = bytes.TrimPrefix(head, []byte(bom))
	o := noOrigin
	switch {
	case bytes.HasPrefix(head, []byte(undoOriginLine)):
		o = undoOrigin
	case bytes.HasPrefix(head, []byte(batch.OriginLinePrefix)):
		o = otherOrigin
	}
	tail := &tailReader{r: skipBOM(batch.SkipOriginLine(br)), lastNL: -1, prevNL: -1, nul: -1}
	r := csv.NewReader(&cellLimit{r: tail})
	r.FieldsPerRecord = -1 // a ragged row is the row's problem, not the file's
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	rd := &reader{name: name, r: r, tail: tail, origin: o}
	if o != noOrigin {
		rd.row = 1 // a spreadsheet shows the origin line as row 1, the header as row 2
	}
	return rd
}

const bom = "\xef\xbb\xbf"

func (rd *reader) fail(line int, format string, args ...any) error {
	return &Error{File: rd.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// record reads the next record and checks its text.
func (rd *reader) record() ([]string, error) {
	rec, err := rd.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, rd.parseError(err)
	}
	line, _ := rd.r.FieldPos(0)
	for i, f := range rec { // binary data first: it is not valid UTF-8 either
		if strings.IndexByte(f, 0) >= 0 {
			return nil, rd.fail(line, "column %d holds %s", i+1, binaryData)
		}
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return nil, rd.fail(line, "column %d is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)", i+1)
		}
	}
	rd.row++
	return rec, nil
}

// readHeader reads and checks the header, which every file must start with.
func (rd *reader) readHeader() error {
	rec, err := rd.record()
	if err == io.EOF && rd.origin != noOrigin {
		return rd.fail(0, "nothing after the origin line (%s...): a header row naming the columns is required (%s)", strings.TrimSpace(batch.OriginLinePrefix), strings.Join(batch.Columns(), ","))
	}
	if err == io.EOF {
		return rd.fail(0, "the file is empty: a header row naming the columns is required (%s)", strings.Join(batch.Columns(), ","))
	}
	if err != nil {
		return err
	}
	line, _ := rd.r.FieldPos(0)
	h, err := rd.checkHeader(rec, line)
	if err != nil {
		return err
	}
	rd.header = h
	for i, name := range batch.Columns() {
		rd.col[i] = -1
		for j, n := range h {
			if n == name {
				rd.col[i] = j
			}
		}
	}
	return nil
}

// next returns the next row, skipping rows of empty cells (",,,"), which
// spreadsheets export for rows left blank; io.EOF after the last.
func (rd *reader) next() (batch.Row, error) {
	for {
		rec, err := rd.record()
		if err != nil {
			return batch.Row{}, err
		}
		if !blank(rec[:min(len(rec), len(rd.header))]) {
			return rd.toRow(rec), nil
		}
	}
}

// blank reports whether every cell is empty or spaces.
func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// cell returns the trimmed cell of column i (an index of rd.col), or ""
// when the file lacks that column or the record is too short for it.
func (rd *reader) cell(rec []string, i int) string {
	if j := rd.col[i]; j >= 0 && j < len(rec) {
		return strings.TrimSpace(rec[j])
	}
	return ""
}

// toRow validates a record. Every cell is decoded with batch.UnescapeCell
// (see the package comment); an id is checked once decoded.
func (rd *reader) toRow(rec []string) batch.Row {
	r := batch.Row{Line: rd.row, Number: rd.cell(rec, 0)}
	if len(rec) != len(rd.header) {
		r.Invalid = fmt.Sprintf("has %s, the header has %d", cells(len(rec)), len(rd.header))
		return r
	}
	for f := range batch.NumFields {
		s, why := target(f, rd.cell(rec, 1+int(f)))
		if why != "" {
			r.Invalid = why
			return r
		}
		r.Targets[f] = s
	}
	number, err := batch.UnescapeCell(r.Number)
	if err != nil {
		r.Invalid = "number: " + err.Error()
		return r
	}
	n, why := batch.NormalizeNumber(number)
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

// target returns the setting a trimmed cell asks for field f, or why the
// cell is not one: "" leaves the field alone, the ClearMarker (as the cell
// is, never once decoded) empties it, and any other cell is decoded.
func target(f batch.Field, c string) (batch.Setting, string) {
	clearable := f == batch.AppID || f == batch.Alias
	switch {
	case c == "":
		return batch.Setting{}, ""
	case c == batch.ClearMarker && clearable:
		return batch.Setting{Set: true}, ""
	case c == batch.ClearMarker:
		return batch.Setting{}, fmt.Sprintf("%s cannot be cleared", f)
	}
	v, err := batch.UnescapeCell(c)
	switch {
	case err != nil:
		return batch.Setting{}, fmt.Sprintf("%s: %v", f, err)
	case v == "" && clearable:
		// Never written by EscapeCell: an empty cell is not escaped.
		return batch.Setting{}, fmt.Sprintf("%s is a lone ' (an escaped empty value): use (clear) to empty a field, or leave the cell empty to leave it alone", f)
	case v == "":
		return batch.Setting{}, fmt.Sprintf("%s is a lone ' (an escaped empty value), but %s cannot be cleared: leave the cell empty to leave it alone", f, f)
	}
	if why := checkID(f, v); why != "" {
		return batch.Setting{}, why
	}
	return batch.Setting{Value: v, Set: true}, ""
}

// checkID returns why the value of an id field is not one, or "". An
// application id and a subaccount id go into URL paths (the pre-flight
// reads them), where "." or ".." or a "/" would name another resource.
// Plivo's application ids are digits; its subaccount ids are "SA" and 18
// capital letters and digits.
func checkID(f batch.Field, v string) string {
	var why string
	switch f {
	case batch.AppID:
		if !idChars(v, false) {
			why = fmt.Sprintf("app_id %q is not an application id, which is digits", clip(v))
		}
	case batch.Subaccount:
		if rest, ok := strings.CutPrefix(v, "SA"); !ok || !idChars(rest, true) {
			why = fmt.Sprintf("subaccount %q is not a subaccount id, which is SA followed by capital letters and digits", clip(v))
		}
	}
	if why != "" && strings.Contains(v, "/") {
		why += " (give the id alone, not the resource URI)"
	}
	return why
}

// idChars reports whether s is not empty and holds only ASCII digits and,
// if upper, capital letters.
func idChars(s string, upper bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || upper && 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// cells says "1 cell" or "N cells".
func cells(n int) string {
	if n == 1 {
		return "1 cell"
	}
	return strconv.Itoa(n) + " cells"
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

// binaryData describes a NUL byte in the input: no CSV text holds one, but
// the files people pick by mistake do.
const binaryData = "binary data (a NUL byte): this is not a CSV text file (is it an .xlsx, a compressed file or UTF-16 text? save it as CSV, UTF-8)"

func (rd *reader) parseError(err error) error {
	var tl *tooLong
	switch {
	case errors.As(err, &tl) && rd.tail.nul >= 0:
		return rd.fail(tl.line, "%s", binaryData) // a binary file is often one long line
	case errors.As(err, &tl) && tl.col == 0:
		return rd.fail(tl.line, "the row is longer than %d KiB, the most a row may hold", maxRow>>10)
	case errors.As(err, &tl):
		name := ""
		if tl.col <= len(rd.header) {
			name = " (" + rd.header[tl.col-1] + ")"
		}
		return rd.fail(tl.line, "column %d%s is longer than %d KiB, the most a cell may hold", tl.col, name, MaxCell>>10)
	}
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &Error{File: rd.name, Msg: "cannot read: " + err.Error(), Err: err}
	}
	switch {
	case rd.tail.nul >= 0 && rd.tail.nul < rd.r.InputOffset():
		// The NUL is in this record: every record before it was checked.
		return rd.fail(pe.StartLine, "%s", binaryData)
	case errors.Is(pe.Err, csv.ErrQuote) && rd.tail.endsInside(rd.r.InputOffset(), pe.Column):
		return rd.fail(pe.StartLine, "a quoted cell that starts here is never closed: the file ends inside it (at line %d)", pe.Line)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
		return rd.fail(pe.Line, "character %d: a quote (\") inside a quoted cell must be doubled (\"\"); the cell starts on line %d", pe.Column, pe.StartLine)
	case errors.Is(pe.Err, csv.ErrQuote):
		return rd.fail(pe.Line, "character %d: a quote (\") inside a quoted cell must be doubled (\"\")", pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return rd.fail(pe.Line, "character %d: a quote (\") in an unquoted cell: quote the whole cell and double the quote", pe.Column)
	}
	return rd.fail(pe.Line, "%v", pe.Err)
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
		if !bytes.HasPrefix(head, []byte(bom)) {
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
