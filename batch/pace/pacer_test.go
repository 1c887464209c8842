package pace

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestPacer_stopEndsTheRateWait: at a low --rate the pacer's loop waits
// for the next token; the first stop must end that wait, so that Close (at
// the end of every job) does not hold the exit until the token comes. At
// --rate 0.05, Ctrl-C took 20 s to exit.
func TestPacer_stopEndsTheRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		p := New(context.Background(), Config{Rate: 0.05, Stop: stop})
		if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err) // takes the one banked token: the loop now waits 20 s
		}
		time.Sleep(50 * time.Millisecond)
		close(stop)
		done := make(chan struct{})
		go func() { p.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Close still waits for the rate limiter's next token after the stop")
		}
	})
}

// TestPacer_riseEndsTheRateWait: a throttling episode cuts the rate at
// every 429 that tells news, here down to 0.5/s, and the pacer's loop then
// waits 2 s for its next token. When the server has room again the rate is
// restored, and the next permit must come at that rate, not when the wait
// reserved at 0.5/s ends (fixed 1 s and 5 s windows took 1.3-1.5 × N/L).
func TestPacer_riseEndsTheRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(context.Background(), Config{Rate: 50, Adaptive: true})
		defer p.Close()
		n := 0
		err := p.Do(context.Background(), func(context.Context) error {
			if n++; n <= 8 {
				return &Error{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if d, r := time.Since(start), p.Rate(); d > 100*time.Millisecond || r < 10 {
			t.Errorf("next permit after %v at %.1f/s; want it within 100 ms, the rate restored", d, r)
		}
	})
}
