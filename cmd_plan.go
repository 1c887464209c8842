package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
)

const planUsage = `Usage: plivo-bulk plan --input FILE --output FILE [flags]

Reads the current settings of every number in the input (GET, read-only, with
the same pacing, retries and interruption handling as run) and writes, per
input row, the current and the target value of each field the row sets, and
whether the row would change the number: change = yes, no (already in the
target state) or error (with the reason). Nothing is changed.

Examples:
  plivo-bulk plan --sandbox --input samples/numbers-all-columns.csv --output plan.csv
  plivo-bulk plan --input numbers.csv --output plan.csv --rate 20

Exit codes: 0 every row could be read; 1 some rows are in error; 2 usage,
credentials or input-file error; 3 aborted (authentication failed); 130
interrupted.

Flags:
`

type planOptions struct {
	common
	output string
}

func parsePlanFlags(args []string, stderr io.Writer) (planOptions, error) {
	var o planOptions
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), planUsage)
		fs.PrintDefaults()
	}
	o.register(fs)
	fs.StringVar(&o.output, "output", "", "plan CSV `file` to write (- for standard output)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if err := o.validate("plan"); err != nil {
		return o, err
	}
	if o.output == "" {
		return o, usagef("plan: --output is required")
	}
	if o.input == "-" && o.output == "-" {
		return o, usagef("plan: --input and --output cannot both be standard streams")
	}
	return o, nil
}

// runPlan is the plan command.
func runPlan(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parsePlanFlags(args, stderr)
	if err != nil {
		return err
	}
	s := &session{log: newLogger(o.logFormat, stderr)}
	defer s.close()
	s.watchStop(stop, "no new numbers are read; waiting for reads in flight")
	sum, start := newSummary(0), time.Now()
	defer o.writeSummary(s, sum, "plan", o.output, start, &err)
	if err := o.checkCredentials(); err != nil {
		return err
	}
	if err := o.openInput(withStop(ctx, stop), s); err != nil {
		return err
	}
	if err := o.connect(s, stderr); err != nil {
		return err
	}
	mode := report.New
	if o.force {
		mode = report.Force
	}
	plan, err := report.OpenPlan(o.output, mode, stdout)
	if err != nil {
		return &usageError{err: err}
	}
	defer func() { _ = plan.Close() }()
	if err := o.checkAccount(ctx, s); err != nil {
		return err
	}
	invalid, err := o.preflight(ctx, s)
	if err != nil {
		return err
	}

	counts := map[string]int{}
	prog := newProgress(&o.common, stderr, s.log, s.in.Valid())
	s.setProgress(prog)
	sum.rows = s.in.Rows()
	read := func(ctx context.Context, row batch.Row, _ func() bool) (batch.Answer, error) {
		info, err := s.cl.GetNumber(ctx, row.Number)
		if err != nil {
			return batch.Answer{}, toCallError(err)
		}
		return batch.Answer{HTTPStatus: 200, APIID: cmp.Or(info.APIID, "-"), Current: currentOf(info)}, nil
	}
	sink := func(r batch.Result) error {
		if err := plan.Write(r); err != nil {
			return err
		}
		counts[report.Change(r)]++
		sum.add(r)
		prog.add(r)
		return nil
	}
	readStart := time.Now() // the rate is of the reads, not of the checks before them
	stats, runErr := batch.Run(ctx, o.poolConfig(stop), withInvalid(s.in, invalid, nil), read, sink)
	prog.finish()
	if cerr := plan.Close(); cerr != nil && runErr == nil {
		runErr = cerr
	}
	sum.elapsed, sum.stats = time.Since(readStart), stats
	fmt.Fprintf(stderr, "\nPlan: %d rows read in %s (%d requests)\n  change yes     %d\n  change no      %d (already in the target state)\n  error          %d\n",
		s.in.Rows(), sum.elapsed.Round(time.Millisecond), stats.Requests, counts[report.ChangeYes], counts[report.ChangeNo], counts[report.ChangeError])
	if n := sum.notAttempted(); n > 0 {
		fmt.Fprintf(stderr, "  not read       %d\n", n)
	}
	fmt.Fprintf(stderr, "Plan: %s (nothing was changed)\n", o.output)
	s.log.Info("plan finished", "rows", s.in.Rows(), "yes", counts[report.ChangeYes], "no", counts[report.ChangeNo],
		"error", counts[report.ChangeError], "not_read", sum.notAttempted(), "requests", stats.Requests, "elapsed_s", sum.elapsed.Seconds())
	switch {
	case runErr != nil:
		if errors.Is(runErr, batch.ErrInterrupted) {
			fmt.Fprintf(stderr, "%d rows were not read: the plan is incomplete\n", sum.notAttempted())
		}
		return runErr
	case counts[report.ChangeError] > 0:
		return &rowsFailedError{failed: sum.failed, invalid: sum.invalid}
	}
	return nil
}
