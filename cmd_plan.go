package main

import (
	"context"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/spf13/cobra"
)

const planLong = `Reads the current settings of every number in the input, paced as run is, and
writes per row the current and target value of each field the row sets, and
change = yes, no (already in the target state), error, or not_read (the plan
was stopped first). Nothing is changed.

Exit codes: 0 every row read; 1 some rows in error; 2 usage, credentials or
input error; 3 aborted; 130 interrupted. With --detailed-exitcode, a drift
check: 0 only when every row was read and none would change, 6 when every row
was read and some would change.`

const planExample = `  plivo-bulk plan --sandbox --input samples/numbers-all-columns.csv --output plan.csv
  plivo-bulk plan --input numbers.csv --output plan.csv --rate 20
  plivo-bulk plan --input numbers.csv --output plan.csv --detailed-exitcode   # 6: drift`

type planFlags struct {
	jobFlags
	detailedExit bool
}

// newPlanCmd binds the flags of plan to o.
func newPlanCmd(s *sys, o *planFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "plan --input FILE --output FILE", Short: "show what run would change (reads only)",
		Long: planLong, Example: planExample, Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return planCmd(c.Context(), *o) },
	}
	fs := o.register(cmd, s)
	fs.StringVar(&o.output, "output", "", "plan CSV `FILE` to write (- for standard output)")
	fs.BoolVar(&o.force, "force", false, "replace an existing plan file")
	fs.BoolVar(&o.detailedExit, "detailed-exitcode", false, "drift check: exit 0 only when every row was read and none would change, 6 when some would (errors keep their codes)")
	return cmd
}

func planCmd(ctx context.Context, o planFlags) (err error) {
	s := newJob(&o.jobFlags, "plan", "no new numbers are read; waiting for reads in flight")
	defer s.end(&err)
	if err := s.start(ctx, o.validate("plan"), report.NamedPath{Flag: "--input", Path: o.input}, report.NamedPath{Flag: "--output", Path: o.output}); err != nil {
		return err
	}
	plan, err := report.OpenPlan(o.output, o.fileMode(), o.stdout)
	if err != nil {
		return usage(err)
	}
	defer func() { _ = plan.Close() }()
	sum, err := batch.Run(ctx, batch.Job{
		Client: s.cl, Pace: s.paceConfig(), Input: s.in, Step: batch.Read{}, Log: s.log, Read: o.read,
		Begin: func(est batch.Estimate) error {
			s.begin("reading", est.ToSend, "input", s.in.Name(), "rows", est.Rows, "to_read", est.ToSend, "requests_at_most", est.Requests, "read", readAttr(est.Read))
			return nil
		},
		Sink: func(r batch.Result) error {
			err := plan.Write(r)
			if err == nil {
				s.prog.add(r.Status, "")
			}
			return err
		},
		Unrecorded: func(r batch.Result) { _, _ = s.prog.Write(report.JSONLine(r)) },
	})
	s.sum = sum
	s.prog.finish()
	if cerr := plan.Close(); cerr != nil && err == nil {
		err = cerr
	}
	printPlanSummary(s.prog, s.log, o.logFormat, sum, o.output)
	if err == nil && sum.Changes[batch.ChangeError] > 0 {
		return rowsFailed(sum.Failed, sum.Invalid)
	}
	err = s.outcome(sum, err, "were not read: the plan is incomplete", "")
	if err == nil && o.detailedExit && sum.Changes[batch.ChangeYes] > 0 {
		return errDrift
	}
	return err
}
