// Package ratectl decides the rate a run sends at from what the server answers, on an injected clock.
package ratectl

import (
	"math"
	"time"
)

const (
	StartRate       = 60.0        // Plivo's documented 300 requests per 5 s: a run starts at most there
	RetryAfterSlack = time.Second // a Retry-After's whole seconds are taken as rounded up
	minRate         = 0.5
	margin          = 0.95                   // the share of the measured limit the rate resumes at
	probe           = 0.02                   // the climb after an episode, a share of the limit per second
	double          = 500 * time.Millisecond // the rate doubles this often until the first 429
)

// Controller is an adaptive rate, not safe for concurrent use. Until the first 429 it doubles toward its
// ceiling. A 429 starts an episode: the rate halves at each 429 for a request sent after the last cut
// (news, not in-flight echoes). The episode ends when a request sent after the last 429 is accepted;
// what the server accepted since the previous episode's end, per second up to this one's last cut, is
// its limit: the rate resumes just below it and climbs slowly. More refused than accepted is an account
// busy with other traffic, not a limit: the rate resumes where the episode began.
type Controller struct {
	ceiling float64
	fixed   bool      // not adaptive
	rate    float64   // in force
	last    time.Time // when rate was last brought up to date
	startup bool      // no 429 yet

	episode      bool      // a 429 came and nothing sent after it was accepted yet
	lastCut      time.Time // a 429 for a request sent before this is no news
	lastThrottle time.Time
	prevEnd      time.Time // when the previous episode ended (or the run began)
	accepted     int       // answers accepted since prevEnd
	refused      int       // 429s since prevEnd
	before       float64   // the rate when the episode began
	limit        float64   // measured at the last episode's end; 0: not yet
	pauseUntil   time.Time
}

// New returns a controller of at most ceiling requests/s (0 or +Inf: none until the first 429) from now.
// Not adaptive, it keeps to the ceiling and only pauses for a whole Retry-After.
func New(ceiling float64, now time.Time, adaptive bool) *Controller {
	if ceiling <= 0 || math.IsNaN(ceiling) {
		ceiling = math.Inf(1)
	}
	r := min(ceiling, StartRate)
	if math.IsInf(ceiling, 1) || !adaptive {
		r = ceiling
	}
	return &Controller{ceiling: ceiling, fixed: !adaptive, rate: r, last: now, startup: adaptive, prevEnd: now}
}

// OnAccepted records an answer that was not a 429, for a request sent at sentAt.
func (c *Controller) OnAccepted(now, sentAt time.Time) {
	c.accepted++
	if !c.episode || sentAt.Before(c.lastThrottle) {
		return
	}
	c.episode = false
	// The time since the last cut went in probing at the cut rate, not in what the server could take.
	if span := c.lastCut.Sub(c.prevEnd).Seconds(); c.refused > c.accepted {
		c.rate = c.before
	} else if span > 0 {
		// Answers in flight when a short span began read high: never above the rate that drew the 429.
		c.limit = min(c.before, float64(c.accepted)/span)
		c.rate = min(c.ceiling, max(minRate, margin*c.limit))
	}
	c.accepted, c.refused, c.prevEnd, c.last = 0, 0, now, now
}

// OnThrottled records a 429 for a request sent at sentAt, with its Retry-After (0 when absent).
func (c *Controller) OnThrottled(now, sentAt time.Time, retryAfter time.Duration) {
	// A Retry-After in whole seconds is rounded up: the server frees a slot after more than retryAfter-1s.
	// Pausing that long never sends early; the rest of the wait is the rate's.
	slack := RetryAfterSlack
	if c.fixed {
		slack = 0
	}
	if u := now.Add(retryAfter - slack); u.After(c.pauseUntil) {
		c.pauseUntil = u
	}
	c.lastThrottle = now
	c.refused++
	if c.fixed || sentAt.Before(c.lastCut) {
		return
	}
	c.Rate(now)
	if math.IsInf(c.rate, 1) {
		c.rate = StartRate // told no limit: from now on, Plivo's
	}
	if !c.episode {
		c.before = c.rate
	}
	c.rate = min(c.ceiling, max(minRate, c.rate/2))
	c.startup, c.episode, c.lastCut = false, true, now
}

// Rate returns the rate to send at now.
func (c *Controller) Rate(now time.Time) float64 {
	dt := now.Sub(c.last).Seconds()
	if dt <= 0 {
		return c.rate
	}
	c.last = now
	switch {
	case c.episode || now.Before(c.pauseUntil):
	case c.startup:
		c.rate = min(c.ceiling, c.rate*math.Exp2(dt/double.Seconds()))
	default:
		c.rate = min(c.ceiling, c.rate+probe*max(c.limit, minRate)*dt)
	}
	return c.rate
}

// PauseUntil is when the run may send again: the latest Retry-After less RetryAfterSlack.
func (c *Controller) PauseUntil() time.Time { return c.pauseUntil }

// Accepted is the rate the server was last measured to accept; 0 when it never throttled.
func (c *Controller) Accepted() float64 { return c.limit }
