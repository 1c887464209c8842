package ratectl

import (
	"math"
	"time"
)

// bbr is a BBR-like design to compare: it estimates the rate the server
// delivers (accepts) as a windowed maximum, over the last maxAge, of the
// accepted rate measured over a trailing span, and paces at it, with a
// gain cycle of phase-long phases: 1.25 (probe), 0.75 (drain), then six at
// 1. It starts by doubling every 0.5 s until the first 429. Unlike BBR
// (which ignores loss) a 429 ends a probe and, outside a probe, resets the
// estimate to what was accepted over the span, times 0.97.
type bbr struct {
	ceiling float64
	span    time.Duration // the delivery rate's measuring span
	maxAge  time.Duration // the max filter's memory
	phase   time.Duration

	start        time.Time
	startup      bool
	acc          ring
	samples      []sample
	lastSample   time.Time
	est          float64
	cycleStart   time.Time
	lastDecrease time.Time
	pauseUntil   time.Time
	rate         float64
}

type sample struct {
	at   time.Time
	rate float64
}

func newBBR(ceiling float64, now time.Time, span time.Duration) *bbr {
	if ceiling <= 0 {
		ceiling = math.Inf(1)
	}
	return &bbr{ceiling: ceiling, span: span, maxAge: 10 * time.Second, phase: time.Second,
		start: now, startup: true, lastSample: now, rate: min(ceiling, DefaultStartRate)}
}

func (b *bbr) delivered(now time.Time) float64 {
	span := min(b.span, now.Sub(b.start))
	if span <= 0 {
		return 0
	}
	n, _ := b.acc.since(now.Add(-span))
	return float64(n) / span.Seconds()
}

func (b *bbr) OnAccepted(now, _ time.Time) { b.acc.add(now) }

func (b *bbr) OnThrottled(now, sentAt time.Time, ra time.Duration) {
	if u := now.Add(ra); ra > 0 && u.After(b.pauseUntil) {
		b.pauseUntil = u
	}
	if sentAt.Before(b.lastDecrease) {
		return
	}
	b.lastDecrease = now
	d := b.delivered(now)
	if b.startup {
		b.startup = false
		b.est = min(b.rate, d)
	} else if b.gain(now) > 1 {
		// the probe found the limit: drain now
		b.cycleStart = now.Add(-b.phase)
		return
	} else {
		b.est = 0.97 * min(b.est, d)
	}
	b.samples = append(b.samples[:0], sample{now, b.est})
	b.cycleStart = now.Add(-2 * b.phase) // cruise first
}

func (b *bbr) gain(now time.Time) float64 {
	switch int(now.Sub(b.cycleStart)/b.phase) % 8 {
	case 0:
		return 1.25
	case 1:
		return 0.75
	}
	return 1
}

func (b *bbr) Rate(now time.Time) float64 {
	if b.startup {
		d := now.Sub(b.start).Seconds() / 0.5
		b.rate = min(b.ceiling, DefaultStartRate*math.Exp2(d))
		return b.rate
	}
	if now.Sub(b.lastSample) >= 250*time.Millisecond {
		b.lastSample = now
		b.samples = append(b.samples, sample{now, b.delivered(now)})
		i := 0
		for i < len(b.samples)-1 && now.Sub(b.samples[i].at) > b.maxAge {
			i++
		}
		b.samples = b.samples[i:]
		b.est = 0
		for _, s := range b.samples {
			b.est = max(b.est, s.rate)
		}
	}
	b.rate = min(b.ceiling, max(0.5, b.gain(now)*b.est))
	return b.rate
}

func (b *bbr) PauseUntil() time.Time { return b.pauseUntil }
