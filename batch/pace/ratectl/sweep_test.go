package ratectl

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// Targets of a busy spell (95% of requests refused at random, whatever
// the rate): the run is back to ≥ 0.9 L accepted within busyRecovery of
// the spell's end, and takes at most busyOver longer than N/L plus the
// spell. Its 429 share is what the spell makes it: reported, not judged.
const (
	busyRecovery = 3 * time.Second
	busyOver     = 3 * time.Second
)

// judge returns the figures of a cell that miss issue 12's targets (two
// per cell) and by how much in all (seconds for a busy spell).
func judge(c cell) (n int, excess float64, why string) {
	if c.busy {
		if o := c.worst.over(); o > busyOver {
			n++
			excess += (o - busyOver).Seconds()
			why += fmt.Sprintf(" %.1fs over N/L+spell (want ≤ %v)", o.Seconds(), busyOver)
		}
		if r := c.worstRec.recovery; r > busyRecovery {
			n++
			excess += (r - busyRecovery).Seconds()
			why += fmt.Sprintf(" back to 0.9 L in %.1fs (want ≤ %v)", r.Seconds(), busyRecovery)
		}
		return n, excess, why
	}
	maxRatio, maxShare := 1.10, 0.05
	if c.mult == 1 {
		maxRatio, maxShare = 1.03, 0.01
	}
	if r := c.worst.ratio(); r > maxRatio {
		n++
		excess += r - maxRatio
		why += fmt.Sprintf(" %.3f× (want ≤ %.2f)", r, maxRatio)
	}
	if s := c.worst429.share(); s > maxShare {
		n++
		excess += s - maxShare
		why += fmt.Sprintf(" %.2f%% 429 (want ≤ %.0f%%)", 100*s, 100*maxShare)
	}
	return n, excess, why
}

// misses counts the figures of a grid that miss issue 12's targets.
func misses(cells []cell) (n int, excess float64) {
	for _, c := range cells {
		m, e, _ := judge(c)
		n += m
		excess += e
	}
	return n, excess
}

// TestSweep tries settings of Config (RATECTL_SWEEP=1).
func TestSweep(t *testing.T) {
	if os.Getenv("RATECTL_SWEEP") == "" {
		t.Skip("set RATECTL_SWEEP=1")
	}
	for _, hold := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second} {
		for _, maxHold := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second} {
			for _, probe := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second} {
				for _, margin := range []float64{0.95, 0.97} {
					cfg := Config{Hold: hold, MaxHold: max(hold, maxHold), ProbeTime: probe, Margin: margin}
					cells := runGrid(design{"", func(c float64, now time.Time) ctl {
						cfg := cfg
						cfg.Ceiling = c
						return &raPolicy{ctl: NewConfig(cfg, now), mode: raFloor}
					}})
					n, ex := misses(cells)
					fmt.Printf("hold %v max %v probe %v margin %v: %d misses, excess %.3f\n", hold, maxHold, probe, margin, n, ex)
				}
			}
		}
	}
}
