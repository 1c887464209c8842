package ratectl

import (
	"math"
	"time"
)

// cubic is the AWS SDKs' adaptive retry mode's client-side rate limiter,
// as a design to compare (written from its published description): the
// send rate is measured in 0.5 s bins and smoothed; on a 429 the rate falls
// to beta (0.7) times the lower of the measured rate and the rate in force,
// which becomes the last maximum; after it the rate grows as a cubic that
// reaches the last maximum after K = cbrt(lastMax(1-beta)/C) and then
// probes above it, never above twice the measured rate. Before the first
// 429 it sends at the ceiling (slowStart: doubles from StartRate instead).
type cubic struct {
	ceiling   float64
	c         float64 // the cubic's scale, requests/s³ (AWS: 0.4)
	slowStart bool

	start        time.Time
	rate         float64
	throttled    bool
	lastMax, k   float64
	lastThrottle time.Time
	lastDecrease time.Time
	pauseUntil   time.Time

	binStart time.Time
	binCount int
	measured float64
}

func newCubic(ceiling float64, now time.Time, c float64, slowStart bool) *cubic {
	if ceiling <= 0 {
		ceiling = math.Inf(1)
	}
	return &cubic{ceiling: ceiling, c: c, slowStart: slowStart, start: now, rate: ceiling, binStart: now}
}

// answer counts an answer as a send (the send rate, one latency late).
func (q *cubic) answer(now time.Time) {
	for now.Sub(q.binStart) >= 500*time.Millisecond {
		r := float64(q.binCount) / 0.5
		q.measured = 0.8*r + 0.2*q.measured
		q.binCount = 0
		q.binStart = q.binStart.Add(500 * time.Millisecond)
	}
	q.binCount++
}

func (q *cubic) OnAccepted(now, _ time.Time) { q.answer(now) }

func (q *cubic) OnThrottled(now, sentAt time.Time, ra time.Duration) {
	q.answer(now)
	if u := now.Add(ra); ra > 0 && u.After(q.pauseUntil) {
		q.pauseUntil = u
	}
	if sentAt.Before(q.lastDecrease) {
		return // one decrease per round trip
	}
	base := q.Rate(now)
	if q.measured > 0 {
		base = min(base, q.measured)
	}
	q.lastMax = base
	q.k = math.Cbrt(base * 0.3 / q.c)
	q.rate = max(0.5, 0.7*base)
	q.throttled = true
	q.lastThrottle = now
	q.lastDecrease = now
}

func (q *cubic) Rate(now time.Time) float64 {
	if !q.throttled {
		if q.slowStart {
			d := now.Sub(q.start).Seconds() / 0.5
			return min(q.ceiling, DefaultStartRate*math.Exp2(d))
		}
		return q.ceiling
	}
	t := now.Sub(q.lastThrottle).Seconds() - q.k
	r := q.c*t*t*t + q.lastMax
	if q.measured > 0 {
		r = min(r, 2*q.measured)
	}
	q.rate = min(q.ceiling, max(0.5, r))
	return q.rate
}

func (q *cubic) PauseUntil() time.Time { return q.pauseUntil }
