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
