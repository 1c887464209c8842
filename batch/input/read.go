package input

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// maxRow is about the most a row may hold: encoding/csv holds a row in memory, and a quote never
// closed would make the rest of the file one cell.
const (
	maxRow   = 1 << 20
	readSize = 64 << 10 // the reads of the input and of the copy
	bom      = "\xef\xbb\xbf"
)

// No CSV text holds a NUL byte, but the files people pick by mistake do.
const binaryData = "binary data (a NUL byte): this is not a CSV text file (is it an .xlsx, a compressed file or UTF-16 text? save it as CSV, UTF-8)"

var errTooLong = errors.New("row too long")

// tee is the input as the check reads it, every byte copied; a NUL byte, or a row that runs on past
// limit, ends the read. Its error sticks: a Peek of the bufio.Reader above it drops one.
type tee struct {
	name      string
	r         io.Reader
	w         io.Writer
	werr, err error // werr is the copy's: no fault of the input's
	n, limit  int64 // bytes read; the offset where the row being read is too long
	lines     int
}

func (t *tee) Read(p []byte) (int, error) {
	if t.err == nil && t.n > t.limit {
		t.err = errTooLong
	}
	if t.err != nil {
		return 0, t.err
	}
	n, err := t.r.Read(p)
	if i := bytes.IndexByte(p[:n], 0); i >= 0 {
		t.err = &Error{File: t.name, Line: t.lines + bytes.Count(p[:i], []byte{'\n'}) + 1, Msg: binaryData}
		return 0, t.err
	}
	t.n += int64(n)
	t.lines += bytes.Count(p[:n], []byte{'\n'})
	if _, t.werr = t.w.Write(p[:n]); t.werr != nil {
		err = t.werr
	}
	t.err = err
	return n, err
}

// reader reads the rows of one pass.
type reader struct {
	in     *Input
	csv    *csv.Reader
	header []string
	col    [1 + batch.NumFields]int // the number's and each field's column; -1 if none
	row    int                      // the last record's row, as a spreadsheet numbers it
	end    int                      // the last record's last line
	ocol   [2]int                   // where an undo file's report.OriginColumns are; -1 if absent
}

func (in *Input) newReader(br *bufio.Reader) *reader {
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1 // a ragged row is the row's problem, not the file's
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	return &reader{in: in, csv: r, row: in.origin, end: in.origin}
}

func (rd *reader) fail(line int, format string, args ...any) error {
	return &Error{File: rd.in.name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// scan reads rd's header and calls fn for every row, in file order, skipping a spreadsheet's blank
// rows (",,,").
func scan(ctx context.Context, rd *reader, fn func(batch.Row) error) error {
	err := rd.readHeader()
	for err == nil {
		var rec []string
		if rec, err = rd.record(); err == io.EOF {
			return nil
		} else if err == nil && slices.ContainsFunc(rec[:min(len(rec), len(rd.header))], func(c string) bool { return strings.TrimSpace(c) != "" }) {
			if err = ctx.Err(); err == nil {
				err = fn(rd.toRow(rec))
			}
		}
	}
	return err
}

// record reads the next record and checks its cells.
func (rd *reader) record() ([]string, error) {
	rec, err := rd.csv.Read()
	if err != nil {
		return nil, err
	}
	if t, end := rd.in.tee, rd.in.start+rd.csv.InputOffset(); t != nil && end > t.limit {
		return nil, errTooLong // read in the same read as its start
	} else if t != nil {
		t.limit = end + maxRow
	}
	rd.row++
	line, _ := rd.csv.FieldPos(len(rec) - 1)
	rd.end = line + strings.Count(rec[len(rec)-1], "\n")
	return rec, rd.checkCells(rd.csv, rec, 0)
}

// checkCells checks the size and text of rec's cells; r read rec, its line 1 the file's 1 + skip.
func (rd *reader) checkCells(r *csv.Reader, rec []string, skip int) error {
	for i, c := range rec {
		line, _ := r.FieldPos(i)
		if len(c) > report.MaxCell {
			name := ""
			if i < len(rd.header) {
				name = " (" + rd.header[i] + ")"
			}
			return rd.fail(skip+line, "column %d%s is longer than %d KiB, the most a cell may hold", i+1, name, report.MaxCell>>10)
		}
		if !utf8.ValidString(c) {
			return rd.fail(skip+line, "column %d is not valid UTF-8 text (is the file in Latin-1 or another encoding? save it as UTF-8)", i+1)
		}
	}
	return nil
}

// toRow validates a record: every cell trimmed and decoded by report.UnescapeCell, the undo
// writer's escape; an id checked once decoded.
func (rd *reader) toRow(rec []string) batch.Row {
	cell := func(i int) string {
		if j := rd.col[i]; j >= 0 && j < len(rec) {
			return strings.TrimSpace(rec[j])
		}
		return ""
	}
	rd.noteOrigin(rec)
	r := batch.Row{Line: rd.row, Number: cell(0)}
	if len(rec) != len(rd.header) {
		r.Invalid = fmt.Sprintf("has %d cells, the header has %d", len(rec), len(rd.header))
		if len(rec) == 1 {
			r.Invalid = fmt.Sprintf("has 1 cell, the header has %d", len(rd.header))
		}
		return r
	}
	for f := range batch.NumFields {
		if r.Targets[f], r.Invalid = target(f, cell(1+int(f))); r.Invalid != "" {
			return r
		}
	}
	number, err := report.UnescapeCell(r.Number)
	n, why := batch.NormalizeNumber(number)
	switch {
	case err != nil:
		r.Invalid = "number: " + err.Error()
	case why != "":
		r.Invalid = why
	case r.Targets.Empty():
		r.Number, r.Invalid = n, "nothing to change: every target cell is empty"
	default:
		r.Number = n
	}
	return r
}

// target returns the setting a trimmed cell asks for field f, or why it is none: "" leaves the
// field alone, the ClearMarker (as is, never once decoded) empties it, any other cell is decoded.
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
	case v == "" && clearable: // never written by EscapeCell
		return batch.Setting{}, fmt.Sprintf("%s is a lone ' (an escaped empty value): use (clear) to empty a field, or leave the cell empty to leave it alone", f)
	case v == "":
		return batch.Setting{}, fmt.Sprintf("%s is a lone ' (an escaped empty value), but %s cannot be cleared: leave the cell empty to leave it alone", f, f)
	}
	if why := checkID(f, v); why != "" {
		return batch.Setting{}, why
	}
	return batch.Setting{Value: v, Set: true}, ""
}

