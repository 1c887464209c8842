package ratectl

import (
	"math"
	"time"
)

// baseline is batch/pacer.go's adaptive logic (as of 89691f1) on an
// injected clock, for comparison: halve on the first 429, then 0.9 x the
// rate accepted over the last second; climb back 25% of the gap per 100 ms,
// then probe 1% above per 100 ms.
type baseline struct {
	ceiling       float64
	pauseUntil    time.Time
	cur, good     float64
	lastDecrease  time.Time
	lastAdjust    time.Time
	start         time.Time
	firstThrottle time.Time
	answers       []time.Time
}

func newBaseline(ceiling float64, now time.Time) *baseline {
	if ceiling <= 0 {
		ceiling = math.Inf(1)
	}
	return &baseline{ceiling: ceiling, cur: ceiling, lastAdjust: now, start: now}
}

func (p *baseline) OnAccepted(now, _ time.Time) {
	p.answers = append(p.answers, now)
	if len(p.answers) > 4096 {
		p.answers = p.answers[len(p.answers)-4096:]
	}
}

func (p *baseline) OnThrottled(now, sentAt time.Time, retryAfter time.Duration) {
	if until := now.Add(retryAfter); retryAfter > 0 && until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	if sentAt.Before(p.lastDecrease) || now.Sub(p.lastDecrease) < 20*time.Millisecond {
		return
	}
	var next, accepted float64
	if p.firstThrottle.IsZero() {
		p.firstThrottle = now
		accepted = p.acceptedRate(now, p.start)
		next = 0.5 * min(p.cur, accepted)
	} else {
		accepted = p.acceptedRate(now, p.firstThrottle)
		next = 0.9 * min(p.cur, accepted)
	}
	p.good = max(accepted, 0.5)
	p.cur = max(next, 0.5)
	p.lastDecrease = now
	p.lastAdjust = now
}

func (p *baseline) Rate(now time.Time) float64 {
	const step = 100 * time.Millisecond
	if p.cur < p.ceiling && now.Sub(p.lastAdjust) >= step {
		steps := float64(now.Sub(p.lastAdjust) / step)
		p.lastAdjust = now
		next := p.cur
		for i := 0.0; i < steps && next < p.ceiling; i++ {
			if next < 0.97*p.good {
				next += (p.good - next) * 0.25
			} else {
				next += max(0.5, p.good*0.01)
			}
		}
		p.cur = min(next, p.ceiling)
	}
	return p.cur
}

func (p *baseline) PauseUntil() time.Time { return p.pauseUntil }

func (p *baseline) acceptedRate(now, from time.Time) float64 {
	if f := now.Add(-time.Second); f.After(from) {
		from = f
	}
	n := 0
	for i := len(p.answers) - 1; i >= 0 && !p.answers[i].Before(from); i-- {
		n++
	}
	return float64(n) / max(now.Sub(from), 20*time.Millisecond).Seconds()
}
