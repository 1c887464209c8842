package main

import (
	"path/filepath"
	"testing"
)

func TestParseExportFlags_prefix(t *testing.T) {
	out := filepath.Join(t.TempDir(), "numbers.csv")
	for _, tt := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"1415", true},
		{"+1415", false},
		{"14 15", false},
		{"abc", false},
	} {
		var o exportFlags
		err := parseInto(newExportCmd(&sys{getenv: envOf(nil)}, &o), []string{"--output", out, "--prefix", tt.prefix})
		if err == nil {
			err = o.check()
		}
		if (err == nil) != tt.ok {
			t.Errorf("--prefix %q: err %v, want ok %v", tt.prefix, err, tt.ok)
		}
		if err != nil && !isUsage(err) {
			t.Errorf("--prefix %q: %v is not a usage error (exit 2)", tt.prefix, err)
		}
	}
}
