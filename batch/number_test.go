package batch

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in, want, why string
	}{
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
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, why := NormalizeNumber(tt.in)
			if got != tt.want {
				t.Errorf("NormalizeNumber(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.why == "" && why != "" || tt.why != "" && !strings.Contains(why, tt.why) {
				t.Errorf("NormalizeNumber(%q) reason = %q, want it to contain %q", tt.in, why, tt.why)
			}
		})
	}
}

// BenchmarkNormalizeNumber is one number as people write it ("formatted")
// and as Plivo's own exports write it ("e164").
func BenchmarkNormalizeNumber(b *testing.B) {
	for _, tt := range []struct{ name, in string }{
		{"formatted", "+1 (202) 555-0101"},
		{"e164", "+12025550101"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if n, why := NormalizeNumber(tt.in); why != "" || len(n) != 11 {
					b.Fatal(n, why)
				}
			}
		})
	}
}

// isNormalNumber reports whether s is what NormalizeNumber returns for a
// good number: 7 to 15 ASCII digits, not starting with 0.
func isNormalNumber(s string) bool {
	if len(s) < 7 || len(s) > 15 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FuzzNormalizeNumber checks NormalizeNumber on arbitrary strings: it gives
// either a number or a reason, never both and never neither; a number is
// the input's digits, 7 to 15 of them, not starting with 0; and a number
// normalises to itself.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{
		"12025551111", "+1 (202) 555-1111", " +44.20.7946.0101 ", "1234567", "123456789012345",
		"", "123456", "1234567890123456", "1202555111x", "++12025551111", "1202+5551111",
		"0044 20 7946 0101", "１２０２５５５１１１１", "\t+1\t202\t555\t1111\t", "1202555\xff1111", "+",
	} {
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
		if !isNormalNumber(got) {
			t.Errorf("NormalizeNumber(%q) = %q, want 7 to 15 digits not starting with 0", s, got)
		}
		if digits := asciiDigits(s); got != digits {
			t.Errorf("NormalizeNumber(%q) = %q, want the input's digits %q", s, got, digits)
		}
		if again, why := NormalizeNumber(got); again != got || why != "" {
			t.Errorf("NormalizeNumber(%q) = %q, %q, want itself", got, again, why)
		}
	})
}

func asciiDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
