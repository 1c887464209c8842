package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/pace"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/plivo-bulk/plivo-bulk/sandbox"
)

// jobFlags are the flags of run, plan and export, with the process (sys) they run in.
type jobFlags struct {
	*sys
	noInput                                 bool   // the command reads no input file (export)
	input, output, apiURL, authID, summary  string // output: --report or --output
	token                                   string // set by checkCredentials
	progress, logFormat                     string
	pacing                                  pace.Config    // the pacing flags; the setup adds the rest
	sandboxCfg                              sandbox.Config // --sandbox's flags; startSandbox adds the rest
	timeout, logEvery                       time.Duration
	verbose, force, sandbox, resume, dryRun bool
	read                                    batch.ReadMode
}

// readCost is what --undo and --skip-unchanged cost, for their help.
const readCost = "costs the numbers' current settings: read by page, or one read per row, as --read says"

// register defines the job flags of command on its flag set, which it returns, with defaults from s's
// environment; the enumerated flags complete their values, the others file names.
func (c *jobFlags) register(command *cobra.Command, s *sys) *pflag.FlagSet {
	fs, cmd := command.Flags(), command.Name()
	c.sys, c.noInput, c.sandboxCfg.DefaultAppOnMissing = s, cmd == "export", true
	if !c.noInput {
		fs.StringVar(&c.input, "input", "", "input CSV `FILE` (- for standard input)")
	}
	fs.Float64Var(&c.pacing.Rate, "rate", pace.DefaultRate, "at most `N` requests a second for the whole run, retries and reads included (0 = no client-side limit)")
	fs.IntVar(&c.pacing.Concurrency, "concurrency", 0, "at most `N` requests in flight (0 = 2 s worth of --rate, 8 to 256; 64 at --rate 0)")
	fs.IntVar(&c.pacing.MaxAttempts, "max-attempts", pace.DefaultMaxAttempts, "`N` attempts per request that may fail by themselves (5xx, timeouts): per row, or per page when listing; 429s do not count")
	fs.DurationVar(&c.pacing.MaxThrottleWait, "max-throttle-wait", pace.DefaultMaxThrottleWait, "stop (resumable) when the API accepts nothing for this `DURATION`, or asks to wait longer")
	fs.DurationVar(&c.timeout, "timeout", client.DefaultTimeout, "time limit of one request (a `DURATION` such as 30s)")
	fs.DurationVar(&c.pacing.BackoffBase, "backoff-base", pace.DefaultBackoffBase, "first retry waits up to this `DURATION` (doubling each time, with jitter)")
	fs.DurationVar(&c.pacing.BackoffMax, "backoff-max", pace.DefaultBackoffMax, "longest wait between two attempts (a `DURATION`)")
	fs.BoolVar(&c.pacing.Adaptive, "adaptive", true, "slow down when the API answers 429, then probe back up toward --rate")
	fs.StringVar(&c.apiURL, "api-url", cmp.Or(s.getenv("PLIVO_API_URL"), client.DefaultBaseURL), "API root `URL` (env PLIVO_API_URL)")
	fs.StringVar(&c.authID, "auth-id", s.getenv("PLIVO_AUTH_ID"), "account auth `ID` (env PLIVO_AUTH_ID); the token comes from PLIVO_AUTH_TOKEN or PLIVO_AUTH_TOKEN_FILE only")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar `WHEN`: auto (when stderr is a terminal), always or never")
	fs.StringVar(&c.logFormat, "log-format", "text", "log `FORMAT` on stderr: text or json")
	fs.BoolVar(&c.verbose, "verbose", false, "log every request at DEBUG: method, path, status, api_id, attempt, duration and the wait before it (--progress auto then draws no bar)")
	fs.DurationVar(&c.logEvery, "log-every", 10*time.Second, "without a progress bar, log the progress every `DURATION` (0 = never)")
	fs.StringVar(&c.summary, "summary", "", "also write the summary as JSON to `FILE` (counts, elapsed, rate, exit code)")
	if cmd != "export" {
		c.read = batch.ReadAuto
		fs.Var(value{&c.read, "mode"}, "read", "how to learn the numbers' current settings (plan, --undo, --skip-unchanged, rows without app_id), a `MODE`: auto (the cheaper of the two), page (list the account, 20 numbers a request) or each (one read a row)")
	}
	seeded := map[bool]string{false: "the input's numbers", true: "45 numbers"}[c.noInput]
	fs.BoolVar(&c.sandbox, "sandbox", false, "work against a built-in sandbox seeded with "+seeded+" (no credentials, no network)")
	fs.Var(value{&c.sandboxCfg.Rate, "rate"}, "sandbox-rate-limit", "with --sandbox: the sandbox's own rate limit: `N[/WINDOW]` requests, a second unless a WINDOW is given, as in 300/5s (0 = none)")
	fs.Float64Var(&c.sandboxCfg.FailRate, "sandbox-fail-rate", 0, "with --sandbox: the `FRACTION` of requests the sandbox answers with a 5xx")
	if cmd == "run" {
		fs.BoolVar(&c.sandboxCfg.DefaultAppOnMissing, "sandbox-default-app", true, "with --sandbox: an update without app_id moves the number to the account's default app, as Plivo's documentation says")
	}
	for name, values := range map[string][]string{"read": {"auto", "page", "each"}, "progress": {"auto", "always", "never"}, "log-format": {"text", "json"}} {
		_ = command.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)) // export has no --read: refused
	}
	return fs
}

