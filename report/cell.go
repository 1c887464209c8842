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

// The cell escape: how the files read back by the tool (the undo file, the
// export, the report's targets, the plan's values) write a value exactly,
// safe in a spreadsheet, and how the input reader reads it back.
//
// A value is written as it is unless it starts with = + - @, a tab, a
// carriage return (a spreadsheet would run it as a formula) or an
// apostrophe (the escape's marker); is the literal (clear); starts or ends
// with white space (the input reader trims cells); or holds a control
// character or bytes that are not UTF-8. Then it is written as an
// apostrophe and the value, with \\ \n \r \t for a backslash, a line feed,
// a carriage return and a tab, and \xHH for any other control byte, invalid
// byte, or white-space byte at either end. An escaped cell has no line
// break, so every record is one line. Read back, a cell that does not start
// with an apostrophe is the value itself.

// MaxCell is the most bytes a cell of an input may hold (the input reader
// refuses a longer one), so the most a file meant to be read back may write.
const MaxCell = 64 << 10

// CheckCell returns an error matching batch.ErrCellTooLong when cell, the
// cell of field, is longer than MaxCell.
func CheckCell(field, cell string) error {
	if len(cell) > MaxCell {
		return fmt.Errorf("%w: its %s is %d bytes once escaped, more than the %d an input cell may hold", batch.ErrCellTooLong, field, len(cell), MaxCell)
	}
	return nil
}

// ErrCellEscape is returned by UnescapeCell for an escaped cell with a
// backslash sequence that EscapeCell does not write.
var ErrCellEscape = errors.New("bad escape in a cell that starts with an apostrophe")

// EscapeCell returns s as a cell that UnescapeCell turns back into s.
func EscapeCell(s string) string {
	if !needsEscape(s) {
		return s
	}
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	trail := max(lead, len(strings.TrimRightFunc(s, unicode.IsSpace)))
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		c := s[i]
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case i < lead || i >= trail || r == utf8.RuneError && n <= 1 || c < 0x20 && !strings.ContainsRune("\n\r\t", r) || c == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, c)
			n = 1
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether s must be escaped to survive the round trip.
func needsEscape(s string) bool {
	if s == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if strings.IndexByte("=+-@\t\r'", s[0]) >= 0 || s == batch.ClearMarker || unicode.IsSpace(first) || unicode.IsSpace(last) {
		return true
	}
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 || !utf8.ValidString(s)
}

// UnescapeCell returns the value that cell holds: cell itself, unless it
// starts with an apostrophe, which marks a value escaped by EscapeCell.
// The input reader calls it on every cell after trimming it and, for a
// target, after recognising (clear) (an escaped cell is never the marker).
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
		if i++; i == len(body) {
			return "", fmt.Errorf("%w: a lone backslash at its end (write a backslash as \\\\)", ErrCellEscape)
		}
		switch c := body[i]; c {
		case '\\':
			b = append(b, '\\')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'x':
			v, err := strconv.ParseUint(body[i+1:min(i+3, len(body))], 16, 8)
			if err != nil || i+2 >= len(body) {
				return "", fmt.Errorf("%w: \\x must be followed by two hexadecimal digits", ErrCellEscape)
			}
			b = append(b, byte(v))
			i += 2
		default:
			r, _ := utf8.DecodeRuneInString(body[i:])
			q := string(r)
			if !unicode.IsPrint(r) {
				q = fmt.Sprintf("%U", r)
			}
			return "", fmt.Errorf("%w: \\%s (the escapes are \\\\ \\n \\r \\t \\xHH)", ErrCellEscape, q)
		}
	}
	return string(b), nil
}

// escaped returns s as a cell that records it exactly: empty when not set,
// (clear) when set to "", else the value escaped.
func escaped(s batch.Setting) string {
	if s.Set && s.Value == "" {
		return batch.ClearMarker
	}
	return EscapeCell(s.Value)
}

// Neutralize makes a cell that people read safe in a spreadsheet, though
// not exact: a leading = + - @ tab or carriage return (run as a formula)
// gets an apostrophe before it, and line breaks become spaces.
func Neutralize(s string) string {
	s = lineBreaks.Replace(s)
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

var lineBreaks = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")
