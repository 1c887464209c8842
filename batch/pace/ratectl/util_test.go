package ratectl

import (
	"math/rand/v2"
	"sort"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 42)) }

func sortCells(cells []cell, order map[string]int) {
	sort.Slice(cells, func(i, j int) bool {
		a, b := cells[i], cells[j]
		if order[a.shape] != order[b.shape] {
			return order[a.shape] < order[b.shape]
		}
		if a.mult != b.mult {
			return a.mult < b.mult
		}
		return !a.ra && b.ra
	})
}
