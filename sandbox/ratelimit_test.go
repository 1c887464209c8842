package sandbox

import (
	"fmt"
	"net/http"
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
	for _, kind := range Limiters {
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
	for _, kind := range Limiters {
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

// TestServer_RateLimit_shapes: the server answers 429 as its limiter says,
// with the limiter's wait, rounded up, as Retry-After, and counts the list.
func TestServer_RateLimit_shapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cfg        Config
		startAt    time.Duration
		allowed    int
		retryAfter string
	}{
		{"bucket 300/5s", Config{RateLimit: 300, RateWindow: 5 * time.Second}, 0, 300, "1"},
		{"fixed 300/5s", Config{RateLimit: 300, RateWindow: 5 * time.Second, Limiter: LimiterFixed}, 2300 * time.Millisecond, 300, "3"},
		{"fixed 300/5s without Retry-After", Config{RateLimit: 300, RateWindow: 5 * time.Second, Limiter: LimiterFixed, NoRetryAfter: true}, 0, 300, ""},
		{"sliding 20/1m", Config{RateLimit: 20, RateWindow: time.Minute, Limiter: LimiterSliding}, 0, 20, "60"},
		{"fixed dip", Config{RateLimit: 10, Limiter: LimiterFixed, LimitDips: []LimitDip{{0, 10 * time.Second, 0.3}}}, 0, 3, "1"},
		{"bucket dip to nothing", Config{RateLimit: 10, LimitDips: []LimitDip{{0, 10 * time.Second, 0}}}, 0, 0, "11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: t0.Add(tt.startAt)}
			tt.cfg.Now = clock.Now
			if err := tt.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			s, ts := newTestServer(t, tt.cfg)
			for i := range tt.allowed {
				path := numberPath(numAccepted)
				if i%2 == 1 {
					path = listBase
				}
				if res := send(t, ts, http.MethodGet, path, ""); res.status != http.StatusOK {
					t.Fatalf("request %d: status %d, want 200", i, res.status)
				}
			}
			res := send(t, ts, http.MethodGet, listBase, "")
			checkError(t, res, http.StatusTooManyRequests, "too many requests")
			if got := res.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if st := s.Stats(); st.RateLimited != 1 || st.ByStatus[200] != int64(tt.allowed) {
				t.Errorf("Stats = %+v, want %d answered, 1 rate limited", st, tt.allowed)
			}
		})
	}
}

// TestServer_LimitDips_fromFirstRequest: dips are timed from the first
// request, not from New.
func TestServer_LimitDips_fromFirstRequest(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: t0}
	s, ts := newTestServer(t, Config{RateLimit: 4, Limiter: LimiterFixed, LimitDips: []LimitDip{{time.Second, time.Second, 0.5}}, Now: clock.Now})
	clock.Advance(time.Hour) // the server sits idle first
	count := func() int {
		n := 0
		for range 10 {
			if send(t, ts, http.MethodGet, listBase, "").status == http.StatusOK {
				n++
			}
		}
		return n
	}
	got := []int{count()}
	for range 3 {
		clock.Advance(time.Second)
		got = append(got, count())
	}
	if want := []int{4, 2, 4, 4}; !reflect.DeepEqual(got, want) {
		t.Errorf("admitted per second = %v, want %v", got, want)
	}
	if s.Stats().RateLimited != 40-14 {
		t.Errorf("RateLimited = %d, want %d", s.Stats().RateLimited, 40-14)
	}
}

func TestParseRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Rate
		str     string
		perSec  float64
		wantErr string
	}{
		{in: "60", want: Rate{60, time.Second}, str: "60/s", perSec: 60},
		{in: "60/s", want: Rate{60, time.Second}, str: "60/s", perSec: 60},
		{in: " 60 / 1s ", want: Rate{60, time.Second}, str: "60/s", perSec: 60},
		{in: "300/5s", want: Rate{300, 5 * time.Second}, str: "300/5s", perSec: 60},
		{in: "1000/1m", want: Rate{1000, time.Minute}, str: "1000/m", perSec: 1000.0 / 60},
		{in: "1000/m", want: Rate{1000, time.Minute}, str: "1000/m", perSec: 1000.0 / 60},
		{in: "90/90s", want: Rate{90, 90 * time.Second}, str: "90/90s", perSec: 1},
		{in: "5/500ms", want: Rate{5, 500 * time.Millisecond}, str: "5/500ms", perSec: 10},
		{in: "2/2m", want: Rate{2, 2 * time.Minute}, str: "2/2m", perSec: 1.0 / 60},
		{in: "1/h", want: Rate{1, time.Hour}, str: "1/h", perSec: 1.0 / 3600},
		{in: "0.25", want: Rate{0.25, time.Second}, str: "0.25/s", perSec: 0.25},
		{in: "1/1.5s", want: Rate{1, 1500 * time.Millisecond}, str: "1/1.5s", perSec: 1 / 1.5},
		{in: "0", want: Rate{0, time.Second}, str: "0", perSec: 0},
		{in: "", wantErr: "want N, N/s or N/5s"},
		{in: "-1", wantErr: "want N"},
		{in: "NaN", wantErr: "want N"},
		{in: "Inf/s", wantErr: "want N"},
		{in: "sixty", wantErr: "want N"},
		{in: "60/", wantErr: "window"},
		{in: "60/5", wantErr: "window"},
		{in: "60/fortnight", wantErr: "window"},
		{in: "60/0s", wantErr: "want 1ms to 24h0m0s"},
		{in: "60/-5s", wantErr: "window"},
		{in: "60/48h", wantErr: "want 1ms to"},
		{in: "60/5s/2", wantErr: "window"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRateLimit(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseRateLimit(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRateLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			if d := got.PerSecond() - tt.perSec; d > 1e-12 || d < -1e-12 {
				t.Errorf("PerSecond() = %v, want %v", got.PerSecond(), tt.perSec)
			}
			var again Rate
			if err := again.Set(got.String()); err != nil || again != got {
				t.Errorf("Set(String()) = %v, %v; want %v", again, err, got)
			}
		})
	}
	if s := (Rate{}).String(); s != "0" {
		t.Errorf("zero Rate = %q, want 0", s)
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

func TestConfig_Validate_limiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"fixed 300/5s", Config{RateLimit: 300, RateWindow: 5 * time.Second, Limiter: LimiterFixed}, ""},
		{"sliding with dips", Config{RateLimit: 60, Limiter: LimiterSliding, LimitDips: []LimitDip{{0, time.Second, 0.5}, {time.Second, time.Second, 0}}}, ""},
		{"fractional bucket", Config{RateLimit: 0.25}, ""},
		{"fractional fixed", Config{RateLimit: 0.25, Limiter: LimiterFixed}, "want a whole number"},
		{"fractional sliding", Config{RateLimit: 2.5, Limiter: LimiterSliding}, "say 1/4s rather than 0.25"},
		{"unknown limiter", Config{RateLimit: 1, Limiter: "leaky"}, "want bucket, fixed or sliding"},
		{"negative window", Config{RateLimit: 1, RateWindow: -time.Second}, "rate window"},
		{"tiny window", Config{RateLimit: 1, RateWindow: time.Microsecond}, "rate window"},
		{"huge window", Config{RateLimit: 1, RateWindow: 25 * time.Hour}, "rate window"},
		{"overlapping dips", Config{RateLimit: 1, LimitDips: []LimitDip{{10 * time.Second, 5 * time.Second, 0.5}, {0, 11 * time.Second, 2}}}, "overlap"},
		{"bad dip", Config{RateLimit: 1, LimitDips: []LimitDip{{0, 0, 0.5}}}, "FOR above 0"},
		{"dip without a limit", Config{LimitDips: []LimitDip{{0, time.Second, 0.5}}}, "need a rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func ExampleParseRateLimit() {
	r, err := ParseRateLimit("300/5s")
	fmt.Println(r.Limit, r.Window, r.PerSecond(), err)
	// Output: 300 5s 60 <nil>
}
