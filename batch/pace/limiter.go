package pace

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/plivo-bulk/plivo-bulk/batch/pace/ratectl"
)

// control is the part of the pacer that decides the rate: the limiter the
// pacer's loop waits on, set from ratectl's controller when the run is
// adaptive, and the pause a Retry-After asks for. It also keeps the
// watchdog that stops a run the API keeps waiting too long.
type control struct {
	mu         sync.Mutex
	lim        *rate.Limiter
	adaptive   bool
	ctl        *ratectl.Controller // nil unless adaptive
	cur        float64             // the rate in force; +Inf when unlimited
	pauseUntil time.Time           // Retry-After's pause when not adaptive
	dog        *ratectl.Watchdog
	raised     chan struct{} // closed when the rate rises outside adjust
}

func newControl(r float64, burst int, adaptive bool, maxThrottleWait time.Duration) *control {
	ceiling := r
	if r <= 0 {
		ceiling = math.Inf(1)
	}
	c := &control{adaptive: adaptive, cur: ceiling, dog: ratectl.NewWatchdog(maxThrottleWait), raised: make(chan struct{})}
	if adaptive {
		c.ctl = ratectl.New(ceiling, time.Now())
		c.cur = c.ctl.Rate(time.Now())
		burst = burstOf(c.cur)
	}
	c.lim = rate.NewLimiter(limitOf(c.cur), burst)
	return c
}

func limitOf(r float64) rate.Limit {
	if math.IsInf(r, 1) {
		return rate.Inf
	}
	return rate.Limit(r)
}

// burstOf is 50 ms worth of requests.
func burstOf(r float64) int {
	if math.IsInf(r, 1) {
		return 1
	}
	return max(1, int(math.Ceil(r/20)))
}

// pause is how long the run must still wait for a Retry-After.
func (c *control) pause() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	until := c.pauseUntil
	if c.ctl != nil {
		until = c.ctl.PauseUntil()
	}
	return time.Until(until)
}

// adjust sets the limiter to the controller's rate now. It returns a
// channel closed when the rate next rises in between.
func (c *control) adjust(now time.Time) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.adaptive {
		c.set(now, c.ctl.Rate(now))
	}
	return c.raised
}

func (c *control) set(now time.Time, r float64) {
	if r != c.cur {
		c.cur = r
		c.lim.SetLimitAt(now, limitOf(r))
		c.lim.SetBurstAt(now, burstOf(r))
	}
}

// onAnswer records an answer that was not a 429, to a request sent at sent.
func (c *control) onAnswer(sent time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dog.OnAccepted()
	if c.ctl != nil {
		now := time.Now()
		c.ctl.OnAccepted(now, sent)
		if r := c.ctl.Rate(now); r > c.cur {
			c.set(now, r)
			close(c.raised)
			c.raised = make(chan struct{})
		}
	}
}

// onThrottle records a 429 to a request sent at sent. It returns the error
// to stop the run with when the API has kept it waiting too long.
func (c *control) onThrottle(sent time.Time, retryAfter time.Duration) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.dog.OnThrottled(now, retryAfter); err != nil {
		return err
	}
	if c.ctl != nil {
		c.ctl.OnThrottled(now, sent, retryAfter)
		c.set(now, c.ctl.Rate(now))
	} else if until := now.Add(retryAfter); until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	return nil
}

// Rate returns the rate now in force (+Inf when unlimited).
func (c *control) Rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// accepted is the rate the server was last measured to accept when it
// throttled, or 0 when it never did.
func (c *control) accepted() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctl == nil {
		return 0
	}
	return c.ctl.Accepted()
}
