package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
)

const runUsage = `Usage: plivo-bulk run --input FILE --report FILE [flags]

Updates every number listed in the input CSV with Plivo's "Update an account
phone number" call, at most --rate requests per second, and writes one report
row per input row.

The input needs a header row; columns (any case, any order): number (required),
app_id, subaccount, alias, compliance_application_id. An empty cell leaves the
field as it is; the cell (clear) unassigns the app or clears the alias.

Credentials: PLIVO_AUTH_ID (or --auth-id) and PLIVO_AUTH_TOKEN. The token is
read from the environment only, so that it never lands in shell history.

Examples:
  # Try it against the built-in sandbox (no Plivo account, no network):
  plivo-bulk run --sandbox --input samples/numbers.csv --report report.csv

  # Check a file and see what would be sent, without sending anything:
  plivo-bulk run --dry-run --input numbers.csv --report report.csv

  # A real run at 20 requests per second:
  export PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX PLIVO_AUTH_TOKEN=...
  plivo-bulk run --input numbers.csv --report report.csv --rate 20

  # Carry on after an interruption: rows already ok are not sent again.
  plivo-bulk run --input numbers.csv --report report.csv --resume

Exit codes: 0 every row ok; 1 some rows failed or were invalid; 2 usage,
credentials or input-file error (nothing sent); 3 run aborted (authentication
failed); 130 interrupted.

Flags:
`

type runOptions struct {
	input, report   string
	rate            float64
	concurrency     int
	maxAttempts     int
	timeout         time.Duration
	backoffBase     time.Duration
	backoffMax      time.Duration
	apiURL, authID  string
	progress        string
	logFormat       string
	dryRun          bool
	resume, force   bool
	sandbox         bool
	adaptive        bool
	sandboxRate     float64
	sandboxFailRate float64
}

