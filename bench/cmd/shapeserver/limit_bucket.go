package main

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: it holds up to n tokens (at least one, so that
// a fractional rate such as one per four seconds admits anything), refills
// at rate tokens per second and starts full. A dip scales both. Its
// critical section is a few float operations, so one mutex serves
// thousands of requests a second.
type bucket struct {
	n, rate float64

	mu     sync.Mutex
	sched  schedule
	tokens float64
	last   time.Time
}

// capacity is the bucket's size at factor f.
func (b *bucket) capacity(f float64) float64 {
	if f <= 0 {
		return 0
	}
	return max(1, b.n*f)
}

// take spends a token at now if there is one. Otherwise it reports how long
// until one is available.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.sched.begin(now)
		f, _ := b.sched.at(now)
		b.tokens, b.last = b.capacity(f), now
	}
	if now.Before(b.last) {
		now = b.last // requests are timed before the lock: keep time monotonic
	}
	b.tokens = b.fill(b.tokens, b.last, now)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, b.untilToken(now)
}

// fill returns the tokens at to of a bucket that held tokens at from,
// piece by piece of the schedule.
func (b *bucket) fill(tokens float64, from, to time.Time) float64 {
	t := from
	for range maxPieces {
		f, next := b.sched.at(t)
		tokens = min(tokens, b.capacity(f)) // a dip takes its share at once
		end := to
		if !next.IsZero() && next.Before(to) {
			end = next
		}
		tokens = min(b.capacity(f), tokens+end.Sub(t).Seconds()*b.rate*f)
		if t = end; !t.Before(to) {
			break
		}
	}
	return tokens
}

// untilToken returns how long from now until the bucket holds a token.
func (b *bucket) untilToken(now time.Time) time.Duration {
	tokens, t := b.tokens, now
	for range maxPieces {
		f, next := b.sched.at(t)
		tokens = min(tokens, b.capacity(f))
		if r := b.rate * f; r > 0 {
			at := t.Add(time.Duration(math.Ceil((1 - tokens) / r * float64(time.Second))))
			if next.IsZero() || !at.After(next) {
				return at.Sub(now)
			}
			tokens += next.Sub(t).Seconds() * r
		}
		if next.IsZero() {
			break
		}
		t = next
	}
	return maxWindow // never, as far as the schedule goes
}
