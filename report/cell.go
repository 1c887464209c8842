package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// The cell escape of the files read back (undo file, export, the report's targets, the plan's
// values): a value that could be a formula, (clear), trimmed by the reader, or not one line of
// UTF-8 text is written as ' and the value, with \\ \n \r \t and \xHH: one line, exact, no formula.

// MaxCell is the most bytes an input cell, so a cell of a file read back, may hold.
const MaxCell = 64 << 10

// checkCell fails with batch.ErrCellTooLong when field's cell is longer than MaxCell.
func checkCell(field, cell string) error {
	if len(cell) > MaxCell {
		return fmt.Errorf("%w: its %s is %d bytes once escaped, more than the %d an input cell may hold", batch.ErrCellTooLong, field, len(cell), MaxCell)
	}
	return nil
}

// ErrCellEscape is returned by UnescapeCell for an escape EscapeCell does not write.
var ErrCellEscape = errors.New("bad escape in a cell that starts with an apostrophe")

// EscapeCell returns s as a cell that UnescapeCell turns back into s: s itself unless it starts
// with one of =+-@' or is (clear), or a byte of it must be escaped.
func EscapeCell(s string) string {
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	trail := max(lead, len(strings.TrimRightFunc(s, unicode.IsSpace)))
	var buf [128]byte // on the stack: a cell left as it is costs no allocation
	b, must := append(buf[:0], '\''), s == batch.ClearMarker || s != "" && strings.IndexByte("=+-@'", s[0]) >= 0
	for i := 0; i < len(s); {
		c := s[i]
		r, n := utf8.DecodeRuneInString(s[i:])
		switch e := strings.IndexByte(controls, c); {
		case i < lead || i >= trail || r == utf8.RuneError && n <= 1 || (c < 0x20 || c == 0x7f) && e < 0:
			b, n, must = fmt.Appendf(b, `\x%02X`, c), 1, true
		case e >= 0:
			b, must = append(b, '\\', codes[e]), must || e > 0 // a backslash alone needs no escape
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	if !must {
		return s
	}
	return string(b)
}

// The characters escaped by a backslash and a letter, and their letters.
const controls, codes = "\\\n\r\t", "\\nrt"

// UnescapeCell returns the value cell holds: cell itself, unless it starts with an apostrophe.
func UnescapeCell(cell string) (string, error) {
	body, ok := strings.CutPrefix(cell, "'")
	if !ok || strings.IndexByte(body, '\\') < 0 {
		return body, nil
	}
	b := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			b = append(b, body[i])
			continue
		}
		esc := body[i+1:min(i+4, len(body))] + "   " // what follows the backslash, padded
		if e := strings.IndexByte(codes, esc[0]); e >= 0 {
			b, i = append(b, controls[e]), i+1
		} else if v, err := strconv.ParseUint(esc[1:3], 16, 8); esc[0] == 'x' && err == nil {
			b, i = append(b, byte(v)), i+3
		} else if r, _ := utf8.DecodeRuneInString(body[i+1:]); i+1 == len(body) {
			return "", fmt.Errorf("%w: a lone backslash at its end (write a backslash as \\\\)", ErrCellEscape)
		} else if r == 'x' {
			return "", fmt.Errorf("%w: \\x must be followed by two hexadecimal digits", ErrCellEscape)
		} else {
			bad := map[bool]string{true: string(r), false: fmt.Sprintf("%U", r)}[unicode.IsPrint(r)]
			return "", fmt.Errorf("%w: \\%s (the escapes are \\\\ \\n \\r \\t \\xHH)", ErrCellEscape, bad)
		}
	}
	return string(b), nil
}

// escaped records s exactly: empty when not set, (clear) when set to "".
func escaped(s batch.Setting) string {
	if s.Set && s.Value == "" {
		return batch.ClearMarker
	}
	return EscapeCell(s.Value)
}

// neutralize makes a cell people read safe in a spreadsheet, not exact: '=..., no line breaks.
func neutralize(s string) string {
	if strings.ContainsAny(s, "\r\n") { // Replace allocates even for nothing
		s = lineBreaks.Replace(s)
	}
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")
