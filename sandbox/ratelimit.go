package sandbox

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter names the shape of the sandbox's rate limiter. Plivo documents
// its limit ("300 API requests per 5 seconds") but not its shape, so a
// client should be tried against each.
type Limiter string

// The limiter shapes. For a limit of N requests per window W:
const (
	// LimiterBucket is a token bucket that refills at N/W and holds up to
	// N tokens (at least one): a burst of N, then a steady N/W. It starts
	// full.
	LimiterBucket Limiter = "bucket"
	// LimiterFixed counts requests in windows of W aligned on the Unix
	// epoch (a 5 s window starts at :00, :05, …) and admits N in each: up
	// to 2N can pass within W across an edge.
	LimiterFixed Limiter = "fixed"
	// LimiterSliding admits at most N requests in any W: a request passes
	// when fewer than N were admitted in the W before it (an exact log).
	LimiterSliding Limiter = "sliding"
)

// Limiters lists the shapes, in the order help texts show them.
var Limiters = []Limiter{LimiterBucket, LimiterFixed, LimiterSliding}

// String returns the shape's name; the zero value is LimiterBucket.
func (l Limiter) String() string {
	if l == "" {
		return string(LimiterBucket)
	}
	return string(l)
}

// Set parses a shape's name, for a flag.
func (l *Limiter) Set(s string) error {
	for _, v := range Limiters {
		if s == string(v) {
			*l = v
			return nil
		}
	}
	return fmt.Errorf("limiter %q: want bucket, fixed or sliding", s)
}

// windowed reports whether the shape counts whole requests in windows.
func (l Limiter) windowed() bool { return l == LimiterFixed || l == LimiterSliding }

// Rate is a rate limit: Limit requests per Window. A zero Limit is no
// limit; a zero Window means one second. It is a flag.Value, so that the
// sandbox command and `run --sandbox` parse their flags alike.
type Rate struct {
	Limit  float64
	Window time.Duration
}

// maxWindow bounds a rate limit's window: longer ones are typos.
const maxWindow = 24 * time.Hour

// ParseRateLimit parses a rate limit: "N" or "N/s" (N requests per second),
// "N/5s", "N/500ms", "N/m", "N/1m", "N/h": N requests per that window. N
// may be fractional ("0.5", "2.5/s"); 0 means unlimited. The window is a Go
// duration, or a bare unit that means one of it.
func ParseRateLimit(s string) (Rate, error) {
	in := strings.TrimSpace(s)
	num, win, slash := strings.Cut(in, "/")
	r := Rate{Window: time.Second}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return Rate{}, fmt.Errorf("rate limit %q: want N, N/s or N/5s (N requests per window, N a number 0 or more; 0 is unlimited)", s)
	}
	r.Limit = n
	if slash {
		win = strings.TrimSpace(win)
		full := win
		if win != "" && strings.IndexAny(win[:1], "0123456789.") < 0 {
			full = "1" + win // "s" is "1s"
		}
		d, err := time.ParseDuration(full)
		switch {
		case err != nil:
			return Rate{}, fmt.Errorf("rate limit %q: window %q: want a duration such as s, 5s, 500ms or 1m", s, win)
		case d < time.Millisecond || d > maxWindow:
			return Rate{}, fmt.Errorf("rate limit %q: window %v: want 1ms to %v", s, d, maxWindow)
		}
		r.Window = d
	}
	return r, nil
}

