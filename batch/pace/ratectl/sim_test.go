package ratectl

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The simulation: rows sent through a token bucket at the Controller's rate, with a latency, against a
// server limiter, on a clock stepping 1 ms. A row answered 429 is sent again (after its Retry-After, as
// the pacer does) until accepted.

// limiter decides a request arriving t into the run; refused, retryAfter is the time until a slot frees.
type limiter func(t time.Duration) (ok bool, retryAfter time.Duration)

// bucket: rate l, burst b, full at the start.
func bucket(l, b float64) limiter {
	tokens, last := b, time.Duration(0)
	return func(t time.Duration) (bool, time.Duration) {
		tokens, last = min(b, tokens+l*(t-last).Seconds()), t
		if tokens >= 1 {
			tokens--
			return true, 0
		}
		return false, time.Duration((1 - tokens) / l * float64(time.Second))
	}
}

// fixed: n per window w aligned on the server's clock; the run starts phase into a window.
func fixed(n int, w, phase time.Duration) limiter {
	window, count := int64(-1), 0
	return func(t time.Duration) (bool, time.Duration) {
		st := t + phase
		if win := int64(st / w); win != window {
			window, count = win, 0
		}
		if count < n {
			count++
			return true, 0
		}
		return false, time.Duration(window+1)*w - st
	}
}

// sliding: n in any trailing w.
func sliding(n int, w time.Duration) limiter {
	var log []time.Duration // accepted, oldest first
	return func(t time.Duration) (bool, time.Duration) {
		for len(log) > 0 && log[0] <= t-w {
			log = log[1:]
		}
		if len(log) < n {
			log = append(log, t)
			return true, 0
		}
		return false, log[len(log)-n] + w - t
	}
}

type simResult struct {
	wall                      time.Duration
	requests, throttled, done int
}

var epoch = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// simulate runs rows through a new Controller of the ceiling against lim, 1 ms each way; retryAfter:
// the server sends one (in whole seconds, rounded up).
func simulate(lim limiter, rows int, ceiling float64, retryAfter bool) simResult {
	const step, way = time.Millisecond, time.Millisecond
	type answer struct {
		sent, ra time.Duration
		ok       bool
	}
	c := New(ceiling, epoch, true)
	var (
		res     simResult
		flight  []answer        // in the order sent, each back 2 ways after
		retries []time.Duration // when a refused row may be sent again
		pending = rows          // rows waiting to be sent, retries included
		tokens  = -1.0          // the client's bucket; starts full
	)
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	for now := time.Duration(0); res.done < rows && now < 10*time.Minute; now += step {
		for ; len(flight) > 0 && flight[0].sent+2*way <= now; flight = flight[1:] {
			a, back := flight[0], flight[0].sent+2*way
			if a.ok {
				res.done, res.wall = res.done+1, back
				c.OnAccepted(at(back), at(a.sent))
			} else {
				res.throttled++
				retries = append(retries, back+a.ra)
				c.OnThrottled(at(back), at(a.sent), a.ra)
			}
		}
		n := len(retries)
		retries = slices.DeleteFunc(retries, func(t time.Duration) bool { return t <= now })
		pending += n - len(retries)
		r := c.Rate(at(now))
		burst := math.Max(1, math.Ceil(r/20)) // as the pacer: 50 ms worth
		if tokens < 0 {
			tokens = burst
		}
		tokens = math.Min(burst, tokens+r*step.Seconds())
		if at(now).Before(c.PauseUntil()) {
			continue
		}
		for ; tokens >= 1 && pending > 0; tokens-- {
			pending--
			res.requests++
			ok, ra := lim(now + way)
			if !retryAfter || ok {
				ra = 0
			}
			flight = append(flight, answer{sent: now, ok: ok, ra: time.Duration(math.Ceil(ra.Seconds())) * time.Second})
		}
	}
	return res
}

// TestController_meetsThrottlingTargets runs every limiter shape as bench/throttle.sh does (N = 1000) at
// --rate L and 10 L, with and without Retry-After: every row done within 1.10 × N/L, under 5% 429s.
func TestController_meetsThrottlingTargets(t *testing.T) {
	t.Parallel()
	const rows = 1000
	phase := func(rng *rand.Rand, w time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(w))) }
	for si, sh := range []struct { // bench/throttle.sh's shapes at L = 50, and Plivo's documented 300/5s
		name string
		l    float64 // requests/s accepted on average
		mk   func(rng *rand.Rand) limiter
	}{
		{"bucket 50/s burst 50", 50, func(*rand.Rand) limiter { return bucket(50, 50) }},
		{"fixed 50/1s", 50, func(r *rand.Rand) limiter { return fixed(50, time.Second, phase(r, time.Second)) }},
		{"fixed 250/5s", 50, func(r *rand.Rand) limiter { return fixed(250, 5*time.Second, phase(r, 5*time.Second)) }},
		{"fixed 300/5s", 60, func(r *rand.Rand) limiter { return fixed(300, 5*time.Second, phase(r, 5*time.Second)) }},
		{"sliding 50/1s", 50, func(*rand.Rand) limiter { return sliding(50, time.Second) }},
		{"sliding 300/5s", 60, func(*rand.Rand) limiter { return sliding(300, 5*time.Second) }},
	} {
		for _, mult := range []float64{1, 10} {
			for _, ra := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%gL/retry-after=%v", sh.name, mult, ra), func(t *testing.T) {
					t.Parallel()
					for seed := uint64(1); seed <= 3; seed++ {
						res := simulate(sh.mk(rand.New(rand.NewPCG(seed, uint64(si)))), rows, mult*sh.l, ra)
						ratio, share := res.wall.Seconds()*sh.l/rows, float64(res.throttled)/float64(res.requests)
						if res.done != rows || ratio > 1.10 || share >= 0.05 {
							t.Errorf("seed %d: %d of %d rows in %.3f × N/L, %d of %d requests 429 (%.2f%%); want ≤ 1.10 ×, < 5%%",
								seed, res.done, rows, ratio, res.throttled, res.requests, 100*share)
						}
					}
				})
			}
		}
	}
}

// TestController_recoversAfterABusySpell: an account busy with other traffic refuses 95% of requests
// whatever the rate; once it frees up (a bucket of 50/s after 3 s), 60 rows at --rate 100 must not crawl.
func TestController_recoversAfterABusySpell(t *testing.T) {
	t.Parallel()
	const rows, spell = 60, 3 * time.Second
	for seed := uint64(1); seed <= 3; seed++ {
		rng, inner := rand.New(rand.NewPCG(seed, 9)), bucket(50, 50)
		busy := func(t time.Duration) (bool, time.Duration) {
			if t < spell && rng.Float64() < 0.95 {
				return false, time.Millisecond
			}
			return inner(t)
		}
		if res, want := simulate(busy, rows, 100, false), spell+rows*time.Second/50+3*time.Second; res.done != rows || res.wall > want {
			t.Errorf("seed %d: %d of %d rows in %v, want all within %v", seed, res.done, rows, res.wall, want)
		}
	}
}
