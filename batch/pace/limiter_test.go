package pace

import (
	"math"
	"testing"
	"time"
)

// The controller's own behaviour is tested on a fake clock in ratectl;
// these check that the pacer's limiter follows it.

func TestControl_throttleLowersTheLimiter(t *testing.T) {
	c := newControl(1000, 1, true, time.Minute)
	sent := time.Now()
	for range 50 {
		c.onAnswer(sent)
	}
	before := c.Rate()
	if err := c.onThrottle(time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	after := c.Rate()
	if after >= before {
		t.Errorf("rate after a 429 = %v, want below %v", after, before)
	}
	if got := float64(c.lim.Limit()); got != after {
		t.Errorf("limiter at %v, want the controller's %v", got, after)
	}
}

func TestControl_retryAfterPausesWhenNotAdaptive(t *testing.T) {
	c := newControl(10, 1, false, time.Minute)
	if err := c.onThrottle(time.Now(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := c.pause(); d < time.Second || d > 2*time.Second {
		t.Errorf("pause = %v, want about 2s", d)
	}
	if got := c.Rate(); got != 10 {
		t.Errorf("rate = %v, want 10: not adaptive", got)
	}
	// A shorter Retry-After does not cut a longer pause short.
	_ = c.onThrottle(time.Now(), time.Millisecond)
	if d := c.pause(); d < time.Second {
		t.Errorf("pause = %v after a shorter Retry-After, want it kept", d)
	}
}

func TestControl_unlimitedBecomesLimited(t *testing.T) {
	c := newControl(0, 1, true, time.Minute)
	for range 100 {
		c.onAnswer(time.Now())
	}
	_ = c.onThrottle(time.Now(), 0)
	if got := c.Rate(); got <= 0 || math.IsInf(got, 1) {
		t.Errorf("rate after a 429 with no limit = %v, want a finite rate", got)
	}
}

func TestControl_retryAfterLongerThanTheWaitStops(t *testing.T) {
	c := newControl(10, 1, true, time.Minute)
	if err := c.onThrottle(time.Now(), time.Hour); err == nil {
		t.Error("a Retry-After of an hour with --max-throttle-wait 1m: want an error")
	}
}
