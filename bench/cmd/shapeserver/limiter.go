package main

import (
	"math"
	"time"
)

// schedule is the limit's factor over time: 1 but during the dips, counted
// from the first request.
type schedule struct {
	dips  []LimitDip // sorted by After
	start time.Time  // the first request; zero before it
}

// begin anchors the schedule on the first request.
func (s *schedule) begin(now time.Time) {
	if s.start.IsZero() {
		s.start = now
	}
}

// at returns the factor at t and when it next changes; next is zero when
// it never does.
func (s *schedule) at(t time.Time) (factor float64, next time.Time) {
	d := t.Sub(s.start)
	for _, dip := range s.dips {
		switch {
		case d < dip.After:
			return 1, s.start.Add(dip.After)
		case d < dip.After+dip.For:
			// A dip that ends where the next starts hands over directly.
			return dip.Factor, s.start.Add(dip.After + dip.For)
		}
	}
	return 1, time.Time{}
}

// limiter admits requests, or says how long until one would pass if no
// other came first.
type limiter interface {
	take(now time.Time) (ok bool, wait time.Duration)
}

// maxPieces bounds the walk over a schedule's pieces when looking for the
// next free slot: the dips are finite, so the walk always ends well before.
const maxPieces = 1 << 16

// newLimiter returns a limiter of shape kind for limit requests per
// window, moved by dips; nil for no limit.
func newLimiter(kind Limiter, limit float64, window time.Duration, dips []LimitDip) limiter {
	if limit <= 0 || math.IsNaN(limit) || math.IsInf(limit, 1) {
		return nil
	}
	if window <= 0 {
		window = time.Second
	}
	sched := schedule{dips: sortedDips(dips)}
	switch kind {
	case LimiterFixed:
		return &fixedWindow{n: limit, window: window, sched: sched}
	case LimiterSliding:
		return &slidingLog{n: limit, window: window, sched: sched}
	}
	return &bucket{n: limit, rate: limit / window.Seconds(), sched: sched}
}

// windowLimit is how many whole requests n allows at factor f.
func windowLimit(n, f float64) int {
	return int(math.Floor(n*f + 1e-9))
}
