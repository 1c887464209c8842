package batch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostileCells are values that did not survive an undo file: white space at
// either end, the clear marker as a literal alias, line breaks, formulas,
// the escape's own characters, control bytes and bytes that are not UTF-8.
var hostileCells = []string{
	"", "plain", "Front desk 2025550101", `C:\path\n`, "it's", "50% off",
	" leading", "trailing ", "  both  ", " ", "\u00a0nbsp\u00a0", "\u3000wide",
	"(clear)", " (clear)", "(clear) ", "'(clear)",
	"two\nlines", "crlf\r\nline", "\n", "\r", "end\n",
	"=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", `=HYPERLINK("http://evil.example/","x")`,
	"'", "''", "'quoted'", `\`, `'\`, `\x41`, `'\x41`, "back\\slash",
	"nul\x00byte", "bell\a", "del\x7f", "bad\xffutf8", "\xff", "a,b", `say "hi"`,
	"é", "日本語 ", "\u2028sep\u2029",
}

// readAsInput reads cell as the input reader does: a CSV cell, leading
// space trimmed by the csv.Reader, then trimmed, then unescaped.
func readAsInput(t *testing.T, cell string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write([]string{"12025550101", cell, "x"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if n := bytes.Count(buf.Bytes(), []byte{'\n'}); n != 1 {
		t.Errorf("cell %q takes %d lines, want 1", cell, n)
	}
	r := csv.NewReader(&buf)
	r.TrimLeadingSpace = true
	rec, err := r.Read()
	if err != nil {
		t.Fatalf("read back %q: %v", buf.String(), err)
	}
	c := strings.TrimSpace(rec[1])
	if c != cell {
		t.Errorf("cell %q reads back as %q", cell, c)
	}
	return UnescapeCell(c)
}

func TestEscapeCell_roundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range hostileCells {
		e := EscapeCell(v)
		checkEscaped(t, v, e)
		got, err := readAsInput(t, e)
		if err != nil || got != v {
			t.Errorf("EscapeCell(%q) = %q, which reads back as %q, %v", v, e, got, err)
		}
	}
}

func TestEscapeCell_examples(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain":     "plain",
		"":          "",
		"=1+2":      "'=1+2",
		"(clear)":   "'(clear)",
		" x ":       `'\x20x\x20`,
		"a\nb":      `'a\nb`,
		`a\b`:       `a\b`, // not escaped: a backslash means nothing then
		`=a\b`:      `'=a\\b`,
		"'x":        "''x",
		"\u00a0x":   `'\xC2\xA0x`,
		"bad\xffok": `'bad\xFFok`,
	}
	for in, want := range tests {
		if got := EscapeCell(in); got != want {
			t.Errorf("EscapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescapeCell_errors(t *testing.T) {
	t.Parallel()
	for _, c := range []string{`'\`, `'a\q`, `'\x4`, `'\xZZ`, `'\x`} {
		if v, err := UnescapeCell(c); !errors.Is(err, ErrCellEscape) {
			t.Errorf("UnescapeCell(%q) = %q, %v; want ErrCellEscape", c, v, err)
		}
	}
	for c, want := range map[string]string{`a\q`: `a\q`, "'": "", "'it's": "it's", `'\x41\x62`: "Ab"} {
		if v, err := UnescapeCell(c); err != nil || v != want {
			t.Errorf("UnescapeCell(%q) = %q, %v; want %q", c, v, err, want)
		}
	}
}

// checkEscaped checks what an escaped cell must never be.
func checkEscaped(t *testing.T, v, e string) {
	t.Helper()
	if e != "" && strings.ContainsRune("=+-@\t\r", rune(e[0])) {
		t.Errorf("EscapeCell(%q) = %q starts a formula", v, e)
	}
	if first, _ := utf8.DecodeRuneInString(e); e != "" && unicode.IsSpace(first) {
		t.Errorf("EscapeCell(%q) = %q starts with white space", v, e)
	}
	if last, _ := utf8.DecodeLastRuneInString(e); e != "" && unicode.IsSpace(last) {
		t.Errorf("EscapeCell(%q) = %q ends with white space", v, e)
	}
	if strings.ContainsAny(e, "\r\n") {
		t.Errorf("EscapeCell(%q) = %q holds a line break", v, e)
	}
	if !utf8.ValidString(e) {
		t.Errorf("EscapeCell(%q) = %q is not UTF-8", v, e)
	}
	if e == ClearMarker {
		t.Errorf("EscapeCell(%q) = the clear marker", v)
	}
}

func FuzzCellEscape(f *testing.F) {
	for _, v := range hostileCells {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := EscapeCell(v)
		checkEscaped(t, v, e)
		got, err := UnescapeCell(e)
		if err != nil || got != v {
			t.Fatalf("UnescapeCell(EscapeCell(%q)) = %q, %v (escaped %q)", v, got, err, e)
		}
		if e == v && strings.HasPrefix(v, "'") {
			t.Fatalf("EscapeCell(%q) left the escape marker as it is", v)
		}
	})
}

func TestSkipOriginLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"origin", "# plivo-bulk undo: account=MA1 api=https://api.plivo.com\nnumber,alias\n1,a\n", "\nnumber,alias\n1,a\n"},
		{"origin with crlf", "# plivo-bulk undo: x\r\nnumber\r\n", "\nnumber\r\n"},
		{"bom kept", bom + "# plivo-bulk undo: x,,,\nnumber\n", bom + "\nnumber\n"},
		{"none", "number,alias\n1,a\n", "number,alias\n1,a\n"},
		{"other comment", "# notes\nnumber\n", "# notes\nnumber\n"},
		{"origin only, no newline", "# plivo-bulk undo: x", ""},
		{"short", "n", "n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := io.ReadAll(SkipOriginLine(strings.NewReader(tt.in)))
			if err != nil || string(got) != tt.want {
				t.Errorf("SkipOriginLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestSkipOriginLine_lineNumbers checks that a CSV reader skips the line
// but counts it.
func TestSkipOriginLine_lineNumbers(t *testing.T) {
	t.Parallel()
	r := csv.NewReader(SkipOriginLine(strings.NewReader("# plivo-bulk undo: a=b\nnumber,alias\n12025550101,x\n")))
	for _, wantLine := range []int{2, 3} {
		rec, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if line, _ := r.FieldPos(0); line != wantLine {
			t.Errorf("record %q on line %d, want %d", rec, line, wantLine)
		}
	}
}
