package ratectl

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type design struct {
	name string
	mk   func(ceiling float64, now time.Time) ctl
}

var designs = []design{
	{"baseline", func(c float64, now time.Time) ctl { return newBaseline(c, now) }},
	{"ratectl round 1", func(c float64, now time.Time) ctl {
		return &raPolicy{ctl: NewConfig(Config{Ceiling: c, Margin: 0.97, Hold: 4 * time.Second, MaxHold: 32 * time.Second}, now), mode: raFull}
	}},
	{"cubic (AWS), R-A floor", func(c float64, now time.Time) ctl { return &raPolicy{ctl: newCubic(c, now, 0.4, false), mode: raFloor} }},
	{"cubic slow start, R-A floor", func(c float64, now time.Time) ctl { return &raPolicy{ctl: newCubic(c, now, 0.4, true), mode: raFloor} }},
	{"bbr 1s, R-A floor", func(c float64, now time.Time) ctl { return &raPolicy{ctl: newBBR(c, now, time.Second), mode: raFloor} }},
	{"bbr 5s, R-A floor", func(c float64, now time.Time) ctl {
		return &raPolicy{ctl: newBBR(c, now, 5*time.Second), mode: raFloor}
	}},
	{"ratectl", func(c float64, now time.Time) ctl { return New(c, now) }},
}

const gridRows = 2000

// regime is the setting a grid runs in: the shapes, rows and latency.
type regime struct {
	name           string
	rows           int
	latMin, latMax time.Duration
	shapes         func() []shape
}

// wan is the grid's default: Plivo's API over the internet.
var wan = regime{name: "latency 50-300 ms", rows: gridRows, latMin: 50 * time.Millisecond, latMax: 300 * time.Millisecond, shapes: shapes}

// loopback is bench/throttle.sh's setting: the real sandbox on loopback
// (latency ~1 ms), L = 50, N = 1000, its shapes.
var loopback = regime{name: "loopback, latency 1-3 ms", rows: 1000, latMin: time.Millisecond, latMax: 3 * time.Millisecond, shapes: benchShapes}

var gridSeeds = []uint64{1, 2, 3}

type cell struct {
	shape    string
	mult     float64
	ra       bool
	busy     bool
	worst    simResult // the seed with the worst time ratio (busy: time over ideal)
	worst429 simResult // the seed with the worst 429 share
	worstRec simResult // busy: the seed with the slowest recovery
}

func runGrid(d design) []cell { return runGridIn(wan, d) }

func runGridIn(reg regime, d design) []cell {
	var cells []cell
	var mu sync.Mutex
	var wg sync.WaitGroup
	for si, sh := range reg.shapes() {
		for _, mult := range []float64{1, 10} {
			for _, ra := range []bool{false, true} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := cell{shape: sh.name, mult: mult, ra: ra, busy: sh.busy}
					for i, seed := range gridSeeds {
						rng := newRand(seed*1000 + uint64(si))
						res := simulate(d.mk(mult*sh.l, epoch), sh.mk(rng), simConfig{
							rows: reg.rows, ceiling: mult * sh.l, retryAfter: ra,
							latMin: reg.latMin, latMax: reg.latMax, seed: seed,
						})
						if i == 0 || res.ratio() > c.worst.ratio() || (sh.busy && res.over() > c.worst.over()) {
							c.worst = res
						}
						if i == 0 || res.recovery > c.worstRec.recovery {
							c.worstRec = res
						}
						if i == 0 || res.share() > c.worst429.share() {
							c.worst429 = res
						}
					}
					mu.Lock()
					cells = append(cells, c)
					mu.Unlock()
				}()
			}
		}
	}
	wg.Wait()
	order := map[string]int{}
	for i, sh := range reg.shapes() {
		order[sh.name] = i
	}
	sortCells(cells, order)
	return cells
}

func table(name string, cells []cell) string { return tableIn(wan, name, cells) }

func tableIn(reg regime, name string, cells []cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (worst of %d seeds, %d rows, %s; busy: time over ideal, recovery, 429s)\n", name, len(gridSeeds), reg.rows, reg.name)
	fmt.Fprintf(&b, "%-24s | %-15s | %-15s | %-15s | %-15s\n", "shape", "L, no R-A", "L, R-A", "10L, no R-A", "10L, R-A")
	row := map[string][]string{}
	var names []string
	for _, c := range cells {
		if _, ok := row[c.shape]; !ok {
			names = append(names, c.shape)
		}
		f := fmt.Sprintf("%.3f× %5.2f%%", c.worst.ratio(), 100*c.worst429.share())
		if c.busy {
			f = fmt.Sprintf("%+5.1fs r%4.1fs %2.0f%%", c.worst.over().Seconds(), c.worstRec.recovery.Seconds(), 100*c.worst429.share())
		}
		row[c.shape] = append(row[c.shape], f)
	}
	for _, n := range names {
		fmt.Fprintf(&b, "%-24s | %s\n", n, strings.Join(row[n], " | "))
	}
	return b.String()
}

// TestGrid_table logs the grid for every design: go test -run Grid_table -v ./batch/pace/ratectl/
// It only logs, so it runs with -v alone (it keeps -race runs short).
func TestGrid_table(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("logs only: run with -v")
	}
	t.Parallel()
	for _, d := range designs {
		cells := runGrid(d)
		n, ex := misses(cells)
		t.Logf("\n%s%d of %d figures miss the targets (summed excess %.3f)\n", table(d.name, cells), n, 2*len(cells), ex)
	}
}

// TestGrid_loopback_table logs the loopback regime for ratectl:
// go test -run Grid_loopback_table -v ./batch/pace/ratectl/
func TestGrid_loopback_table(t *testing.T) {
	if !testing.Verbose() {
		t.Skip("logs only: run with -v")
	}
	t.Parallel()
	d := designs[len(designs)-1]
	cells := runGridIn(loopback, d)
	n, ex := misses(cells)
	t.Logf("\n%s%d of %d figures miss the targets (summed excess %.3f)\n", tableIn(loopback, d.name, cells), n, 2*len(cells), ex)
}
