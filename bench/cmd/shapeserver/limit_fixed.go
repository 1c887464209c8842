package main

import (
	"sync"
	"time"
)

// fixedWindow admits n requests in each window aligned on the Unix epoch;
// a dip scales n, and takes effect mid-window.
type fixedWindow struct {
	n      float64
	window time.Duration

	mu    sync.Mutex
	sched schedule
	index int64 // the current window, as Unix time / window
	count int   // requests admitted in it
	last  time.Time
}

func (l *fixedWindow) take(now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sched.begin(now)
	if now.Before(l.last) {
		now = l.last
	}
	l.last = now
	if k := l.indexOf(now); k != l.index {
		l.index, l.count = k, 0
	}
	f, _ := l.sched.at(now)
	if l.count < windowLimit(l.n, f) {
		l.count++
		return true, 0
	}
	return false, l.untilSlot(now)
}

func (l *fixedWindow) indexOf(t time.Time) int64 {
	return floorDiv(t.UnixNano(), int64(l.window))
}

// edge returns the start of the window after t's.
func (l *fixedWindow) edge(t time.Time) time.Time {
	return time.Unix(0, (l.indexOf(t)+1)*int64(l.window))
}

// untilSlot returns how long from now until a request would pass: at the
// next window edge, or sooner when a dip ends mid-window.
func (l *fixedWindow) untilSlot(now time.Time) time.Duration {
	t := now
	for range maxPieces {
		f, next := l.sched.at(t)
		count := 0
		if l.indexOf(t) == l.index {
			count = l.count
		}
		lim := windowLimit(l.n, f)
		if count < lim {
			return t.Sub(now)
		}
		// Nothing passes in this window at this factor: try its edge, or
		// the schedule's next change if that comes first.
		e := l.edge(t)
		if !next.IsZero() && next.Before(e) {
			t = next
			continue
		}
		if lim == 0 && next.IsZero() {
			break
		}
		t = e
	}
	return maxWindow
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
