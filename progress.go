package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// progress is a command's stderr, showing how its job goes: a bar redrawn on the last line, or a
// log line every `every`. A write erases the bar and draws it again, so no line lands glued to it.
type progress struct {
	mu          sync.Mutex
	w           io.Writer
	bar, colour bool // draw a bar (else log lines), in colour
	cols        int  // the terminal's width, 0 when unknown
	log         *slog.Logger
	every       time.Duration
	what        string
	total, done int
	count       map[batch.Status]int
	start       time.Time
	stopped     bool
	shown       int // the width of the bar on screen, 0 when none is
	drawnAt     time.Time
	pausedAt    time.Time     // zero unless paused
	asking      io.Writer     // while paused, the terminal whose question waits on its line
	quit        chan struct{} // the log loop's
	loop        sync.WaitGroup
}

// barMode: auto draws a bar on a terminal without --verbose (whose lines would tear it), always
// anywhere but on TERM=dumb, which cannot redraw a line; NO_COLOR takes the colour away.
func barMode(when string, terminal, verbose bool, getenv func(string) string) (bar, colour bool) {
	bar = getenv("TERM") != "dumb" && (when == "always" || when == "auto" && terminal && !verbose)
	return bar, bar && terminal && getenv("NO_COLOR") == ""
}

// begin starts showing a job of total units (rows, pages) as what.
func (p *progress) begin(what string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.what, p.total, p.start = what, total, time.Now()
	if !p.bar && p.every > 0 {
		p.quit = make(chan struct{})
		p.loop.Go(p.logLoop)
	}
}

func (p *progress) logLoop() {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.mu.Lock()
			quiet := !p.pausedAt.IsZero() || p.stopped
			rate, eta := p.rate()
			c := p.count
			attrs := []any{"done", p.done, "total", p.total, "ok", c[batch.StatusOK], "failed", c[batch.StatusFailed],
				"skipped", c[batch.StatusSkipped], "unverified", c[batch.StatusUnverified], "rows_per_s", rounded(rate), "eta_s", rounded(eta)}
			p.mu.Unlock()
			if !quiet { // the log writes through p: not under p.mu
				p.log.Info("progress", attrs...)
			}
		}
	}
}

// rate is the units done a second so far, and the seconds left (-1 while unknown).
func (p *progress) rate() (float64, float64) {
	rate := float64(p.done) / time.Since(p.start).Seconds()
	if rate <= 0 {
		return rate, -1
	}
	return rate, float64(p.total-p.done) / rate
}

// add counts one unit done with status, as the summary does; was, when not "", is the status a row
// counted before had (its second line). An invalid or not_attempted row, none of the rows sent, is left out.
func (p *progress) add(status, was batch.Status) {
	if status == batch.StatusInvalid || status == batch.StatusNotAttempted {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count == nil {
		p.count = map[batch.Status]int{}
	}
	if was == "" {
		p.done++
	} else { // a row counted before moves to its final status
		p.count[was]--
	}
	p.count[status]++
	if time.Since(p.drawnAt) >= 100*time.Millisecond || p.done == p.total {
		p.erase()
		p.draw()
	}
}

// draw draws the bar, when it may be: begun, not paused, not stopped.
func (p *progress) draw() {
	if !p.bar || p.total == 0 || !p.pausedAt.IsZero() || p.stopped {
		return
	}
	done, c := min(p.done, p.total), p.count
	rate, eta := p.rate()
	left := "?"
	if eta >= 0 {
		left = (time.Duration(eta) * time.Second).String()
	}
	ok, failed := fmt.Sprint("ok ", c[batch.StatusOK]), fmt.Sprint("failed ", c[batch.StatusFailed])
	text := fmt.Sprintf("%s %3d%% [%-20s] %d/%d %s %s", p.what, 100*done/p.total, strings.Repeat("=", 20*done/p.total), p.done, p.total, ok, failed)
	for _, st := range []batch.Status{batch.StatusSkipped, batch.StatusUnverified} {
		if c[st] > 0 {
			text += fmt.Sprintf(" %s %d", st, c[st])
		}
	}
	text += fmt.Sprintf(" (%.1f rows/s, %s left)", rate, left)
	if p.cols > 0 && len(text) >= p.cols { // a line that wraps cannot be drawn over
		text = text[:p.cols-1]
	} else if p.colour { // the counts are the first "ok N" and "failed N" in text
		text = strings.Replace(strings.Replace(text, ok, "\x1b[32m"+ok+"\x1b[0m", 1), failed, "\x1b[31m"+failed+"\x1b[0m", 1)
	}
	p.shown, p.drawnAt = len(text), time.Now()
	_, _ = io.WriteString(p.w, "\r"+text)
}

// erase blanks the bar's line with spaces, which any terminal draws, and returns to its start.
func (p *progress) erase() {
	if p.shown > 0 {
		_, _ = io.WriteString(p.w, "\r"+strings.Repeat(" ", p.shown)+"\r")
		p.shown = 0
	}
}

// Write writes b on a line of its own, below the bar it then draws again.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	n, err := p.w.Write(b)
	p.draw()
	return n, err
}

// pause hides the progress while a question is on the terminal; resume shows it again, the time
// paused left out of the rate.
func (p *progress) pause(asking io.Writer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	p.pausedAt, p.asking = time.Now(), asking
}

func (p *progress) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.pausedAt = p.start.Add(time.Since(p.pausedAt)), time.Time{}
	p.draw()
}

// stop erases the bar for good (at a signal, at the end) and ends the line of a question it
// interrupts, before the signal's notice can be written there.
func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
	if !p.pausedAt.IsZero() && !p.stopped {
		fmt.Fprintln(p.asking)
	}
	p.stopped = true
}

// finish stops the progress and waits for its log loop to end.
func (p *progress) finish() {
	p.stop()
	if p.quit != nil {
		close(p.quit)
		p.loop.Wait()
		p.quit = nil
	}
}
