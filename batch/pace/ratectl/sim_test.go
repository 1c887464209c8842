package ratectl

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// The simulation: a client that sends rows through a token bucket at the
// rate a controller gives, with a latency, against a simulated server
// limiter, on a fake clock that steps 1 ms at a time. A row answered 429 is
// sent again later; a row is done only when accepted.

// ctl is what the harness drives: the package's Controller and the designs
// it is compared with.
type ctl interface {
	OnAccepted(now, sentAt time.Time)
	OnThrottled(now, sentAt time.Time, retryAfter time.Duration)
	Rate(now time.Time) float64
	PauseUntil() time.Time
}

// limiter is a simulated server limiter. t is the time since the run began.
type limiter interface {
	// allow decides a request arriving at t; when it refuses, retryAfter
	// is the time until a slot frees.
	allow(t time.Duration) (ok bool, retryAfter time.Duration)
	// limit is the rate the server accepts at t, for the ideal time.
	limit(t time.Duration) float64
}

// scale is a limit multiplier over time: 1, or 0.5 during a dip.
type scale func(t time.Duration) float64

func constant(time.Duration) float64 { return 1 }

// dip halves the limit from `from` for `length`.
func dip(from, length time.Duration) scale {
	return func(t time.Duration) float64 {
		if t >= from && t < from+length {
			return 0.5
		}
		return 1
	}
}

// bucket: rate L, burst B, full at the start.
type bucket struct {
	l, b   float64
	s      scale
	tokens float64
	last   time.Duration
}

func newBucket(l, b float64, s scale) *bucket { return &bucket{l: l, b: b, s: s, tokens: b} }

func (k *bucket) allow(t time.Duration) (bool, time.Duration) {
	r := k.l * k.s(t)
	k.tokens = min(k.b*k.s(t), k.tokens+r*(t-k.last).Seconds())
	k.last = t
	if k.tokens >= 1 {
		k.tokens--
		return true, 0
	}
	return false, time.Duration((1 - k.tokens) / r * float64(time.Second))
}

func (k *bucket) limit(t time.Duration) float64 { return k.l * k.s(t) }

// fixed: N per window W aligned on the server's clock; the run starts at
// phase into a window.
type fixed struct {
	n      int
	w      time.Duration
	phase  time.Duration
	s      scale
	window int64
	count  int
}

func (f *fixed) allow(t time.Duration) (bool, time.Duration) {
	st := t + f.phase
	win := int64(st / f.w)
	if win != f.window {
		f.window, f.count = win, 0
	}
	n := int(math.Round(float64(f.n) * f.s(t)))
	if f.count < n {
		f.count++
		return true, 0
	}
	return false, time.Duration(win+1)*f.w - st
}

func (f *fixed) limit(t time.Duration) float64 {
	return float64(f.n) * f.s(t) / f.w.Seconds()
}

// sliding: N in any trailing W (a log of accepted times).
type sliding struct {
	n   int
	w   time.Duration
	s   scale
	log []time.Duration // accepted, oldest first
}

func (s *sliding) allow(t time.Duration) (bool, time.Duration) {
	i := 0
	for i < len(s.log) && s.log[i] <= t-s.w {
		i++
	}
	s.log = s.log[i:]
	n := int(math.Round(float64(s.n) * s.s(t)))
	if len(s.log) < n {
		s.log = append(s.log, t)
		return true, 0
	}
	return false, s.log[len(s.log)-n] + s.w - t
}

func (s *sliding) limit(t time.Duration) float64 {
	return float64(s.n) * s.s(t) / s.w.Seconds()
}

// busy stands in for an account busy with other traffic: from `from` for
// `d` it refuses a share p of requests at random, whatever our rate, with
// a Retry-After of 1 s (the time to the account's next free slot, rounded
// up); outside the spell, and for the requests it lets through, the inner
// limiter decides. For the ideal time the server accepts nothing during
// the spell.
type busy struct {
	inner   limiter
	from, d time.Duration
	p       float64
	rng     *rand.Rand
}

func (b *busy) allow(t time.Duration) (bool, time.Duration) {
	if t >= b.from && t < b.from+b.d && b.rng.Float64() < b.p {
		return false, time.Millisecond
	}
	return b.inner.allow(t)
}

func (b *busy) limit(t time.Duration) float64 {
	if t >= b.from && t < b.from+b.d {
		return 0
	}
	return b.inner.limit(t)
}

