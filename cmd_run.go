package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/batch/input"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/spf13/cobra"
)

const runLong = `Updates every number listed in the input CSV, at most --rate requests a
second, and writes one report row per input row. The input's header names its
columns: number (required), app_id, subaccount, alias, compliance_application_id.
An empty cell leaves the field as it is; (clear) unassigns the app or clears
the alias. Credentials: PLIVO_AUTH_ID (or --auth-id), and PLIVO_AUTH_TOKEN or
PLIVO_AUTH_TOKEN_FILE, never a flag. On a terminal, run asks before the first
update (--yes does not ask).

Exit codes: 0 every row ok; 1 rows failed or invalid, the canary failed or the
confirmation was declined; 2 usage, credentials or input error (nothing sent);
3 aborted; 4 stopped by --max-failures; 130 interrupted. After 1, 3, 4 and 130
the run says how to finish: usually, run again with --resume.`

const runExample = `  # Try it against the built-in sandbox (no Plivo account, no network):
  plivo-bulk run --sandbox --input samples/numbers.csv --report report.csv

  # Check a file and see what would be sent, without sending anything:
  plivo-bulk run --dry-run --input numbers.csv --report report.csv

  # A real run at 20 requests per second:
  export PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX PLIVO_AUTH_TOKEN=...
  plivo-bulk run --input numbers.csv --report report.csv --rate 20

  # Carry on after an interruption: rows already ok are not sent again.
  plivo-bulk run --input numbers.csv --report report.csv --resume`

type runFlags struct {
	jobFlags
	undo                       string
	skipUnchanged, verify, yes bool
	verifyRead                 batch.ReadMode
	allowDefApp, allowOrigin   bool
	canary                     int
	maxFailures                failureBudgetFlag
}

// newRunCmd binds the flags of run to o.
func newRunCmd(s *sys, o *runFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "run --input FILE --report FILE", Short: "update every number listed in an input file",
		Long: runLong, Example: runExample, Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runCmd(c.Context(), *o) },
	}
	fs := o.register(cmd, s)
	fs.StringVar(&o.output, "report", "", "report CSV `FILE` to write (- for standard output)")
	fs.BoolVar(&o.force, "force", false, "replace an existing report (an undo file is appended to, never emptied)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "check the input and print what would be sent; send nothing")
	fs.BoolVar(&o.resume, "resume", false, "continue the run recorded in --report: skip rows already ok, append")
	fs.StringVar(&o.undo, "undo", "", "before changing a number, append to `FILE` a row that restores it ("+readCost+")")
	fs.BoolVar(&o.skipUnchanged, "skip-unchanged", false, "send no update to a number that already holds its targets ("+readCost+")")
	fs.BoolVar(&o.verify, "verify", false, "read each updated number back; ok only if the server holds the targets (one read a row, or listing the account after the updates, as --verify-read says)")
	o.verifyRead = batch.ReadAuto
	fs.Var(value{&o.verifyRead, "mode"}, "verify-read", "how --verify reads back, a `MODE`: auto (the cheaper of the two), page (list the account once the updates are sent, 20 numbers a request; a number not shown holding its targets is read on its own) or each (read each number right after its update)")
	fs.BoolVar(&o.yes, "yes", false, "do not ask for a confirmation on a terminal before the first update")
	fs.IntVar(&o.canary, "canary", 0, "send `N` rows that change their number first, spread over the file's distinct targets, read each back, and go on only if all were changed to their targets")
	fs.Var(&o.maxFailures, "max-failures", "stop when the failed rows reach `N|P%`: N rows, or P% of the rows sent (from the 20th); the rest stays resumable (exit 4)")
	fs.BoolVar(&o.allowOrigin, "allow-other-origin", false, "run an undo file given as --input although it was written against another account or API host")
	fs.BoolVar(&o.allowDefApp, "allow-default-app", false, "send rows without app_id as they are, letting Plivo assign the account's default app (see README)")
	return cmd
}

// check validates the flags before any work.
func (o *runFlags) check() error {
	return o.validate("run", bad{o.resume && o.force, "--resume and --force contradict each other: choose one"},
		bad{o.resume && o.output == "-", "--resume needs a report file, not standard output"},
		bad{o.canary < 0, fmt.Sprintf("--canary %d: must be 0 (none) or more", o.canary)})
}

// step is what one row means for this run.
func (o runFlags) step() batch.Update {
	return batch.Update{SkipUnchanged: o.skipUnchanged, Verify: o.verify, PinApp: !o.allowDefApp}
}

