package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// bigRun is the row count above which the confirmation asks for the account id instead of "yes".
const bigRun = 1000

// confirmer asks the person at the terminal before a real run goes on; a nil one asks nothing.
type confirmer struct {
	tty  *os.File // the controlling terminal: the question and its answer
	stop <-chan struct{}
	prog *progress // paused while the question waits: the bar goes on after the answer, never over it
}

// errBackground: a background job that used the terminal would be stopped (SIGTTIN, SIGTTOU) for ever.
var errBackground = errors.New("the run is in the background, where the confirmation cannot be asked: run it in the foreground, or with --yes")

// newConfirmer returns a confirmer for a real run without --yes on a controlling terminal (nil
// under cron), asking on /dev/tty as sudo does: a redirected stdin or stderr neither hides nor answers.
func newConfirmer(o runFlags, prog *progress) (*confirmer, error) {
	if o.yes || o.sandbox || o.dryRun {
		return nil, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	switch {
	case err != nil:
		return nil, nil
	case !term.IsTerminal(int(tty.Fd())): // /dev/null bound there by a sandbox, say
		_ = tty.Close()
		return nil, nil
	case !inForeground(tty):
		_ = tty.Close()
		return nil, &usageError{err: errBackground}
	}
	return &confirmer{tty: tty, stop: o.stop, prog: prog}, nil
}

// ask shows text and waits for a line typed after it: nil when it is want, else batch.ErrDeclined
// (batch.ErrInterrupted at the first signal).
func (c *confirmer) ask(ctx context.Context, text, want string) error {
	if c == nil {
		return nil
	}
	c.prog.pause(c.tty)
	defer c.prog.resume()
	if !inForeground(c.tty) { // moved to the background (Ctrl-Z, bg) since it started
		return fmt.Errorf("%w: %w; nothing more was sent", batch.ErrDeclined, errBackground)
	}
	flushTyped(c.tty) // a line typed ahead (during a long listing, the canary) does not answer
	fmt.Fprint(c.tty, text)
	line := make(chan string, 1)
	go func() {
		// A terminal hands over one line per read: the rest stays queued for the next flush.
		l, _ := bufio.NewReader(c.tty).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) == want {
			return nil
		}
		return fmt.Errorf("%w: the answer was not %q; nothing more was sent", batch.ErrDeclined, want)
	case <-c.stop:
		c.prog.stop() // the signal's notice, on its way too, then starts on a line of its own
		return batch.ErrInterrupted
	case <-ctx.Done():
		return batch.ErrInterrupted
	}
}

// confirmRun shows what the run is about to do and asks to go on.
func (c *confirmer) confirmRun(ctx context.Context, est batch.Estimate, authID, api string, rate float64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nAbout to update numbers on account %s at %s:\n  rows: %d, of which %d to send", authID, redactedHost(api), est.Rows, est.ToSend)
	if est.AlreadyOK > 0 {
		fmt.Fprintf(&b, ", %d already ok", est.AlreadyOK)
	}
	b.WriteString("\n")
	const shown = 5 // values a field changes to, the most common first
	for f, vcs := range est.Changes {
		rest := 0
		for i, vc := range vcs {
			if i >= shown {
				rest += vc.Numbers
				continue
			}
			value := map[string]string{"": batch.ClearMarker, batch.OtherValues: batch.OtherValues}[vc.Value]
			fmt.Fprintf(&b, "  %s → %s: %s\n", batch.Field(f), cmp.Or(value, strconv.Quote(vc.Value)), plural(vc.Numbers, "number"))
		}
		if len(vcs) > shown {
			fmt.Fprintf(&b, "    ... and %s more on %d other values\n", plural(rest, "number"), len(vcs)-shown)
		}
	}
	if est.Read.Chosen == batch.ReadPage {
		b.WriteString("  (counted against the settings the numbers hold now)\n")
	}
	made := 1 + est.Preflight + est.Read.Pages + est.CanaryReads
	fmt.Fprintf(&b, "  cost: at most %d requests, about %s at --rate %g; %d of them made already (the account check, %s, %s, %s)\n",
		est.Requests, durationAt(est.Requests-made, rate), rate, made,
		plural(est.Preflight, "pre-flight read"), plural(est.Read.Pages, "listing page"), plural(est.CanaryReads, "canary read"))
	if est.Verify.Chosen != "" {
		fmt.Fprintf(&b, "  read-back (--verify): %s\n", verifyAttr(est.Verify, true))
	}
	if est.ToSend > bigRun {
		return c.ask(ctx, b.String()+fmt.Sprintf("Type the account id (%s) to go on: ", authID), authID)
	}
	return c.ask(ctx, b.String()+"Type yes to go on: ", "yes")
}

// confirmCanary shows the canary's results and asks to send the rest.
func (c *confirmer) confirmCanary(ctx context.Context, results []batch.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCanary: %d rows sent, each read back, all in their target state:\n", len(results))
	for _, r := range results[:min(len(results), 10)] {
		var set []string
		for f, s := range r.Row.Targets {
			if s.Set {
				set = append(set, fmt.Sprintf("%s=%s", batch.Field(f), strconv.Quote(s.Value)))
			}
		}
		fmt.Fprintf(&b, "  row %d %s: %s %s\n", r.Row.Line, r.Row.Number, r.Status, strings.Join(set, " "))
	}
	if len(results) > 10 {
		fmt.Fprintf(&b, "  ... and %d more\n", len(results)-10)
	}
	return c.ask(ctx, b.String()+"Check them now, then type yes to send the rest: ", "yes")
}

// durationAt is how long n requests take at rate per second.
func durationAt(n int, rate float64) string {
	if rate <= 0 {
		return "as fast as the API allows"
	}
	return (time.Duration(float64(n) / rate * float64(time.Second))).Round(time.Second).String()
}
