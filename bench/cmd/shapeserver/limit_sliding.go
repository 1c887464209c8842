package main

import (
	"sort"
	"sync"
	"time"
)

// slidingLog admits a request when fewer than n were admitted in the
// window before it: the exact log of their times. A dip scales n.
type slidingLog struct {
	n      float64
	window time.Duration

	mu    sync.Mutex
	sched schedule
	times []time.Time // admitted, oldest first, all within the window
	last  time.Time
}

func (l *slidingLog) take(now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sched.begin(now)
	if now.Before(l.last) {
		now = l.last
	}
	l.last = now
	l.expire(now)
	f, _ := l.sched.at(now)
	if len(l.times) < windowLimit(l.n, f) {
		l.times = append(l.times, now)
		return true, 0
	}
	return false, l.untilSlot(now)
}

// expire drops the times that are no longer within the window (t-W, t].
func (l *slidingLog) expire(t time.Time) {
	i := l.countOut(t)
	if i == 0 {
		return
	}
	// Shift rather than reslice, so that the array does not grow forever.
	n := copy(l.times, l.times[i:])
	clear(l.times[n:])
	l.times = l.times[:n]
}

// countOut returns how many of the logged times are out of the window at t.
func (l *slidingLog) countOut(t time.Time) int {
	cut := t.Add(-l.window)
	return sort.Search(len(l.times), func(i int) bool { return l.times[i].After(cut) })
}

// untilSlot returns how long from now until fewer requests than the limit
// are in the window, piece by piece of the schedule.
func (l *slidingLog) untilSlot(now time.Time) time.Duration {
	t := now
	for range maxPieces {
		f, next := l.sched.at(t)
		if lim := windowLimit(l.n, f); lim > 0 {
			at := t
			if in := len(l.times) - l.countOut(t); in >= lim {
				// The oldest of the lim most recent leaves the window.
				at = l.times[len(l.times)-lim].Add(l.window)
			}
			if next.IsZero() || at.Before(next) {
				return at.Sub(now)
			}
		}
		if next.IsZero() {
			break
		}
		t = next
	}
	return maxWindow
}