func runCmd(ctx context.Context, o runFlags) (err error) {
	s := newJob(&o.jobFlags, "run", "no new rows are sent; waiting for calls in flight")
	defer s.end(&err)
	var ask *confirmer // before the input is read: a run in the background is refused first
	if err = o.check(); err == nil {
		ask, err = newConfirmer(o, s.prog)
	}
	if err := s.start(ctx, err, report.NamedPath{Flag: "--input", Path: o.input},
		report.NamedPath{Flag: "--report", Path: o.output}, report.NamedPath{Flag: "--undo", Path: o.undo}); err != nil {
		return err
	}
	if o.dryRun {
		return dryRun(ctx, s.in, o, s.sayf)
	}
	// The report and undo file first: a locked, foreign or existing one is refused before any request.
	origin, err := report.NewOrigin(o.authID, o.apiURL)
	if err == nil && !o.allowOrigin {
		err = report.CheckUndoInput(s.in.Name(), s.in.Origins(), origin)
	}
	if err != nil {
		return usage(err)
	}
	rep, err := report.Open(o.output, o.fileMode(), origin, o.stdout)
	if err != nil {
		return usage(err)
	}
	defer func() { _ = rep.Close() }()
	step := o.step()
	var undo *report.UndoWriter
	if o.undo != "" {
		if undo, err = report.OpenUndo(o.undo, o.fileMode(), origin); err != nil {
			return usage(err)
		}
		defer func() { _ = undo.Close() }()
		step.Undo = undo
	}
	job := batch.Job{Client: s.cl, Pace: s.paceConfig(), Input: s.in, Step: step, Log: s.log,
		Read: o.read, VerifyRead: o.verifyRead, Canary: o.canary, MaxFailures: batch.FailureBudget(o.maxFailures),
		Begin: func(est batch.Estimate) error {
			if err := ask.confirmRun(ctx, est, o.authID, o.apiURL, o.pacing.Rate); err != nil {
				return err
			}
			s.begin("updating", est.ToSend, "input", s.in.Name(), "rows", est.Rows, "to_send", est.ToSend, "already_ok", est.AlreadyOK,
				"requests_at_most", est.Requests, "requests_per_row", rounded(perRow(est.Requests, est.ToSend)), "preflight_reads", est.Preflight,
				"read", readAttr(est.Read), "verify", verifyAttr(est.Verify, true), "canary", o.canary, "canary_reads", est.CanaryReads,
				"concurrency_max", s.concurrency)
			return nil
		},
		AfterCanary: func(results []batch.Result) error {
			s.log.Info("canary passed: every canary row was changed and read back holding its targets", "rows", len(results))
			return ask.confirmCanary(ctx, results)
		},
		Sink: func(r batch.Result) error {
			if undo != nil {
				undo.Done(r.Row.Number)
			}
			if err := rep.Write(r); err != nil {
				return err
			}
			was := batch.Status("")
			if r.ReadBack { // its unverified line was counted
				was = batch.StatusUnverified
			}
			s.prog.add(r.Status, was)
			return nil
		},
		Unrecorded: func(r batch.Result) { _, _ = s.prog.Write(report.JSONLine(r)) },
	}
	if o.resume {
		completed := rep.Done
		job.Completed, job.Unverified = completed.Has, completed.Unverified
		s.log.Info("resuming", "report", o.output, "report_rows", completed.Rows, "done_in_report", completed.Len(), "dropped_torn_line", rep.Torn)
	}
	s.sum, err = batch.Run(ctx, job)
	s.prog.finish()
	if cerr := rep.Compact(); cerr != nil {
		s.log.Warn("the report keeps a line per attempt: it could not be rewritten with one per row", "report", o.output, "error", cerr)
	}
	if cerr := rep.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if undo != nil {
		if cerr := undo.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%w: the undo file: %w", batch.ErrAborted, cerr)
		}
		if n := undo.Unrestorable; n > 0 {
			s.log.Warn("the undo file cannot restore every change: the API cannot move a number back to the main account or clear its compliance application", "numbers", n)
		}
	}
	printRunSummary(s.prog, s.log, o.logFormat, s.sum, o.output)
	return s.outcome(s.sum, err, "were not attempted", o.redo(err))
}

