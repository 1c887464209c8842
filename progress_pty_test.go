//go:build linux

package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// TestProgress_canaryOnATerminal runs a canary on a terminal, as a person
// does: the progress stops while the canary's question waits (nothing is
// written over it), the bar counts the canary's rows and goes on from
// there, and log lines take lines of their own. On a dumb terminal there is
// no \r and no colour.
func TestProgress_canaryOnATerminal(t *testing.T) {
	t.Parallel()
	const n = 30
	for _, tt := range []struct{ name, term, progress string }{
		{"bar", "xterm", "auto"},
		{"log lines", "xterm", "never"},
		{"dumb terminal", "dumb", "auto"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, r, input, _ := e2eMoveAll(t, sandbox.Config{}, 0, n, e2eAppA)
			p := r.with("TERM", tt.term).startPTY("run", "--input", input, "--report", "report.csv", "--canary", "3",
				"--rate", "0", "--progress", tt.progress, "--log-every", "10ms")
			p.expect("Type yes to go on: ")
			p.typeIn("yes\r")
			p.expect("Check them now, then type yes to send the rest: ")
			asked := len(p.stdout.String())
			// The time a person takes to read: the old progress loop went
			// on writing in it, every --log-every.
			time.Sleep(100 * time.Millisecond)
			if after := p.stdout.String()[asked:]; after != "" {
				t.Errorf("written while the question waits: %q", after)
			}
			p.typeIn("yes\r")
			res := p.finish()
			e2eExit(t, "run", res, 0)
			out := res.stdout
			for _, l := range screen(out) {
				if i := strings.Index(l, "level="); i > 0 && !strings.HasPrefix(l, "time=") {
					t.Errorf("a log line glued to something else: %q", l)
				}
			}
			answered := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out[asked:], "")
			switch tt.name {
			case "bar":
				if !strings.Contains(answered, " 30/30 ok 30 failed 0") || strings.Contains(answered, "/27 ") {
					t.Errorf("after the canary the bar does not go on to 30/30 from the canary's 3:\n%q", answered)
				}
			case "log lines", "dumb terminal":
				if strings.Contains(strings.ReplaceAll(out, "\r\n", "\n"), "\r") || strings.Contains(out, "\x1b[") {
					t.Errorf("a \\r or a colour code without a bar:\n%q", out)
				}
			}
		})
	}
}