// checkID returns why an id field's value is not one, or "": the pre-flight puts ids in URL paths,
// where "..", say, would name another resource.
func checkID(f batch.Field, v string) string {
	var why string
	switch rest, sa := strings.CutPrefix(v, "SA"); {
	case f == batch.AppID:
		if why = batch.SpreadsheetExponent("app_id", v); why == "" && !idChars(v, false) {
			why = fmt.Sprintf("app_id %q is not an application id, which is digits", clip(v))
		}
	case f == batch.Subaccount && (!sa || !idChars(rest, true)):
		why = fmt.Sprintf("subaccount %q is not a subaccount id, which is SA followed by capital letters and digits", clip(v))
	}
	if why != "" && strings.Contains(v, "/") {
		why += " (give the id alone, not the resource URI)"
	}
	return why
}

// idChars: s is not empty, and ASCII digits and, if upper, capitals.
func idChars(s string, upper bool) bool {
	return s != "" && strings.IndexFunc(s, func(c rune) bool { return !('0' <= c && c <= '9' || upper && 'A' <= c && c <= 'Z') }) < 0
}

// explain turns an error of the check's read into an *Error naming the line and the problem; rd
// is nil before the csv.Reader's first read.
func (in *Input) explain(rd *reader, err error) error {
	var pe *csv.ParseError
	switch {
	case errors.As(err, new(*Error)):
		return err
	case errors.Is(err, errTooLong):
		// What the copy holds of the row, read leniently, says which cell.
		lazy := csv.NewReader(io.NewSectionReader(in.copy, in.tee.limit-maxRow, maxRow))
		lazy.FieldsPerRecord, lazy.TrimLeadingSpace, lazy.LazyQuotes = -1, true, true
		line := 1 // of the section, which blank lines may start
		if rec, _ := lazy.Read(); rec != nil {
			if err := rd.checkCells(lazy, rec, rd.end); err != nil {
				return err
			}
			line, _ = lazy.FieldPos(0)
		}
		return rd.fail(rd.end+line, "the row is longer than %d KiB, the most a row may hold", maxRow>>10)
	case !errors.As(err, &pe):
		return &Error{File: in.name, Msg: "cannot read: " + err.Error()}
	case errors.Is(pe.Err, csv.ErrQuote) && in.byteAt(pe.Line, pe.Column) != '"':
		// csv.ErrQuote is also a quote in a quoted cell, where the error is, not doubled.
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

// byteAt returns the byte at line and col (from 1) of the csv.Reader's input, or 0 past the end.
func (in *Input) byteAt(line, col int) byte {
	r := bufio.NewReader(io.NewSectionReader(in.copy, in.start, 1<<62))
	for line > 1 {
		if _, err := r.ReadSlice('\n'); err == nil {
			line--
		} else if err != bufio.ErrBufferFull {
			return 0
		}
	}
	_, _ = r.Discard(col - 1)
	c, _ := r.ReadByte()
	return c
}
