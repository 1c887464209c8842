package ratectl

import (
	"fmt"
	"time"
)

// ThrottledError says why a run gave up on a server that keeps answering 429.
type ThrottledError struct {
	Waited     time.Duration // throttled this long with nothing accepted
	RetryAfter time.Duration // or: a single Retry-After this long
	Max        time.Duration
}

func (e *ThrottledError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("the server asked to wait %v (Retry-After), longer than --max-throttle-wait %v; the rest of the input is resumable", e.RetryAfter, e.Max)
	}
	return fmt.Sprintf("the server answered only 429 for %v (--max-throttle-wait %v); the rest of the input is resumable", e.Waited.Round(time.Second), e.Max)
}

// Watchdog is the throttle-wait policy. A 429 never uses up a row's
// attempts; instead the run gives up when it has been throttled for Max
// with nothing accepted (counted from the first 429 after the last
// acceptance, so an idle run never trips it), or when a single Retry-After
// is longer than Max.
type Watchdog struct {
	max       time.Duration
	throttled time.Time // first 429 since the last acceptance; zero: none
	err       error
}

// NewWatchdog returns a watchdog allowing max.
func NewWatchdog(max time.Duration) *Watchdog {
	return &Watchdog{max: max}
}

// OnAccepted records an answer that was not a 429.
func (w *Watchdog) OnAccepted() { w.throttled = time.Time{} }

// OnThrottled records a 429 and returns the error to stop with, or nil.
func (w *Watchdog) OnThrottled(now time.Time, retryAfter time.Duration) error {
	if w.throttled.IsZero() {
		w.throttled = now
	}
	if retryAfter > w.max && w.err == nil {
		w.err = &ThrottledError{RetryAfter: retryAfter, Max: w.max}
	}
	return w.Check(now)
}

// Check returns the error to stop with at now, or nil.
func (w *Watchdog) Check(now time.Time) error {
	if w.err != nil {
		return w.err
	}
	if !w.throttled.IsZero() && now.Sub(w.throttled) >= w.max {
		w.err = &ThrottledError{Waited: now.Sub(w.throttled), Max: w.max}
	}
	return w.err
}

// Deadline is when Check will fail if nothing is accepted meanwhile (zero
// when not throttled), for a timer.
func (w *Watchdog) Deadline() time.Time {
	if w.throttled.IsZero() {
		return time.Time{}
	}
	return w.throttled.Add(w.max)
}
