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

func TestEscapeCell_examples(t *testing.T) {
	tests := map[string]string{
		"plain": "plain", "": "", "=1+2": "'=1+2", "(clear)": "'(clear)", " x ": `'\x20x\x20`,
		"a\nb": `'a\nb`, `a\b`: `a\b`, `=a\b`: `'=a\\b`, "'x": "''x", "\u00a0x": `'\xC2\xA0x`,
		"bad\xffok": `'bad\xFFok`, "a\x01\tb": `'a\x01\tb`,
	}
	for in, want := range tests {
		if got := EscapeCell(in); got != want {
			t.Errorf("EscapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescapeCell(t *testing.T) {
	for _, c := range []string{`'\`, `'a\q`, `'\x4`, `'\xZZ`, `'\x`, `'\x+1`} {
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

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "plain": "plain", "=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@A1": "'@A1",
		"\t=1": "'\t=1", "\r\n=1": " =1", "a\nb": "a b", "it's": "it's",
	} {
		if got := neutralize(in); got != want {
			t.Errorf("neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// checkEscaped checks what an escaped cell must never be.
func checkEscaped(t *testing.T, v, e string) {
	t.Helper()
	first, _ := utf8.DecodeRuneInString(e)
	last, _ := utf8.DecodeLastRuneInString(e)
	switch {
	case e != "" && strings.ContainsRune("=+-@\t\r", rune(e[0])):
		t.Errorf("EscapeCell(%q) = %q starts a formula", v, e)
	case e != "" && (unicode.IsSpace(first) || unicode.IsSpace(last)):
		t.Errorf("EscapeCell(%q) = %q starts or ends with white space", v, e)
	case strings.ContainsAny(e, "\r\n") || !utf8.ValidString(e) || e == batch.ClearMarker:
		t.Errorf("EscapeCell(%q) = %q holds a line break, is not UTF-8, or is the clear marker", v, e)
	}
}

func FuzzCellEscape(f *testing.F) {
	for _, v := range hostileCells {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		e := EscapeCell(v)
		checkEscaped(t, v, e)
		if got, err := UnescapeCell(e); err != nil || got != v {
			t.Fatalf("UnescapeCell(EscapeCell(%q)) = %q, %v (escaped %q)", v, got, err, e)
		}
		if e == v && strings.HasPrefix(v, "'") {
			t.Fatalf("EscapeCell(%q) left the escape marker as it is", v)
		}
	})
}
