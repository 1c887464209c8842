// Command plivo-bulk changes the settings of many Plivo phone numbers at
// once: a CSV lists the numbers and their targets, a rate-limited worker
// pool updates them, and a report CSV says what happened to every row.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// version, commit and date are stamped by scripts/build.sh with -ldflags
// -X, so that a binary built without git metadata (a release, an image)
// still tells what it is. When empty, the build info is used: go install
// records the module version, a build inside a git checkout the commit.
var version, commit, date = "", "", ""

const usageText = `plivo-bulk changes the settings of many Plivo phone numbers at once.

Usage:
  plivo-bulk run --input FILE --report FILE [flags]   update every number listed in FILE
  plivo-bulk plan --input FILE --output FILE [flags]  show what run would change (reads only)
  plivo-bulk export --output FILE [flags]             write every number on the account as an input file
  plivo-bulk sandbox [flags]                          serve a stand-in for Plivo's Number API
  plivo-bulk version                                  print the version
  plivo-bulk help [command]                           show help

Examples:
  # A first run, against the built-in sandbox (no Plivo account needed):
  plivo-bulk run --sandbox --input samples/numbers.csv --report report.csv

  # A real run at 20 requests per second:
  export PLIVO_AUTH_ID=MAXXXXXXXXXXXXXXXXXX PLIVO_AUTH_TOKEN=...
  plivo-bulk run --input numbers.csv --report report.csv --rate 20

Run 'plivo-bulk help run' for the flags of a command.
`

func main() {
	say := notices(os.Stderr, logsJSON(os.Args[1:]))
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 3)
	// SIGHUP (a closed terminal, a stopped session) is a stop like SIGTERM.
	// SIGPIPE is caught so that a write to a closed pipe (--report - into
	// head) fails as an error the run can report, instead of killing it
	// with its calls in flight unrecorded.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		// First signal: stop dispatching, let calls in flight finish.
		// Second: cancel them. Third: exit at once.
		// Each command says what the first signal does (run and plan
		// first erase their progress bar, so the message is not glued to it).
		n := 0
		for sig := range sigs {
			if sig == syscall.SIGPIPE {
				continue
			}
			n++
			switch n {
			case 1:
				close(stop)
			case 2:
				say("stopping now (a third signal exits at once)")
				cancel()
			default:
				say("exiting at once")
				os.Exit(exitInterrupted)
			}
		}
	}()
	err := run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(exitCodeSaid(err, say))
}

// logsJSON reports whether args ask for --log-format json. main's own
// lines (the error it exits with, the signal notices) must then be JSON
// too: a log shipper reads every line on stderr as a record.
func logsJSON(args []string) bool {
	for i, a := range args {
		a = strings.TrimPrefix(a, "-")
		if a == "-log-format=json" || a == "log-format=json" ||
			(a == "-log-format" || a == "log-format") && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}

// notices returns how main tells something on stderr: "plivo-bulk: msg",
// or with JSON logs one JSON log record.
func notices(stderr io.Writer, json bool) func(msg string, attrs ...any) {
	if !json {
		return func(msg string, _ ...any) { fmt.Fprintln(stderr, "plivo-bulk: "+msg) }
	}
	log := newLogger("json", stderr)
	return func(msg string, attrs ...any) { log.Warn(msg, attrs...) }
}

// run dispatches to a command.
func run(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runCmd(ctx, stop, rest, stdout, stderr)
	case "plan":
		return planCmd(ctx, stop, rest, stdout, stderr)
	case "export":
		return exportCmd(ctx, stop, rest, stdout, stderr)
	case "sandbox":
		return sandboxCmd(withStop(ctx, stop), rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return run(ctx, stop, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usageText)
		return nil
	}
	fmt.Fprint(stderr, usageText)
	return usagef("unknown command %q", cmd)
}

// withStop returns a context that ends at the first signal, for commands
// that have nothing in flight to wait for.
func withStop(ctx context.Context, stop <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx
}

// exitCode maps run's error to the documented exit codes, printing it.
func exitCode(err error, stderr io.Writer) int {
	return exitCodeSaid(err, notices(stderr, false))
}

// exitCodeSaid is exitCode, telling the error with say.
func exitCodeSaid(err error, say func(msg string, attrs ...any)) int {
	code := codeOf(err)
	var rowsErr *rowsFailedError
	var told *toldError
	switch {
	case code == exitOK, errors.As(err, &rowsErr), errors.As(err, &told): // said already
	case code == exitInterrupted:
		say("interrupted", "exit_code", code)
	default:
		say(err.Error(), "exit_code", code)
	}
	return code
}

// codeOf is the exit code for run's error.
func codeOf(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, batch.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, batch.ErrTooManyFailures):
		return exitMaxFailures
	case errors.Is(err, batch.ErrChanged):
		return exitChanged
	case errors.Is(err, batch.ErrAborted), errors.Is(err, batch.ErrThrottled):
		return exitAborted
	case isUsage(err):
		return exitUsage
	}
	return exitRowsFailed
}

// rowsFailedError says that the run finished but not every row is ok.
type rowsFailedError struct{ failed, invalid int }

func (e *rowsFailedError) Error() string {
	return fmt.Sprintf("%d rows failed, %d invalid", e.failed, e.invalid)
}

// versionString returns the tool's version: the -ldflags value, else the
// module version that go install records, else "devel".
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionLine is what 'plivo-bulk version' prints: version, commit, build
// date when stamped, and Go.
func versionLine() string {
	rev, modified, goVersion := "unknown", false, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		rev += "-dirty"
	}
	if commit != "" {
		rev = commit
	}
	built := ""
	if date != "" {
		built = ", built " + date
	}
	return fmt.Sprintf("plivo-bulk %s (commit %s%s, %s)", versionString(), rev, built, goVersion)
}