// redo says what finishes a stopped run, "" when nothing would.
func (o runFlags) redo(err error) string {
	var noRow *batch.NoCanaryRowError
	switch {
	case errors.Is(err, batch.ErrDeclined):
		return ""
	case errors.As(err, &noRow) && noRow.Unread > 0 && !noRow.ByPage:
		return "run again with --read page, which lets the canary see every row"
	case errors.As(err, &noRow) && noRow.Unread > 0:
		return "run again: the listing may then give every number"
	case errors.As(err, &noRow) && noRow.Failed > 0:
		return "run again once the API answers the reads that failed"
	case errors.As(err, &noRow):
		return "" // the API's answers lack a key: no run can tell what those numbers hold
	case errors.Is(err, batch.ErrAuth):
		return "fix PLIVO_AUTH_ID or PLIVO_AUTH_TOKEN, then run again"
	case o.output == "-":
		return "standard output cannot be resumed: run the file again with --skip-unchanged (numbers already in their target state are then not sent)"
	}
	return "run again with --resume to finish"
}

// outcome is the job's error for the exit code, after telling what is left (notDone) and how to
// finish it (redo); with JSON logs the error is logged here and marked as told.
func (s *jobSetup) outcome(sum batch.Summary, err error, notDone, redo string) error {
	then := func(sep string) string {
		if redo == "" {
			return ""
		}
		return sep + redo
	}
	if sum.Unrecorded > 0 {
		s.sayf(slog.LevelWarn, fmt.Sprintf("%d rows (%d of them applied) could not be written to the report: they are on stderr as JSON lines%s",
			sum.Unrecorded, sum.AppliedUnrecorded, then("; ")))
	}
	switch {
	case err != nil:
		if n := sum.NotAttempted(); n > 0 {
			s.sayf(slog.LevelWarn, fmt.Sprintf("%d rows %s%s", n, notDone, then(": ")))
		}
		return err
	case sum.Failed > 0 || sum.Invalid > 0:
		return rowsFailed(sum.Failed, sum.Invalid)
	}
	return nil
}

func perRow(requests, rows int) float64 {
	if rows == 0 {
		return 0
	}
	return float64(requests) / float64(rows)
}

// dryRun prints what would be sent, row by row, and what it would cost; it sends nothing.
func dryRun(ctx context.Context, in *input.Input, o runFlags, sayf func(slog.Level, string, ...any)) error {
	step := o.step()
	if o.undo != "" {
		step.Undo = noUndo{}
	}
	c, err := batch.DryRun(ctx, in, step, o.canary, cmp.Or(o.authID, "{auth_id}"), o.stdout)
	if err != nil {
		return err
	}
	apps, moreApps := in.Distinct(batch.AppID)
	subs, moreSubs := in.Distinct(batch.Subaccount)
	requests := c.Requests + 1 + len(apps) + len(subs)
	sayf(slog.LevelInfo, fmt.Sprintf("dry run: %d rows: %d would be sent, %d invalid; nothing was sent", in.Rows(), c.Valid, c.Invalid),
		"rows", in.Rows(), "to_send", c.Valid, "invalid", c.Invalid)
	sayf(slog.LevelInfo, fmt.Sprintf("cost: at most %d requests (%.2f a row), including one account check and %s (%d distinct app_id, %d subaccount); at --rate %g that is about %s",
		requests, perRow(requests, c.Valid), plural(len(apps)+len(subs), "pre-flight read"), len(apps), len(subs), o.pacing.Rate, durationAt(requests, o.pacing.Rate)),
		"requests_at_most", requests, "preflight_reads", len(apps)+len(subs))
	if moreApps || moreSubs {
		sayf(slog.LevelWarn, fmt.Sprintf("more than %d distinct values of a field: the pre-flight checks the first %[1]d in file order; rows naming another are sent unchecked", input.MaxDistinct))
	}
	if c.Reads > 0 {
		sayf(slog.LevelInfo, fmt.Sprintf("of which %d reads of a number's current settings: --read %s; by page, listing the account costs one request per 20 numbers on it instead", c.Reads, o.read))
	} else if o.canary > 0 && o.read == batch.ReadPage {
		sayf(slog.LevelInfo, "plus, for the canary (--read page), listing the account: one request per 20 numbers on it")
	}
	if o.verify {
		sayf(slog.LevelInfo, fmt.Sprintf("of which %d read-backs (--verify-read %s): by page, listing the account once the updates are sent costs one request per 20 numbers on it instead, plus a read of each number it does not show holding its targets", c.Valid, o.verifyRead))
	}
	if c.Invalid > 0 {
		return rowsFailed(0, c.Invalid)
	}
	return nil
}

// noUndo stands for the undo file in a dry run, which writes nothing.
type noUndo struct{}

func (noUndo) Write(batch.Row, batch.Targets) error { return nil }
