package sandbox

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a rate limit: Limit requests per Window. A zero Limit is no
// limit; a zero Window means one second. It is a flag.Value, so that the
// sandbox command and `run --sandbox` parse their flags alike.
type Rate struct {
	Limit  float64
	Window time.Duration
}

// maxWindow bounds a rate limit's window: longer ones are typos.
const maxWindow = 24 * time.Hour

// ParseRateLimit parses a rate limit: "N" or "N/s" (N requests per second),
// "N/5s", "N/500ms", "N/m", "N/1m", "N/h": N requests per that window. N
// may be fractional ("0.5", "2.5/s"); 0 means unlimited. The window is a Go
// duration, or a bare unit that means one of it.
func ParseRateLimit(s string) (Rate, error) {
	num, win, slash := strings.Cut(strings.TrimSpace(s), "/")
	r := Rate{Window: time.Second}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return Rate{}, fmt.Errorf("rate limit %q: want N, N/s or N/5s (N requests per window, N a number 0 or more; 0 is unlimited)", s)
	}
	r.Limit = n
	if slash {
		win = strings.TrimSpace(win)
		if win != "" && strings.IndexAny(win[:1], "0123456789.") < 0 {
			win = "1" + win // "s" is "1s"
		}
		d, err := time.ParseDuration(win)
		if err != nil || d < time.Millisecond || d > maxWindow {
			return Rate{}, fmt.Errorf("rate limit %q: window %q: want a duration from 1ms to %v, such as s, 5s, 500ms or 1m", s, win, maxWindow)
		}
		r.Window = d
	}
	return r, nil
}

// Set parses s with ParseRateLimit, for a flag.
func (r *Rate) Set(s string) error {
	v, err := ParseRateLimit(s)
	if err == nil {
		*r = v
	}
	return err
}

// String formats r as ParseRateLimit reads it: "0", "60/1s", "300/5s".
func (r Rate) String() string {
	if r.Limit == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.Limit, 'f', -1, 64) + "/" + r.window().String()
}

func (r Rate) window() time.Duration {
	if r.Window <= 0 {
		return time.Second
	}
	return r.Window
}

// bucket is a token bucket: it holds up to n tokens (at least one, so that
// a fractional rate such as one per four seconds admits anything), refills
// at rate tokens per second and starts full.
type bucket struct {
	n, rate float64

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newBucket(r Rate) *bucket {
	if r.Limit <= 0 || math.IsNaN(r.Limit) || math.IsInf(r.Limit, 0) {
		return nil
	}
	n := max(1, r.Limit)
	return &bucket{n: n, rate: r.Limit / r.window().Seconds(), tokens: n}
}

// take spends a token if there is one.
func (b *bucket) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.n, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
