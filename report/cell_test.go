package report

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// hostileCells are values that did not survive an undo file, the seeds of FuzzCellEscape, whose
// every run reads them back (an undo file's round trip through the input reader: TestUndo_readBack).
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

// TestCells: a value's exact cell (EscapeCell, read back by UnescapeCell) and its cell for people
// (neutralize); the cells UnescapeCell reads that EscapeCell does not write; its bad escapes.
func TestCells(t *testing.T) {
	for _, tt := range [][3]string{ // value, exact, for people
		{"plain", "plain", "plain"}, {"", "", ""}, {"=1+2", "'=1+2", "'=1+2"}, {"+1", "'+1", "'+1"}, {"-1", "'-1", "'-1"},
		{"@A1", "'@A1", "'@A1"}, {"(clear)", "'(clear)", "(clear)"}, {" x ", `'\x20x\x20`, " x "}, {"a\nb", `'a\nb`, "a b"},
		{"\t=1", `'\x09=1`, "'\t=1"}, {"\r\n=1", `'\x0D\x0A=1`, " =1"}, {`a\b`, `a\b`, `a\b`}, {`=a\b`, `'=a\\b`, `'=a\b`},
		{"'x", "''x", "'x"}, {"it's", "it's", "it's"}, {"\u00a0x", `'\xC2\xA0x`, "\u00a0x"}, {"bad\xffok", `'bad\xFFok`, "bad\xffok"},
		{"a\x01\tb", `'a\x01\tb`, "a\x01\tb"},
	} {
		exact, people := EscapeCell(tt[0]), neutralize(tt[0])
		if back, err := UnescapeCell(exact); exact != tt[1] || people != tt[2] || back != tt[0] || err != nil {
			t.Errorf("%q: exact %q, for people %q, read back %q, %v; want %q, %q", tt[0], exact, people, back, err, tt[1], tt[2])
		}
	}
	for c, want := range map[string]string{`a\q`: `a\q`, "'": "", "'it's": "it's", `'\x41\x62`: "Ab"} {
		if v, err := UnescapeCell(c); err != nil || v != want {
			t.Errorf("UnescapeCell(%q) = %q, %v; want %q", c, v, err, want)
		}
	}
	for c, msg := range map[string]string{`'\`: "a lone backslash at its end", `'a\q`: `\q (the escapes are`, `'\x4`: "\\x must be followed by two hexadecimal digits",
		`'\xZZ`: "two hexadecimal", `'\x`: "two hexadecimal", `'\x+1`: "two hexadecimal", "'\\\u00e9": `\é (`, "'\\\a": `\U+0007 (`} {
		if v, err := UnescapeCell(c); !errors.Is(err, ErrCellEscape) || !strings.Contains(err.Error(), msg) {
			t.Errorf("UnescapeCell(%q) = %q, %v; want ErrCellEscape saying %q", c, v, err, msg)
		}
	}
}

func FuzzCellEscape(f *testing.F) {
	for _, v := range hostileCells {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := EscapeCell(v)
		first, _ := utf8.DecodeRuneInString(e)
		last, _ := utf8.DecodeLastRuneInString(e)
		if e != "" && (strings.ContainsRune("=+-@\t\r", rune(e[0])) || unicode.IsSpace(first) || unicode.IsSpace(last)) ||
			strings.ContainsAny(e, "\r\n") || !utf8.ValidString(e) || e == batch.ClearMarker {
			t.Errorf("EscapeCell(%q) = %q: a formula, white space at an end, a line break, not UTF-8, or the clear marker", v, e)
		}
		if got, err := UnescapeCell(e); err != nil || got != v {
			t.Fatalf("UnescapeCell(EscapeCell(%q)) = %q, %v (escaped %q)", v, got, err, e)
		}
		if e == v && strings.HasPrefix(v, "'") {
			t.Fatalf("EscapeCell(%q) left the escape marker as it is", v)
		}
	})
}