// Set parses s with ParseRateLimit, for a flag.
func (r *Rate) Set(s string) error {
	v, err := ParseRateLimit(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// String formats r as ParseRateLimit reads it: "0", "60/s", "300/5s".
func (r Rate) String() string {
	if r.Limit == 0 {
		return "0"
	}
	n := strconv.FormatFloat(r.Limit, 'f', -1, 64)
	return n + "/" + formatWindow(r.window())
}

// PerSecond returns the long-run rate r allows, in requests per second.
func (r Rate) PerSecond() float64 { return r.Limit / r.window().Seconds() }

func (r Rate) window() time.Duration {
	if r.Window <= 0 {
		return time.Second
	}
	return r.Window
}

// formatWindow writes d briefly: "s", "5s", "m", "90s", "1.5s", "500ms".
func formatWindow(d time.Duration) string {
	switch {
	case d == time.Second:
		return "s"
	case d == time.Minute:
		return "m"
	case d == time.Hour:
		return "h"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// LimitDip changes the rate limit for a while, standing in for the other
// traffic that shares the account's budget: For long, starting After the
// account's first request, the limit is multiplied by Factor (0.5 halves
// it; 0 admits nothing; above 1 raises it), then it comes back.
type LimitDip struct {
	After, For time.Duration
	Factor     float64
}

// maxDipFactor bounds a dip's factor: larger ones are typos.
const maxDipFactor = 100

// ParseLimitDip parses "AFTER:FOR:FACTOR", e.g. "20s:10s:0.5": 20 s after
// the first request, the limit is halved for 10 s. FACTOR may also be a
// percentage ("50%").
func ParseLimitDip(s string) (LimitDip, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return LimitDip{}, fmt.Errorf("limit dip %q: want AFTER:FOR:FACTOR, e.g. 20s:10s:0.5 (after 20s, the limit is halved for 10s)", s)
	}
	var d LimitDip
	var err error
	if d.After, err = time.ParseDuration(strings.TrimSpace(parts[0])); err != nil || d.After < 0 {
		return LimitDip{}, fmt.Errorf("limit dip %q: AFTER %q: want a duration, 0 or more, such as 20s", s, parts[0])
	}
	if d.For, err = time.ParseDuration(strings.TrimSpace(parts[1])); err != nil || d.For <= 0 {
		return LimitDip{}, fmt.Errorf("limit dip %q: FOR %q: want a duration above 0, such as 10s", s, parts[1])
	}
	f := strings.TrimSpace(parts[2])
	scale := 1.0
	if p, ok := strings.CutSuffix(f, "%"); ok {
		f, scale = p, 0.01
	}
	d.Factor, err = strconv.ParseFloat(f, 64)
	d.Factor *= scale
	if err != nil || math.IsNaN(d.Factor) || d.Factor < 0 || d.Factor > maxDipFactor {
		return LimitDip{}, fmt.Errorf("limit dip %q: FACTOR %q: want a number from 0 to %d, such as 0.5 or 50%%", s, parts[2], maxDipFactor)
	}
	return d, nil
}

// String formats d as ParseLimitDip reads it.
func (d LimitDip) String() string {
	return fmt.Sprintf("%v:%v:%s", d.After, d.For, strconv.FormatFloat(d.Factor, 'f', -1, 64))
}

// LimitDips is a list of dips; as a flag.Value, each use of the flag adds
// one, and a comma separates several in one use.
type LimitDips []LimitDip

// Set adds the dips of s, for a flag.
func (ds *LimitDips) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		d, err := ParseLimitDip(part)
		if err != nil {
			return err
		}
		*ds = append(*ds, d)
	}
	return nil
}

// String formats the dips as Set reads them.
func (ds LimitDips) String() string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// checkDips reports dips that overlap: the limit must be clear at every
// moment.
func checkDips(ds []LimitDip) error {
	sorted := sortedDips(ds)
	for i := 1; i < len(sorted); i++ {
		if prev := sorted[i-1]; sorted[i].After < prev.After+prev.For {
			return fmt.Errorf("limit dips %v and %v overlap", prev, sorted[i])
		}
	}
	return nil
}

func sortedDips(ds []LimitDip) []LimitDip {
	out := append([]LimitDip(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].After < out[j].After })
	return out
}

// schedule is the limit's factor over time: 1 but during the dips, counted
// from the first request.
type schedule struct {
	dips  []LimitDip // sorted by After
	start time.Time  // the first request; zero before it
}

// begin anchors the schedule on the first request.
func (s *schedule) begin(now time.Time) {
	if s.start.IsZero() {
		s.start = now
	}
}

