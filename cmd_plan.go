package main

import (
	"context"
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

type planFlags struct {
	jobFlags
	output string
}

func parsePlanFlags(args []string, stderr io.Writer) (planFlags, error) {
	var o planFlags
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
	return o, checkDistinct(report.NamedPath{Flag: "--input", Path: o.input},
		report.NamedPath{Flag: "--output", Path: o.output}, report.NamedPath{Flag: "--summary", Path: o.summary})
}

// planCmd is the plan command.
func planCmd(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parsePlanFlags(args, stderr)
	if err != nil {
		return err
	}
	s := newJobSetup(&o.jobFlags, stderr)
	defer s.close()
	s.watchStop(stop, "no new numbers are read; waiting for reads in flight")
	var sum batch.Summary
	start := time.Now()
	defer o.writeSummary(s, &sum, "plan", o.output, start, &err)
	if err := s.open(ctx, stop, &o.jobFlags, false, stderr); err != nil {
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
	prog := &progress{}
	job := batch.Job{
		Client: s.cl, Pace: o.paceConfig(stop, s.concurrency, s.log),
		Input: s.in, Step: batch.Read{}, Log: s.log, Read: o.read,
		Begin: func(est batch.Estimate) error {
			s.log.Info("starting plan", "input", s.in.Name(), "rows", est.Rows, "to_read", est.ToSend,
				"requests_at_most", est.Requests, "read", readAttr(est.Read), "rate", o.rate, "api", redactedHost(s.apiURL), "auth_id", s.authID)
			prog = newProgress(&o.jobFlags, stderr, s.log, "reading", est.ToSend)
			s.setProgress(prog)
			return nil
		},
		Sink: func(r batch.Result) error {
			if err := plan.Write(r); err != nil {
				return err
			}
			prog.add(r)
			return nil
		},
		Unrecorded: func(r batch.Result) {
			prog.stopBar()
			_, _ = stderr.Write(report.JSONLine(r))
		},
	}
	sum, err = batch.Run(ctx, job)
	prog.finish()
	if cerr := plan.Close(); cerr != nil && err == nil {
		err = cerr
	}
	printPlanSummary(stderr, s.log, o.logFormat, sum, o.output)
	if err == nil && sum.Changes[batch.ChangeError] > 0 {
		return &rowsFailedError{failed: sum.Failed, invalid: sum.Invalid}
	}
	return runOutcome(s, o.logFormat, stderr, sum, err, "were not read: the plan is incomplete", "")
}
