package batch

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeNumber(t *testing.T) {
	for _, tt := range []struct{ in, want, why string }{
		{in: "12025551111", want: "12025551111"},
		{in: "+1 (202) 555-1111", want: "12025551111"},
		{in: " +44.20.7946.0101 ", want: "442079460101"},
		{in: "1234567", want: "1234567"},
		{in: "123456789012345", want: "123456789012345"},
		{in: "", why: "number is empty"},
		{in: "123456", why: "fewer than 7 digits"},
		{in: "1234567890123456", why: "more than 15 digits"},
		{in: "1202555111x", why: `not a digit: "x"`},
		{in: "++12025551111", why: `not a digit: "+"`},
		{in: "1202+5551111", why: `not a digit: "+"`},
		{in: "0044 20 7946 0101", why: "starts with 0"},
		{in: "1.2025E+10", why: `number "1.2025E+10" looks like a spreadsheet's scientific notation`},
		{in: "１２０２５５５１１１１", why: "not a digit"},
	} {
		got, why := NormalizeNumber(tt.in)
		if got != tt.want || (tt.why == "") != (why == "") || !strings.Contains(why, tt.why) {
			t.Errorf("NormalizeNumber(%q) = %q, %q; want %q and a reason containing %q", tt.in, got, why, tt.want, tt.why)
		}
	}
}

// FuzzNormalizeNumber: a number or a reason, never both nor neither; a number is the input's ASCII digits, 7
// to 15 of them, not starting with 0, and normalises to itself.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"+1 (202) 555-1111", "123456", "1234567890123456", "1202+5551111", "\t+1\t202\t555\t1111\t", "1202555\xff1111", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, why := NormalizeNumber(s)
		if (got == "") == (why == "") {
			t.Fatalf("NormalizeNumber(%q) = %q, %q: want exactly one of a number and a reason", s, got, why)
		}
		if why != "" {
			if !utf8.ValidString(why) {
				t.Errorf("NormalizeNumber(%q) reason %q is not valid UTF-8", s, why)
			}
			return
		}
		var digits strings.Builder
		for _, c := range []byte(s) {
			if c >= '0' && c <= '9' {
				digits.WriteByte(c)
			}
		}
		if again, why := NormalizeNumber(got); got != digits.String() || len(got) < 7 || len(got) > 15 || got[0] == '0' || again != got || why != "" {
			t.Errorf("NormalizeNumber(%q) = %q, want its 7 to 15 digits not starting with 0, normalising to itself", s, got)
		}
	})
}
