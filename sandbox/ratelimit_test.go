package sandbox

import (
	"strings"
	"testing"
	"time"
)

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Rate
		str     string
		wantErr string
	}{
		{in: "60", want: Rate{60, time.Second}, str: "60/1s"},
		{in: " 60 / s ", want: Rate{60, time.Second}, str: "60/1s"},
		{in: "300/5s", want: Rate{300, 5 * time.Second}, str: "300/5s"},
		{in: "1000/m", want: Rate{1000, time.Minute}, str: "1000/1m0s"},
		{in: "5/500ms", want: Rate{5, 500 * time.Millisecond}, str: "5/500ms"},
		{in: "0.25", want: Rate{0.25, time.Second}, str: "0.25/1s"},
		{in: "0", want: Rate{0, time.Second}, str: "0"},
		{in: "", wantErr: "want N, N/s or N/5s"},
		{in: "-1", wantErr: "want N"},
		{in: "NaN", wantErr: "want N"},
		{in: "60/", wantErr: "window"},
		{in: "60/5", wantErr: "window"},
		{in: "60/0s", wantErr: "window"},
		{in: "60/48h", wantErr: "window"},
	}
	for _, tt := range tests {
		got, err := ParseRateLimit(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRateLimit(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseRateLimit(%q) = %v (%q), %v; want %v (%q)", tt.in, got, got, err, tt.want, tt.str)
		}
		var again Rate
		if err := again.Set(got.String()); err != nil || again != got {
			t.Errorf("Set(%q) = %v, %v; want %v", got, again, err, got)
		}
	}
}
