package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

func TestBarMode(t *testing.T) {
	tests := []struct {
		when              string
		terminal, verbose bool
		env               map[string]string
		bar, colour       bool
	}{
		{"auto", true, false, nil, true, true},
		{"auto", false, false, nil, false, false},
		{"auto", true, true, nil, false, false}, // --verbose's lines would tear the bar
		{"auto", true, false, map[string]string{"NO_COLOR": "0"}, true, false},
		{"auto", true, false, map[string]string{"TERM": "dumb"}, false, false},
		{"always", false, false, nil, true, false},
		{"always", true, false, map[string]string{"TERM": "dumb"}, false, false},
		{"always", true, false, map[string]string{"TERM": "xterm-256color"}, true, true},
		{"never", true, false, nil, false, false},
	}
	for _, tt := range tests {
		bar, colour := barMode(tt.when, tt.terminal, tt.verbose, envOf(tt.env))
		if bar != tt.bar || colour != tt.colour {
			t.Errorf("barMode(%s, terminal %v, verbose %v, %v) = bar %v colour %v, want %v %v",
				tt.when, tt.terminal, tt.verbose, tt.env, bar, colour, tt.bar, tt.colour)
		}
	}
}

// screen is what a terminal shows after out: \r goes back to the start
// of the line, \n to the next, colour codes take no room.
func screen(out string) []string {
	lines, col := []string{""}, 0
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c == '\r':
			col = 0
		case c == '\n':
			lines, col = append(lines, ""), 0
		case c == 0x1b:
			i += strings.IndexByte(out[i:], 'm')
		default:
			l := []byte(lines[len(lines)-1])
			for len(l) <= col {
				l = append(l, ' ')
			}
			l[col] = c
			lines[len(lines)-1], col = string(l), col+1
		}
	}
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return lines
}

func newTestBar(colour bool) (*progress, *bytes.Buffer) {
	var out bytes.Buffer
	p := &progress{w: &out, bar: true, colour: colour}
	p.log = newLogger("text", false, p)
	return p, &out
}

