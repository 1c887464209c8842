package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limiter names the shape of the server's rate limiter. Plivo documents its
// limit ("300 API requests per 5 seconds") but not its shape, so the
// adaptive rate is measured against each.
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

// String returns the shape's name; the zero value is LimiterBucket.
func (l Limiter) String() string {
	if l == "" {
		return string(LimiterBucket)
	}
	return string(l)
}

// Set parses a shape's name, for a flag.
func (l *Limiter) Set(s string) error {
	for _, v := range []Limiter{LimiterBucket, LimiterFixed, LimiterSliding} {
		if s == string(v) {
			*l = v
			return nil
		}
	}
	return fmt.Errorf("limiter %q: want bucket, fixed or sliding", s)
}

// maxWindow is the wait reported when no request will ever pass.
const maxWindow = 24 * time.Hour

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

// retryAfterSeconds rounds wait up to whole seconds, at least 1, for a
// Retry-After header.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
