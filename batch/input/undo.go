package input

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// An undo file is read back as an input: its origin columns (or an older file's first line, still
// counted as row 1) are returned by Origins for run to check, and a number on several of its rows
// (a run killed before UndoWriter merged them) is merged into its first row, the first value of
// each field winning; in another input, a repeated number's later rows are invalid.

// skipOrigin reads an older file's first line, if any, and an undo file's origin on it. It leaves
// the line end, which the csv.Reader skips as an empty line and counts: line numbers stay the file's.
func (in *Input) skipOrigin(br *bufio.Reader) error {
	if b, _ := br.Peek(len(report.LegacyPrefix)); string(b) != report.LegacyPrefix {
		return nil
	}
	line, err := br.ReadSlice('\n')
	switch {
	case err == nil:
		_ = br.UnreadByte()
		line = line[:len(line)-1]
	case err == bufio.ErrBufferFull:
		return &Error{File: in.name, Line: 1, Msg: "the origin line (# plivo-bulk...) is longer than 64 KiB"}
	case err != io.EOF:
		return err
	}
	in.origin, in.start = 1, in.start+int64(len(line))
	if o, ok := report.UndoLineOrigin(string(bytes.TrimSuffix(line, []byte{'\r'}))); ok {
		in.origins = map[report.Origin]bool{o: true}
	}
	return nil
}

// noteOrigin records, in the check, a row's origin: the first few distinct ones are enough to refuse.
func (rd *reader) noteOrigin(rec []string) {
	if rd.in.tee == nil || rd.in.origins == nil || len(rd.in.origins) >= 8 || rd.ocol == [2]int{-1, -1} {
		return
	}
	var o [2]string
	for i, j := range rd.ocol {
		if j >= 0 && j < len(rec) {
			o[i], _ = report.UnescapeCell(strings.TrimSpace(rec[j]))
		}
	}
	rd.in.origins[report.Origin{Account: o[0], API: o[1]}] = true
}

// repeat is a number on more than one valid row: its first row, and the first value later rows set for each field.
type repeat struct {
	line  int
	later batch.Targets
}

// findRepeats reads the copy for the first row of each number in in.dups, and the first value its
// later rows set for each field.
func (in *Input) findRepeats(ctx context.Context) error {
	if len(in.dups) == 0 {
		return nil
	}
	return in.scan(ctx, func(r batch.Row) error {
		k := batch.NumberKey(r.Number)
		switch d, dup := in.dups[k]; {
		case r.Invalid != "" || !dup:
		case d.line == 0:
			in.dups[k] = repeat{line: r.Line}
		default:
			for f, s := range r.Targets {
				if s.Set && !d.later[f].Set {
					d.later[f] = s
				}
			}
			in.dups[k] = d
		}
		return nil
	})
}

// repeated marks a repeated number's later row a duplicate, or, in an undo file, completes the first
// row with the later rows' fields and says to leave the later ones out.
func (in *Input) repeated(r *batch.Row) bool {
	d, dup := in.dups[batch.NumberKey(r.Number)]
	switch {
	case r.Invalid != "" || !dup:
	case r.Line != d.line && in.origins != nil:
		return true
	case r.Line != d.line:
		r.Invalid = "duplicate of row " + strconv.Itoa(d.line)
	case in.origins != nil:
		for f, s := range r.Targets {
			if !s.Set {
				r.Targets[f] = d.later[f]
			}
		}
	}
	return false
}
