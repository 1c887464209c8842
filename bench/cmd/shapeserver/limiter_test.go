package main

import (
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is a start time on a 10-second boundary of the Unix epoch, where the fixed windows are aligned.
var t0 = time.Unix(1_700_000_000, 0)

// perWindow offers l n requests, one every step from t0, and counts those admitted in consecutive windows of w.
func perWindow(l limiter, step time.Duration, n int, w time.Duration, windows int) []int {
	counts := make([]int, windows)
	for i := range n {
		if ok, _ := l.take(t0.Add(time.Duration(i) * step)); ok && int(time.Duration(i)*step/w) < windows {
			counts[time.Duration(i)*step/w]++
		}
	}
	return counts
}

// TestLimiter_admittedPerWindow: a bucket's burst and refill, and a dip's (the windowed shapes are
// TestLimiter_reference's).
func TestLimiter_admittedPerWindow(t *testing.T) {
	t.Parallel()
	dip := func(after, dur time.Duration, f float64) []LimitDip { return []LimitDip{{after, dur, f}} }
	// One request per step from t0, n of them, counted per window count.
	for _, tt := range []struct {
		name   string
		limit  float64
		window time.Duration
		dips   []LimitDip
		step   time.Duration
		n      int
		count  time.Duration
		want   []int
	}{
		// A bucket of 64/s at twice that: a burst of 64 on top of the first second's 64, less the first request,
		// which finds the bucket full and refills nothing. Binary fractions keep the float arithmetic exact.
		{"bucket", 64, time.Second, nil, time.Second / 128, 6 * 128, time.Second, []int{127, 64, 64, 64, 64, 64}},
		{"bucket dip", 64, time.Second, dip(2*time.Second, 2*time.Second, 0.5), time.Second / 128, 6 * 128, time.Second, []int{127, 64, 32, 32, 64, 64}},
		{"bucket 320/5s", 320, 5 * time.Second, nil, time.Second / 128, 10 * 128, 5 * time.Second, []int{320 + 319, 320}}, // 64/s, burst 320
	} {
		if got := perWindow(newLimiter(LimiterBucket, tt.limit, tt.window, tt.dips), tt.step, tt.n, tt.count, len(tt.want)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: admitted per %v = %v, want %v", tt.name, tt.count, got, tt.want)
		}
	}
}

// TestLimiter_reference drives each windowed shape with an irregular load
// and checks every decision against the shape's definition.
func TestLimiter_reference(t *testing.T) {
	t.Parallel()
	const n, w = 7, time.Second
	dips := []LimitDip{{1500 * time.Millisecond, 1200 * time.Millisecond, 0.5}, {4 * time.Second, 500 * time.Millisecond, 0}, {5 * time.Second, time.Second, 2}}
	factor := func(t time.Time) float64 {
		d := t.Sub(t0)
		for _, dip := range dips {
			if d >= dip.After && d < dip.After+dip.For {
				return dip.Factor
			}
		}
		return 1
	}
	// Requests at irregular times: bursts and gaps over 8 s.
	var times []time.Time
	at := t0
	for i := range 2000 {
		times = append(times, at)
		at = at.Add(time.Duration((i*7919)%11) * time.Millisecond)
	}
	for _, kind := range []Limiter{LimiterFixed, LimiterSliding} {
		t.Run(string(kind), func(t *testing.T) {
			l := newLimiter(kind, n, w, dips)
			var admitted []time.Time
			for i, now := range times {
				inWindow := 0
				for _, a := range admitted {
					switch {
					case kind == LimiterFixed && a.UnixNano()/int64(w) == now.UnixNano()/int64(w):
						inWindow++
					case kind == LimiterSliding && a.After(now.Add(-w)):
						inWindow++
					}
				}
				want := inWindow < windowLimit(n, factor(now))
				got, wait := l.take(now)
				if got != want {
					t.Fatalf("request %d at +%v: admitted %v, want %v (%d in the window, factor %v)", i, now.Sub(t0), got, want, inWindow, factor(now))
				}
				if got {
					admitted = append(admitted, now)
				} else if wait <= 0 {
					t.Fatalf("request %d refused with wait %v", i, wait)
				}
			}
			if len(admitted) < 50 {
				t.Errorf("only %d admitted: the load does not test much", len(admitted))
			}
		})
	}
}

// TestLimiter_wait: a refused request is told how long until a request
// would pass, and one sent then does pass.
func TestLimiter_wait(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		kind   Limiter
		limit  float64
		window time.Duration
		dips   []LimitDip
		burst  int           // requests at t0, all admitted
		at     time.Duration // then one more at t0+at, refused
		want   time.Duration
	}{
		{"bucket", LimiterBucket, 4, time.Second, nil, 4, 0, 250 * time.Millisecond},
		{"bucket 300/5s", LimiterBucket, 300, 5 * time.Second, nil, 300, 0, time.Second/60 + 1}, // rounded up to the nanosecond
		{"bucket quarter", LimiterBucket, 1, 4 * time.Second, nil, 1, time.Second, 3 * time.Second},
		{"bucket dip to nothing", LimiterBucket, 10, time.Second, []LimitDip{{time.Second, 3 * time.Second, 0}}, 10, time.Second, 3*time.Second + 100*time.Millisecond},
		{"fixed", LimiterFixed, 300, 5 * time.Second, nil, 300, 2300 * time.Millisecond, 2700 * time.Millisecond},
		{"fixed dip ends mid-window", LimiterFixed, 100, 10 * time.Second, []LimitDip{{0, 5 * time.Second, 0.5}}, 50, time.Second, 4 * time.Second},
		{"fixed dip to nothing", LimiterFixed, 10, time.Second, []LimitDip{{time.Second, 3 * time.Second, 0}}, 10, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"sliding", LimiterSliding, 300, 5 * time.Second, nil, 300, 2 * time.Second, 3 * time.Second},
		{"sliding dip", LimiterSliding, 10, time.Second, []LimitDip{{500 * time.Millisecond, 2 * time.Second, 0.5}}, 10, 600 * time.Millisecond, 400 * time.Millisecond},
		{"sliding dip to nothing", LimiterSliding, 10, time.Second, []LimitDip{{time.Second, 3 * time.Second, 0}}, 10, 1500 * time.Millisecond, 2500 * time.Millisecond},
	} {
		l := newLimiter(tt.kind, tt.limit, tt.window, tt.dips)
		for i := range tt.burst {
			if ok, _ := l.take(t0); !ok {
				t.Fatalf("%s: burst request %d refused", tt.name, i)
			}
		}
		ok, wait := true, time.Duration(0)
		for ok { // those of the burst that would pass at t0+at are spent first
			ok, wait = l.take(t0.Add(tt.at))
		}
		early, _ := l.take(t0.Add(tt.at + wait - time.Nanosecond))
		if late, _ := l.take(t0.Add(tt.at + wait)); wait != tt.want || early && wait > time.Nanosecond || !late {
			t.Errorf("%s: wait = %v, want %v; passed a nanosecond before %v, at its end %v", tt.name, wait, tt.want, early, late)
		}
	}
}

