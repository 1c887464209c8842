package input

import (
	"maps"
	"slices"
	"testing"
)

func TestCountDuplicates(t *testing.T) {
	tests := []struct {
		name     string
		keys     []uint64
		distinct int
		dups     []uint64
	}{
		{"none", nil, 0, nil},
		{"one", []uint64{7}, 1, nil},
		{"all distinct", []uint64{3, 1, 2}, 3, nil},
		{"a pair", []uint64{5, 1, 5}, 2, []uint64{5}},
		{"three of one, two of another", []uint64{9, 4, 9, 4, 9, 1}, 3, []uint64{4, 9}},
		{"all the same", []uint64{2, 2, 2, 2}, 1, []uint64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			distinct, dups := countDuplicates(slices.Clone(tt.keys))
			got := slices.Sorted(maps.Keys(dups))
			if distinct != tt.distinct || !slices.Equal(got, tt.dups) {
				t.Errorf("countDuplicates(%v) = %d, %v; want %d, %v", tt.keys, distinct, got, tt.distinct, tt.dups)
			}
		})
	}
}
