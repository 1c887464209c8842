package ratectl

import (
	"math"
	"time"
)

// Defaults of Config.
const (
	// DefaultStartRate is Plivo's documented limit, 300 requests per 5 s.
	DefaultStartRate = 60.0
	// DefaultMaxThrottleWait is how long a run waits, throttled, with
	// nothing accepted, before it stops (see Watchdog).
	DefaultMaxThrottleWait = 10 * time.Minute
	// RetryAfterSlack is how much shorter than a Retry-After the run's
	// pause is: Retry-After's whole seconds are taken as rounded up.
	RetryAfterSlack = time.Second
)

// Config tunes a Controller. The zero value of a field takes its default.
type Config struct {
	// Ceiling is the operator's --rate: the controller never goes above
	// it. 0 or +Inf: none.
	Ceiling float64
	// StartRate is the first rate when the ceiling is above it (or there
	// is none); from there the rate grows until the first 429.
	StartRate float64
	// Margin is the share of the server's measured limit to hold at.
	Margin float64
	// MinRate is the floor, requests per second.
	MinRate float64
	// Hold is how long the rate holds after a throttling episode before
	// it probes above the measured limit; it doubles, up to MaxHold, each
	// time a probe is refused at the same limit.
	Hold, MaxHold time.Duration
	// ProbeTime is how long a probe takes to double the rate: the probe
	// grows as (1 + (t/ProbeTime)²), slowly at first.
	ProbeTime time.Duration
	// StartDouble is how long the rate takes to double during the start.
	StartDouble time.Duration
	// GoodMemory is how long the controller remembers the rate the server
	// was last seen to accept in full ("good"), while episodes measure
	// far less: an account busy with other traffic refuses most requests
	// at random, whatever the rate, for seconds to a minute, and then
	// frees up.
	GoodMemory time.Duration
	// BusyFloor is the share of good the rate never goes below (while
	// good is remembered): enough requests to see the spell end quickly.
	BusyFloor float64
	// RestartHold and RestartDouble: when an episode ends with the limit
	// measured far below good (under a quarter), the rate holds for
	// RestartHold and then doubles every RestartDouble back to good (a
	// slow-start restart), and probes from there as usual.
	RestartHold, RestartDouble time.Duration
}

