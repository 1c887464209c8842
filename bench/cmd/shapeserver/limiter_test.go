package main

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is a start time on a 10-second boundary of the Unix epoch, where the
// fixed windows are aligned.
var t0 = time.Unix(1_700_000_000, 0)

// offer sends n requests to l, one every step from start, and returns
// whether each was admitted and the wait each refused one was told.
func offer(l limiter, start time.Time, step time.Duration, n int) (ok []bool, waits []time.Duration) {
	ok = make([]bool, n)
	waits = make([]time.Duration, n)
	for i := range n {
		ok[i], waits[i] = l.take(start.Add(time.Duration(i) * step))
	}
	return ok, waits
}

// perWindow counts the admitted requests of offer in consecutive windows
// of w from start.
func perWindow(ok []bool, start time.Time, step, w time.Duration, windows int) []int {
	counts := make([]int, windows)
	for i, admitted := range ok {
		k := int(time.Duration(i) * step / w)
		if admitted && k < windows {
			counts[k]++
		}
	}
	return counts
}

func TestLimiter_admittedPerWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		kind   Limiter
		limit  float64
		window time.Duration
		dips   []LimitDip
		start  time.Time
		step   time.Duration // the offered load: one request per step
		n      int
		count  time.Duration // the windows counted
		want   []int
	}{
		// A bucket of 64/s at twice that: a burst of 64 on top of the
		// first second's 64 (less the first request, which finds the
		// bucket full and refills nothing), then 64 a second. The binary
		// fractions keep the float arithmetic exact.
		{name: "bucket", kind: LimiterBucket, limit: 64, window: time.Second, start: t0,
			step: time.Second / 128, n: 6 * 128, count: time.Second, want: []int{127, 64, 64, 64, 64, 64}},
		// A dip to half from 2 s to 4 s halves the refill and the burst.
		{name: "bucket dip", kind: LimiterBucket, limit: 64, window: time.Second, dips: []LimitDip{{2 * time.Second, 2 * time.Second, 0.5}},
			start: t0, step: time.Second / 128, n: 6 * 128, count: time.Second, want: []int{127, 64, 32, 32, 64, 64}},
		// 320/5s is 64/s with a burst of 320.
		{name: "bucket 320/5s", kind: LimiterBucket, limit: 320, window: 5 * time.Second, start: t0,
			step: time.Second / 128, n: 10 * 128, count: 5 * time.Second, want: []int{320 + 319, 320}},
		// Fixed windows of 300/5s at 1000/s, starting mid-window: 300 in
		// each aligned window, counted from the start here.
		{name: "fixed 300/5s", kind: LimiterFixed, limit: 300, window: 5 * time.Second, start: t0,
			step: time.Millisecond, n: 15000, count: 5 * time.Second, want: []int{300, 300, 300}},
		{name: "fixed 1s", kind: LimiterFixed, limit: 60, window: time.Second, start: t0,
			step: time.Millisecond, n: 4000, count: time.Second, want: []int{60, 60, 60, 60}},
		{name: "fixed dip", kind: LimiterFixed, limit: 100, window: time.Second, dips: []LimitDip{{2 * time.Second, 2 * time.Second, 0.5}},
			start: t0, step: time.Millisecond, n: 6000, count: time.Second, want: []int{100, 100, 50, 50, 100, 100}},
		{name: "fixed dip to nothing", kind: LimiterFixed, limit: 100, window: time.Second, dips: []LimitDip{{time.Second, 2 * time.Second, 0}},
			start: t0, step: time.Millisecond, n: 4000, count: time.Second, want: []int{100, 0, 0, 100}},
		// A sliding log of 300/5s at 1000/s: each burst of 300 frees its
		// slots exactly 5 s later.
		{name: "sliding 300/5s", kind: LimiterSliding, limit: 300, window: 5 * time.Second, start: t0,
			step: time.Millisecond, n: 15000, count: 5 * time.Second, want: []int{300, 300, 300}},
		{name: "sliding dip", kind: LimiterSliding, limit: 100, window: time.Second, dips: []LimitDip{{2 * time.Second, 2 * time.Second, 0.5}},
			start: t0, step: time.Millisecond, n: 6000, count: time.Second, want: []int{100, 100, 50, 50, 100, 100}},
		{name: "sliding raised", kind: LimiterSliding, limit: 100, window: time.Second, dips: []LimitDip{{time.Second, time.Second, 2}},
			start: t0, step: time.Millisecond, n: 3000, count: time.Second, want: []int{100, 200, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tt.kind, tt.limit, tt.window, tt.dips)
			ok, _ := offer(l, tt.start, tt.step, tt.n)
			got := perWindow(ok, tt.start, tt.step, tt.count, len(tt.want))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("admitted per %v = %v, want %v", tt.count, got, tt.want)
			}
		})
	}
}

