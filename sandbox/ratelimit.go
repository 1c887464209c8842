package sandbox

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket: it holds up to capacity tokens, refills at rate
// tokens per second and starts full. Its critical section is a few float
// operations, so one mutex serves thousands of requests a second.
type bucket struct {
	rate, capacity float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// newBucket returns a full bucket for rate requests per second, holding one
// second's worth and at least one token.
func newBucket(rate float64) *bucket {
	c := max(1, rate)
	return &bucket{rate: rate, capacity: c, tokens: c}
}

// take spends a token at now if there is one. Otherwise it reports how long
// until one is available.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		if d := now.Sub(b.last); d > 0 {
			b.tokens = min(b.capacity, b.tokens+d.Seconds()*b.rate)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// retryAfterSeconds rounds wait up to whole seconds, at least 1, for a
// Retry-After header.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
