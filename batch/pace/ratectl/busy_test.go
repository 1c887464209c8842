package ratectl

import (
	"testing"
	"time"
)

// TestBusy_short is the live pacer's case: 60 rows at --rate 100 against
// a bucket of 50/s, the account busy (95% of requests refused at random)
// for the first 3 s. It took 27 s when the estimate collapsed to MinRate.
func TestBusy_short(t *testing.T) {
	t.Parallel()
	for _, seed := range gridSeeds {
		lim := busyShape("", 0, 3*time.Second).mk(newRand(seed))
		res := simulate(New(100, epoch), lim, simConfig{
			rows: 60, ceiling: 100, latMin: 50 * time.Millisecond, latMax: 300 * time.Millisecond, seed: seed,
		})
		want := 1200*time.Millisecond + 3*time.Second + busyOver
		t.Logf("seed %d: %v, %d 429s of %d", seed, res.wall.Round(time.Millisecond), res.throttled, res.requests)
		if res.done != 60 || res.wall > want {
			t.Errorf("seed %d: %d rows in %v, want 60 in ≤ %v", seed, res.done, res.wall, want)
		}
	}
}