func parseRunFlags(args []string, stderr io.Writer) (runOptions, error) {
	o := runOptions{}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.input, "input", "", "input CSV `file` (- for standard input)")
	fs.StringVar(&o.report, "report", "", "report CSV `file` to write (- for standard output)")
	fs.Float64Var(&o.rate, "rate", batch.DefaultRate, "requests per `second` for the whole run, retries included (0 = no client-side limit)")
	fs.IntVar(&o.concurrency, "concurrency", 0, "most requests in flight (0 = grow with the observed latency, up to 5 s worth of --rate)")
	fs.IntVar(&o.maxAttempts, "max-attempts", batch.DefaultMaxAttempts, "attempts per row, the first included")
	fs.DurationVar(&o.timeout, "timeout", client.DefaultTimeout, "time limit of one request")
	fs.DurationVar(&o.backoffBase, "backoff-base", batch.DefaultBackoffBase, "first retry waits up to this long (doubling each time, with jitter)")
	fs.DurationVar(&o.backoffMax, "backoff-max", batch.DefaultBackoffMax, "longest wait between two attempts")
	fs.BoolVar(&o.adaptive, "adaptive", true, "slow down when the API answers 429, then probe back up toward --rate")
	fs.StringVar(&o.apiURL, "api-url", envOr("PLIVO_API_URL", client.DefaultBaseURL), "API root `URL` (env PLIVO_API_URL)")
	fs.StringVar(&o.authID, "auth-id", os.Getenv("PLIVO_AUTH_ID"), "account auth `id` (env PLIVO_AUTH_ID); the token comes from PLIVO_AUTH_TOKEN only")
	fs.StringVar(&o.progress, "progress", "auto", "progress bar: auto (when stderr is a terminal), always or never")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the input and print what would be sent; send nothing")
	fs.BoolVar(&o.resume, "resume", false, "continue the run recorded in --report: skip rows already ok, append")
	fs.BoolVar(&o.force, "force", false, "replace an existing report")
	fs.BoolVar(&o.sandbox, "sandbox", false, "run against a built-in sandbox seeded with the input's numbers (no credentials, no network)")
	fs.Float64Var(&o.sandboxRate, "sandbox-rate-limit", 0, "with --sandbox: the sandbox's own rate limit, requests per second (0 = none)")
	fs.Float64Var(&o.sandboxFailRate, "sandbox-fail-rate", 0, "with --sandbox: fraction of requests the sandbox answers with a 5xx")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, &usageError{err: err}
	}
	if fs.NArg() > 0 {
		return o, usagef("run: unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	switch {
	case o.input == "":
		return o, usagef("run: --input is required")
	case o.report == "" && !o.dryRun:
		return o, usagef("run: --report is required")
	case o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0):
		return o, usagef("run: --rate %v: must be 0 (no limit) or more", o.rate)
	case o.concurrency < 0:
		return o, usagef("run: --concurrency %d: must be 0 (automatic) or more", o.concurrency)
	case o.maxAttempts < 1:
		return o, usagef("run: --max-attempts %d: must be at least 1", o.maxAttempts)
	case o.timeout <= 0:
		return o, usagef("run: --timeout %v: must be more than 0", o.timeout)
	case o.backoffBase <= 0 || o.backoffMax < o.backoffBase:
		return o, usagef("run: --backoff-base must be more than 0 and at most --backoff-max")
	case o.resume && o.force:
		return o, usagef("run: --resume and --force contradict each other: choose one")
	case o.resume && o.report == "-":
		return o, usagef("run: --resume needs a report file, not standard output")
	case o.input == "-" && o.report == "-":
		return o, usagef("run: --input and --report cannot both be standard streams")
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return o, usagef("run: --progress %q: want auto, always or never", o.progress)
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return o, usagef("run: --log-format %q: want text or json", o.logFormat)
	}
	if (o.sandboxRate != 0 || o.sandboxFailRate != 0) && !o.sandbox {
		return o, usagef("run: --sandbox-rate-limit and --sandbox-fail-rate need --sandbox")
	}
	return o, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newLogger(format string, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runRun is the run command.
func runRun(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	o, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(o.logFormat, stderr)

	// Credentials first: a run that cannot authenticate reads nothing.
	token := os.Getenv("PLIVO_AUTH_TOKEN")
	if !o.sandbox && !o.dryRun {
		var missing []string
		if o.authID == "" {
			missing = append(missing, "PLIVO_AUTH_ID (or --auth-id)")
		}
		if token == "" {
			missing = append(missing, "PLIVO_AUTH_TOKEN")
		}
		if len(missing) > 0 {
			return usagef("missing credentials: set %s; or try --sandbox (no account needed) or --dry-run", strings.Join(missing, " and "))
		}
	}

	// Check the whole input before anything is sent.
	open, cleanup, err := inputOpener(o.input)
	if err != nil {
		return &usageError{err: err}
	}
	defer cleanup()
	in, err := batch.OpenInput(inputName(o.input), open)
	if err != nil {
		return &usageError{err: err}
	}
	if o.dryRun {
		return dryRun(ctx, in, o, stdout, stderr)
	}

	apiURL, authID := o.apiURL, o.authID
	if o.sandbox {
		sb, err := startRunSandbox(in, o)
		if err != nil {
			return err
		}
		defer sb.stop()
		apiURL, authID, token = sb.url, sb.authID, sb.token
		fmt.Fprintf(stderr, "plivo-bulk: running against the built-in SANDBOX at %s, not Plivo: nothing real is changed\n", sb.url)
	}

	concurrency := o.concurrency
	if concurrency == 0 {
		concurrency = batch.AutoConcurrency(o.rate)
	}
	cl, err := client.New(apiURL, authID, token,
		client.WithUserAgent("plivo-bulk/"+versionString()),
		client.WithTimeout(o.timeout),
		client.WithMaxConns(concurrency))
	if err != nil {
		return &usageError{err: err}
	}

	rep, err := openReport(o, stdout)
	if err != nil {
		return &usageError{err: err}
	}
	defer func() { _ = rep.Close() }()
	done := rep.Done()
	if o.resume {
		log.Info("resuming", "report", o.report, "report_rows", done.Rows(), "already_ok", done.Len(), "dropped_torn_line", rep.DroppedTornLine())
	}

	// A cheap read of the account proves the credentials before any update.
	if err := cl.GetAccount(ctx); err != nil {
		if ae, ok := client.AsAPIError(err); ok && ae.Kind == client.KindAuth {
			return fmt.Errorf("%w: authentication failed (HTTP %d: %s): check PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN; nothing was sent", batch.ErrAborted, ae.StatusCode, ae.Message)
		}
		if ctx.Err() != nil {
			return batch.ErrInterrupted
		}
		log.Warn("could not read the account before starting; going on", "error", err.Error())
	}

	toSend := in.Valid()
	cfg := batch.Config{
		Rate:        o.rate,
		Concurrency: o.concurrency,
		MaxAttempts: o.maxAttempts,
		BackoffBase: o.backoffBase,
		BackoffMax:  o.backoffMax,
		Adaptive:    o.adaptive,
		Stop:        stop,
	}
	log.Info("starting run", "input", in.Name(), "rows", in.Rows(), "to_send", toSend, "rate", o.rate,
		"concurrency_max", concurrency, "api", redactedHost(apiURL), "auth_id", authID)

	sum := newSummary(in.Rows())
	prog := newProgress(o.progress, stderr, toSend-done.Len())
	start := time.Now()
	rows := func(ctx context.Context, fn func(batch.Row) error) error {
		return in.Each(ctx, func(r batch.Row) error {
			if r.Invalid == "" && done.Has(r) {
				sum.skipped++
				return nil
			}
			return fn(r)
		})
	}
	sink := func(r batch.Result) error {
		if err := rep.Write(r); err != nil {
			return err
		}
		sum.add(r)
		prog.add(r, sum)
		return nil
	}
	stats, runErr := batch.Run(ctx, cfg, rows, updateCall(cl), sink)
	prog.finish()
	if cerr := rep.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	sum.elapsed = time.Since(start)
	sum.stats = stats
	sum.print(stderr, o.report)
	log.Info("run finished", sum.logAttrs()...)

	switch {
	case runErr != nil:
		if errors.Is(runErr, batch.ErrInterrupted) {
			fmt.Fprintf(stderr, "%d rows were not attempted: run again with --resume to finish\n", sum.notAttempted())
		}
		return runErr
	case sum.failed > 0 || sum.invalid > 0:
		return &rowsFailedError{failed: sum.failed, invalid: sum.invalid}
	}
	return nil
}

// updateCall adapts the client to the pool's Call.
func updateCall(cl *client.Client) batch.Call {
	return func(ctx context.Context, row batch.Row) (batch.Answer, error) {
		ch, err := cl.UpdateNumber(ctx, row.Number, row.Targets.Params())
		if err != nil {
			return batch.Answer{}, toCallError(err)
		}
		return batch.Answer{HTTPStatus: ch.HTTPStatus, APIID: ch.APIID}, nil
	}
}

func toCallError(err error) error {
	ae, ok := client.AsAPIError(err)
	if !ok {
		return err
	}
	return &batch.CallError{
		HTTPStatus: ae.StatusCode,
		APIID:      ae.APIID,
		Kind:       string(ae.Kind),
		Message:    ae.Error(),
		RetryAfter: ae.RetryAfter,
		Retryable:  ae.Retryable(),
	}
}

func openReport(o runOptions, stdout io.Writer) (*report.Writer, error) {
	if o.report == "-" {
		return report.NewWriter(stdout)
	}
	mode := report.New
	switch {
	case o.force:
		mode = report.Force
	case o.resume:
		mode = report.Resume
	}
	return report.Open(o.report, mode)
}

func inputName(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}

// inputOpener returns a way to open the input as many times as it is read.
// Standard input can be read once only, so it is first copied to a
// temporary file.
func inputOpener(path string) (batch.Opener, func(), error) {
	if path != "-" {
		return func() (io.ReadCloser, error) { return os.Open(path) }, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "plivo-bulk-input-*.csv")
	if err != nil {
		return nil, nil, fmt.Errorf("spool standard input: %w", err)
	}
	cleanup := func() { _ = tmp.Close(); _ = os.Remove(tmp.Name()) }
	if _, err := io.Copy(tmp, os.Stdin); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("read standard input: %w", err)
	}
	name := tmp.Name()
	return func() (io.ReadCloser, error) { return os.Open(name) }, cleanup, nil
}

func redactedHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host
}

// dryRun prints what would be sent, row by row, and sends nothing.
func dryRun(ctx context.Context, in *batch.Input, o runOptions, stdout, stderr io.Writer) error {
	authID := o.authID
	if authID == "" {
		authID = "{auth_id}"
	}
	invalid, valid := 0, 0
	err := in.Each(ctx, func(r batch.Row) error {
		if r.Invalid != "" {
			invalid++
			_, err := fmt.Fprintf(stdout, "row %d: invalid: %s (number %q)\n", r.Line, r.Invalid, r.Number)
			return err
		}
		valid++
		body, _ := jsonBody(r.Targets.Params())
		_, err := fmt.Fprintf(stdout, "row %d: POST /v1/Account/%s/Number/%s/ %s\n", r.Line, authID, r.Number, body)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "dry run: %d rows: %d would be sent, %d invalid; nothing was sent\n", in.Rows(), valid, invalid)
	if invalid > 0 {
		return &rowsFailedError{invalid: invalid}
	}
	return nil
}
