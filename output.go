package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
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

// progress shows how a run goes: a bar on stderr when asked to (auto: only
// on a terminal), else, for cron and CI, a log line every logEvery with the
// same figures. add is called from the sink goroutine only.
type progress struct {
	bar     *progressbar.ProgressBar
	colour  bool
	total   int
	start   time.Time
	done    atomic.Int64
	ok      atomic.Int64
	failed  atomic.Int64
	stopLog chan struct{}
	logDone chan struct{}
}

func newProgress(c *common, w io.Writer, log *slog.Logger, total int) *progress {
	p := &progress{total: total, start: time.Now()}
	f, isFile := w.(*os.File)
	terminal := isFile && term.IsTerminal(int(f.Fd()))
	on := c.progress == "always" || c.progress == "auto" && terminal
	if on && total > 0 {
		p.colour = useColour(terminal, os.Getenv("NO_COLOR"))
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("updating"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionEnableColorCodes(p.colour),
		)
		return p
	}
	if c.logEvery > 0 {
		p.stopLog, p.logDone = make(chan struct{}), make(chan struct{})
		go p.logLoop(log, c.logEvery)
	}
	return p
}

// useColour: colour only on a terminal, and never when NO_COLOR is set to
// anything (https://no-color.org).
func useColour(terminal bool, noColor string) bool {
	return terminal && noColor == ""
}

func (p *progress) logLoop(log *slog.Logger, every time.Duration) {
	defer close(p.logDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stopLog:
			return
		case <-t.C:
			done := p.done.Load()
			elapsed := time.Since(p.start).Seconds()
			rate := float64(done) / elapsed
			eta := -1.0
			if rate > 0 {
				eta = float64(int64(p.total)-done) / rate
			}
			log.Info("progress", "done", done, "total", p.total, "ok", p.ok.Load(), "failed", p.failed.Load(),
				"rows_per_s", rate, "eta_s", eta)
		}
	}
}

func (p *progress) add(r batch.Result) {
	if r.Status == batch.StatusInvalid {
		return
	}
	p.done.Add(1)
	switch r.Status {
	case batch.StatusOK, batch.StatusSkipped:
		p.ok.Add(1)
	case batch.StatusFailed:
		p.failed.Add(1)
	}
	if p.bar == nil {
		return
	}
	if p.colour {
		p.bar.Describe(fmt.Sprintf("[green]ok %d[reset] [red]failed %d[reset]", p.ok.Load(), p.failed.Load()))
	} else {
		p.bar.Describe(fmt.Sprintf("ok %d failed %d", p.ok.Load(), p.failed.Load()))
	}
	_ = p.bar.Add(1)
}

// stopBar erases the bar and stops drawing it, for good.
func (p *progress) stopBar() {
	if p.bar == nil {
		return
	}
	// Erase the bar and stop it where it is (Finish would first draw it
	// full, which an interrupted run is not), so what follows starts on a
	// clean line.
	_ = p.bar.Clear()
	_ = p.bar.Exit()
}

func (p *progress) finish() {
	if p.stopLog != nil {
		close(p.stopLog)
		<-p.logDone
		p.stopLog = nil
	}
	p.stopBar()
}

// summaryFile is what --summary writes, for a scheduler or a dashboard.
// Its keys are stable.
type summaryFile struct {
	Command       string         `json:"command"`
	Rows          int            `json:"rows"`
	OK            int            `json:"ok"`
	Failed        int            `json:"failed"`
	Invalid       int            `json:"invalid"`
	Skipped       int            `json:"skipped"`
	AlreadyOK     int            `json:"already_ok"`
	NotAttempted  int            `json:"not_attempted"`
	FailedByKind  map[string]int `json:"failed_by_kind"`
	Requests      int64          `json:"requests"`
	Retries       int64          `json:"retries"`
	RateLimited   int64          `json:"rate_limited"`
	Started       time.Time      `json:"started"`
	ElapsedS      float64        `json:"elapsed_s"`
	EffectiveRate float64        `json:"effective_rate"`
	Output        string         `json:"output"`
	ExitCode      int            `json:"exit_code"`
}

// writeSummary writes the summary file atomically (a temporary file
// renamed over it), so a reader never sees half of one.
func (s *summary) writeFile(path, command, output string, start time.Time, code int) error {
	sf := summaryFile{
		Command: command, Rows: s.rows, OK: s.ok, Failed: s.failed, Invalid: s.invalid, Skipped: s.skipped,
		AlreadyOK: s.alreadyOK, NotAttempted: s.notAttempted(), FailedByKind: s.byKind,
		Requests: s.stats.Requests, Retries: s.stats.Retries, RateLimited: s.stats.RateLimited,
		Started: start.UTC(), ElapsedS: s.elapsed.Seconds(), EffectiveRate: s.rate(), Output: output, ExitCode: code,
	}
	data, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".summary-*.json")
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write summary: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func jsonBody(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