// spellEnd is when the account frees up.
func (b *busy) spellEnd() time.Duration { return b.from + b.d }

// shape is one server limiter of the grid, at its nominal limit L.
type shape struct {
	name string
	l    float64                      // nominal limit, requests/s
	mk   func(rng *rand.Rand) limiter // a fresh limiter
	busy bool                         // a busy spell: its own targets (see busyTargets)
}

func shapes() []shape {
	phase := func(rng *rand.Rand, w time.Duration) time.Duration {
		return time.Duration(rng.Int64N(int64(w)))
	}
	d := dip(10*time.Second, 20*time.Second)
	return []shape{
		{name: "bucket 50/s burst 50", l: 50, mk: func(*rand.Rand) limiter { return newBucket(50, 50, constant) }},
		{name: "fixed 40/1s", l: 40, mk: func(r *rand.Rand) limiter {
			return &fixed{n: 40, w: time.Second, phase: phase(r, time.Second), s: constant, window: -1}
		}},
		{name: "fixed 300/5s", l: 60, mk: func(r *rand.Rand) limiter {
			return &fixed{n: 300, w: 5 * time.Second, phase: phase(r, 5*time.Second), s: constant, window: -1}
		}},
		{name: "sliding 50/1s", l: 50, mk: func(*rand.Rand) limiter { return &sliding{n: 50, w: time.Second, s: constant} }},
		{name: "sliding 300/5s", l: 60, mk: func(*rand.Rand) limiter { return &sliding{n: 300, w: 5 * time.Second, s: constant} }},
		{name: "moving bucket 60/s", l: 60, mk: func(*rand.Rand) limiter { return newBucket(60, 60, d) }},
		{name: "moving fixed 300/5s", l: 60, mk: func(r *rand.Rand) limiter {
			return &fixed{n: 300, w: 5 * time.Second, phase: phase(r, 5*time.Second), s: d, window: -1}
		}},
		{name: "moving sliding 60/1s", l: 60, mk: func(*rand.Rand) limiter { return &sliding{n: 60, w: time.Second, s: d} }},
		busyShape("busy 3s, bucket 50", 0, 3*time.Second),
		busyShape("busy 60s, bucket 50", 0, time.Minute),
		busyShape("bucket 50, busy 3s@10s", 10*time.Second, 3*time.Second),
		busyShape("bucket 50, busy 60s@10s", 10*time.Second, time.Minute),
	}
}

// benchShapes are bench/throttle.sh's shapes at L = 50, as the sandbox
// makes them (the moving limit halves 5 s into the run for 20 s).
func benchShapes() []shape {
	phase := func(rng *rand.Rand, w time.Duration) time.Duration {
		return time.Duration(rng.Int64N(int64(w)))
	}
	return []shape{
		{name: "bucket 50/s burst 50", l: 50, mk: func(*rand.Rand) limiter { return newBucket(50, 50, constant) }},
		{name: "fixed 50/1s", l: 50, mk: func(r *rand.Rand) limiter {
			return &fixed{n: 50, w: time.Second, phase: phase(r, time.Second), s: constant, window: -1}
		}},
		{name: "fixed 250/5s", l: 50, mk: func(r *rand.Rand) limiter {
			return &fixed{n: 250, w: 5 * time.Second, phase: phase(r, 5*time.Second), s: constant, window: -1}
		}},
		{name: "sliding 50/1s", l: 50, mk: func(*rand.Rand) limiter { return &sliding{n: 50, w: time.Second, s: constant} }},
		{name: "moving bucket 50/s", l: 50, mk: func(*rand.Rand) limiter { return newBucket(50, 50, dip(5*time.Second, 20*time.Second)) }},
	}
}

// busyShape: a bucket of 50/s, burst 50, behind a spell of 95% random
// refusals from `from` for d.
func busyShape(name string, from, d time.Duration) shape {
	return shape{name: name, l: 50, busy: true, mk: func(r *rand.Rand) limiter {
		return &busy{inner: newBucket(50, 50, constant), from: from, d: d, p: 0.95, rng: newRand(r.Uint64())}
	}}
}

// simConfig is one run.
type simConfig struct {
	rows       int
	ceiling    float64
	retryAfter bool          // the server sends Retry-After (whole seconds, rounded up)
	latMin     time.Duration // request latency, uniform in [latMin, latMax]
	latMax     time.Duration
	seed       uint64
}

