package input

import (
	"io"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// MaxCell is the most bytes a cell may hold, and maxRow the most a row may:
// encoding/csv holds a whole line and a whole quoted cell in memory, and a
// file holding one huge cell would otherwise take many times its size. The
// writers of the undo file and the export check the same MaxCell.
const (
	MaxCell = batch.MaxCell
	maxRow  = 1 << 20
)

// tooLong is the error of a read that went past MaxCell or maxRow.
type tooLong struct {
	line, col int // where the cell (or the row, col 0) starts
}

func (e *tooLong) Error() string { return "cell or row too long" }

// cellLimit counts the bytes of each cell and row as they stream past, and
// fails the read as soon as one grows past its cap, before encoding/csv
// buffers more. It follows CSV quoting closely enough to see where cells
// end; where it could read a quote otherwise than the csv.Reader (which
// then refuses the file anyway), it takes the cell to go on, so that it
// never counts a cell shorter than it is.
type cellLimit struct {
	r             io.Reader
	state         int
	cell, row     int // bytes in the current cell and row
	line, col     int // the current line; the current cell's column
	cellLine      int // the line where the current cell starts
	rowLine       int // the line where the current row starts
	started, done bool
}

// The states of cellLimit.
const (
	cellStart    = iota // no byte of the cell yet, or only leading spaces
	unquoted            // in a cell that does not start with a quote
	quoted              // in a quoted cell
	quoteInQuote        // just after a quote in a quoted cell: its end, or the first of a pair
)

func (l *cellLimit) Read(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.line, l.col, l.cellLine, l.rowLine = 1, 1, 1, 1
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if e := l.step(c); e != nil {
			return i, e
		}
	}
	return n, err
}

// step takes one byte; it returns a *tooLong when a cap is passed. A
// cell's count leaves out the quotes around it and counts a doubled quote
// once, as the cell will hold it; a row's counts every byte.
func (l *cellLimit) step(c byte) error {
	l.row++
	if l.row > maxRow {
		return &tooLong{line: l.rowLine}
	}
	if c == '\n' {
		l.line++
	}
	switch {
	case c == ',' && l.state != quoted:
		if l.cell > MaxCell { // its last byte, a "\r" (see below), is in it
			return &tooLong{line: l.cellLine, col: l.col}
		}
		l.cell, l.state = 0, cellStart
		l.col++
		l.cellLine = l.line
		return nil
	case c == '\n' && l.state != quoted:
		l.cell, l.row, l.state = 0, 0, cellStart
		l.col = 1
		l.cellLine, l.rowLine = l.line, l.line
		return nil
	}
	switch l.state {
	case cellStart:
		switch {
		case c == '"':
			l.state = quoted
			return nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c >= 0x80:
			// Leading space, which the csv.Reader drops before it
			// looks for a quote (a byte >= 0x80 may be part of a
			// Unicode space).
		default:
			l.state = unquoted
		}
	case quoted:
		if c == '"' {
			l.state = quoteInQuote
			return nil
		}
	case quoteInQuote:
		if c != '\r' { // "\r\n" after the closing quote ends the row
			l.state = quoted // a doubled quote, or one the csv.Reader refuses
		}
	}
	l.cell++
	// A "\r" that takes a cell (not inside quotes) past the cap may end a
	// CRLF line, and is then not in the cell: the next byte tells.
	if l.cell > MaxCell && !(c == '\r' && l.state != quoted && l.cell == MaxCell+1) {
		return &tooLong{line: l.cellLine, col: l.col}
	}
	return nil
}