func (c Config) withDefaults() Config {
	if c.Ceiling <= 0 || math.IsNaN(c.Ceiling) {
		c.Ceiling = math.Inf(1)
	}
	def := func(v *float64, d float64) {
		if *v <= 0 || math.IsNaN(*v) {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.StartRate, DefaultStartRate)
	def(&c.Margin, 0.95)
	def(&c.MinRate, 0.5)
	defD(&c.Hold, time.Second)
	defD(&c.MaxHold, 4*time.Second)
	defD(&c.ProbeTime, 4*time.Second)
	defD(&c.StartDouble, 500*time.Millisecond)
	defD(&c.GoodMemory, 2*time.Minute)
	def(&c.BusyFloor, 1.0/16)
	defD(&c.RestartHold, 500*time.Millisecond)
	defD(&c.RestartDouble, 250*time.Millisecond)
	return c
}

// lowLatency is a latency below which the rate falls at a limiter's first
// 429 before more than a few are refused (see endEpisode).
const lowLatency = 20 * time.Millisecond

// ring is the times of recent accepted answers.
type ring struct {
	t    []time.Time
	next int
	n    int
}

func (r *ring) add(t time.Time) {
	if r.t == nil {
		r.t = make([]time.Time, 8192)
	}
	r.t[r.next] = t
	r.next = (r.next + 1) % len(r.t)
	r.n = min(r.n+1, len(r.t))
}

// since counts the times at or after from; ok is false when the ring no
// longer reaches back that far.
func (r *ring) since(from time.Time) (n int, ok bool) {
	for i := 1; i <= r.n; i++ {
		if r.t[(r.next-i+len(r.t))%len(r.t)].Before(from) {
			return n, true
		}
		n++
	}
	return n, r.n < len(r.t)
}

// Controller is the rate controller; it is not safe for concurrent use.
type Controller struct {
	cfg   Config
	start time.Time

	rate       float64 // in force
	startup    bool    // no 429 yet
	startAt    time.Time
	startRate  float64
	est        float64   // the limit last measured (0: not yet)
	accepted   ring      // answers that were not 429s
	pauseUntil time.Time // from Retry-After

	streak       int       // news 429s in the current episode; 0 = none
	lastDecrease time.Time // a 429 for a request sent before this is old news
	lastThrottle time.Time // when the last 429 came back
	episodeStart time.Time
	prevEnd      time.Time // when the previous episode ended (or the start)
	holdUntil    time.Time // no probing before this
	hold         time.Duration
	probeBase    float64 // the rate the probe started from
	failRate     float64 // the rate in force when the episode began
	refused      int     // 429s since the previous episode ended

	rtt       time.Duration // smoothed latency of accepted answers (0: none yet)
	good      float64       // the rate last seen accepted in full (see GoodMemory)
	goodAt    time.Time     // when good was last measured or confirmed
	goodGuess bool          // good is the start rate, not a measurement
	restart   bool          // ramping back to restartTo (see RestartHold)
	restartTo float64
}

// New returns a controller for a run that may send at most ceiling
// requests per second (0 or +Inf: no ceiling), starting now.
func New(ceiling float64, now time.Time) *Controller {
	return NewConfig(Config{Ceiling: ceiling}, now)
}

// NewConfig is New with every setting.
func NewConfig(cfg Config, now time.Time) *Controller {
	cfg = cfg.withDefaults()
	r := min(cfg.Ceiling, cfg.StartRate)
	c := &Controller{cfg: cfg, start: now, rate: r, startup: true, startAt: now, startRate: r, prevEnd: now, hold: cfg.Hold,
		goodAt: now, goodGuess: true}
	if !math.IsInf(r, 1) {
		c.good = r // until measured, the start rate is what the server is taken to accept
	}
	return c
}

// OnAccepted records an answer that was not a 429, for a request sent at
// sentAt.
func (c *Controller) OnAccepted(now, sentAt time.Time) {
	c.accepted.add(now)
	if d := now.Sub(sentAt); d >= 0 {
		if c.rtt == 0 {
			c.rtt = d
		} else {
			c.rtt += (d - c.rtt) / 8
		}
	}
	if c.streak > 0 && sentAt.After(c.lastThrottle) {
		c.endEpisode(now)
	}
}

// endEpisode: a request sent after the last 429 came back was accepted, so
// the server has room again. What it accepted since the previous episode
// ended is its limit, measured over whole windows of a fixed-window
// limiter (each episode ends at a window's edge).
func (c *Controller) endEpisode(now time.Time) {
	span := now.Sub(c.prevEnd)
	n, ok := c.accepted.since(c.prevEnd)
	// A marginal failure (the server refused a few of what we sent): the
	// limit is about the rate that failed. An overshoot (it refused
	// many): what it accepted since the previous episode is its limit.
	w := c.failRate
	marginal := true
	if span > 0 && ok && float64(c.refused) > 0.05*float64(n) {
		w = min(w, float64(n)/span.Seconds())
		marginal = false
	} else if span > 0 && ok && c.rtt > 0 && c.rtt < lowLatency {
		// Few refused need not mean a small overshoot: at low latency
		// the rate drops at the first 429, so a window limiter refuses
		// few even when the probe went well above it (a 1 s fixed window
		// was measured at 60/s for a limit of 50 on loopback, and the
		// run cycled above it). At high latency the requests in flight
		// are refused too, so few refused does mean marginal there.
		// What it accepted in the last second, or
		// on average since the previous episode, bounds the limit too.
		n1, ok1 := c.accepted.since(now.Add(-time.Second))
		if ok1 {
			w = min(w, max(float64(n)/span.Seconds(), float64(n1)))
		}
	}
	c.noteGood(now, w, marginal)
	c.refused = 0
	switch {
	case c.est > 0 && w > 1.05*c.est:
		c.hold = c.cfg.Hold // the limit rose
	case c.est > 0:
		c.hold = min(2*c.hold, c.cfg.MaxHold)
	}
	c.est = w
	c.rate = c.clamp(now, c.cfg.Margin*w)
	c.probeBase = c.rate
	c.streak = 0
	c.prevEnd = now
	c.holdUntil = now.Add(c.hold)
	// Far below what the server accepted a moment ago: the account was
	// busy, not our rate too high. Go back fast once it has room again.
	if g := c.goodRate(now); w < g/4 {
		c.restart = true
		c.restartTo = min(g, c.cfg.Ceiling)
		c.holdUntil = now.Add(c.cfg.RestartHold)
	}
}

// noteGood records a measured limit v: it becomes good when it is at
// least good, when good has expired, or when it is marginal (the server
// refused only a few: a clean measurement); when it is at least half of
// good it confirms good.
func (c *Controller) noteGood(now time.Time, v float64, marginal bool) {
	switch {
	case math.IsInf(v, 1):
	case v >= c.good || marginal || now.Sub(c.goodAt) > c.cfg.GoodMemory:
		c.good, c.goodAt, c.goodGuess = v, now, false
	case v >= c.good/2:
		c.goodAt = now
	}
}

// goodRate is good while remembered, else 0.
func (c *Controller) goodRate(now time.Time) float64 {
	if now.Sub(c.goodAt) > c.cfg.GoodMemory {
		return 0
	}
	return c.good
}

// OnThrottled records a 429 for a request sent at sentAt; retryAfter is
// the server's Retry-After (0 when absent).
func (c *Controller) OnThrottled(now, sentAt time.Time, retryAfter time.Duration) {
	// A Retry-After in whole seconds is rounded up: the server frees a
	// slot after more than retryAfter-1s. Pausing the run that long never
	// sends before the server could accept; the rest of the wait is the
	// rate's (a whole 1 s pause per 429 on 1 s windows cost up to 1.6x).
	if d := retryAfter - RetryAfterSlack; d > 0 {
		if u := now.Add(d); u.After(c.pauseUntil) {
			c.pauseUntil = u
		}
	}
	c.lastThrottle = now
	c.refused++
	if c.startup {
		c.startup = false
	}
	if sentAt.Before(c.lastDecrease) {
		return // sent before the last decrease: nothing new
	}
	if c.streak == 0 {
		c.restart = false
		c.episodeStart = now
		c.failRate = c.rate
		span := now.Sub(c.prevEnd)
		n, ok := c.accepted.since(c.prevEnd)
		r := c.rate
		if span > 0 && ok {
			r = min(r, float64(n)/span.Seconds())
		}
		c.rate = c.clamp(now, c.cfg.Margin*r)
	} else {
		c.rate = c.clamp(now, c.rate/2)
	}
	c.streak++
	c.lastDecrease = now
}

// Rate returns the rate to send at now.
func (c *Controller) Rate(now time.Time) float64 {
	switch {
	case c.startup:
		d := now.Sub(c.startAt).Seconds() / c.cfg.StartDouble.Seconds()
		c.rate = c.clamp(now, c.startRate*math.Exp2(d))
	case c.streak == 0 && c.restart:
		if now.Before(c.holdUntil) {
			break
		}
		d := now.Sub(c.holdUntil).Seconds() / c.cfg.RestartDouble.Seconds()
		c.rate = c.clamp(now, c.probeBase*math.Exp2(d))
		if c.rate < c.restartTo {
			break
		}
		c.restart = false
		c.rate = c.restartTo
		if c.goodGuess {
			// Nothing measured yet: carry on with the start.
			c.startup, c.startAt, c.startRate = true, now, c.rate
			break
		}
		c.est, c.probeBase, c.holdUntil = c.rate, c.rate, now
	case c.streak == 0 && c.rate < c.cfg.Ceiling:
		// Back to the level that failed, slowly, over the hold; then
		// above it, slowly at first.
		if now.Before(c.holdUntil) {
			x := 1 - now.Sub(c.prevEnd).Seconds()/c.hold.Seconds()
			c.rate = c.clamp(now, c.est-(c.est-c.probeBase)*x*x*x)
		} else {
			x := now.Sub(c.holdUntil).Seconds() / c.cfg.ProbeTime.Seconds()
			c.rate = c.clamp(now, c.est*(1+x*x))
		}
	}
	return c.rate
}

func (c *Controller) clamp(now time.Time, r float64) float64 {
	return min(c.cfg.Ceiling, max(c.cfg.MinRate, c.cfg.BusyFloor*c.goodRate(now), r))
}

// PauseUntil is when the run may send again after a Retry-After: the
// latest Retry-After less RetryAfterSlack.
func (c *Controller) PauseUntil() time.Time { return c.pauseUntil }

// Accepted is the rate the server was last measured to accept, or 0.
func (c *Controller) Accepted() float64 { return c.est }
