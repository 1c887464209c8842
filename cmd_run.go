package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
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
	common
	report        string
	dryRun        bool
	resume        bool
	undo          string
	skipUnchanged bool
	verify        bool
	allowDefApp   bool
}

func parseRunFlags(args []string, stderr io.Writer) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), runUsage)
		fs.PrintDefaults()
	}
	o.register(fs)
	fs.StringVar(&o.report, "report", "", "report CSV `file` to write (- for standard output)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the input and print what would be sent; send nothing")
	fs.BoolVar(&o.resume, "resume", false, "continue the run recorded in --report: skip rows already ok, append")
	fs.StringVar(&o.undo, "undo", "", "before changing a number, append to this `file` a row that restores it (one extra read per row)")
	fs.BoolVar(&o.skipUnchanged, "skip-unchanged", false, "read each number first and send no update when it already has its targets (one extra read per row)")
	fs.BoolVar(&o.verify, "verify", false, "read each number back after its update; ok only if the server holds the targets (one extra read per row)")
	fs.BoolVar(&o.allowDefApp, "allow-default-app", false, "send rows without app_id as they are, letting Plivo assign the account's default app (see README)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if err := o.validate("run"); err != nil {
		return o, err
	}
	switch {
	case o.report == "" && !o.dryRun:
		return o, usagef("run: --report is required")
	case o.resume && o.force:
		return o, usagef("run: --resume and --force contradict each other: choose one")
	case o.resume && o.report == "-":
		return o, usagef("run: --resume needs a report file, not standard output")
	case o.input == "-" && o.report == "-":
		return o, usagef("run: --input and --report cannot both be standard streams")
	case o.undo != "" && (o.undo == o.report || o.undo == o.input):
		return o, usagef("run: --undo must name a file of its own")
	}
	return o, nil
}

// runRun is the run command.
func runRun(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseRunFlags(args, stderr)
	if err != nil {
		return err
	}
	s := &session{log: newLogger(o.logFormat, stderr)}
	defer s.close()
	s.watchStop(stop, "no new rows are sent; waiting for calls in flight")
	sum, start := newSummary(0), time.Now()
	defer o.writeSummary(s, sum, "run", o.report, start, &err)
	if !o.dryRun {
		if err := o.checkCredentials(); err != nil {
			return err
		}
	}
	if err := o.openInput(withStop(ctx, stop), s); err != nil {
		return err
	}
	if o.dryRun {
		return dryRun(ctx, s.in, o, stdout, stderr)
	}
	if err := o.connect(s, stderr); err != nil {
		return err
	}
	// The report (and undo file) before any request: a locked or existing
	// one is refused before anything, even the credentials check, is sent.
	origin, err := report.NewOrigin(s.authID, s.apiURL)
	if err != nil {
		return &usageError{err: err}
	}
	rep, err := openReport(o, stdout, origin)
	if err != nil {
		return &usageError{err: err}
	}
	defer func() { _ = rep.Close() }()
	done := rep.Done()
	if o.resume {
		s.log.Info("resuming", "report", o.report, "report_rows", done.Rows(), "already_ok", done.Len(), "dropped_torn_line", rep.DroppedTornLine())
	}
	up := &updater{skipUnchanged: o.skipUnchanged, verify: o.verify, pinApp: !o.allowDefApp}
	if o.undo != "" {
		if up.undo, err = report.OpenUndo(o.undo, o.fileMode(), origin); err != nil {
			return &usageError{err: err}
		}
		defer func() { _ = up.undo.Close() }()
	}

	up.cl = s.cl
	if err := o.checkAccount(ctx, s); err != nil {
		return err
	}
	invalid, err := o.preflight(ctx, s)
	if err != nil {
		return err
	}
	s.log.Info("starting run", "input", s.in.Name(), "rows", s.in.Rows(), "to_send", s.in.Valid(), "rate", o.rate,
		"concurrency_max", o.concurrencyCap(), "api", redactedHost(s.apiURL), "auth_id", s.authID)

	sum.rows = s.in.Rows()
	prog := newProgress(&o.common, stderr, s.log, s.in.Valid()-done.Len())
	s.setProgress(prog)
	rows := withInvalid(s.in, invalid, func(r batch.Row) bool {
		if done.Has(r) {
			sum.alreadyOK++
			return true
		}
		return false
	})
	sink := func(r batch.Result) error {
		if err := rep.Write(r); err != nil {
			return err
		}
		sum.add(r)
		prog.add(r)
		return nil
	}
	sendStart := time.Now() // the rate is of the send, not of the checks before it
	stats, runErr := batch.Run(ctx, o.poolConfig(stop), rows, up.call, sink)
	prog.finish()
	if cerr := rep.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	if up.undo != nil {
		if cerr := up.undo.Close(); cerr != nil && runErr == nil {
			runErr = cerr
		}
		if n := up.undo.Unrestorable(); n > 0 {
			s.log.Warn("the undo file cannot restore every change: the API cannot move a number back to the main account or clear its compliance application", "numbers", n)
		}
	}
	sum.elapsed = time.Since(sendStart)
	sum.stats = stats
	sum.print(stderr, o.report)
	s.log.Info("run finished", sum.logAttrs()...)

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

func (c *common) concurrencyCap() int {
	if c.concurrency > 0 {
		return c.concurrency
	}
	return batch.AutoConcurrency(c.rate)
}

func openReport(o runOptions, stdout io.Writer, origin report.Origin) (*report.Writer, error) {
	if o.report == "-" {
		return report.NewWriter(stdout, origin)
	}
	return report.Open(o.report, o.fileMode(), origin)
}

// fileMode says what to do with an output file that exists already.
func (o runOptions) fileMode() report.Mode {
	switch {
	case o.force:
		return report.Force
	case o.resume:
		return report.Resume
	}
	return report.New
}

// dryRun prints what would be sent, row by row, and sends nothing.
func dryRun(ctx context.Context, in *input.Input, o runOptions, stdout, stderr io.Writer) error {
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
		note := ""
		if !o.allowDefApp && !r.Targets[batch.AppID].Set {
			note = " (+ the number's current app_id, read first)"
		}
		_, err := fmt.Fprintf(stdout, "row %d: POST /v1/Account/%s/Number/%s/ %s%s\n", r.Line, authID, r.Number, body, note)
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
