package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

// printRunSummary prints the "run finished" line and, without JSON logs, a table for people.
func printRunSummary(w io.Writer, log *slog.Logger, format string, s batch.Summary, reportPath string) {
	log.Info("run finished", "rows", s.Rows, "ok", s.OK, "failed", s.Failed, "invalid", s.Invalid,
		"skipped", s.Skipped, "unverified", s.Unverified, "already_ok", s.AlreadyOK, "not_attempted", s.NotAttempted(),
		"unrecorded", s.Unrecorded, "applied_unrecorded", s.AppliedUnrecorded,
		"elapsed_s", rounded(s.Elapsed.Seconds()), "requests", s.Stats.Requests, "retries", s.Stats.Retries,
		"rate_limited", s.Stats.RateLimited, "effective_rate", rounded(s.Rate()), "accepted_rate", rounded(s.Stats.Accepted),
		"read_mode", string(s.Read.Chosen), "read_requests", s.Read.Requests(), "verify_mode", string(s.Verify.Chosen), "verify_requests", s.Verify.Requests(), "stopped_by", s.StoppedBy)
	if format == "json" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nSummary: %d rows in %s (%.1f requests/s, %d requests, %d retries, %d answered 429)\n  ok             %d\n  failed         %d\n",
		s.Rows, s.Elapsed.Round(time.Millisecond), s.Rate(), s.Stats.Requests, s.Stats.Retries, s.Stats.RateLimited, s.OK, s.Failed)
	for _, kind := range slices.Sorted(maps.Keys(s.FailedByKind)) {
		fmt.Fprintf(&b, "    %-12s %d\n", kind, s.FailedByKind[kind])
	}
	fmt.Fprintf(&b, "  invalid        %d\n", s.Invalid)
	for _, l := range []struct {
		n    int
		line string
	}{
		{s.Skipped, "  skipped        %d (unchanged: already in the target state)\n"},
		{s.Unverified, "  unverified     %d (applied, not verified: the run stopped first; --resume reads them back)\n"},
		{s.AlreadyOK, "  already ok     %d (not sent again: the report had them)\n"},
		{s.Unrecorded, fmt.Sprintf("  not recorded   %%d (%d applied, not recorded: see the JSON lines above)\n", s.AppliedUnrecorded)},
		{s.NotAttempted(), "  not attempted  %d\n"},
	} {
		if l.n > 0 {
			fmt.Fprintf(&b, l.line, l.n)
		}
	}
	if s.Read.Rows > 0 {
		fmt.Fprintf(&b, "Current settings: %s\n", readAttr(s.Read))
	}
	if s.Verify.Chosen != "" {
		fmt.Fprintf(&b, "Read-back: %s\n", verifyAttr(s.Verify, false))
	}
	if s.Stats.Accepted > 0 {
		fmt.Fprintf(&b, "The API throttled this run; it accepted about %.1f requests/s: use --rate %.0f next time\n", s.Stats.Accepted, s.Stats.Accepted)
	}
	fmt.Fprintf(&b, "Report: %s\n", reportPath)
	_, _ = io.WriteString(w, b.String())
}

// printPlanSummary prints plan's summary, as printRunSummary does run's.
func printPlanSummary(w io.Writer, log *slog.Logger, format string, s batch.Summary, output string) {
	log.Info("plan finished", "rows", s.Rows, "yes", s.Changes[batch.ChangeYes], "differ_by_field", differByField(s), "no", s.Changes[batch.ChangeNo],
		"error", s.Changes[batch.ChangeError], "not_read", s.NotAttempted(), "requests", s.Stats.Requests, "elapsed_s", rounded(s.Elapsed.Seconds()))
	if format == "json" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nPlan: %d rows read in %s (%d requests)\n  change yes     %d\n", s.Rows, s.Elapsed.Round(time.Millisecond), s.Stats.Requests, s.Changes[batch.ChangeYes])
	sep := "    by field:    "
	for f, n := range s.Differ {
		if n > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, batch.Field(f), n)
			sep = ", "
		}
	}
	if sep == ", " {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  change no      %d (already in the target state)\n  error          %d\n", s.Changes[batch.ChangeNo], s.Changes[batch.ChangeError])
	if n := s.NotAttempted(); n > 0 {
		fmt.Fprintf(&b, "  not read       %d\n", n)
	}
	if s.Read.Rows > 0 {
		fmt.Fprintf(&b, "Current settings: %s\n", readAttr(s.Read))
	}
	fmt.Fprintf(&b, "Plan: %s (nothing was changed)\n", output)
	_, _ = io.WriteString(w, b.String())
}