// TestLimiter_fixedAcrossEdge: fixed windows let 2N through within much
// less than W, across an edge; a sliding log does not.
func TestLimiter_fixedAcrossEdge(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		kind Limiter
		want int
	}{{LimiterFixed, 600}, {LimiterSliding, 300}} {
		l := newLimiter(tt.kind, 300, 5*time.Second, nil)
		got := 0
		// 400 requests just before the edge at t0+5s, 400 just after.
		for _, from := range []time.Duration{4900 * time.Millisecond, 5000 * time.Millisecond} {
			for i := range 400 {
				if ok, _ := l.take(t0.Add(from + time.Duration(i)*100*time.Microsecond)); ok {
					got++
				}
			}
		}
		if got != tt.want {
			t.Errorf("%s: %d admitted within 0.2s around an edge, want %d", tt.kind, got, tt.want)
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
	tests := []struct {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(tt.kind, tt.limit, tt.window, tt.dips)
			for i := range tt.burst {
				if ok, _ := l.take(t0); !ok {
					t.Fatalf("burst request %d refused", i)
				}
			}
			// Those of the burst that would pass at t0+at are spent first.
			for {
				ok, wait := l.take(t0.Add(tt.at))
				if ok {
					continue
				}
				if wait != tt.want {
					t.Errorf("wait = %v, want %v", wait, tt.want)
				}
				if ok, _ := l.take(t0.Add(tt.at + wait - time.Nanosecond)); ok && wait > time.Nanosecond {
					t.Errorf("a request passed a nanosecond before the wait was over")
				}
				if ok, _ := l.take(t0.Add(tt.at + wait)); !ok {
					t.Errorf("a request after the wait was refused")
				}
				break
			}
		})
	}
}

// TestLimiter_concurrent: concurrent requests at one instant get exactly
// the limit, whatever the shape.
func TestLimiter_concurrent(t *testing.T) {
	t.Parallel()
	for _, kind := range []Limiter{LimiterBucket, LimiterFixed, LimiterSliding} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			l := newLimiter(kind, 50, 5*time.Second, nil)
			var mu sync.Mutex
			admitted := 0
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 100 {
						if ok, _ := l.take(t0); ok {
							mu.Lock()
							admitted++
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if admitted != 50 {
				t.Errorf("admitted %d of 800, want 50", admitted)
			}
		})
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

func TestNewLimiter_unlimited(t *testing.T) {
	t.Parallel()
	for _, limit := range []float64{0, -1} {
		if l := newLimiter(LimiterFixed, limit, time.Second, nil); l != nil {
			t.Errorf("newLimiter(%v) = %T, want nil (unlimited)", limit, l)
		}
	}
}

func TestParseLimitDip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    LimitDip
		wantErr string
	}{
		{in: "20s:10s:0.5", want: LimitDip{20 * time.Second, 10 * time.Second, 0.5}},
		{in: "0s:1m:50%", want: LimitDip{0, time.Minute, 0.5}},
		{in: " 1m30s : 20s : 0 ", want: LimitDip{90 * time.Second, 20 * time.Second, 0}},
		{in: "5s:5s:2", want: LimitDip{5 * time.Second, 5 * time.Second, 2}},
		{in: "20s:10s", wantErr: "want AFTER:FOR:FACTOR"},
		{in: "20s:10s:0.5:1", wantErr: "want AFTER:FOR:FACTOR"},
		{in: "20:10s:0.5", wantErr: "AFTER"},
		{in: "-1s:10s:0.5", wantErr: "AFTER"},
		{in: "20s:0s:0.5", wantErr: "FOR"},
		{in: "20s:10s:half", wantErr: "FACTOR"},
		{in: "20s:10s:-0.5", wantErr: "FACTOR"},
		{in: "20s:10s:101", wantErr: "FACTOR"},
		{in: "20s:10s:NaN", wantErr: "FACTOR"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseLimitDip(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseLimitDip(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseLimitDip(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if again, err := ParseLimitDip(got.String()); err != nil || again != got {
				t.Errorf("ParseLimitDip(String()) = %v, %v; want %v", again, err, got)
			}
		})
	}

	var ds LimitDips
	for _, v := range []string{"10s:5s:0.5", "30s:5s:0,1m:10s:3"} {
		if err := ds.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := ds.String(), "10s:5s:0.5,30s:5s:0,1m0s:10s:3"; got != want {
		t.Errorf("LimitDips = %q, want %q", got, want)
	}
	if err := ds.Set("1s:1s"); err == nil {
		t.Error("LimitDips.Set of a bad dip: no error")
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
}
