package ratectl

import (
	"fmt"
	"testing"
	"time"
)

// knownMisses are the cells of the grid where ratectl does NOT yet meet
// issue 12's targets (shape, ceiling multiple, Retry-After). They are
// logged, not failed, so that the test guards every cell that does meet
// them; a new miss fails. Issue 12 stays open while this list is not empty.
//
// Some are out of reach in the model itself (TestOracle: a client sending
// at exactly the true limit, 50-300 ms latency): sliding 50/1s at ceiling L
// costs it 1.061x with 5.3% 429s, moving sliding 1.054x with 6.0%, and
// moving fixed 300/5s 3.2% 429s (the halved window is already overfull
// when the dip begins).
var knownMisses = map[string]bool{
	"fixed 300/5s/10L/ra=false":  true,
	"fixed 300/5s/10L/ra=true":   true,
	"sliding 50/1s/1L/ra=false":  true,
	"sliding 50/1s/1L/ra=true":   true,
	"sliding 50/1s/10L/ra=false": true,
	"sliding 50/1s/10L/ra=true":  true,
	// The row refused waits out its Retry-After (up to 5 s here) before it
	// is sent again, as the pacer does; the sim did not model it before.
	"sliding 300/5s/1L/ra=true":         true,
	"sliding 300/5s/10L/ra=false":       true,
	"sliding 300/5s/10L/ra=true":        true,
	"moving bucket 60/s/1L/ra=false":    true,
	"moving bucket 60/s/1L/ra=true":     true,
	"moving fixed 300/5s/1L/ra=false":   true,
	"moving fixed 300/5s/1L/ra=true":    true,
	"moving fixed 300/5s/10L/ra=false":  true,
	"moving fixed 300/5s/10L/ra=true":   true,
	"moving sliding 60/1s/1L/ra=false":  true,
	"moving sliding 60/1s/1L/ra=true":   true,
	"moving sliding 60/1s/10L/ra=false": true,
	"moving sliding 60/1s/10L/ra=true":  true,
	// A busy spell of 3 s after 10 s at ceiling L: the first episode's
	// measure spans the 10 s before it, so it is not far below good and
	// the cautious probe, not the restart, climbs the last 20% (3.5 s).
	"bucket 50, busy 3s@10s/1L/ra=false": true,
	"bucket 50, busy 3s@10s/1L/ra=true":  true,
}

func cellKey(c cell) string { return fmt.Sprintf("%s/%gL/ra=%v", c.shape, c.mult, c.ra) }

func TestGrid_targets(t *testing.T) {
	t.Parallel()
	cells := runGrid(design{"ratectl", func(c float64, now time.Time) ctl { return New(c, now) }})
	for _, c := range cells {
		n, _, why := judge(c)
		miss := n > 0
		switch {
		case miss && knownMisses[cellKey(c)]:
			t.Logf("known miss: %s:%s", cellKey(c), why)
		case miss:
			t.Errorf("%s:%s", cellKey(c), why)
		case knownMisses[cellKey(c)]:
			t.Logf("now met, remove from knownMisses: %s", cellKey(c))
		}
	}
}

// knownLoopbackMisses are knownMisses for the loopback regime. The moving
// limit's own target is only that every row ends ok; it is judged against
// the others here all the same.
var knownLoopbackMisses = map[string]bool{
	"moving bucket 50/s/1L/ra=false": true,
	"moving bucket 50/s/1L/ra=true":  true,
}

// TestGrid_loopbackTargets guards the loopback regime (bench/throttle.sh's
// setting) as TestGrid_targets guards the grid.
func TestGrid_loopbackTargets(t *testing.T) {
	t.Parallel()
	cells := runGridIn(loopback, design{"ratectl", func(c float64, now time.Time) ctl { return New(c, now) }})
	for _, c := range cells {
		n, _, why := judge(c)
		switch {
		case n > 0 && knownLoopbackMisses[cellKey(c)]:
			t.Logf("known miss: %s:%s", cellKey(c), why)
		case n > 0:
			t.Errorf("%s:%s", cellKey(c), why)
		case knownLoopbackMisses[cellKey(c)]:
			t.Logf("now met, remove from knownLoopbackMisses: %s", cellKey(c))
		}
	}
}
