package ratectl

import (
	"fmt"
	"testing"
	"time"
)

// oracle sends at f times the server's true limit at every instant, and
// ignores 429s and Retry-After (the rows come back and are sent again): the
// best a client that knows the limit, but not the latency, can do.
type oracle struct {
	lim     limiter
	f       float64
	ceiling float64
}

func (o *oracle) OnAccepted(time.Time, time.Time)                 {}
func (o *oracle) OnThrottled(time.Time, time.Time, time.Duration) {}
func (o *oracle) PauseUntil() time.Time                           { return time.Time{} }
func (o *oracle) Rate(now time.Time) float64 {
	return min(o.ceiling, o.f*o.lim.limit(now.Sub(epoch)))
}

// TestOracle is the harness's fairness check: what a perfect client gets.
func TestOracle(t *testing.T) {
	t.Parallel()
	for si, sh := range shapes() {
		line := fmt.Sprintf("%-22s", sh.name)
		for _, f := range []float64{1, 0.99, 0.98, 0.97, 0.95} {
			var worst simResult
			var worst429 simResult
			for i, seed := range gridSeeds {
				rng := newRand(seed*1000 + uint64(si))
				lim := sh.mk(rng)
				ref := sh.mk(newRand(0))
				res := simulate(&oracle{lim: ref, f: f, ceiling: sh.l}, lim, simConfig{
					rows: gridRows, ceiling: sh.l, latMin: 50 * time.Millisecond, latMax: 300 * time.Millisecond, seed: seed,
				})
				if i == 0 || res.ratio() > worst.ratio() {
					worst = res
				}
				if i == 0 || res.share() > worst429.share() {
					worst429 = res
				}
			}
			line += fmt.Sprintf(" | %.2f: %.3f× %5.2f%%", f, worst.ratio(), 100*worst429.share())
		}
		t.Log(line)
	}
}
