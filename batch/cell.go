package batch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The cell escape: how a value that would not survive a CSV file, the input
// reader or a spreadsheet is written into a cell, and read back.
//
// A value is written as it is unless it
//   - starts with = + - @, a tab or a carriage return (a spreadsheet would run
//     it as a formula) or with an apostrophe (the escape's own marker);
//   - is the ClearMarker, (clear), as a literal value;
//   - starts or ends with white space (the input reader trims cells);
//   - holds a control character, such as a line break, or bytes that are
//     not UTF-8.
//
// Such a value is written as an apostrophe followed by the value, in which
// a backslash is written \\, a line feed \n, a carriage return \r, a tab \t,
// and any other control character, invalid byte, or white space at the start
// or the end of the value as \xHH (two hexadecimal digits per byte). So an
// escaped cell starts with an apostrophe, which spreadsheets show as text,
// never as a formula, and has no line break and no white space at either end.
//
// Reading back, a cell that does not start with an apostrophe is the value
// itself: a backslash in it means nothing. A cell that starts with one is
// decoded as above (the apostrophe is dropped, as a spreadsheet drops the
// apostrophe that marks a cell typed as text); any other backslash sequence
// in it is an error.

// MaxCell is the most bytes a cell of an input may hold (the input reader
// refuses a longer one), and so the most that the files written to be read
// back as input, the undo file and the export, may write in one.
const MaxCell = 64 << 10

// ErrCellTooLong is matched by the error of writing a value whose cell
// would be longer than MaxCell: the file could not be read back.
var ErrCellTooLong = errors.New("longer than an input cell may be")

// CheckCell returns an error matching ErrCellTooLong when cell, the cell of
// field, is longer than MaxCell.
func CheckCell(field, cell string) error {
	if len(cell) > MaxCell {
		return fmt.Errorf("%w: its %s is %d bytes once escaped, more than the %d an input cell may hold", ErrCellTooLong, field, len(cell), MaxCell)
	}
	return nil
}

// ErrCellEscape is returned by UnescapeCell for an escaped cell with a
// backslash sequence that EscapeCell does not write.
var ErrCellEscape = errors.New("bad escape in a cell that starts with an apostrophe")

// EscapeCell returns s as a cell that UnescapeCell turns back into s and
// that is safe to open in a spreadsheet (see the cell escape above).
func EscapeCell(s string) string {
	if !needsEscape(s) {
		return s
	}
	// The white space at either end, byte offsets: [0, lead) and [trail, len).
	lead := 0
	for lead < len(s) {
		r, n := utf8.DecodeRuneInString(s[lead:])
		if r == utf8.RuneError && n <= 1 || !unicode.IsSpace(r) {
			break
		}
		lead += n
	}
	trail := len(s)
	for trail > lead {
		r, n := utf8.DecodeLastRuneInString(s[:trail])
		if r == utf8.RuneError && n <= 1 || !unicode.IsSpace(r) {
			break
		}
		trail -= n
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		c := s[i]
		if i < lead || i >= trail {
			writeHex(&b, c)
			i++
			continue
		}
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			writeHex(&b, c)
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				writeHex(&b, c)
				break
			}
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		i++
	}
	return b.String()
}

func writeHex(b *strings.Builder, c byte) {
	const hex = "0123456789ABCDEF"
	b.WriteString(`\x`)
	b.WriteByte(hex[c>>4])
	b.WriteByte(hex[c&0xf])
}

// needsEscape reports whether s must be escaped to survive the round trip.
func needsEscape(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return true
	}
	if s == ClearMarker {
		return true
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsSpace(r) {
		return true
	}
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// UnescapeCell returns the value that cell holds: cell itself, unless it
// starts with an apostrophe, which marks a value escaped by EscapeCell.
// The input reader calls it on every cell, the number's included, after
// trimming the cell and, for a target, after recognising the ClearMarker
// (an escaped cell is never the marker). The error wraps ErrCellEscape.
func UnescapeCell(cell string) (string, error) {
	if cell == "" || cell[0] != '\'' {
		return cell, nil
	}
	body := cell[1:]
	i := strings.IndexByte(body, '\\')
	if i < 0 {
		return body, nil
	}
	b := make([]byte, 0, len(body))
	b = append(b, body[:i]...)
	for ; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if i+1 >= len(body) {
			return "", fmt.Errorf("%w: a lone backslash at its end (write a backslash as \\\\)", ErrCellEscape)
		}
		i++
		switch body[i] {
		case '\\':
			b = append(b, '\\')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'x':
			if i+2 >= len(body) || unhex(body[i+1]) < 0 || unhex(body[i+2]) < 0 {
				return "", fmt.Errorf("%w: \\x must be followed by two hexadecimal digits", ErrCellEscape)
			}
			b = append(b, byte(unhex(body[i+1])<<4|unhex(body[i+2])))
			i += 2
		default:
			r, _ := utf8.DecodeRuneInString(body[i:])
			return "", fmt.Errorf("%w: \\%s (the escapes are \\\\ \\n \\r \\t \\xHH)", ErrCellEscape, quoteRune(r))
		}
	}
	return string(b), nil
}

func quoteRune(r rune) string {
	if unicode.IsPrint(r) {
		return string(r)
	}
	return fmt.Sprintf("%U", r)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// OriginLinePrefix starts the first line of the files plivo-bulk writes for
// a run (the report and the undo file): a line that records the account and
// the API host the file was written against, such as
//
//	# plivo-bulk undo: account=MAXXXXXXXXXXXXXXXXXX api=https://api.plivo.com
//
// The CSV header follows it. An undo file is fed back as input, so the input
// reader skips this line (with SkipOriginLine), and counts it: the header is
// then line 2, and row 2.
const OriginLinePrefix = "# plivo-bulk "

// SkipOriginLine returns a reader of r's bytes in which an origin line at the
// very start (after a UTF-8 byte order mark, if any, which is kept) is
// reduced to its line end. encoding/csv skips an empty line but still counts
// it, so the rows keep the line numbers a text editor or a spreadsheet shows.
// Any other input passes through unchanged.
func SkipOriginLine(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(len(bom) + len(OriginLinePrefix))
	skip := 0
	if bytes.HasPrefix(head, []byte(bom)) {
		skip = len(bom)
	}
	if !bytes.HasPrefix(head[skip:], []byte(OriginLinePrefix)) {
		return br
	}
	return &originSkipper{r: br, keep: append([]byte(nil), head[:skip]...)}
}

const bom = "\xef\xbb\xbf"

type originSkipper struct {
	r    *bufio.Reader
	keep []byte // the byte order mark, handed on before anything else
	done bool   // the origin line has been dropped
}

func (o *originSkipper) Read(p []byte) (int, error) {
	if !o.done {
		o.done = true
		if _, err := o.r.Discard(len(o.keep)); err != nil {
			return 0, err
		}
		// Drop up to, not including, the line end: "\r\n" or "\n".
		for {
			c, err := o.r.ReadByte()
			if err != nil {
				if err == io.EOF && len(o.keep) > 0 {
					break
				}
				return 0, err
			}
			if c == '\n' {
				o.keep = append(o.keep, '\n')
				break
			}
		}
	}
	if len(o.keep) > 0 {
		n := copy(p, o.keep)
		o.keep = o.keep[n:]
		return n, nil
	}
	return o.r.Read(p)
}
