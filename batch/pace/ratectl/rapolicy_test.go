package ratectl

import "time"

// raPolicy overrides a design's handling of Retry-After, to compare
// policies: the design sees every 429 as before, but the run's pause is
//   - raFull: the whole Retry-After;
//   - raFloor: Retry-After less 1 s (a Retry-After in whole seconds rounded
//     up means the server frees a slot after more than that, so the run
//     never sends before the server could accept);
//   - raNone: no pause; the rate alone answers.
type raPolicy struct {
	ctl
	mode  int
	pause time.Time
}

const (
	raFull = iota
	raFloor
	raNone
)

func (p *raPolicy) OnThrottled(now, sentAt time.Time, ra time.Duration) {
	p.ctl.OnThrottled(now, sentAt, ra)
	d := ra
	switch p.mode {
	case raFloor:
		d = ra - time.Second
	case raNone:
		d = 0
	}
	if u := now.Add(d); d > 0 && u.After(p.pause) {
		p.pause = u
	}
}

func (p *raPolicy) PauseUntil() time.Time { return p.pause }
