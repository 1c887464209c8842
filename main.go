// Command plivo-bulk changes the settings of many Plivo phone numbers at
// once: a CSV lists the numbers and their targets, a rate-limited worker
// pool updates them, and a report CSV says what happened to every row.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/plivo-bulk/plivo-bulk/batch"
)

// Exit codes, as documented in README.md.
const (
	exitOK          = 0
	exitRowsFailed  = 1
	exitUsage       = 2
	exitAborted     = 3
	exitMaxFailures = 4
	exitChanged     = 5 // export: the file is written, but the account changed while it was listed
	exitDrift       = 6 // plan --detailed-exitcode: every row was read, and some would change the account
	exitInterrupted = 130
)

// Stamped by scripts/build.sh (-ldflags -X); when empty, the build info is used.
var version, commit, date = "", "", ""

func main() {
	say := notices(os.Stderr, logsJSON(os.Args[1:]))
	stop := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 3)
	signal.Ignore(syscall.SIGPIPE)                                     // a closed pipe (--report - | head) is then an error, not a kill
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP) // SIGHUP stops like SIGTERM
	go func() {
		// First signal: send nothing new, let calls in flight finish. Second: cancel them. Third: exit.
		n := 0
		for range sigs {
			switch n++; n {
			case 1:
				close(stop)
			case 2:
				say(slog.LevelWarn, "stopping now (a third signal exits at once)")
				cancel()
			default:
				say(slog.LevelWarn, "exiting at once")
				os.Exit(exitInterrupted)
			}
		}
	}()
	err := run(ctx, stop, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	cancel()
	os.Exit(exitCodeSaid(err, say))
}

// run runs args with the process's first signal (stop), environment and streams.
func run(ctx context.Context, stop <-chan struct{}, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := newRootCmd(&sys{stop: stop, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, args: args})
	root.SetArgs(append([]string{}, args...)) // never nil: cobra reads os.Args then
	return root.ExecuteContext(ctx)
}

// logsJSON reports whether args ask for --log-format json: main's own lines are then JSON too.
func logsJSON(args []string) bool {
	for i, a := range args {
		if a == "--log-format=json" || a == "--log-format" && i+1 < len(args) && args[i+1] == "json" {
			return true
		}
	}
	return false
}

// notices returns how main tells something on stderr: "plivo-bulk: msg", or a JSON record.
func notices(stderr io.Writer, json bool) func(level slog.Level, msg string, attrs ...any) {
	if !json {
		return func(_ slog.Level, msg string, _ ...any) { fmt.Fprintln(stderr, "plivo-bulk: "+msg) }
	}
	log := newLogger("json", false, stderr)
	return func(level slog.Level, msg string, attrs ...any) { log.Log(context.Background(), level, msg, attrs...) }
}

// withStop returns a context that ends at the first signal, for waits with nothing in flight.
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

// exitCodeSaid maps run's error to its exit code and tells it (an interruption at WARN: it was asked for).
func exitCodeSaid(err error, say func(level slog.Level, msg string, attrs ...any)) int {
	code := codeOf(err)
	var told *toldError
	switch {
	case code == exitOK, code == exitDrift, errors.As(err, &told): // said already
	case code == exitInterrupted:
		say(slog.LevelWarn, "interrupted", "exit_code", code)
	default:
		say(slog.LevelError, err.Error(), "exit_code", code)
	}
	return code
}

func codeOf(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, batch.ErrInterrupted):
		return exitInterrupted
	case errors.Is(err, batch.ErrTooManyFailures):
		return exitMaxFailures
	case errors.Is(err, batch.ErrChanged):
		return exitChanged
	case errors.Is(err, errDrift):
		return exitDrift
	case errors.Is(err, batch.ErrAborted), errors.Is(err, batch.ErrThrottled):
		return exitAborted
	case isUsage(err):
		return exitUsage
	}
	return exitRowsFailed
}

// errDrift is plan --detailed-exitcode's finding for a monitor, not an error; the summary told it.
var errDrift = errors.New("the account differs from the input")

// usageError marks a problem with the command line, credentials or input: nothing was sent (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// usage marks a non-nil err as a usageError.
func usage(err error) error {
	if err != nil {
		err = &usageError{err}
	}
	return err
}

// toldError is an error already told on stderr: main exits with its code without printing it.
type toldError struct{ err error }

func (e *toldError) Error() string { return e.err.Error() }
func (e *toldError) Unwrap() error { return e.err }

// rowsFailed says that the job finished but not every row is ok.
func rowsFailed(failed, invalid int) error {
	return &toldError{fmt.Errorf("%d rows failed, %d invalid", failed, invalid)}
}

// versionString is the -ldflags version, else go install's module version, else "devel".
func versionString() string {
	if bi, ok := debug.ReadBuildInfo(); ok && version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return cmp.Or(version, "devel")
}

// versionLine is what 'plivo-bulk version' prints.
func versionLine() string {
	rev, dirty, goVersion, built := "unknown", "", "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				rev = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = "-dirty"
			}
		}
	}
	if date != "" {
		built = ", built " + date
	}
	return fmt.Sprintf("plivo-bulk %s (commit %s%s, %s)", versionString(), cmp.Or(commit, rev+dirty), built, goVersion)
}