// fileMode says what to do with an output file that exists already.
func (c *jobFlags) fileMode() report.Mode {
	switch {
	case c.force:
		return report.Force
	case c.resume:
		return report.Resume
	}
	return report.New
}

// value gives a flag.Value of another package the Type that pflag wants.
type value struct {
	flag.Value
	typ string
}

func (v value) Type() string { return v.typ }

// bad is a refusal of the flags: msg when is.
type bad struct {
	is  bool
	msg string
}

// validate checks the job flags of command cmd, then its own (more), before any work.
func (c *jobFlags) validate(cmd string, more ...bad) error {
	out := map[bool]string{true: "--report", false: "--output"}[cmd == "run"]
	for _, b := range append([]bad{
		{c.input == "" && !c.noInput, "--input is required"},
		{c.pacing.Rate < 0 || math.IsNaN(c.pacing.Rate) || math.IsInf(c.pacing.Rate, 0), fmt.Sprintf("--rate %v: must be 0 (no limit) or more", c.pacing.Rate)},
		{c.pacing.Concurrency < 0, fmt.Sprintf("--concurrency %d: must be 0 (automatic) or more", c.pacing.Concurrency)},
		{c.pacing.MaxAttempts < 1, fmt.Sprintf("--max-attempts %d: must be at least 1", c.pacing.MaxAttempts)},
		{c.pacing.MaxThrottleWait <= 0, fmt.Sprintf("--max-throttle-wait %v: must be more than 0", c.pacing.MaxThrottleWait)},
		{c.timeout <= 0, fmt.Sprintf("--timeout %v: must be more than 0", c.timeout)},
		{c.pacing.BackoffBase <= 0 || c.pacing.BackoffMax < c.pacing.BackoffBase, "--backoff-base must be more than 0 and at most --backoff-max"},
		{c.logEvery < 0, fmt.Sprintf("--log-every %v: must be 0 (never) or more", c.logEvery)},
		{(c.sandboxCfg.Rate.Limit != 0 || c.sandboxCfg.FailRate != 0) && !c.sandbox, "--sandbox-rate-limit and --sandbox-fail-rate need --sandbox"},
		{c.progress != "auto" && c.progress != "always" && c.progress != "never", fmt.Sprintf("--progress %q: want auto, always or never", c.progress)},
		{c.logFormat != "text" && c.logFormat != "json", fmt.Sprintf("--log-format %q: want text or json", c.logFormat)},
		{c.output == "" && !c.dryRun, out + " is required"},
		{c.input == "-" && c.output == "-", "--input and " + out + " cannot both be standard streams"},
	}, more...) {
		if b.is {
			return usagef("%s: %s", cmd, b.msg)
		}
	}
	return nil
}

// summaryOK refuses a --summary that is an undo file or one of paths, which it would replace.
func (c *jobFlags) summaryOK(paths ...report.NamedPath) error {
	if err := report.CheckNotUndo(c.summary, "--summary"); err != nil {
		return usage(err)
	}
	return usage(report.CheckDistinct(append(paths, report.NamedPath{Flag: "--summary", Path: c.summary})...))
}

// paceConfig is the pacing and retry policy from the flags.
func (s *jobSetup) paceConfig() pace.Config {
	c := s.f.pacing
	c.Concurrency, c.Stop = s.concurrency, s.f.stop
	c.OnWait = func(d time.Duration, why string) {
		s.log.Warn("waiting for the API", "wait_s", rounded(d.Seconds()), "why", why)
	}
	return c
}

func newLogger(format string, verbose bool, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: map[bool]slog.Level{false: slog.LevelInfo, true: slog.LevelDebug}[verbose]}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logRequests is --verbose's DEBUG line a request, with the pacer's attempt and wait.
func logRequests(log *slog.Logger) func(context.Context, client.Exchange) {
	return func(ctx context.Context, x client.Exchange) {
		attrs := []slog.Attr{slog.String("method", x.Method), slog.String("path", x.Path)}
		if x.Status != 0 {
			attrs = append(attrs, slog.Int("status", x.Status))
		}
		if x.Kind != "" {
			attrs = append(attrs, slog.String("error", string(x.Kind)))
		}
		if x.APIID != "" {
			attrs = append(attrs, slog.String("api_id", x.APIID))
		}
		attrs = append(attrs, slog.Float64("duration_ms", ms(x.Duration)))
		if a := pace.AttemptOf(ctx); a != nil {
			attrs = append(attrs, slog.Int("attempt", a.N), slog.Float64("wait_ms", ms(a.Wait)))
		}
		log.LogAttrs(ctx, slog.LevelDebug, "request", attrs...)
	}
}

// ms is d in milliseconds, to the tenth.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }

// failureBudgetFlag is --max-failures: a count of rows, or a percentage of the rows sent ("5%").
type failureBudgetFlag batch.FailureBudget

func (f *failureBudgetFlag) String() string {
	if f == nil || *f == (failureBudgetFlag{}) {
		return "off"
	}
	return batch.FailureBudget(*f).String()
}

func (f *failureBudgetFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v > 0 && v <= 100) { // NaN too
			return fmt.Errorf("want a percentage above 0 and at most 100, as in 5%%")
		}
		*f = failureBudgetFlag{Percent: v}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("want a number of rows (1 or more) or a percentage, as in 5%%")
	}
	*f = failureBudgetFlag{Count: n}
	return nil
}

func (f *failureBudgetFlag) Type() string { return "budget" }
