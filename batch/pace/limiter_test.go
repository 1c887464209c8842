package pace

import (
	"testing"
	"time"
)

func TestControl_onThrottle(t *testing.T) {
	p := newControl(100, 5, true)
	for range 40 {
		p.onAnswer()
	}
	sent := time.Now()
	p.onThrottle(sent, 0)
	if got := p.Rate(); got != 50 {
		t.Fatalf("rate after the first 429 = %v, want 50 (halved: the first burst overstates the limit)", got)
	}
	// A 429 for a request sent before that drop says nothing new.
	p.onThrottle(sent.Add(-time.Millisecond), 0)
	if got := p.Rate(); got != 50 {
		t.Errorf("rate after a stale 429 = %v, want 50", got)
	}

	// Later 429s bring the rate to a little under what the server accepted
	// since the first one.
	p.mu.Lock()
	p.firstThrottle = time.Now().Add(-time.Second)
	p.lastDecrease = time.Now().Add(-time.Second)
	p.answerCount = 0 // forget the answers above
	p.mu.Unlock()
	for range 30 {
		p.onAnswer()
	}
	p.onThrottle(time.Now(), 0)
	got := p.Rate()
	if got < 25 || got > 28 { // 30 accepted in about a second, x 0.9
		t.Errorf("rate after a 429 with 30/s accepted = %v, want about 27", got)
	}

	// Quiet steps climb back toward the accepted rate, then above it,
	// never past the ceiling.
	now := time.Now()
	p.adjust(now.Add(500 * time.Millisecond))
	up := p.Rate()
	if up <= got || up > 30 {
		t.Errorf("rate after 0.5 s quiet = %v, want between %v and 30", up, got)
	}
	p.adjust(now.Add(60 * time.Second))
	if got := p.Rate(); got != 100 {
		t.Errorf("rate after a quiet minute = %v, want the ceiling 100", got)
	}
}

func TestControl_retryAfterPauses(t *testing.T) {
	p := newControl(10, 1, false)
	p.onThrottle(time.Now(), 2*time.Second)
	if d := p.pause(); d < time.Second || d > 2*time.Second {
		t.Errorf("pause = %v, want about 2s", d)
	}
	if got := p.Rate(); got != 10 {
		t.Errorf("rate = %v, want 10: not adaptive", got)
	}
	// A shorter Retry-After does not cut a longer pause short.
	p.onThrottle(time.Now(), time.Millisecond)
	if d := p.pause(); d < time.Second {
		t.Errorf("pause = %v after a shorter Retry-After, want it kept", d)
	}
}

func TestControl_unlimitedBecomesLimited(t *testing.T) {
	p := newControl(0, 1, true)
	for range 100 {
		p.onAnswer()
	}
	p.onThrottle(time.Now(), 0)
	if got := p.Rate(); got <= 0 || got > 1e6 {
		t.Errorf("rate after a 429 with no limit = %v, want a finite rate", got)
	}
}
