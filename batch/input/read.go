package input

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// MaxCell is the most bytes a cell may hold, and maxRow the most a row may:
// encoding/csv holds a whole row in memory, and a file holding one huge
// cell would otherwise take many times its size. The writers of the undo
// file and the export check the same MaxCell.
const (
	MaxCell = report.MaxCell
	maxRow  = 1 << 20
)

// reader reads one pass over the input: encoding/csv splits the records,
// and reader checks the header, checks each record's text, and turns it
// into a batch.Row.
type reader struct {
	name   string
	r      *csv.Reader
	header []string
	// col holds where the number (index 0) and each field (1 + Field)
	// are in a record; -1 for a column the file lacks.
	col    [1 + batch.NumFields]int
	row    int    // the last record's row as a spreadsheet shows it (see Row.Line)
	origin origin // the origin line the file starts with, if any
	// src is the input that the check reads (nil when a later pass reads
	// the private copy), and start the offset where the csv.Reader's input
	// starts: after a byte order mark and an origin line's text.
	src        *source
	start      int
	originLine string // the origin line, without its line end
	// ocol holds where report.OriginColumns are, -1 when absent, and
	// origins the first few origins an undo file's rows (or its older
	// origin line) record; nil for another input.
	ocol    [2]int
	origins map[report.Origin]bool
}

// origin is the kind of origin line a file starts with (see
// report.LegacyPrefix).
type origin int

const (
	noOrigin    origin = iota
	otherOrigin        // a report's, or a kind this version does not know
	undoOrigin         // an undo file's: report.OpenUndo writes it
)

const bom = "\xef\xbb\xbf"

// newReader reads the records of src, which starts after the origin line's
// text, if o is not noOrigin.
func newReader(name string, src io.Reader, o origin) *reader {
	r := csv.NewReader(src)
	r.FieldsPerRecord = -1 // a ragged row is the row's problem, not the file's
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	rd := &reader{name: name, r: r, origin: o}
	if o != noOrigin {
		rd.row = 1 // a spreadsheet shows the origin line as row 1, the header as row 2
	}
	return rd
}

// newChecker returns the reader of the check, which reads s. It drops a
// UTF-8 byte order mark, which spreadsheet programs write, and the text of
// an origin line, not its line end: the csv.Reader then skips an empty
// line, and counts it, so that its line numbers stay the file's.
func newChecker(name string, s *source) (*reader, error) {
	// The csv.Reader reads through br, which is large enough for it to use
	// as its own buffer.
	br := bufio.NewReaderSize(s, readSize)
	skip := 0
	if b, _ := br.Peek(len(bom)); string(b) == bom {
		skip, _ = br.Discard(len(bom))
	}
	rd := newReader(name, br, noOrigin)
	rd.src, rd.start = s, skip
	if b, _ := br.Peek(len(report.LegacyPrefix)); string(b) != report.LegacyPrefix {
		return rd, nil
	}
	rd.origin, rd.row = otherOrigin, 1
	for {
		b, err := br.ReadSlice('\n')
		rd.start += len(b)
		if err == nil {
			_ = br.UnreadByte()
			rd.start--
			break
		}
		if err == io.EOF {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, rd.parseError(err)
		}
	}
	s.mark = rd.start
	rd.originLine = string(bytes.TrimSuffix(s.data[skip:rd.start], []byte{'\r'}))
	if o, ok := report.UndoLineOrigin(rd.originLine); ok {
		rd.origin, rd.origins = undoOrigin, map[report.Origin]bool{o: true}
	}
	return rd, nil
}

func (rd *reader) fail(line int, format string, args ...any) error {
	return &Error{File: rd.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// record reads the next record and checks its text and size.
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
	if err := rd.checkSize(rd.r, rec, 0); err != nil {
		return nil, err
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return nil, rd.fail(line, "column %d is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)", i+1)
		}
	}
	if rd.src != nil {
		rd.src.mark = rd.start + int(rd.r.InputOffset())
	}
	rd.row++
	return rec, nil
}

// checkSize refuses a cell longer than MaxCell and a row (its cells and
// the commas between them) longer than maxRow. r returned rec, and its
// line 1 is line 1 + skip of the file.
func (rd *reader) checkSize(r *csv.Reader, rec []string, skip int) error {
	size := len(rec)
	for i, c := range rec {
		size += len(c)
		if len(c) > MaxCell {
			line, _ := r.FieldPos(i)
			name := ""
			if i < len(rd.header) {
				name = " (" + rd.header[i] + ")"
			}
			return rd.fail(skip+line, "column %d%s is longer than %d KiB, the most a cell may hold", i+1, name, MaxCell>>10)
		}
	}
	if size > maxRow {
		line, _ := r.FieldPos(0)
		return rd.fail(skip+line, "the row is longer than %d KiB, the most a row may hold", maxRow>>10)
	}
	return nil
}

