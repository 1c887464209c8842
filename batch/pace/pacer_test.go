package pace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/client"
)

var errRateLimited = &client.APIError{StatusCode: 429, Kind: client.KindRateLimited, Message: "HTTP 429: slow down"}

// TestPacer_stopEndsTheRateWait: at --rate 0.05 the loop waits 20 s for
// its next token; a stop must end that wait, or Close holds the exit.
func TestPacer_stopEndsTheRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := make(chan struct{})
		p := New(context.Background(), Config{Rate: 0.05, Stop: stop})
		if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		close(stop)
		start := time.Now()
		p.Close()
		if d := time.Since(start); d > 0 {
			t.Errorf("Close took %v after the stop, want no wait for the next token", d)
		}
	})
}

// TestPacer_riseEndsTheRateWait: 429s cut the rate to 0.5/s, and the loop
// waits 2 s for its next token. When the server has room again the next
// permit must come at the restored rate, not when that wait ends.
func TestPacer_riseEndsTheRateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(context.Background(), Config{Rate: 50, Adaptive: true})
		defer p.Close()
		n := 0
		if err := p.Do(context.Background(), func(context.Context) error {
			if n++; n <= 8 {
				return errRateLimited
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("next permit after %v; want it within 100 ms, the rate restored", d)
		}
	})
}

// TestPacer_retryAfterPausesTheRun: no request goes out during a
// Retry-After (less its second of rounding when adaptive), whoever sends it.
func TestPacer_retryAfterPausesTheRun(t *testing.T) {
	for _, adaptive := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			p := New(context.Background(), Config{Rate: 200, Adaptive: adaptive})
			defer p.Close()
			start := time.Now()
			go func() {
				_ = p.Do(context.Background(), func(context.Context) error {
					return &client.APIError{StatusCode: 429, Kind: client.KindRateLimited, RetryAfter: 3 * time.Second}
				})
			}()
			synctest.Wait()
			_ = p.Do(context.Background(), func(context.Context) error { return nil })
			if d := time.Since(start); d < 2*time.Second {
				t.Errorf("adaptive %v: another request went out %v after a Retry-After of 3 s", adaptive, d)
			}
		})
	}
}

// TestPacer_throttleWaitStops: an account that accepts nothing for
// MaxThrottleWait, or asks to wait longer, stops the run: resumable.
func TestPacer_throttleWaitStops(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{
		{"only 429s", 0, "the server answered only 429 for 1m"},
		{"a long Retry-After", time.Hour, "the server asked to wait 1h0m0s (Retry-After), longer than --max-throttle-wait 1m0s"},
	} {
		synctest.Test(t, func(t *testing.T) {
			p := New(context.Background(), Config{Rate: 10, Adaptive: true, MaxThrottleWait: time.Minute})
			defer p.Close()
			err := p.Do(context.Background(), func(context.Context) error {
				return &client.APIError{StatusCode: 429, Kind: client.KindRateLimited, RetryAfter: tt.retryAfter}
			})
			if !errors.Is(err, ErrThrottled) || !errors.Is(p.Err(), ErrThrottled) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: Do = %v, want ErrThrottled: %s", tt.name, err, tt.want)
			}
		})
	}
}

// TestPacer_DoTellsWhyItStopped: a refused credential comes back as the
// answer's error, and a read cut short by a stop as the stop's reason.
func TestPacer_DoTellsWhyItStopped(t *testing.T) {
	p := New(context.Background(), Config{})
	defer p.Close()
	if err := p.Do(context.Background(), func(context.Context) error { return apiErr(401, client.KindAuth) }); !errors.Is(err, err.(*client.APIError)) || !errors.Is(p.Err(), ErrAuth) {
		t.Errorf("Do = %v, Err = %v; want the 401, and the run aborted for it", err, p.Err())
	}
	p = New(context.Background(), Config{})
	defer p.Close()
	err := p.Do(context.Background(), func(ctx context.Context) error {
		p.Abort(ErrInterrupted)
		<-ctx.Done()
		return &client.APIError{Kind: client.KindCancelled}
	})
	if !errors.Is(err, ErrInterrupted) {
		t.Errorf("Do = %v after a stop, want ErrInterrupted", err)
	}
}
