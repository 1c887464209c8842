package ratectl

import (
	"errors"
	"testing"
	"time"
)

// DefaultMaxThrottleWait is pace's default --max-throttle-wait.
const DefaultMaxThrottleWait = 10 * time.Minute

func TestWatchdog(t *testing.T) {
	t.Parallel()
	now := epoch
	w := NewWatchdog(DefaultMaxThrottleWait)
	if err := w.Check(now.Add(time.Hour)); err != nil {
		t.Fatalf("idle run: %v, want nil (no 429 yet)", err)
	}
	if err := w.OnThrottled(now, 0); err != nil || !w.Deadline().Equal(now.Add(DefaultMaxThrottleWait)) {
		t.Fatalf("first 429: %v, deadline %v", err, w.Deadline())
	}
	// 429s for 9 min 59 s, then one acceptance: the clock restarts.
	if err := w.OnThrottled(now.Add(DefaultMaxThrottleWait-time.Second), 0); err != nil {
		t.Fatalf("before the limit: %v", err)
	}
	w.OnAccepted()
	now = now.Add(DefaultMaxThrottleWait)
	if err := w.Check(now.Add(time.Hour)); err != nil {
		t.Fatalf("accepted, then idle: %v", err)
	}
	_ = w.OnThrottled(now, 0)
	err := w.Check(now.Add(DefaultMaxThrottleWait))
	var te *ThrottledError
	if !errors.As(err, &te) || te.Waited != DefaultMaxThrottleWait {
		t.Fatalf("throttled 10 min: %v, want a ThrottledError", err)
	}
	if w.OnAccepted(); w.Check(now.Add(time.Hour)) == nil {
		t.Error("the error must stick once given")
	}
}

func TestWatchdog_retryAfter(t *testing.T) {
	t.Parallel()
	w := NewWatchdog(time.Minute)
	if err := w.OnThrottled(epoch, time.Minute); err != nil {
		t.Fatalf("Retry-After = max: %v, want nil", err)
	}
	err := w.OnThrottled(epoch, time.Minute+time.Second)
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Minute+time.Second {
		t.Fatalf("Retry-After > max: %v, want a ThrottledError", err)
	}
	t.Log(err)
}
