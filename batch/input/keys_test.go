package input

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestKeyChunks_repeats(t *testing.T) {
	tests := []struct {
		name string
		n    int // keys
		span uint64
	}{
		{"none", 0, 1},
		{"one chunk", 1000, 700},
		{"across chunks", 3*keyChunk + 17, 150_000},
		{"all the same", keyChunk + 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tt.n)))
			var c keyChunks
			seen := map[uint64]bool{}
			var want []uint64
			for range tt.n {
				k := 1_000_000 + r.Uint64N(tt.span)
				c.add(k)
				if seen[k] {
					want = append(want, k)
				}
				seen[k] = true
			}
			slices.Sort(want)
			if c.len() != tt.n {
				t.Errorf("len = %d, want %d", c.len(), tt.n)
			}
			for i, ch := range c {
				if len(ch) > keyChunk || i < len(c)-1 && len(ch) != keyChunk {
					t.Fatalf("chunk %d holds %d keys", i, len(ch))
				}
			}
			var got []uint64
			c.repeats(func(k uint64) { got = append(got, k) })
			if !slices.Equal(got, want) {
				t.Errorf("repeats gave %d keys, want %d (first: %v vs %v)", len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
			}
		})
	}
}