// differByField is, per field, the rows that would change it.
func differByField(s batch.Summary) map[string]int {
	m := make(map[string]int, batch.NumFields)
	for f, n := range s.Differ {
		m[batch.Field(f).String()] = n
	}
	return m
}

// readAttr says how the settings were read and what it cost, beside the other way's cost.
func readAttr(r batch.ReadPlan) string {
	switch {
	case r.Rows == 0:
		return "none needed"
	case r.Chosen == batch.ReadPage:
		return fmt.Sprintf("by page: %s for the %d numbers on the account and %s of numbers it did not list (one read a row would be %s)",
			plural(r.Pages, "request"), r.AccountNumbers, plural(r.Rows-r.Found, "read"), plural(r.Rows, "request"))
	case r.AccountNumbers > 0:
		return fmt.Sprintf("one read a row: %s and 1 page (listing the account's %d numbers would take %s)",
			plural(r.Rows-r.Found, "read"), r.AccountNumbers, plural((r.AccountNumbers+19)/20, "request"))
	case r.Asked == batch.ReadEach:
		return fmt.Sprintf("one read a row: %s (--read page lists the account instead, 20 numbers a request)", plural(r.Rows, "read"))
	}
	return fmt.Sprintf("one read a row: %s (the listing could not be read)", plural(r.Rows-r.Found, "read"))
}

// plural says "1 request" or "n requests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// rounded keeps three decimals of a logged figure: the rest is noise.
func rounded(x float64) float64 { return math.Round(x*1000) / 1000 }

// summaryFile is what --summary writes; its keys are stable and documented in README.
type summaryFile struct {
	Command           string         `json:"command"`
	Version           string         `json:"version"`
	Account           string         `json:"account"`
	API               string         `json:"api"`
	Input             string         `json:"input"`
	Output            string         `json:"output"`
	Rows              int            `json:"rows"`
	OK                int            `json:"ok"`
	Failed            int            `json:"failed"`
	Invalid           int            `json:"invalid"`
	Skipped           int            `json:"skipped"`
	Unverified        int            `json:"unverified"`
	AlreadyOK         int            `json:"already_ok"`
	NotAttempted      int            `json:"not_attempted"`
	Unrecorded        int            `json:"unrecorded"`
	AppliedUnrecorded int            `json:"applied_unrecorded"`
	FailedByKind      map[string]int `json:"failed_by_kind"`
	Changes           map[string]int `json:"changes,omitempty"`
	DifferByField     map[string]int `json:"differ_by_field,omitempty"`
	Read              readFile       `json:"read"`
	Verify            verifyFile     `json:"verify"`
	StoppedBy         string         `json:"stopped_by"`
	Requests          int64          `json:"requests"`
	Retries           int64          `json:"retries"`
	RateLimited       int64          `json:"rate_limited"`
	AcceptedRate      float64        `json:"accepted_rate"`
	StartedAt         time.Time      `json:"started_at"`
	FinishedAt        time.Time      `json:"finished_at"`
	ElapsedS          float64        `json:"elapsed_s"`
	EffectiveRate     float64        `json:"effective_rate"`
	ExitCode          int            `json:"exit_code"`
	Error             string         `json:"error"`
}

// verifyAttr says how --verify read back, and what it cost; before the
// run (expected), what it will cost.
func verifyAttr(v batch.VerifyPlan, expected bool) string {
	switch {
	case v.Chosen == "":
		return "none"
	case expected && v.Chosen == batch.ReadPage:
		return fmt.Sprintf("by page after the updates: %d rows, %s, plus a read of each number the listing does not show holding its targets (one read a row would be %s)",
			v.Rows, plural(v.Pages, "request"), plural(v.Rows, "request"))
	case expected:
		return fmt.Sprintf("one read a row, right after its update: %s (--verify-read %s)", plural(v.Requests(), "request"), v.Asked)
	case v.Chosen == batch.ReadPage:
		return fmt.Sprintf("by page after the updates: %d rows, %s, %d shown holding their targets, %s of numbers on their own, %s sent again (%s; one read a row would be %s)",
			v.Rows, plural(v.Pages, "page"), v.Listed, plural(v.Reads, "read"), plural(v.Resent, "update"), plural(v.Requests(), "request"), plural(v.Rows, "request"))
	}
	return fmt.Sprintf("one read a row, right after its update: %d rows, %s, %s sent again (--verify-read %s)", v.Rows, plural(v.Reads, "read"), plural(v.Resent, "update"), v.Asked)
}

// verifyFile is the summary file's account of the read-back.
type verifyFile struct {
	Asked    string `json:"asked"`
	Chosen   string `json:"chosen"`
	Rows     int    `json:"rows"`
	Pages    int    `json:"pages"`
	Listed   int    `json:"listed"`
	Reads    int    `json:"reads"`
	Resent   int    `json:"resent"`
	Requests int    `json:"requests"`
}