// at returns the factor at t and when it next changes; next is zero when
// it never does.
func (s *schedule) at(t time.Time) (factor float64, next time.Time) {
	d := t.Sub(s.start)
	for _, dip := range s.dips {
		switch {
		case d < dip.After:
			return 1, s.start.Add(dip.After)
		case d < dip.After+dip.For:
			// A dip that ends where the next starts hands over directly.
			return dip.Factor, s.start.Add(dip.After + dip.For)
		}
	}
	return 1, time.Time{}
}

// limiter admits requests, or says how long until one would pass if no
// other came first.
type limiter interface {
	take(now time.Time) (ok bool, wait time.Duration)
}

// maxPieces bounds the walk over a schedule's pieces when looking for the
// next free slot: the dips are finite, so the walk always ends well before.
const maxPieces = 1 << 16

// newLimiter returns a limiter of shape kind for limit requests per
// window, moved by dips; nil for no limit.
func newLimiter(kind Limiter, limit float64, window time.Duration, dips []LimitDip) limiter {
	if limit <= 0 || math.IsNaN(limit) || math.IsInf(limit, 1) {
		return nil
	}
	if window <= 0 {
		window = time.Second
	}
	sched := schedule{dips: sortedDips(dips)}
	switch kind {
	case LimiterFixed:
		return &fixedWindow{n: limit, window: window, sched: sched}
	case LimiterSliding:
		return &slidingLog{n: limit, window: window, sched: sched}
	}
	return &bucket{n: limit, rate: limit / window.Seconds(), sched: sched}
}

// windowLimit is how many whole requests n allows at factor f.
func windowLimit(n, f float64) int {
	return int(math.Floor(n*f + 1e-9))
}

// bucket is a token bucket: it holds up to n tokens (at least one, so that
// a fractional rate such as one per four seconds admits anything), refills
// at rate tokens per second and starts full. A dip scales both. Its
// critical section is a few float operations, so one mutex serves
// thousands of requests a second.
type bucket struct {
	n, rate float64

	mu     sync.Mutex
	sched  schedule
	tokens float64
	last   time.Time
}

func newBucket(rate float64) *bucket {
	return newLimiter(LimiterBucket, rate, time.Second, nil).(*bucket)
}

// capacity is the bucket's size at factor f.
func (b *bucket) capacity(f float64) float64 {
	if f <= 0 {
		return 0
	}
	return max(1, b.n*f)
}

// take spends a token at now if there is one. Otherwise it reports how long
// until one is available.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.sched.begin(now)
		f, _ := b.sched.at(now)
		b.tokens, b.last = b.capacity(f), now
	}
	if now.Before(b.last) {
		now = b.last // requests are timed before the lock: keep time monotonic
	}
	b.tokens = b.fill(b.tokens, b.last, now)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, b.untilToken(now)
}

// fill returns the tokens at to of a bucket that held tokens at from,
// piece by piece of the schedule.
func (b *bucket) fill(tokens float64, from, to time.Time) float64 {
	t := from
	for range maxPieces {
		f, next := b.sched.at(t)
		tokens = min(tokens, b.capacity(f)) // a dip takes its share at once
		end := to
		if !next.IsZero() && next.Before(to) {
			end = next
		}
		tokens = min(b.capacity(f), tokens+end.Sub(t).Seconds()*b.rate*f)
		if t = end; !t.Before(to) {
			break
		}
	}
	return tokens
}

// untilToken returns how long from now until the bucket holds a token.
func (b *bucket) untilToken(now time.Time) time.Duration {
	tokens, t := b.tokens, now
	for range maxPieces {
		f, next := b.sched.at(t)
		tokens = min(tokens, b.capacity(f))
		if r := b.rate * f; r > 0 {
			at := t.Add(time.Duration(math.Ceil((1 - tokens) / r * float64(time.Second))))
			if next.IsZero() || !at.After(next) {
				return at.Sub(now)
			}
			tokens += next.Sub(t).Seconds() * r
		}
		if next.IsZero() {
			break
		}
		t = next
	}
	return maxWindow // never, as far as the schedule goes
}

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

// retryAfterSeconds rounds wait up to whole seconds, at least 1, for a
// Retry-After header.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// errNoLimit is returned for dips without a rate limit to move.
var errNoLimit = errors.New("limit dips need a rate limit")