type simResult struct {
	wall      time.Duration
	ideal     time.Duration
	requests  int
	throttled int
	done      int
	// recovery, for a busy spell: from its end until the server has
	// accepted ≥ 0.9 L over a trailing second (the run's end when never).
	recovery time.Duration
}

func (r simResult) ratio() float64      { return r.wall.Seconds() / r.ideal.Seconds() }
func (r simResult) share() float64      { return float64(r.throttled) / float64(r.requests) }
func (r simResult) over() time.Duration { return r.wall - r.ideal }

func (r simResult) String() string {
	return fmt.Sprintf("%6.3f× %5.2f%% 429", r.ratio(), 100*r.share())
}

// event: a request reaching the server, or its answer reaching the client.
type event struct {
	at     time.Duration
	sentAt time.Duration
	back   time.Duration // the answer's way back
	answer bool
	ok     bool
	ra     time.Duration
	retry  bool // a throttled row whose Retry-After has run out: it is pending again
	seq    int
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].at != e[j].at {
		return e[i].at < e[j].at
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

var epoch = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const simStep = time.Millisecond

// simulate runs cfg.rows rows through c against lim.
func simulate(c ctl, lim limiter, cfg simConfig) simResult {
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	var (
		res     simResult
		q       events
		seq     int
		pending = cfg.rows // rows waiting to be sent, retries included
		tokens  = -1.0     // the client's bucket; starts full
	)
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	spell, isBusy := lim.(*busy)
	recovered := false
	var recent []time.Duration // accepted after the spell, for recovery
	limit := 20 * time.Minute
	var now time.Duration
	for ; res.done < cfg.rows && now < limit; now += simStep {
		for len(q) > 0 && q[0].at <= now {
			ev := heap.Pop(&q).(event)
			if ev.retry {
				pending++
				continue
			}
			if !ev.answer {
				ok, ra := lim.allow(ev.at)
				ev.answer, ev.ok, ev.at = true, ok, ev.at+ev.back
				if cfg.retryAfter && !ok {
					ev.ra = time.Duration(math.Ceil(ra.Seconds())) * time.Second
				}
				heap.Push(&q, ev)
				continue
			}
			if ev.ok {
				res.done++
				res.wall = ev.at
				if isBusy && !recovered && ev.at >= spell.spellEnd() {
					recent = append(recent, ev.at)
					for len(recent) > 0 && recent[0] <= ev.at-time.Second {
						recent = recent[1:]
					}
					if float64(len(recent)) >= 0.9*spell.inner.limit(ev.at) {
						recovered, res.recovery = true, ev.at-spell.spellEnd()
					}
				}
				c.OnAccepted(at(ev.at), at(ev.sentAt))
			} else {
				res.throttled++
				// As the pacer: the row itself waits out its Retry-After
				// (when there is one) before it is sent again.
				if ev.ra > 0 {
					seq++
					heap.Push(&q, event{at: ev.at + ev.ra, retry: true, seq: seq})
				} else {
					pending++
				}
				c.OnThrottled(at(ev.at), at(ev.sentAt), ev.ra)
			}
		}
		r := c.Rate(at(now))
		burst := math.Max(1, math.Ceil(r/20)) // as batch.Config's default: 50 ms worth
		if tokens < 0 {
			tokens = burst
		}
		tokens = math.Min(burst, tokens+r*simStep.Seconds())
		if at(now).Before(c.PauseUntil()) {
			continue
		}
		for tokens >= 1 && pending > 0 {
			tokens--
			pending--
			res.requests++
			lat := cfg.latMin + time.Duration(rng.Int64N(int64(cfg.latMax-cfg.latMin)+1))
			fwd := lat / 2
			seq++
			heap.Push(&q, event{at: now + fwd, sentAt: now, back: lat - fwd, seq: seq})
		}
	}
	res.ideal = idealTime(lim, cfg.rows)
	if isBusy && !recovered {
		res.recovery = max(0, now-spell.spellEnd())
	}
	return res
}

// idealTime is when the server, accepting at its limit from the start,
// would have accepted n requests: N/L, or for a moving limit the time at
// which the integrated limit reaches n.
func idealTime(lim limiter, n int) time.Duration {
	var sum float64
	var t time.Duration
	for sum < float64(n) {
		sum += lim.limit(t) * simStep.Seconds()
		t += simStep
	}
	return t
}