// TestLimiter_concurrent: concurrent requests at one instant get exactly the limit, whatever the shape.
func TestLimiter_concurrent(t *testing.T) {
	t.Parallel()
	for _, kind := range []Limiter{LimiterBucket, LimiterFixed, LimiterSliding} {
		l := newLimiter(kind, 50, 5*time.Second, nil)
		var admitted atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if ok, _ := l.take(t0); ok {
						admitted.Add(1)
					}
				}
			})
		}
		if wg.Wait(); admitted.Load() != 50 {
			t.Errorf("%s: admitted %d of 800, want 50", kind, admitted.Load())
		}
	}
}

// TestLimiter_clockBackwards: requests are timed before the limiter's lock,
// so one may come in with a slightly earlier time; it is taken as now.
func TestLimiter_clockBackwards(t *testing.T) {
	t.Parallel()
	for _, kind := range []Limiter{LimiterBucket, LimiterFixed, LimiterSliding} {
		l := newLimiter(kind, 2, time.Second, nil)
		l.take(t0.Add(time.Second))
		l.take(t0.Add(time.Second))
		if ok, wait := l.take(t0.Add(999 * time.Millisecond)); ok || wait <= 0 || wait > time.Second {
			t.Errorf("%s: a late-timed request = %v, %v; want refused with a wait up to 1s", kind, ok, wait)
		}
	}
}

func TestParseLimitDip(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{ // the dip as String prints it, or the error's part
		"20s:10s:0.5": "20s:10s:0.5", "0s:1m:50%": "0s:1m0s:0.5", " 1m30s : 20s : 0 ": "1m30s:20s:0", "5s:5s:2": "5s:5s:2",
		"20s:10s": "want AFTER:FOR:FACTOR", "20:10s:0.5": "AFTER", "-1s:10s:0.5": "AFTER", "20s:0s:0.5": "FOR",
		"20s:10s:half": "FACTOR", "20s:10s:-0.5": "FACTOR", "20s:10s:101": "FACTOR", "20s:10s:NaN": "FACTOR",
	} {
		got, err := ParseLimitDip(in)
		again, err2 := ParseLimitDip(got.String())
		if valid := want[0] <= '9'; (err == nil) != valid || err != nil && !strings.Contains(err.Error(), want) || valid && (got.String() != want || err2 != nil || again != got) {
			t.Errorf("ParseLimitDip(%q) = %v, %v; want %q, read back as itself", in, got, err, want)
		}
	}
	var ds LimitDips
	for _, v := range []string{"10s:5s:0.5", "30s:5s:0,1m:10s:3"} {
		if err := ds.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ds.String(), "10s:5s:0.5,30s:5s:0,1m0s:10s:3"; got != want || ds.Set("1s:1s") == nil {
		t.Errorf("LimitDips = %q, want %q, and a bad dip refused", got, want)
	}
}

func TestLimiter_Set(t *testing.T) {
	t.Parallel()
	var l Limiter
	if l.String() != "bucket" {
		t.Errorf("zero Limiter = %q, want bucket", l)
	}
	for _, name := range []string{"bucket", "fixed", "sliding"} {
		if err := l.Set(name); err != nil || l.String() != name {
			t.Errorf("Set(%q) = %v, Limiter %q", name, err, l)
		}
	}
	if err := l.Set("leaky"); err == nil || !strings.Contains(err.Error(), "want bucket, fixed or sliding") {
		t.Errorf("Set(leaky) = %v", err)
	}
	if newLimiter(LimiterFixed, 0, time.Second, nil) != nil {
		t.Error("a limit of 0 is limited, want unlimited")
	}
}
