package pace

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Adaptive rate control, in the manner of TCP congestion control and the
// AWS SDK's adaptive retry mode: on a 429 the rate drops to a little under
// what the server was seen to accept, at most once per round trip (a 429 for
// a request sent before the last drop says nothing new); then it climbs back
// quickly to that level and probes slowly above it, toward the ceiling the
// operator set.
const (
	decreaseFactor = 0.9 // new rate = factor x accepted rate
	adjustEvery    = 100 * time.Millisecond
	recoverShare   = 0.25        // of the gap to the last good rate, per step
	probeShare     = 0.01        // of the last good rate, per step, above it
	minRate        = 0.5         // requests per second, the floor
	rateWindow     = time.Second // the accepted rate is measured over this long at most
	minDecreaseGap = 20 * time.Millisecond
	answerRing     = 4096 // answer times kept; past 4096/s the window shortens
)

// control is the adaptive part of the pacer: the rate in force, lowered
// by 429s and raised again after quiet steps, and the pause a Retry-After
// asks for. Only the Pacer's loop waits on its limiter.
type control struct {
	lim      *rate.Limiter
	ceiling  float64 // the operator's --rate; +Inf when unlimited
	adaptive bool

	mu            sync.Mutex
	pauseUntil    time.Time
	cur           float64 // rate now in force
	good          float64 // rate the server accepted when it last throttled
	lastDecrease  time.Time
	lastAdjust    time.Time
	start         time.Time
	firstThrottle time.Time
	answers       [answerRing]int64 // UnixNano of recent non-429 answers, a ring
	answerNext    int
	answerCount   int
}

func newControl(r float64, burst int, adaptive bool) *control {
	ceiling := r
	if r <= 0 {
		ceiling = math.Inf(1)
	}
	now := time.Now()
	return &control{
		lim:        rate.NewLimiter(limitOf(ceiling), burst),
		ceiling:    ceiling,
		adaptive:   adaptive,
		cur:        ceiling,
		lastAdjust: now,
		start:      now,
	}
}

func limitOf(r float64) rate.Limit {
	if math.IsInf(r, 1) {
		return rate.Inf
	}
	return rate.Limit(r)
}

func (p *control) pause() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Until(p.pauseUntil)
}

// onAnswer counts an answer that was not a 429, for the accepted rate.
func (p *control) onAnswer() {
	if !p.adaptive {
		return
	}
	p.mu.Lock()
	p.answers[p.answerNext] = time.Now().UnixNano()
	p.answerNext = (p.answerNext + 1) % answerRing
	p.answerCount = min(p.answerCount+1, answerRing)
	p.mu.Unlock()
}

// onThrottle handles a 429 for a request sent at sentAt: the whole pool
// pauses for retryAfter, and the rate drops if this is news.
func (p *control) onThrottle(sentAt time.Time, retryAfter time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := now.Add(retryAfter); retryAfter > 0 && until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	if !p.adaptive || sentAt.Before(p.lastDecrease) || now.Sub(p.lastDecrease) < minDecreaseGap {
		return
	}
	var next, accepted float64
	if p.firstThrottle.IsZero() {
		// The first 429: what was accepted so far includes the bucket the
		// server let us burst through, so it overstates the limit. Halve.
		p.firstThrottle = now
		accepted = p.acceptedRate(now, p.start)
		next = 0.5 * min(p.cur, accepted)
	} else {
		// The server has been saturated since the first 429: what it
		// accepted since then is its limit.
		accepted = p.acceptedRate(now, p.firstThrottle)
		next = decreaseFactor * min(p.cur, accepted)
	}
	next = max(next, minRate)
	p.good = max(accepted, minRate)
	p.setRate(next)
	p.lastDecrease = now
	p.lastAdjust = now
}

// adjust raises the rate after a quiet step: fast back toward the rate the
// server last accepted, then slowly above it, never past the ceiling.
func (p *control) adjust(now time.Time) {
	if !p.adaptive {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur >= p.ceiling || now.Sub(p.lastAdjust) < adjustEvery {
		return
	}
	steps := float64(now.Sub(p.lastAdjust) / adjustEvery)
	p.lastAdjust = now
	next := p.cur
	for i := 0.0; i < steps && next < p.ceiling; i++ {
		if next < 0.97*p.good {
			next += (p.good - next) * recoverShare
		} else {
			next += max(0.5, p.good*probeShare)
		}
	}
	p.setRate(min(next, p.ceiling))
}

func (p *control) setRate(r float64) {
	p.cur = r
	p.lim.SetLimit(limitOf(r))
	if !math.IsInf(r, 1) {
		p.lim.SetBurst(max(1, int(math.Ceil(r/20))))
	}
}

// Rate returns the rate now in force (+Inf when unlimited).
func (p *control) Rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// acceptedRate is the rate of non-429 answers since max(from, now-1s).
// Callers hold mu.
func (p *control) acceptedRate(now, from time.Time) float64 {
	from = later(from, now.Add(-rateWindow))
	n := 0
	oldest := now
	for i := 1; i <= p.answerCount; i++ {
		t := p.answers[(p.answerNext-i+answerRing)%answerRing]
		if t < from.UnixNano() {
			break
		}
		n++
		oldest = time.Unix(0, t)
	}
	if n == p.answerCount && n == answerRing { // the ring is shorter than the window
		from = oldest
	}
	span := max(now.Sub(from), minDecreaseGap).Seconds()
	return float64(n) / span
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// accepted is the rate the server was last seen to accept when it
// throttled, or 0 when it never did.
func (p *control) accepted() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstThrottle.IsZero() {
		return 0
	}
	return p.good
}