// readFile is the summary file's account of the reads.
type readFile struct {
	Asked          string `json:"asked"`
	Chosen         string `json:"chosen"`
	Rows           int    `json:"rows"`
	AccountNumbers int    `json:"account_numbers"`
	Pages          int    `json:"pages"`
	Found          int    `json:"found"`
	Requests       int    `json:"requests"`
}

// writeSummary writes the --summary file, if asked for, with err's exit code and text.
func (s *jobSetup) writeSummary(err error) {
	if s.f.summary == "" {
		return
	}
	sum, r, v := s.sum, s.sum.Read, s.sum.Verify
	if sum.Elapsed == 0 {
		sum.Elapsed = time.Since(s.started)
	}
	sf := summaryFile{
		Command: s.command, Version: versionLine(), Account: s.f.authID, API: redactedHost(s.f.apiURL), Input: s.f.input, Output: s.f.output,
		Rows: sum.Rows, OK: sum.OK, Failed: sum.Failed, Invalid: sum.Invalid, Skipped: sum.Skipped, Unverified: sum.Unverified,
		AlreadyOK: sum.AlreadyOK, NotAttempted: sum.NotAttempted(), Unrecorded: sum.Unrecorded, AppliedUnrecorded: sum.AppliedUnrecorded,
		FailedByKind: sum.FailedByKind, StoppedBy: sum.StoppedBy, Requests: sum.Stats.Requests, Retries: sum.Stats.Retries,
		RateLimited: sum.Stats.RateLimited, AcceptedRate: sum.Stats.Accepted, StartedAt: s.started.UTC(), FinishedAt: time.Now().UTC(),
		ElapsedS: sum.Elapsed.Seconds(), EffectiveRate: sum.Rate(), ExitCode: codeOf(err),
		Read: readFile{Asked: string(r.Asked), Chosen: string(r.Chosen), Rows: r.Rows, AccountNumbers: r.AccountNumbers,
			Pages: r.Pages, Found: r.Found, Requests: r.Requests()},
		Verify: verifyFile{Asked: string(v.Asked), Chosen: string(v.Chosen), Rows: v.Rows, Pages: v.Pages, Listed: v.Listed,
			Reads: v.Reads, Resent: v.Resent, Requests: v.Requests()},
	}
	if sf.StoppedBy == "" && errors.Is(err, batch.ErrInterrupted) { // stopped before the job began, reading its input
		sf.StoppedBy = batch.StoppedBy(err)
	}
	if sf.FailedByKind == nil {
		sf.FailedByKind = map[string]int{}
	}
	if err != nil && !errors.Is(err, errDrift) {
		sf.Error = err.Error()
	}
	if s.command == "plan" && len(sum.Changes) > 0 { // else no row was looked at: no count to give
		// Every key, 0 included: a drift monitor reads "yes" and must find it.
		sf.Changes = map[string]int{batch.ChangeYes: 0, batch.ChangeNo: 0, batch.ChangeError: 0}
		maps.Copy(sf.Changes, sum.Changes)
		sf.DifferByField = differByField(sum)
	}
	data, _ := json.MarshalIndent(sf, "", "  ") // plain fields always marshal
	if err := report.WriteFile(s.f.summary, "--summary", append(data, '\n'), s.f.stdout); err != nil {
		s.log.Error("could not write the summary file", "path", s.f.summary, "error", err.Error())
	}
}

// summaryOnFlagError writes the summary of a command line that failed to parse: the flags are read
// again leniently (values as text, unknown flags passed over) to learn a --summary given after it.
func summaryOnFlagError(c *cobra.Command, s *sys, err error) {
	fs := pflag.NewFlagSet("", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			fs.Bool(f.Name, false, "")
		} else {
			fs.String(f.Name, "", "")
		}
	})
	_ = fs.Parse(s.args)
	get := func(name string) string { s, _ := fs.GetString(name); return s } // "" for a flag c lacks
	jf := jobFlags{sys: s, summary: get("summary"), input: get("input"), output: get("report") + get("output"), apiURL: get("api-url"), authID: get("auth-id")}
	paths := []report.NamedPath{{Flag: "--input", Path: jf.input}, {Flag: "--report", Path: get("report")}, {Flag: "--output", Path: get("output")}, {Flag: "--undo", Path: get("undo")}}
	if jf.summary != "" && jf.summaryOK(paths...) == nil {
		job := &jobSetup{f: &jf, command: c.Name(), started: time.Now(), log: newLogger(get("log-format"), false, s.stderr)}
		job.writeSummary(err)
	}
}
