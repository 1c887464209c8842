package pace

import (
	"context"
	"testing"
	"time"
)

// TestPacer_judge_refundsOnlyWhatWasSpent: a success gives back to the
// retry budget what its own retries took, or one token; 429s take nothing,
// so a success after 429s alone gives back one token, not a retry's cost.
func TestPacer_judge_refundsOnlyWhatWasSpent(t *testing.T) {
	p := New(context.Background(), Config{RetryBudget: 100, MaxAttempts: 5, MaxThrottleWait: time.Minute})
	defer p.Close()
	throttled := &Error{HTTPStatus: 429, Kind: KindRateLimited, Retryable: true}
	serverError := &Error{HTTPStatus: 503, Kind: "server", Retryable: true}
	budget := func() int64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.budget
	}
	p.mu.Lock()
	p.budget = 60
	p.mu.Unlock()

	var only429 tries
	for range 3 {
		if retry, _, _ := p.judge(&only429, time.Now(), throttled); !retry {
			t.Fatal("a 429 was not retried")
		}
	}
	if only429.failures != 0 {
		t.Errorf("429s used up %d attempts, want 0", only429.failures)
	}
	if got := budget(); got != 60 {
		t.Errorf("budget after 429s = %d, want 60: waiting for the account costs nothing", got)
	}
	p.judge(&only429, time.Now(), nil)
	if got := budget(); got != 61 {
		t.Errorf("budget after a success that followed 429s only = %d, want 61 (one token)", got)
	}

	var retried tries
	p.judge(&retried, time.Now(), serverError)
	if got := budget(); got != 61-retryCost {
		t.Errorf("budget after a retried 503 = %d, want %d", got, 61-retryCost)
	}
	p.judge(&retried, time.Now(), nil)
	if got := budget(); got != 61 {
		t.Errorf("budget after the retry worked = %d, want 61 (its cost back)", got)
	}
}
