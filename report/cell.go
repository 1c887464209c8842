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

// EscapeCell returns s as a cell that UnescapeCell turns back into s.
func EscapeCell(s string) string {
	if !needsEscape(s) {
		return s
	}
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	trail := max(lead, len(strings.TrimRightFunc(s, unicode.IsSpace)))
	b := []byte{'\''}
	for i := 0; i < len(s); {
		c := s[i]
		r, n := utf8.DecodeRuneInString(s[i:])
		switch e := strings.IndexByte(controls, c); {
		case i < lead || i >= trail || r == utf8.RuneError && n <= 1 || (c < 0x20 || c == 0x7f) && e < 0:
			b, n = fmt.Appendf(b, `\x%02X`, c), 1
		case e >= 0:
			b = append(b, '\\', codes[e])
		default:
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// The characters escaped by a backslash and a letter, and their letters.
const controls, codes = "\\\n\r\t", "\\nrt"

// needsEscape reports whether s must be escaped to survive the round trip.
func needsEscape(s string) bool {
	if s == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return strings.IndexByte("=+-@\t\r'", s[0]) >= 0 || s == batch.ClearMarker || unicode.IsSpace(first) || unicode.IsSpace(last) ||
		strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || !utf8.ValidString(s)
}

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
		i++
		if i == len(body) {
			return "", fmt.Errorf("%w: a lone backslash at its end (write a backslash as \\\\)", ErrCellEscape)
		}
		if e := strings.IndexByte(codes, body[i]); e >= 0 {
			b = append(b, controls[e])
		} else if v, err := strconv.ParseUint(body[i+1:min(i+3, len(body))], 16, 8); body[i] == 'x' && err == nil && i+2 < len(body) {
			b, i = append(b, byte(v)), i+2
		} else if body[i] == 'x' {
			return "", fmt.Errorf("%w: \\x must be followed by two hexadecimal digits", ErrCellEscape)
		} else if r := []rune(body[i:])[0]; unicode.IsPrint(r) {
			return "", fmt.Errorf("%w: \\%c (the escapes are \\\\ \\n \\r \\t \\xHH)", ErrCellEscape, r)
		} else {
			return "", fmt.Errorf("%w: \\%U (the escapes are \\\\ \\n \\r \\t \\xHH)", ErrCellEscape, r)
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
