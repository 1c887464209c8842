package ratectl

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// misses counts the cells of a grid that miss issue 12's targets.
func misses(cells []cell) (n int, excess float64) {
	for _, c := range cells {
		maxRatio, maxShare := 1.10, 0.05
		if c.mult == 1 {
			maxRatio, maxShare = 1.03, 0.01
		}
		if r := c.worst.ratio(); r > maxRatio {
			n++
			excess += r - maxRatio
		}
		if s := c.worst429.share(); s > maxShare {
			n++
			excess += s - maxShare
		}
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
