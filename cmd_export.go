package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/plivo-bulk/plivo-bulk/batch"
	"github.com/plivo-bulk/plivo-bulk/client"
	"github.com/plivo-bulk/plivo-bulk/report"
	"github.com/spf13/cobra"
)

const exportLong = `Lists every number on the account, 20 numbers a request, and writes them as an
input file (number,app_id,subaccount,alias) that, run back, changes nothing:
the starting sheet of a migration and a backup of what run can change. The
file is written whole or not at all; an undo file is never replaced.

Exit codes: 0 every number listed; 1 some could not be read (no file written);
2 usage or credentials error; 3 aborted; 5 the account changed while it was
listed (the file is written, but export again for a consistent copy); 130
interrupted.`

const exportExample = `  plivo-bulk export --sandbox --output numbers.csv
  plivo-bulk export --output backup.csv --prefix 1415 --rate 20`

type exportFlags struct {
	jobFlags
	prefix, subaccount, alias string
}

// newExportCmd binds the flags of export to o.
func newExportCmd(s *sys, o *exportFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "export --output FILE", Short: "write every number on the account as an input file",
		Long: exportLong, Example: exportExample, Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return exportCmd(c.Context(), *o)
		},
	}
	fs := o.register(cmd, s)
	fs.StringVar(&o.output, "output", "", "CSV `FILE` to write (- for standard output)")
	fs.BoolVar(&o.force, "force", false, "replace an existing file at --output (never an undo file)")
	fs.StringVar(&o.prefix, "prefix", "", "only numbers that start with these `DIGITS` (Plivo's number_startswith)")
	fs.StringVar(&o.subaccount, "subaccount", "", "only numbers of this subaccount `ID`")
	fs.StringVar(&o.alias, "alias", "", "only numbers with this alias `TEXT`")
	return cmd
}

// check validates the flags before any work.
func (o *exportFlags) check() error {
	return o.validate("export", bad{strings.Trim(o.prefix, "0123456789") != "", fmt.Sprintf("--prefix %q: want the digits a number starts with, country code first, without +", o.prefix)})
}

func exportCmd(ctx context.Context, o exportFlags) (err error) {
	s := newJob(&o.jobFlags, "export", "no new pages are read; the file is not written")
	defer s.end(&err)
	if err := s.start(ctx, o.check(), report.NamedPath{Flag: "--output", Path: o.output}); err != nil {
		return err
	}
	out, err := report.CreateExport(o.output, o.force, o.stdout)
	if err != nil {
		return usage(err)
	}
	ls, err := batch.List(ctx, batch.Listing{
		Client: s.cl, Pace: s.paceConfig(), Log: s.log, Sink: out.Write,
		Filter: client.ListParams{NumberStartsWith: o.prefix, Subaccount: o.subaccount, Alias: o.alias},
		Begin: func(numbers, pages int) {
			// requests: +1, the account check, counted as the end counts it
			s.begin("listing", pages, "numbers", numbers, "requests", pages+1)
		},
		Page: func() { s.prog.add(batch.StatusOK, "") },
	})
	s.prog.finish()
	// A listing the account moved under is written all the same; the exit code says it is no snapshot.
	changed := errors.Is(err, batch.ErrChanged)
	if err == nil || changed {
		if cerr := out.Commit(); cerr != nil {
			err, changed = cerr, false
		}
	} else {
		out.Abort()
	}
	s.sum = batch.Summary{Rows: ls.Numbers, OK: ls.Numbers, Elapsed: ls.Elapsed, Stats: ls.Stats}
	if !errors.Is(err, batch.ErrIncomplete) && !changed { // every page was tried: not an early stop
		s.sum.StoppedBy = batch.StoppedBy(err)
	}
	s.log.Info("export finished", "numbers", ls.Numbers, "counted", ls.Counted, "requests", ls.Stats.Requests,
		"failed_pages", ls.FailedPages, "elapsed_s", rounded(ls.Elapsed.Seconds()))
	switch {
	case err != nil && !changed:
		s.sayf(slog.LevelWarn, fmt.Sprintf("Export: %d numbers listed, %d requests; nothing was written to %s", ls.Numbers, ls.Stats.Requests, o.output))
	case o.logFormat != "json":
		fmt.Fprintf(s.prog, "\nExport: %d numbers in %s (%d requests, %.1f requests/s)\nFile: %s\n",
			ls.Numbers, ls.Elapsed.Round(time.Millisecond), ls.Stats.Requests, s.sum.Rate(), o.output)
	}
	return err
}
