package main

import "testing"

// TestFailureBudgetFlagRefusesNonNumbers: a percentage that is not a
// number ("NaN%") must be refused, not taken as a budget that never stops.
func TestFailureBudgetFlagRefusesNonNumbers(t *testing.T) {
	for _, s := range []string{"NaN%", "nan%", "Inf%", "-Inf%", "0%", "101%", "abc", "0"} {
		var f failureBudgetFlag
		if err := f.Set(s); err == nil {
			t.Errorf("--max-failures %q accepted as %s; want an error", s, f.String())
		}
	}
	for _, s := range []string{"5%", "100%", "0.5%", "1", "3"} {
		var f failureBudgetFlag
		if err := f.Set(s); err != nil {
			t.Errorf("--max-failures %q refused: %v", s, err)
		}
	}
}