// TestProgress_logLinesClearTheBar: a log line takes a line of its own,
// never glued to the bar, which is drawn again below it with the counts.
// While the canary's question is on the terminal the bar is erased and
// nothing is drawn over it; after the answer the same count goes on.
func TestProgress_logLinesClearTheBar(t *testing.T) {
	for _, colour := range []bool{false, true} {
		p, out := newTestBar(colour)
		p.begin("updating", 300)
		p.add(batch.StatusOK, "")
		p.log.Info("canary passed")
		p.add(batch.StatusFailed, "")
		p.drawnAt = time.Time{} // past the redraw throttle
		p.add(batch.StatusSkipped, "")
		fmt.Fprint(p, "Summary\n")
		s := screen(out.String())
		if len(s) != 3 || !strings.HasPrefix(s[0], "time=") || !strings.HasSuffix(s[0], `msg="canary passed"`) || s[1] != "Summary" {
			t.Fatalf("colour %v: the screen shows %q, want the log line and the summary each on a line of its own", colour, s)
		}
		if bar := s[2]; !strings.HasPrefix(bar, "updating ") || !strings.Contains(bar, "3/300 ok 1 failed 1 skipped 1") {
			t.Errorf("colour %v: the bar shows %q, want 3/300 ok 1 failed 1 skipped 1", colour, bar)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != colour {
			t.Errorf("colour %v: escape codes written: %v", colour, got)
		}
		p.pause(nil)
		at := out.Len()
		if s := screen(out.String()); s[len(s)-1] != "" {
			t.Fatalf("colour %v: the bar is still on screen at the question: %q", colour, s)
		}
		p.log.Info("a line while paused")
		if strings.Contains(out.String()[at:], "updating") {
			t.Errorf("colour %v: the bar was drawn while paused: %q", colour, out.String()[at:])
		}
		p.resume()
		p.drawnAt = time.Time{}
		p.add(batch.StatusOK, "")
		if s := screen(out.String()); !strings.Contains(s[len(s)-1], " 4/300 ok 2") {
			t.Errorf("colour %v: after the question the bar shows %q, want it to go on at 4/300", colour, s[len(s)-1])
		}
		p.finish()
		if s := screen(out.String()); s[len(s)-1] != "" {
			t.Errorf("colour %v: the bar is still on screen after finish: %q", colour, s)
		}
	}
}

// TestProgress_logLoop: without a bar, one progress line a period, none
// while a question is asked, and none once finished: the loop ends.
func TestProgress_logLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		p := &progress{w: &out, every: time.Second}
		p.log = newLogger("text", false, p)
		p.begin("updating", 10)
		lines := func() int { return strings.Count(out.String(), "msg=progress") }
		time.Sleep(1500 * time.Millisecond)
		p.add(batch.StatusOK, "")
		time.Sleep(time.Second)
		synctest.Wait() // the loop has logged what it logs by then
		if n := lines(); n != 2 {
			t.Fatalf("%d progress lines in 2.5 periods, want 2:\n%s", n, out.String())
		}
		if !strings.Contains(out.String(), "done=0 total=10 ok=0 failed=0 skipped=0 unverified=0 rows_per_s=0 eta_s=-1\n") ||
			!strings.Contains(out.String(), "done=1 total=10 ok=1 failed=0") || strings.Contains(out.String(), "\r") {
			t.Errorf("progress lines:\n%q", out.String())
		}
		p.pause(nil)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := lines(); n != 2 {
			t.Errorf("%d progress lines, want none more while paused", n)
		}
		p.resume()
		time.Sleep(time.Second)
		synctest.Wait()
		if n := lines(); n != 3 {
			t.Errorf("%d progress lines, want them again after the pause", n)
		}
		if !strings.HasSuffix(out.String(), "rows_per_s=0.333 eta_s=27\n") { // 1 row in 3 s: the 10 s paused are not counted
			t.Errorf("after the pause: %q", out.String())
		}
		p.finish() // synctest fails the test if the loop outlives it
	})
}

// TestProgress_barFitsTheTerminal: a bar wider than the terminal would
// wrap, and \r could not take it back: it is cut to the width.
func TestProgress_barFitsTheTerminal(t *testing.T) {
	p, out := newTestBar(true)
	p.cols = 40
	p.begin("updating", 300)
	p.add(batch.StatusOK, "")
	fmt.Fprint(p, "next\n")
	if s := screen(out.String()); s[0] != "next" || len(s[1]) != 39 || !strings.HasPrefix(s[1], "updating   0% [") {
		t.Errorf("on a 40-column terminal the screen shows %q", s)
	}
}

// TestRun_progressCountsRowsToSend: the bar's total is the rows to send,
// which an invalid row is not (counted, the bar read 100% before the first
// update and went past its total); rows --skip-unchanged skips are counted
// as skipped, not ok, as the summary counts them.
func TestRun_progressCountsRowsToSend(t *testing.T) {
	_, r, _, nums := e2eMoveAll(t, sandbox.Config{}, 600, 10, e2eAppStart)
	input := "number,app_id,alias\n"
	for i, n := range nums { // the first five hold their targets: skipped
		input += n + "," + e2eAppStart + "," + []string{"old", "new"}[i/5] + "\n12x,,bad\n"
	}
	res := r.run("run", "--input", r.write("numbers.csv", input), "--report", "r.csv", "--skip-unchanged", "--rate", "0", "--progress", "always")
	e2eExit(t, "run (invalid rows)", res, 1)
	e2eHas(t, "the bar", res.stderr, " 10/10 ok 5 failed 0 skipped 5 ")
	for _, m := range regexp.MustCompile(` (\d+)/(\d+) ok`).FindAllStringSubmatch(res.stderr, -1) {
		if done, _ := strconv.Atoi(m[1]); done > 10 || m[2] != "10" {
			t.Errorf("the bar showed %s/%s: past the 10 rows to send", m[1], m[2])
		}
	}
}