// readHeader reads and checks the header, which every file must start with.
func (rd *reader) readHeader() error {
	rec, err := rd.record()
	if err == io.EOF && rd.origin != noOrigin {
		return rd.fail(0, "nothing after the origin line (%s...): a header row naming the columns is required (%s)", strings.TrimSpace(report.LegacyPrefix), strings.Join(batch.Columns(), ","))
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
	for i, name := range report.OriginColumns {
		if rd.ocol[i] = slices.Index(h, name); rd.ocol[i] >= 0 && rd.origins == nil {
			rd.origins = map[report.Origin]bool{}
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

// toRow validates a record. Every cell is decoded with report.UnescapeCell
// (see the package comment); an id is checked once decoded.
func (rd *reader) toRow(rec []string) batch.Row {
	r := batch.Row{Line: rd.row, Number: rd.cell(rec, 0)}
	if rd.origins != nil && len(rd.origins) < 8 && (rd.ocol[0] >= 0 || rd.ocol[1] >= 0) {
		var o [2]string
		for i, j := range rd.ocol {
			if j >= 0 && j < len(rec) {
				o[i], _ = report.UnescapeCell(strings.TrimSpace(rec[j]))
			}
		}
		rd.origins[report.Origin{Account: o[0], API: o[1]}] = true
	}
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
	number, err := report.UnescapeCell(r.Number)
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
	v, err := report.UnescapeCell(c)
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
		if why = batch.SpreadsheetExponent("app_id", v); why == "" && !idChars(v, false) {
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

// binaryData describes a NUL byte in the input: no CSV text holds one, but
// the files people pick by mistake do.
const binaryData = "binary data (a NUL byte): this is not a CSV text file (is it an .xlsx, a compressed file or UTF-16 text? save it as CSV, UTF-8)"

// parseError describes an error of the csv.Reader, or of the read under
// it. Only the check meets one: the private copy parses as it did.
func (rd *reader) parseError(err error) error {
	var pe *csv.ParseError
	switch {
	case rd.src == nil:
		return &Error{File: rd.name, Msg: "cannot read: " + err.Error(), Err: err}
	case errors.Is(err, errTooLong):
		line := rd.src.lines + 1 // the record starts at rd.src.base
		if bytes.IndexByte(rd.src.data, 0) >= 0 {
			return rd.fail(line, "%s", binaryData) // a binary file is often one long line
		}
		// The csv.Reader does not return a quoted cell that it was
		// reading. What the source holds is the record up to here: read
		// leniently, it ends with that cell.
		lazy := csv.NewReader(bytes.NewReader(rd.src.data))
		lazy.FieldsPerRecord, lazy.TrimLeadingSpace, lazy.LazyQuotes = -1, true, true
		rec, _ := lazy.Read()
		if err := rd.checkSize(lazy, rec, rd.src.lines); err != nil {
			return err
		}
		return rd.fail(line, "the row is longer than %d KiB, the most a row may hold", maxRow>>10)
	case !errors.As(err, &pe):
		return &Error{File: rd.name, Msg: "cannot read: " + err.Error(), Err: err}
	}
	// read is what the source holds of the csv.Reader's input, from the
	// start of a line: line 1 of read is line 1 + rd.src.lines of the file.
	off := max(rd.start-rd.src.base, 0)
	read := rd.src.data[off:]
	switch {
	case bytes.IndexByte(read[:rd.start+int(rd.r.InputOffset())-rd.src.base-off], 0) >= 0:
		// The NUL is in this record: every record before it was checked.
		return rd.fail(pe.StartLine, "%s", binaryData)
	case errors.Is(pe.Err, csv.ErrQuote) && endsInside(read, pe.Line-rd.src.lines, pe.Column):
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

// endsInside reports whether a csv.ErrQuote at line and col of read is the
// end of the input inside a quoted cell, not a quote that is not doubled:
// csv.ErrQuote stands for both. The first is reported past the last
// character; the second at the quote, which a character follows.
func endsInside(read []byte, line, col int) bool {
	for ; line > 1; line-- {
		_, read, _ = bytes.Cut(read, []byte{'\n'})
	}
	return len(bytes.Trim(read[min(col-1, len(read)):], "\r\n")) == 0
}
