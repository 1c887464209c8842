package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// summary counts a run's outcomes. Only the sink goroutine and the input
// reader touch it, and never at once for the same field.
type summary struct {
	rows                         int
	ok, failed, invalid, skipped int
	alreadyOK                    int // skipped on resume: the report had them ok
	elapsed                      time.Duration
	stats                        batch.Stats
	byKind                       map[string]int
}

func newSummary(rows int) *summary { return &summary{rows: rows, byKind: map[string]int{}} }

func (s *summary) add(r batch.Result) {
	switch r.Status {
	case batch.StatusOK:
		s.ok++
	case batch.StatusFailed:
		s.failed++
		s.byKind[r.Kind]++
	case batch.StatusInvalid:
		s.invalid++
	case batch.StatusSkipped:
		s.skipped++
	}
}

func (s *summary) notAttempted() int {
	return max(0, s.rows-s.ok-s.failed-s.invalid-s.skipped-s.alreadyOK)
}

func (s *summary) rate() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.stats.Requests) / s.elapsed.Seconds()
}

func (s *summary) print(w io.Writer, reportPath string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nSummary: %d rows in %s (%.1f requests/s, %d requests, %d retries, %d answered 429)\n",
		s.rows, s.elapsed.Round(time.Millisecond), s.rate(), s.stats.Requests, s.stats.Retries, s.stats.RateLimited)
	fmt.Fprintf(&b, "  ok             %d\n", s.ok)
	fmt.Fprintf(&b, "  failed         %d\n", s.failed)
	for kind, n := range s.byKind {
		fmt.Fprintf(&b, "    %-12s %d\n", kind, n)
	}
	fmt.Fprintf(&b, "  invalid        %d\n", s.invalid)
	if s.skipped > 0 {
		fmt.Fprintf(&b, "  skipped        %d (unchanged: already in the target state)\n", s.skipped)
	}
	if s.alreadyOK > 0 {
		fmt.Fprintf(&b, "  already ok     %d (not sent again: the report had them)\n", s.alreadyOK)
	}
	if n := s.notAttempted(); n > 0 {
		fmt.Fprintf(&b, "  not attempted  %d\n", n)
	}
	fmt.Fprintf(&b, "Report: %s\n", reportPath)
	_, _ = w.Write(b.Bytes())
}

func (s *summary) logAttrs() []any {
	return []any{"rows", s.rows, "ok", s.ok, "failed", s.failed, "invalid", s.invalid,
		"skipped", s.skipped, "already_ok", s.alreadyOK, "not_attempted", s.notAttempted(),
		"elapsed_s", s.elapsed.Seconds(), "requests", s.stats.Requests, "retries", s.stats.Retries,
		"rate_limited", s.stats.RateLimited, "effective_rate", s.rate()}
}

// progress draws a bar on stderr when asked to (auto: only on a terminal).
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(mode string, w io.Writer, total int) *progress {
	on := mode == "always"
	if mode == "auto" {
		f, ok := w.(*os.File)
		on = ok && term.IsTerminal(int(f.Fd()))
	}
	if !on || total <= 0 {
		return &progress{}
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("updating"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	return &progress{bar: bar}
}

func (p *progress) add(r batch.Result, s *summary) {
	if p.bar == nil || r.Status == batch.StatusInvalid {
		return
	}
	p.bar.Describe(fmt.Sprintf("ok %d failed %d", s.ok, s.failed))
	_ = p.bar.Add(1)
}

func (p *progress) finish() {
	if p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}

func jsonBody(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
