package ratectl

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// tracer logs a controller's rate every 500 ms and every 429.
type tracer struct {
	ctl
	t    *testing.T
	last time.Time
}

func (tr *tracer) Rate(now time.Time) float64 {
	r := tr.ctl.Rate(now)
	if now.Sub(tr.last) >= 500*time.Millisecond {
		tr.last = now
		tr.t.Logf("%7.3f rate %7.2f", now.Sub(epoch).Seconds(), r)
	}
	return r
}

func (tr *tracer) OnThrottled(now, sentAt time.Time, ra time.Duration) {
	tr.ctl.OnThrottled(now, sentAt, ra)
	tr.t.Logf("%7.3f 429 sent %7.3f ra %v -> rate %7.2f", now.Sub(epoch).Seconds(), sentAt.Sub(epoch).Seconds(), ra, tr.ctl.Rate(now))
}

// TestTrace prints one run: RATECTL_TRACE=shape-index,multiplier,ra(0/1),design-index[,1 for loopback].
func TestTrace(t *testing.T) {
	spec := os.Getenv("RATECTL_TRACE")
	if spec == "" {
		t.Skip("set RATECTL_TRACE=shape,mult,ra,design")
	}
	var a [5]int
	for i, f := range splitComma(spec) {
		a[i], _ = strconv.Atoi(f)
	}
	reg := wan // a 5th field of 1: the loopback regime
	if a[4] == 1 {
		reg = loopback
	}
	sh := reg.shapes()[a[0]]
	d := designs[a[3]]
	res := simulate(&tracer{ctl: d.mk(float64(a[1])*sh.l, epoch), t: t}, sh.mk(newRand(1000+uint64(a[0]))), simConfig{
		rows: reg.rows, ceiling: float64(a[1]) * sh.l, retryAfter: a[2] == 1,
		latMin: reg.latMin, latMax: reg.latMax, seed: 1,
	})
	t.Logf("%s: %v", sh.name, res)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
